"""Beat grids, retiming onto beats, the performance test, beat finding and quantization."""

from __future__ import annotations

import numpy as np
import pytest

from symbolic.analysis.beats import (
    BeatGrid,
    BeatTrackingConfig,
    bar_lines_ticks,
    find_beats,
    grid_fit,
    performance_warning,
    quantize_score,
    retime,
    with_constant_tempo,
)
from symbolic.data.pop909 import load_pop909_score, read_beat_grid
from symbolic.errors import ConfigError, ScoreError
from symbolic.resources import shared_data_dir
from symbolic.score import (Annotations, ChordSpan, ControlChange, KeySpan, Note, PitchBend, Score, TempoChange,
                            TimeSignature, Track,
                            seconds_of_ticks, ticks_of_seconds)
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.verify import verify_events

POP909 = shared_data_dir() / "pop909"


def note_seconds(score: Score) -> np.ndarray:
    """(onset, offset) seconds of every note, track by track in note order."""
    rows = np.asarray([(n.onset_ticks, n.offset_ticks) for t in score.tracks for n in t.notes], dtype=np.int64)
    return seconds_of_ticks(score, rows)


def test_seconds_of_ticks_matches_score_seconds_at(score):
    ticks = [0, 1, 479, 480, 5000, 12345, 40 * 480]
    assert np.allclose(seconds_of_ticks(score, ticks), [score.seconds_at(t) for t in ticks], atol=1e-9)
    back = ticks_of_seconds(score, seconds_of_ticks(score, ticks))
    assert back.tolist() == ticks


def uneven_score() -> tuple[Score, BeatGrid]:
    """Notes played on an uneven beat with a pickup of 1.3 s, under a MIDI tempo map that ignores it."""
    rng = np.random.default_rng(0)
    beats = 1.3 + np.cumsum(np.concatenate([[0], rng.uniform(0.55, 0.75, 40)]))
    downbeats = tuple(k % 4 == 0 for k in range(len(beats)))
    score = Score(ticks_per_beat=480, tempos=[TempoChange(0, 500_000)])
    notes = []
    for k in range(len(beats) - 1):
        for sub in (0, 0.5, 0.75):  # on the beat, the eighth and the last sixteenth
            onset = beats[k] + sub * (beats[k + 1] - beats[k])
            notes.append(Note(int(round(onset / 0.5 * 480)), 100, 60 + k % 12, 80))
    score.tracks.append(Track(name="keys", notes=notes))
    return score, BeatGrid(tuple(beats.tolist()), downbeats)


def test_retime_keeps_seconds_and_puts_beats_and_bars_on_the_grid():
    score, grid = uneven_score()
    score.annotations = Annotations([ChordSpan(3000, 6000, "C:maj")], [KeySpan(0, 9000, 0, False)])
    result = retime(score, grid, ticks_per_beat=960)
    out = result.score
    chord, key = out.annotations.chords[0], out.annotations.keys[0]
    assert np.allclose(seconds_of_ticks(out, [chord.start_ticks, chord.end_ticks, key.end_ticks]),
                       seconds_of_ticks(score, [3000, 6000, 9000]), atol=1e-3)
    assert chord.label == "C:maj" and (key.tonic, key.minor) == (0, False)
    assert np.max(np.abs(note_seconds(out) - note_seconds(score))) < 1e-3
    assert result.max_shift_seconds < 1e-3
    # Every given beat is a whole number of quarter notes from tick 0 ...
    beat_ticks = ticks_of_seconds(out, grid.beat_seconds)
    assert np.all(beat_ticks % 960 == 0)
    assert np.all(np.diff(beat_ticks) == 960)
    # ... and every downbeat starts a bar: the meters' bar lines fall there.
    downbeat_ticks = {int(t) for t, d in zip(beat_ticks, grid.downbeats) if d}
    assert downbeat_ticks <= set(bar_lines_ticks(out, out.end_ticks + 8 * out.ticks_per_beat))
    assert result.pickup_beats == beat_ticks[0] // 960
    assert result.pickup_beats == 2  # 0.65 s extrapolated before the first beat at 1.3 s, then 0 s
    assert out.time_signatures[:2] == [TimeSignature(0, 2, 4), TimeSignature(2 * 960, 4, 4)]
    # Notes played on the beat, eighth and sixteenth sit on the 12-step grid, within the source's tick.
    assert grid_fit(out).on_grid_share > 0.95
    assert grid_fit(score).on_grid_share < 0.5


def test_retime_moves_the_sustain_pedal_and_pitch_bends_with_the_notes():
    score, grid = uneven_score()
    pedal = [ControlChange(t, 64, v) for t, v in ((700, 127), (1500, 0), (2300, 127), (4100, 0))]
    bends = [PitchBend(1000, 4096), PitchBend(1900, 0)]
    score.tracks[0].controls, score.tracks[0].pitch_bends = list(pedal), list(bends)
    score.tracks.append(Track(program=48, name="pedal only", controls=[ControlChange(3000, 7, 90)]))
    out = retime(score, grid, ticks_per_beat=960).score
    keys, other = out.tracks
    assert [(c.number, c.value) for c in keys.controls] == [(c.number, c.value) for c in pedal]
    assert [b.value for b in keys.pitch_bends] == [b.value for b in bends]
    assert np.allclose(seconds_of_ticks(out, [c.time_ticks for c in keys.controls + other.controls]),
                       seconds_of_ticks(score, [c.time_ticks for c in pedal + score.tracks[1].controls]), atol=1e-3)
    assert np.allclose(seconds_of_ticks(out, [b.time_ticks for b in keys.pitch_bends]),
                       seconds_of_ticks(score, [b.time_ticks for b in bends]), atol=1e-3)


