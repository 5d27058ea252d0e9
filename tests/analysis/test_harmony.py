"""The chord model: segments, histograms, counting and Viterbi decoding, and the shipped model on clear melodies."""

from __future__ import annotations

import numpy as np
import pytest

from symbolic.analysis.harmony import (N_CHORDS, ChordModel, chord_segments, estimate_chords, fit_chord_model,
                                       load_chord_model, segment_histograms, triad_pitch_classes)
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


def chords_of(model, histograms) -> list[frozenset[int]]:
    reference, states = estimate_chords(model, histograms)
    return [triad_pitch_classes(state, reference) for state in states]


def major(*roots: int) -> list[frozenset[int]]:
    return [triad_pitch_classes(2 * (r % 12), 0) for r in roots]


def test_a_counted_model_finds_the_chords_and_the_key_of_a_melody_it_never_saw():
    progression = [C, C, F, G, C, F, G, C, 9, 9, 2, G]  # ... vi vi ii V (A minor, D minor as minor chords)
    minor = [False] * 8 + [True, True, True, False]
    labels = [(r, m) for r, m in zip(progression, minor)]
    songs = [(arpeggio(progression, minor), [0] * len(progression), labels)] * 5
    model = fit_chord_model(songs)
    melody = [G, C, F, F, C, G, C]  # an unseen order of the same chords
    reference, states = estimate_chords(model, arpeggio(melody))
    assert reference == 0 and chords_of(model, arpeggio(melody)) == major(*melody)
    # the same melody a tone higher: the key of D, the same chords a tone higher
    reference, _ = estimate_chords(model, arpeggio([r + 2 for r in melody]))
    assert reference == 2 and chords_of(model, arpeggio([r + 2 for r in melody])) == major(*[r + 2 for r in melody])
    assert estimate_chords(model, np.zeros((0, 12))) == (None, [])
    assert estimate_chords(model, np.zeros((3, 12))) == (None, [])  # no notes: no key, no chords


def test_the_transitions_fill_a_silent_segment():
    progression = [C] * 4 + [G] * 4
    songs = [(arpeggio(progression * 2), [0] * 16, [(r, False) for r in progression * 2])] * 3
    model = fit_chord_model(songs, emission_weight=1.0)
    h = arpeggio([C, C, C, G])
    h[1] = 0  # a half bar with no notes between two C chords: C holds (chords change seldom in the counts)
    assert chords_of(model, h)[1] == {0, 4, 7}


def test_the_shipped_model_hears_i_iv_v_i_in_two_keys_and_a_minor_key():
    model = load_chord_model()
    for tonic in (0, 7):  # C major, G major
        roots = [tonic, tonic + 5, tonic + 7, tonic]
        assert chords_of(model, arpeggio(roots)) == [triad_pitch_classes(2 * (r % 12), 0) for r in roots]
    # A minor: i iv V i (the E major chord's G#: a harmonic minor's dominant)
    heard = chords_of(model, arpeggio([9, 2, 4, 9], [True, True, False, True]))
    assert heard == [{9, 0, 4}, {2, 5, 9}, {4, 8, 11}, {9, 0, 4}]


def test_a_model_is_validated_and_read_back():
    model = load_chord_model()
    assert ChordModel.from_json(model.to_json()) == model
    uniform = fit_chord_model([])
    assert np.allclose(np.exp(uniform.prior_log_probs), 1 / N_CHORDS)
    with pytest.raises(ConfigError, match="shapes"):
        ChordModel(((0.0,) * 12,), model.transition_log_probs, model.prior_log_probs, model.final_log_probs)
    with pytest.raises(ConfigError, match="emission_weight"):
        ChordModel(model.interval_log_probs, model.transition_log_probs, model.prior_log_probs,
                   model.final_log_probs, 0.0)
    with pytest.raises(DataError, match="not a chord model"):
        ChordModel.from_json('{"format": "something else"}')


def test_the_final_distribution_is_counted_from_each_songs_last_chord():
    songs = [(arpeggio([C, F, G, C]), [0] * 4, [(C, False), (F, False), (G, False), (C, False)])] * 4
    final = np.exp(fit_chord_model(songs).final_log_probs)
    assert np.argmax(final) == 0 and final[0] == pytest.approx(5 / 28)  # 4 endings on I, add-one over 24 states


def test_malformed_input_is_refused_in_the_librarys_words():
    model = load_chord_model()
    for bad in (np.ones(4), np.ones((3, 7))):
        with pytest.raises(DataError, match="shape"):
            estimate_chords(model, bad)
    for bad in (np.full((2, 12), np.nan), -np.ones((2, 12)), np.full((2, 12), np.inf)):
        with pytest.raises(DataError, match="finite and >= 0"):
            estimate_chords(model, bad)
    with pytest.raises(ConfigError, match="units_per_beat"):
        chord_segments([0, 48], 96, 0)
    assert estimate_chords(model, []) == (None, [])
