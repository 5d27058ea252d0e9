"""Harte chord and key labels, and the chord-tone ratio against annotations."""

from __future__ import annotations

import pytest

from symbolic.analysis.chords import (chord_pitch_classes, chord_tone_ratio, harte_label, parse_chord_chart,
                                      parse_key, parse_root, read_chords)
from symbolic.errors import DataError
from symbolic.score import Annotations, ChordSpan, KeySpan, Note, Score, TempoChange, TimeSignature, Track


@pytest.mark.parametrize("label, pcs", [
    ("C:maj", {0, 4, 7}), ("C", {0, 4, 7}), ("F#:min7", {6, 9, 1, 4}), ("Eb:min/b3", {3, 6, 10}),
    ("A:sus4(b7)", {9, 2, 4, 7}), ("G:7/b7", {7, 11, 2, 5}), ("B:hdim7", {11, 2, 5, 9}),
    ("Db:maj6", {1, 5, 8, 10}), ("C:maj(9,*5)", {0, 4, 2}), ("Cb:dim7", {11, 2, 5, 8}),
])
def test_chord_pitch_classes(label, pcs):
    assert chord_pitch_classes(label) == frozenset(pcs)


def test_no_chord_and_bad_labels():
    assert chord_pitch_classes("N") is None
    for bad in ("H:maj", "C:major", "C:maj/x", ""):
        with pytest.raises(DataError):
            chord_pitch_classes(bad)


def test_keys_and_roots():
    assert parse_key("Gb:maj") == (6, False)
    assert parse_key("C#:min") == (1, True)
    assert parse_root("Bbb") == 9
    with pytest.raises(DataError):
        parse_key("C:dorian")


def test_chord_tone_ratio_weighs_note_time_and_cuts_at_chord_changes():
    # C major for ticks 0-1440, then A minor; "N" from 3840 does not count.
    notes = [Note(0, 960, 64, 80),      # E under C: 960 ticks on a chord tone
             Note(960, 960, 62, 80),    # D: 480 ticks off under C, 480 off under A minor
             Note(1920, 960, 69, 80),   # A under A minor: 960 on
             Note(3840, 960, 61, 80)]   # under N: not counted
    score = Score(tracks=[Track(notes=notes)])
    score.annotations = Annotations([ChordSpan(0, 1440, "C:maj"), ChordSpan(1440, 3840, "A:min"),
                                     ChordSpan(3840, 4800, "N")], [KeySpan(0, 4800, 0, False)])
    assert chord_tone_ratio(score, 0) == pytest.approx((960 + 960) / (960 + 960 + 960))
    assert score.annotations.chord_at(1440).label == "A:min"
    assert score.annotations.chord_at(4800) is None
    assert score.annotations.key_at(100) == KeySpan(0, 4800, 0, False)
    assert chord_tone_ratio(Score(tracks=[Track()]), 0) is None


@pytest.mark.parametrize("symbol, label, pcs", [
    ("C", "C:maj", {0, 4, 7}), ("Am7", "A:min7", {9, 0, 4, 7}), ("Bb", "Bb:maj", {10, 2, 5}),
    ("F#m7b5", "F#:hdim7", {6, 9, 0, 4}), ("C/E", "C:maj/3", {0, 4, 7}), ("D/F#", "D:maj/3", {2, 6, 9}),
    ("G7sus4", "G:sus4(b7)", {7, 0, 2, 5}), ("Cadd9", "C:maj(9)", {0, 2, 4, 7}), ("E5", "E:(1,5)", {4, 11}),
    ("Ebmaj7", "Eb:maj7", {3, 7, 10, 2}), ("Bdim", "B:dim", {11, 2, 5}), ("A:min7", "A:min7", {9, 0, 4, 7}),
    ("N.C.", "N", None),
])
def test_lead_sheet_symbols_become_harte_labels(symbol, label, pcs):
    assert harte_label(symbol) == label
    assert chord_pitch_classes(label) == (None if pcs is None else frozenset(pcs))


@pytest.mark.parametrize("bad", ["H7", "Cmaj8", "C/H", "A:foo", "", "am"])
def test_a_symbol_that_is_not_a_chord_is_named(bad):
    with pytest.raises(DataError, match="chord symbol|Harte|shorthand"):
        harte_label(bad)


def test_a_chord_chart_shares_each_bar_among_its_chords_and_follows_the_meter():
    score = Score(ticks_per_beat=480, time_signatures=[TimeSignature(0, 4, 4), TimeSignature(3840, 3, 4)],
                  tracks=[Track(notes=[Note(0, 480, 60, 80), Note(3840 + 1440 * 2, 480, 67, 80)])])
    spans = parse_chord_chart("| C | Am F |\n| G7 | % |", score)
    assert spans == [ChordSpan(0, 1920, "C:maj"), ChordSpan(1920, 2880, "A:min"), ChordSpan(2880, 3840, "F:maj"),
                     ChordSpan(3840, 5280, "G:7"), ChordSpan(5280, 6720, "G:7")]  # 3/4 from bar 3; % repeats
    assert parse_chord_chart("C G", score) == [ChordSpan(0, 1920, "C:maj"), ChordSpan(1920, 3840, "G:maj")]
    # longer than the score: the last meter goes on
    assert parse_chord_chart("C | C | C | C | C | N", score)[-1] == ChordSpan(3840 + 3 * 1440, 3840 + 4 * 1440, "N")
    assert parse_chord_chart("  ", score) == []
    with pytest.raises(DataError, match="bar 2: 'Hm'"):
        parse_chord_chart("C | Hm", score)
    with pytest.raises(DataError, match="first bar"):
        parse_chord_chart("% | C", score)


def test_chords_are_read_from_a_chart_text_a_chart_file_or_pop909_rows(tmp_path):
    score = Score(ticks_per_beat=480, tempos=[TempoChange(0, 500_000)],  # 120 bpm: a beat is 0.5 s
                  tracks=[Track(notes=[Note(0, 3840, 60, 80)])])
    assert read_chords("C | G", score) == [ChordSpan(0, 1920, "C:maj"), ChordSpan(1920, 3840, "G:maj")]
    chart = tmp_path / "chart.txt"
    chart.write_text("C | G\n", encoding="utf-8")
    assert read_chords(str(chart), score) == read_chords("C | G", score)
    rows = tmp_path / "chord_midi.txt"
    rows.write_text("0.0 1.0 C:maj\n1.0 2.0 A:min7\n2.0 2.0 N\n", encoding="utf-8")
    assert read_chords(str(rows), score) == [ChordSpan(0, 960, "C:maj"), ChordSpan(960, 1920, "A:min7")]
    rows.write_text("0.0 1.0 C:maj\n1.0 2.0 Q:min\n", encoding="utf-8")
    with pytest.raises(DataError, match="chord_midi.txt.*'Q:min'"):
        read_chords(str(rows), score)



def test_chord_rows_are_written_in_seconds_and_read_back(tmp_path):
    from symbolic.analysis.chords import chord_rows_text

    score = Score(ticks_per_beat=480, tempos=[TempoChange(0, 500_000), TempoChange(1920, 1_000_000)],
                  tracks=[Track(notes=[Note(0, 7680, 60, 80)])])
    score.annotations.chords = parse_chord_chart("C | Am7 F/A | G7", score)
    path = tmp_path / "chords.txt"
    path.write_text(chord_rows_text(score), encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[1] == "2.000000 4.000000 A:min7"  # bar 2 at 60 bpm: 2 beats
    assert read_chords(str(path), score) == score.annotations.chords
    assert chord_rows_text(Score()) == ""
