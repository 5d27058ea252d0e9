"""The symbolic command line, run in process (and once as the installed script)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import random_score
from make_edge_cases import EXPECTED
from symbolic import read_midi, write_midi
from symbolic.cli import main


def test_help_lists_every_command_with_its_summary(capsys):
    from symbolic.cli import build_parser

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    commands = build_parser()._subparsers._group_actions[0]
    helps = {action.dest: action.help for action in commands._choices_actions}
    assert set(helps) == set(commands.choices) and len(helps) >= 10
    for name, summary in helps.items():
        assert f"{name} {' '.join(summary.split())}" in out


def test_console_script_installed():
    import symbolic

    exe = shutil.which("symbolic") or str((__import__("pathlib").Path(sys.executable).parent / "symbolic"))
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"symbolic {symbolic.__version__}"


def test_verify_edge_cases(data_dir, capsys):
    good = [str(data_dir / n) for n, e in EXPECTED.items()
            if e == "roundtrip" and n not in ("huge_delta.mid", "note_at_2_27.mid")]
    assert main(["tokenize", *good, "--verify"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"verified {len(good)} files: {len(good)} exact, 0 lossy"
    assert main(["tokenize", *good, "--verify", "--tokenizer", "roll", "--quiet"]) == 1  # drums are not in a roll
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"verified {len(good)} files: {len(good) - 1} exact, 1 lossy"


def test_verify_reports_dropped_controllers_drift_and_lenient_reads(data_dir, capsys):
    """Issue 13.3, 13.7, 13.8: controllers are reported apart from notes, lenient reads are counted,
    and the drift of 120 qpm is nil with events-v2 where events-v1 (118.66 qpm) drifts."""
    files = [str(data_dir / "sustain_pedal.mid"), str(data_dir / "running_status_after_meta.mid")]
    assert main(["tokenize", *files, "--verify"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].endswith("(3 notes; max drift 0.000 s; dropped 6 control changes and 2 pitch bends)")
    assert lines[-3] == ("dropped by the tokenization (not notes): 6 control changes and 2 pitch bends in 1 files; "
                         "largest timing drift 0.000 s")
    assert lines[-2] == "read leniently: 1 files" and "running_status_after_meta.mid" in captured.err
    assert main(["tokenize", files[0], "--verify", "--spec", "events-v1"]) == 0
    assert "largest timing drift 0.008 s" in capsys.readouterr().out  # the onset at 0.75 s, at 118.66 qpm


def test_render_refuses_over_long_file(data_dir, tmp_path, capsys):
    """Issue 13.5: a note at tick 2^27 is refused with one line naming the file, exit 2, nothing written."""
    pytest.importorskip("fluidsynth")
    assert main(["render", str(data_dir / "note_at_2_27.mid"), "--out", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "note_at_2_27.mid" in err and "max_seconds" in err
    assert not (tmp_path / "x.wav").exists()


def test_verify_reports_unreadable_and_lossy(data_dir, capsys):
    code = main(["tokenize", str(data_dir / "type2.mid"), str(data_dir / "huge_delta.mid"), "--verify"])
    captured = capsys.readouterr()
    assert code == 1
    assert "type-2" in captured.err
    assert "lossy: " in captured.out and "max_bars" in captured.out
    assert captured.out.strip().splitlines()[-1] == "verified 1 files: 0 exact, 1 lossy"


def test_tokenize_detokenize_events_and_roll(tmp_path, capsys):
    src = write_midi(random_score(5, n_tracks=3), tmp_path / "piece.mid")
    assert main(["tokenize", str(src), "--out", str(tmp_path / "tok"), "--style", "irish"]) == 0
    assert main(["detokenize", str(tmp_path / "tok" / "piece.tokens.json"), "--out", str(tmp_path / "back.mid")]) == 0
    from symbolic.tokenization import EventTokenizer

    tokenizer = EventTokenizer()
    original, back = read_midi(src), read_midi(tmp_path / "back.mid")
    expected = tokenizer.quantize(original)
    assert [sorted(t.notes) for t in back.tracks] == [sorted(t.notes) for t in expected.tracks]
    assert main(["tokenize", str(src), "--out", str(tmp_path / "roll"), "--tokenizer", "roll"]) == 0
    assert main(["detokenize", str(tmp_path / "roll" / "piece.roll.npz"), "--out", str(tmp_path / "r.mid")]) == 0
    assert read_midi(tmp_path / "r.mid").n_notes > 0


def test_errors_are_clear(tmp_path, capsys):
    src = write_midi(random_score(1), tmp_path / "p.mid")
    assert main(["tokenize", str(src), "--verify", "--style", "polka"]) == 2
    assert "unknown style 'polka'" in capsys.readouterr().err
    assert main(["tokenize", str(src)]) == 2
    assert "--out" in capsys.readouterr().err
    (tmp_path / "x.tokens.json").write_text("{}")
    assert main(["detokenize", str(tmp_path / "x.tokens.json"), "--out", str(tmp_path / "y.mid")]) == 2
    assert "not a symbolic token file" in capsys.readouterr().err
    assert main(["tokenize", str(tmp_path / "missing.mid"), "--verify"]) == 1
    with pytest.raises(SystemExit):
        main(["tokenize", str(src), "--tokeniser", "events"])  # a typo in an option name


def test_data_build_from_midi_dir(tmp_path, capsys):
    for style in ("a", "b"):
        for i in range(3):
            write_midi(random_score(i, n_tracks=2), tmp_path / "midi" / style / f"{i}.mid")
    args = ["data", "build", "--midi-dir", str(tmp_path / "midi"), "--out", str(tmp_path / "ds"), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "read 6 MIDI files" in out and "cache" not in out and "train" in out  # nothing was converted
    assert main(args) == 0
    assert "reused the existing build" in capsys.readouterr().out
    assert main(args + ["--styles", "a"]) == 2


def test_demo_small(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--bars", "4", "--continue-bars", "2", "--no-audio"]) == 0
    printed = capsys.readouterr().out
    assert "from the corpus's test split" in printed
    assert "outputs read as their target style:" in printed and "  convert to chorale -> chorale: read as" in printed
    import json

    report = json.loads((out / "report.json").read_text())
    names = [r["output"] for r in report["outputs"]]
    # the shipped model knows pop, so the pop part runs on a held-out POP909 melody (../shared/data)
    assert names == ["source", "pop melody", "convert to chorale", "convert to classical",
                     "continue 2 bars in irish", "pop melody accompanied in pop", "pop melody converted to chorale",
                     "pop melody converted to classical", "tune converted to pop"]
    assert report["pop_song"] is not None and report["pop_note"] is None
    assert all(r["melody_kept"] for r in report["outputs"])
    for name in names:
        assert read_midi(out / (name.replace(" ", "-") + ".mid")).n_notes > 0
    assert (out / "report.md").is_file() and (out / "piano-rolls.png").stat().st_size > 1000
    from symbolic.jobs.demo import held_out_pieces
    from symbolic.data.build import BuildConfig, split_of

    assert report["piece"] in {p.id for p in held_out_pieces("irish")}
    assert all(split_of(p.id, BuildConfig()) == "test" for p in held_out_pieces("chorale"))
    assert main(["demo", "--out", str(out), "--to", "jazz", "--no-audio"]) == 2
