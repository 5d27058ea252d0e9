"""``symbolic quantize``: a constant-tempo performance back on a grid that ``tokenize --verify`` passes."""

from __future__ import annotations

import numpy as np

from symbolic.analysis.beats import grid_fit, with_constant_tempo
from symbolic.score import seconds_of_ticks
from symbolic.cli import main
from symbolic.data.pop909 import load_pop909_score
from symbolic.inputs.midi import read_midi
from symbolic.outputs.midi import write_midi
from symbolic.resources import shared_data_dir


def seconds(score):
    return seconds_of_ticks(score, [(n.onset_ticks, n.offset_ticks) for t in score.tracks for n in t.notes])


def test_quantize_a_performance(tmp_path, capsys):
    performance = with_constant_tempo(load_pop909_score(shared_data_dir() / "pop909" / "003"))
    src, out = tmp_path / "performance.mid", tmp_path / "quantized.mid"
    write_midi(performance, src)
    assert grid_fit(read_midi(src)).is_performance
    assert main(["quantize", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "beats found" in printed and "wrote" in printed
    result = read_midi(out)
    assert np.max(np.abs(seconds(result) - seconds(read_midi(src)))) < 1e-3
    assert not grid_fit(result).is_performance
    assert main(["tokenize", "--verify", str(out)]) == 0
    assert "1 exact, 0 lossy" in capsys.readouterr().out


def test_quantize_bad_input_is_one_line(tmp_path, data_dir, capsys):
    assert main(["quantize", str(tmp_path / "missing.mid"), "--out", str(tmp_path / "x.mid")]) == 2
    assert main(["quantize", str(data_dir / "no_notes.mid"), "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no_notes.mid" in err[1] and "too few" in err[1]
    assert not (tmp_path / "x.mid").exists()
