"""Harte chord and key labels, and the chord-tone ratio against annotations."""

from __future__ import annotations

import pytest

from symbolic.analysis.chords import chord_pitch_classes, chord_tone_ratio, parse_key, parse_root
from symbolic.errors import DataError
from symbolic.score import Annotations, ChordSpan, KeySpan, Note, Score, Track


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
