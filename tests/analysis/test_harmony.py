"""The chord model: segments, histograms, counting and Viterbi decoding, and the shipped model on clear melodies."""

from __future__ import annotations

import numpy as np
import pytest

from symbolic.analysis.harmony import (N_CHORDS, ChordModel, chord_segments, estimate_chords, fit_chord_model,
                                       load_chord_model, segment_histograms, segment_references,
                                       triad_pitch_classes)
from symbolic.errors import ConfigError, DataError

C, F, G = 0, 5, 7


def test_triads_are_counted_from_the_reference():
    assert triad_pitch_classes(0, 0) == {0, 4, 7}  # C major in C
    assert triad_pitch_classes(2 * 9 + 1, 0) == {9, 0, 4}  # A minor in C
    assert triad_pitch_classes(2 * 7, 2) == {9, 1, 4}  # the V of D: A major


def test_even_bars_are_cut_in_halves_and_others_are_one_segment():
    # 4/4 at 12 steps a beat, then a 3/4 bar, then a 6/4 bar
    assert chord_segments([0, 48, 84], 156, 12) == [(0, 24, 0), (24, 48, 0), (48, 84, 1), (84, 120, 2),
                                                     (120, 156, 2)]
    assert chord_segments([], 0, 12) == []
    assert chord_segments([0], 6, 12) == [(0, 6, 0)]  # a half-beat pickup bar stays whole


def test_histograms_count_beats_and_cut_notes_at_segment_lines():
    segments = chord_segments([0, 48], 96, 12)
    h = segment_histograms([(12, 36, 60), (36, 60, 64)], segments, 12)  # C over the half-bar line, E over the bar line
    assert h.shape == (4, 12)
    assert h[0, 0] == 1.0 and h[1, 0] == 1.0 and h[1, 4] == 1.0 and h[2, 4] == 1.0 and h.sum() == 4.0
    assert segment_histograms([], [], 12).shape == (0, 12)
    held = segment_histograms([(0, 48, 67)], segments, 12)  # a note held a bar counts a beat in each half
    assert held[0, 7] == 1.0 and held[1, 7] == 1.0
    assert segment_histograms([(0, 48, 67)], segments, 12, max_note_beats=4.0)[0, 7] == 2.0


def arpeggio(chord_roots: list[int], minor: list[bool] | None = None) -> np.ndarray:
    """One half-bar histogram per chord: its root, third and fifth, a beat-ish each, a little passing note."""
    out = np.zeros((len(chord_roots), 12))
    for k, root in enumerate(chord_roots):
        third = 3 if minor and minor[k] else 4
        out[k, [root % 12, (root + third) % 12, (root + 7) % 12]] = [1.0, 0.6, 0.4]
        out[k, (root + 2) % 12] += 0.1
    return out


def test_a_counted_model_finds_the_chords_of_a_melody_it_never_saw():
    progression = [C, C, F, G, C, F, G, C]
    labels = [(r, False) for r in progression]
    songs = [(arpeggio(progression), [0] * len(progression), labels)] * 5
    model = fit_chord_model(songs)
    melody = [G, C, F, F, C, G]  # an unseen order of the same chords
    states = estimate_chords(model, arpeggio(melody), [0] * len(melody))
    assert [triad_pitch_classes(s, 0) for s in states] == [triad_pitch_classes(2 * r, 0) for r in melody]
    # the same melody a tone higher, in D: the same chords a tone higher (the states count from the reference)
    states = estimate_chords(model, arpeggio([r + 2 for r in melody]), [2] * len(melody))
    assert [triad_pitch_classes(s, 2) for s in states] == [triad_pitch_classes(2 * r, 2) for r in melody]
    assert estimate_chords(model, np.zeros((0, 12)), []) == []


def test_the_transitions_fill_a_silent_segment():
    progression = [C] * 4 + [G] * 4
    songs = [(arpeggio(progression * 2), [0] * 16, [(r, False) for r in progression * 2])] * 3
    model = fit_chord_model(songs, emission_weight=1.0)
    h = arpeggio([C, C, C, G])
    h[1] = 0  # a half bar with no notes between two C chords: C holds (chords change seldom in the counts)
    states = estimate_chords(model, h, [0, 0, 0, 0])
    assert triad_pitch_classes(states[1], 0) == {0, 4, 7}


def test_the_shipped_model_hears_i_iv_v_i_in_two_keys():
    model = load_chord_model()
    for tonic in (0, 7):  # C major, G major
        roots = [tonic, tonic + 5, tonic + 7, tonic]
        h = arpeggio(roots)
        refs = segment_references(h, [(k, k + 1, k) for k in range(4)])
        assert set(refs) == {tonic}
        states = estimate_chords(model, h, refs)
        assert [sorted(triad_pitch_classes(s, tonic)) for s in states] == \
            [sorted(triad_pitch_classes(2 * ((r - tonic) % 12), tonic)) for r in roots]
    relative = estimate_chords(model, arpeggio([9, 2, 4, 9], [True, True, False, True]), [0] * 4)  # A minor
    assert triad_pitch_classes(relative[0], 0) == {9, 0, 4} and triad_pitch_classes(relative[2], 0) == {4, 8, 11}


def test_a_model_is_validated_and_read_back():
    model = load_chord_model()
    assert ChordModel.from_json(model.to_json()) == model
    uniform = fit_chord_model([])
    assert np.allclose(np.exp(uniform.prior_log_probs), 1 / N_CHORDS)
    with pytest.raises(ConfigError, match="shapes"):
        ChordModel(((0.0,) * 12,), model.transition_log_probs, model.prior_log_probs)
    with pytest.raises(ConfigError, match="emission_weight"):
        ChordModel(model.interval_log_probs, model.transition_log_probs, model.prior_log_probs, 0.0)
    with pytest.raises(DataError, match="not a chord model"):
        ChordModel.from_json('{"format": "something else"}')
