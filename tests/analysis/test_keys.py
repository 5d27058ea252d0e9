"""Keys told from notes, and the key around each bar of a token stream."""

from __future__ import annotations

import numpy as np
import pytest

from symbolic.analysis.keys import bar_scales, estimate_key, scale_pitch_classes, windowed_scales
from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.tokenization.stream import split_bars


def histogram(pitch_classes: list[int], weights: list[float] | None = None) -> np.ndarray:
    h = np.zeros(12)
    for k, pc in enumerate(pitch_classes):
        h[pc % 12] += 1.0 if weights is None else weights[k]
    return h


def test_major_and_minor_keys_are_told_from_their_notes():
    c_major = histogram([0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0, 7])  # the scale, then the tonic triad again
    assert estimate_key(c_major) == (0, False)
    a_minor = histogram([9, 11, 0, 2, 4, 5, 8, 9, 0, 4, 9, 4])  # with the raised seventh (G#)
    assert estimate_key(a_minor) == (9, True)
    d_major = histogram([2, 4, 6, 7, 9, 11, 1, 2, 6, 9, 2, 9])
    assert estimate_key(d_major) == (2, False)
    assert estimate_key(np.zeros(12)) is None and estimate_key(np.ones(12)) is None
    with pytest.raises(ValueError, match="12 bins"):
        estimate_key(np.zeros(7))


def test_scales_of_keys():
    assert scale_pitch_classes(0, False) == {0, 2, 4, 5, 7, 9, 11}
    assert scale_pitch_classes(9, True) == {9, 11, 0, 2, 4, 5, 7, 6, 8}  # natural, melodic and harmonic minor
    assert scale_pitch_classes(2, False) == {2, 4, 6, 7, 9, 11, 1}


def test_windowed_scales_follow_a_modulation_and_fill_empty_bars():
    c = histogram([0, 4, 7, 0, 2, 5, 9, 11, 7])
    e_major = histogram([4, 8, 11, 4, 6, 9, 1, 3, 11])
    empty = np.zeros(12)
    scales = windowed_scales([c] * 6 + [e_major] * 6, radius=1)
    assert scales[0] == scale_pitch_classes(0, False) and scales[-1] == scale_pitch_classes(4, False)
    whole = windowed_scales([empty, empty, empty, c, empty, empty, empty], radius=1)
    assert whole[0] == whole[3] == scale_pitch_classes(0, False)  # a window with no notes takes the whole's key
    assert windowed_scales([empty, empty]) == [None, None]
    assert windowed_scales([]) == []


def test_bar_scales_read_the_parts_of_each_bar(tokenizer):
    tpb = 480
    c_bars = [Note(k * tpb, tpb, p, 80) for k, p in enumerate([60, 64, 67, 72] * 4)]  # C major, bars 0-3
    e_bars = [Note((16 + k) * tpb, tpb, p, 80) for k, p in enumerate([64, 68, 71, 76, 73, 75] * 4)]  # E major, 4-9
    drone = [Note(k * tpb * 4, tpb * 4, 61, 80) for k in range(10)]  # C# in a second part: off both keys
    score = Score(ticks_per_beat=tpb, tracks=[Track(0, notes=c_bars + e_bars), Track(0, notes=drone)],
                  time_signatures=[TimeSignature(0, 4, 4)])
    _, bars = split_bars(tokenizer.vocab, tokenizer.encode(score))
    melody_only = bar_scales(tokenizer.vocab, bars, slots={0})
    assert len(melody_only) == len(bars) == 10
    assert melody_only[0] == scale_pitch_classes(0, False) and melody_only[-1] == scale_pitch_classes(4, False)
    assert bar_scales(tokenizer.vocab, []) == ()