def test_a_humanised_sequence_is_not_a_performance():
    """A sequenced part played in by hand: every onset within 10 ms of its sixteenth (most of them off the
    exact grid), at 130 qpm, bars right.  It must not be told to quantize."""
    rng = np.random.default_rng(3)
    tpb, qpm = 480, 130.0
    jitter_ticks = rng.uniform(-0.010, 0.010, 512) * qpm / 60 * tpb
    notes = [Note(max(0, int(round(k * tpb / 4 + j))), 100, 60 + k % 7, 90) for k, j in enumerate(jitter_ticks)]
    score = Score(ticks_per_beat=tpb, tempos=[TempoChange(0, int(60e6 / qpm))], tracks=[Track(notes=notes)])
    fit = grid_fit(score)
    assert fit.on_grid_share < 0.5 and fit.beat_onset_share > 0.9
    assert not fit.is_performance and performance_warning(score, "song.mid") is None


def test_retime_checks_its_arguments():
    score, grid = uneven_score()
    with pytest.raises(ConfigError):
        retime(score, grid, ticks_per_beat=0)
    with pytest.raises(ScoreError, match="increase"):
        BeatGrid((0.0, 1.0, 1.0), (True, False, False))
    with pytest.raises(ScoreError, match="flag"):
        BeatGrid((0.0, 1.0), (True,))


def test_empty_score_fits_its_grid():
    fit = grid_fit(Score())
    assert (fit.n_onsets, fit.on_grid_share, fit.beat_onset_share, fit.is_performance) == (0, 1.0, 1.0, False)
    assert fit.warning("x.mid") is None


@pytest.fixture(scope="module")
def song_002() -> Score:
    return load_pop909_score(POP909 / "002")


def test_a_constant_tempo_performance_is_flagged_and_quantize_fixes_it(song_002):
    performance = with_constant_tempo(song_002)
    assert performance.tempos == [TempoChange(0, 500_000)]
    assert np.max(np.abs(note_seconds(performance) - note_seconds(song_002))) < 1e-3
    assert not grid_fit(song_002).is_performance
    fit = grid_fit(performance)
    assert fit.is_performance
    line = fit.warning("song.mid")
    assert "song.mid" in line and "symbolic quantize" in line and "\n" not in line
    assert performance_warning(performance, "song.mid") == line
    assert performance_warning(song_002, "song.mid") is None

    result = quantize_score(performance)
    assert np.max(np.abs(note_seconds(result.score) - note_seconds(performance))) < 1e-3
    assert verify_events(result.score, EventTokenizer()) == []
    assert result.after.on_grid_share > 0.8 and not result.after.is_performance


def test_find_beats_on_pop909_against_the_annotated_beats():
    mir_eval = pytest.importorskip("mir_eval")  # a test extra
    from symbolic.inputs.midi import read_midi

    for song in ("002", "003"):
        truth = np.asarray(read_beat_grid(POP909 / song / "beat_midi.txt").beat_seconds)
        found = np.asarray(find_beats(read_midi(POP909 / song / f"{song}.mid")).beat_seconds)
        f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(truth), mir_eval.beat.trim_beats(found))
        assert f > 0.85, (song, f)


def test_beat_tracking_config_and_too_few_notes():
    with pytest.raises(ConfigError, match="method"):
        BeatTrackingConfig(method="magic")
    with pytest.raises(ScoreError, match="too few"):
        find_beats(Score(tracks=[Track(notes=[Note(0, 10, 60, 80)])]))


def test_a_long_gap_between_downbeats_becomes_ordinary_bars():
    beats = tuple(0.5 * k for k in range(80))
    flags = tuple(k in (0, 70) for k in range(80))  # 70 beats between two annotated downbeats
    score = Score(tracks=[Track(notes=[Note(0, 480, 60, 80), Note(480 * 75, 480, 62, 80)])])
    out = retime(score, BeatGrid(beats, flags)).score
    assert max(ts.numerator for ts in out.time_signatures) <= 32
    assert 70 * 1920 in set(bar_lines_ticks(out, out.end_ticks + 8 * out.ticks_per_beat))


def test_bar_lines_follow_the_meters():
    score = Score(time_signatures=[TimeSignature(960, 3, 4), TimeSignature(2400, 6, 8)],
                  tracks=[Track(notes=[Note(0, 480 * 12, 60, 80)])])
    # 4/4 before the first meter: its bar is cut short at 960, where 3/4 begins; 6/8 from 2400.
    assert bar_lines_ticks(score) == [0, 960, 2400, 3840, 5280]
    assert bar_lines_ticks(Score()) == [0]


def test_count_bars_leaves_out_the_empty_bar_after_a_final_bar_line():
    from symbolic.analysis.beats import count_bars

    waltz = Score(time_signatures=[TimeSignature(0, 3, 4)], tracks=[Track(notes=[Note(0, 480 * 9, 60, 80)])])
    assert bar_lines_ticks(waltz) == [0, 1440, 2880, 4320] and count_bars(waltz) == 3  # ends on a bar line
    longer = Score(time_signatures=[TimeSignature(0, 3, 4)], tracks=[Track(notes=[Note(0, 480 * 9 + 1, 60, 80)])])
    assert count_bars(longer) == 4 and count_bars(Score()) == 0
