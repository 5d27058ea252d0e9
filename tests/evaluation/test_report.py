"""Metrics on hand-made inputs with known answers, against MusPy, set comparisons, and the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from symbolic import Note, Score, TimeSignature, Track, read_midi, write_midi
from symbolic.evaluation import metrics as M
from symbolic.evaluation.compare import frechet_distance, longest_copied_span, ngram_overlap, note_sequence, \
    overlapping_area

TPB = 480


def melody(pitches, step=TPB, duration=TPB, drum=False) -> Score:
    notes = [Note(i * step, duration, p, 80) for i, p in enumerate(pitches)]
    return Score(ticks_per_beat=TPB, tracks=[Track(is_drum=drum, notes=notes)])


def test_known_answers():
    c_major = melody([60, 62, 64, 65, 67, 69, 71, 72])
    assert M.pitch_range(c_major) == 12
    assert M.n_pitches_used(c_major) == 8 and M.n_pitch_classes_used(c_major) == 7
    assert M.scale_consistency(c_major) == 1.0
    assert M.pitch_class_entropy(c_major) == pytest.approx(-(6 / 8 * math.log2(1 / 8) + 2 / 8 * math.log2(2 / 8)))
    chord = Score(ticks_per_beat=TPB, tracks=[Track(notes=[Note(0, TPB, p, 80) for p in (60, 64, 67)])])
    assert M.polyphony(chord) == 3.0
    assert M.polyphony_rate(chord) == 1.0 and M.polyphony_rate(chord, threshold=3) == 0.0
    gaps = melody([60, 62], step=4 * TPB)  # notes on beats 0 and 4 of 5 beats
    assert M.empty_beat_rate(gaps) == pytest.approx(2 / 6)  # beats 2 and 3 empty; an end on beat 5 marks it
    same_bars = melody([60] * 8, step=TPB, duration=TPB // 2)  # two identical 4/4 bars, ending mid-bar
    assert M.groove_consistency(same_bars) == 1.0
    on_the_line = melody([60] * 8, step=TPB)  # ends exactly on a bar line: MusPy counts an empty third bar
    assert M.groove_consistency(on_the_line) == pytest.approx(1 - 4 / (4 * TPB * 2))
    assert M.note_density(on_the_line) == 1.0 and M.mean_duration_beats(on_the_line) == 1.0
    assert M.mean_velocity(same_bars) == 80.0
    three_four = Score(ticks_per_beat=TPB, tracks=same_bars.tracks, time_signatures=[TimeSignature(0, 3, 4)])
    assert M.measure_ticks(three_four) == 3 * TPB
    drums = melody([36, 38], drum=True)
    assert math.isnan(M.pitch_range(drums)) and M.n_pitches_used(drums) == 0  # drums are not pitches


def test_documented_values_on_empty_input():
    empty = Score()
    values = M.all_metrics(empty)
    assert set(values) == set(M.METRIC_NAMES)
    for name in ("n_pitches_used", "n_pitch_classes_used", "note_density"):
        assert values[name] == 0
    for name in ("pitch_range", "pitch_entropy", "pitch_class_entropy", "scale_consistency", "polyphony",
                 "polyphony_rate", "empty_beat_rate", "groove_consistency", "mean_duration_beats",
                 "mean_velocity"):
        assert math.isnan(values[name]), name


def test_agrees_with_muspy(tiny_dataset, data_dir):
    muspy = pytest.importorskip("muspy")
    files = sorted((tiny_dataset / "cache").glob("*.mid")) + [data_dir / "drums_channel10.mid",
                                                              data_dir / "tempo_meter_mid_bar.mid"]
    for path in files:
        ours, theirs = read_midi(path), muspy.read_midi(str(path))
        res = M.measure_ticks(ours)
        pairs = [(M.pitch_range(ours), muspy.pitch_range(theirs)),
                 (M.n_pitches_used(ours), muspy.n_pitches_used(theirs)),
                 (M.n_pitch_classes_used(ours), muspy.n_pitch_classes_used(theirs)),
                 (M.pitch_entropy(ours), muspy.pitch_entropy(theirs)),
                 (M.pitch_class_entropy(ours), muspy.pitch_class_entropy(theirs)),
                 (M.scale_consistency(ours), muspy.scale_consistency(theirs)),
                 (M.polyphony(ours), muspy.polyphony(theirs)),
                 (M.polyphony_rate(ours), muspy.polyphony_rate(theirs)),
                 (M.empty_beat_rate(ours), muspy.empty_beat_rate(theirs)),
                 (M.groove_consistency(ours, res), muspy.groove_consistency(theirs, res))]
        for i, (a, b) in enumerate(pairs):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9), (path.name, i, a, b)


def test_overlapping_area():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 60).tolist(), rng.normal(0, 1, 60).tolist()
    far = rng.normal(20, 1, 60).tolist()
    close = overlapping_area(a, b)
    assert close["overlap"] > 0.8 and close["kl"] < 0.1
    apart = overlapping_area(a, far)
    assert apart["overlap"] < 0.05 and apart["kl"] > 1
    assert math.isnan(overlapping_area([1.0], b)["overlap"])  # one value has no spread


def test_frechet_distance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 5))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(x, x + 1.0) == pytest.approx(5.0, rel=1e-6)  # |shift|^2 over 5 dimensions
    scaled = frechet_distance(x, 2 * x)  # covariance 4I against I: tr(I + 4I - 2*2I) = 5 per dim set
    assert scaled == pytest.approx(5.0, rel=0.05)
    assert math.isnan(frechet_distance(x[:1], x))


def test_originality():
    train = melody([60, 62, 64, 65, 67, 65, 64, 62, 60, 59, 60])
    copy = melody([62, 64, 65, 67, 65])  # a slice of the training tune, shifted in time
    other = melody([90, 91, 92, 93], step=TPB // 3)
    seq_train = [note_sequence(train)]
    assert longest_copied_span(note_sequence(copy), seq_train) == 4  # the first onset step differs
    assert longest_copied_span(note_sequence(other), seq_train) == 0
    assert ngram_overlap(note_sequence(copy), seq_train, n=3) == pytest.approx(2 / 3)  # all but the first trigram
    assert ngram_overlap(note_sequence(other), seq_train, n=3) == 0.0
    assert math.isnan(ngram_overlap([], seq_train))


def test_evaluate_report_with_figures(tiny_dataset, tmp_path, capsys):
    pytest.importorskip("fluidsynth")
    from symbolic.cli import main

    pieces = sorted((tiny_dataset / "cache").glob("*.mid"))
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, path in enumerate(pieces):
        write_midi(read_midi(path), (gen if i % 2 else ref) / path.name)
    (gen / "broken.mid").write_bytes(b"junk")
    out = tmp_path / "report"
    assert main(["evaluate", str(gen), "--reference", str(ref), "--out", str(out), "--max-seconds", "8",
                 "--no-progress"]) == 1  # broken.mid skipped; the report is written all the same
    report = json.loads((out / "report.json").read_text())
    assert report["n_generated"] == 3 and report["n_reference"] == 3 and len(report["skipped"]) == 1
    assert set(report["symbolic"]) == set(M.METRIC_NAMES)
    assert report["audio"]["frechet_distance_mfcc"] > 0
    for name in ("piano_rolls.png", "histograms.png", "mel_spectrograms.png", "metric_distributions.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    text = (out / "report.md").read_text()
    assert "| pitch_class_entropy |" in text and "Fréchet distance of MFCC" in text
    assert "wrote" in capsys.readouterr().out


def test_render_command(data_dir, tmp_path, capsys):
    pytest.importorskip("fluidsynth")
    from symbolic.audio import read_wav
    from symbolic.cli import main

    assert main(["render", str(data_dir / "drums_channel10.mid"), str(data_dir / "running_status.mid"),
                 "--out", str(tmp_path / "wav"), "--sample-rate", "22050", "--stems", "--no-progress"]) == 0
    audio, rate = read_wav(tmp_path / "wav" / "drums_channel10.wav")
    assert rate == 22050 and audio.shape[1] == 2 and np.abs(audio).max() > 0.5
    assert (tmp_path / "wav" / "drums_channel10-track1.wav").is_file()
    assert "peak before normalisation" in capsys.readouterr().out
    assert main(["render", str(data_dir / "type2.mid"), "--out", str(tmp_path / "x.wav")]) == 1
    assert main(["render", str(data_dir / "running_status.mid"), "--out", str(tmp_path / "y.wav"),
                 "--soundfont", str(tmp_path / "none.sf2")]) == 2
