"""The chord model: segments, histograms, the classifier and its training, counting, Viterbi decoding, and the
shipped model on clear melodies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from symbolic.analysis.harmony import (N_CHORDS, ChordFitConfig, ChordModel, chord_segments, estimate_chords,
                                       estimate_key_and_chords, fit_chord_model, load_chord_model,
                                       rotated_contexts, segment_histograms, triad_pitch_classes)
from symbolic.resources import asset_path
from symbolic.errors import ConfigError, DataError

C, F, G = 0, 5, 7
# a small classifier that learns the toy songs below in a few hundred steps (a few hundredths of a second)
SMALL = ChordFitConfig(context_segments=0, hidden_units=8, epochs=150, batch_size=16, learning_rate=0.02)


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
    songs = [(arpeggio(progression, minor), [(0, False)] * len(progression), labels)] * 5
    model = fit_chord_model(songs, SMALL)
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
    songs = [(arpeggio(progression * 2), [(0, False)] * 16, [(r, False) for r in progression * 2])] * 3
    model = fit_chord_model(songs, dataclasses.replace(SMALL, emission_weight=1.0))
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
    assert asset_path("chord-model").joinpath("model.json").stat().st_size < 1_000_000
    uniform = fit_chord_model([], SMALL)
    assert np.allclose(np.exp(uniform.prior_log_probs), 1 / N_CHORDS)
    assert uniform.context_segments == 0 and np.shape(uniform.hidden_weights) == (12, 8)
    with pytest.raises(ConfigError, match="shapes"):
        dataclasses.replace(model, output_biases=(0.0,))
    with pytest.raises(ConfigError, match="shapes"):  # a major key's transitions and a minor key's prior only
        dataclasses.replace(model, transition_log_probs=model.transition_log_probs[:1])
    with pytest.raises(ConfigError, match="1 mode"):
        dataclasses.replace(model, prior_log_probs=model.prior_log_probs * 2)
    with pytest.raises(ConfigError, match="shapes"):  # the hidden layer reads 12 * (1 + 2 * 3) inputs, not 12
        dataclasses.replace(model, context_segments=0)
    with pytest.raises(ConfigError, match="context_segments"):
        dataclasses.replace(model, context_segments=-1)
    with pytest.raises(ConfigError, match="emission_weight"):
        dataclasses.replace(model, emission_weight=0.0)
    with pytest.raises(DataError, match="not a chord model"):
        ChordModel.from_json('{"format": "something else"}')
    with pytest.raises(DataError, match="not a chord model"):  # the interval-profile model's format
        ChordModel.from_json('{"format": "symbolic.chord-model/1", "interval_log_probs": []}')
    for bad in (dict(hidden_units=-1), dict(epochs=0), dict(batch_size=0), dict(learning_rate=0.0),
                dict(weight_decay=-1.0), dict(emission_weight=float("nan")), dict(context_segments=1.5),
                dict(modes=3)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ChordFitConfig(**bad)


def test_contexts_are_the_segment_and_its_neighbours_rotated_to_each_root():
    h = np.zeros((3, 12))
    h[0, C], h[1, G], h[2, 4] = 1.0, 2.0, 3.0  # C, then G, then E
    x = rotated_contexts(h, 1)
    assert x.shape == (3, 12, 36)
    # the middle segment from root G: itself (the root), the previous C (a fourth above G), the next E (a sixth)
    assert x[1, G, 0] == 2.0 and x[1, G, 12 + 5] == 1.0 and x[1, G, 24 + 9] == 3.0 and x[1, G].sum() == 6.0
    assert x[0, C, 12:24].sum() == 0.0 and x[2, C, 24:].sum() == 0.0  # nothing before the first, after the last
    assert rotated_contexts(np.zeros((0, 12)), 3).shape == (0, 12, 84)


def test_the_classifier_knows_no_key_a_transposed_melody_moves_its_chords():
    model = load_chord_model()
    h = arpeggio([C, 9, F, G], [False, True, False, False])
    log_probs = model.chord_log_probs(h)
    assert log_probs.shape == (4, N_CHORDS) and np.allclose(np.exp(log_probs).sum(axis=1), 1.0)
    for shift in (1, 5, 11):  # a melody t semitones up: every chord's probability moves to the root t up
        assert np.allclose(model.chord_log_probs(np.roll(h, shift, axis=1)), np.roll(log_probs, 2 * shift, axis=1))


def test_training_learns_the_chords_from_the_notes():
    roots = [C, F, G, 9, 2, 4]
    minor = [False, False, False, True, True, True]
    songs = [(arpeggio(roots, minor), [(0, False)] * 6, list(zip(roots, minor)))] * 4
    learned = fit_chord_model(songs, SMALL).chord_log_probs(arpeggio(roots, minor))
    untrained = fit_chord_model(songs, dataclasses.replace(SMALL, epochs=1, learning_rate=1e-6))
    targets = [2 * r + m for r, m in zip(roots, minor)]
    assert list(np.argmax(learned, axis=1)) == targets
    assert learned[np.arange(6), targets].mean() > np.log(0.5)  # most of the mass on the right chord
    assert untrained.chord_log_probs(arpeggio(roots, minor))[np.arange(6), targets].mean() < np.log(0.2)
    # the same config and seed train the same model
    assert fit_chord_model(songs, SMALL) == fit_chord_model(songs, SMALL)


def test_the_final_distribution_is_counted_from_each_songs_last_chord_in_its_mode():
    songs = [(arpeggio([C, F, G, C]), [(0, False)] * 4, [(C, False), (F, False), (G, False), (C, False)])] * 4
    songs += [(arpeggio([9, 4, 9], [True, False, True]), [(9, True)] * 3, [(9, True), (4, False), (9, True)])] * 2
    final = np.exp(fit_chord_model(songs, SMALL).final_log_probs)
    assert final.shape == (2, N_CHORDS)
    assert np.argmax(final[0]) == 0 and final[0, 0] == pytest.approx(5 / 28)  # 4 endings on I, add-one over 24
    assert np.argmax(final[1]) == 1 and final[1, 1] == pytest.approx(3 / 26)  # 2 on i: A minor counted from A
    # one mode: the minor songs' tonic is vi of the key signature (C major's), counted with the major songs'
    together = np.exp(fit_chord_model(songs, dataclasses.replace(SMALL, modes=1)).final_log_probs)
    assert together.shape == (1, N_CHORDS) and together[0, 2 * 9 + 1] == pytest.approx(3 / 30)


def test_the_final_distribution_decides_a_silent_last_segment():
    # mid-song C goes to G three times for once to F; every song ends on F
    progression = [C, G, C, G, C, G, C, F]
    songs = [(arpeggio(progression), [(0, False)] * 8, [(r, False) for r in progression])] * 5
    model = fit_chord_model(songs, SMALL)
    h = arpeggio([C, G, C, C])
    h[-1] = 0  # the last half bar silent: no emission, the transitions say G after C, the final distribution F
    assert chords_of(model, h)[-1] == {5, 9, 0}
    h = arpeggio([C, G, C, C, C])
    h[-2] = 0  # a silent half bar inside: the transitions alone (C goes to G)
    assert chords_of(model, h)[-2] == {7, 11, 2}


def test_a_minor_melody_is_heard_in_its_own_key_and_ends_on_its_tonic():
    model = load_chord_model()
    # A minor: i iv V i, the last half bar a held A with its fifth (a tune's last note over the tonic)
    h = arpeggio([9, 2, 4, 9, 9], [True, True, False, True, True])
    h[-1] = 0
    h[-1, [9, 4]] = [2.0, 0.5]
    reference, minor, states = estimate_key_and_chords(model, h)
    assert (reference, minor) == (9, True)
    assert triad_pitch_classes(states[-1], reference) == {9, 0, 4}
    # the same tune in C major's frame: reference C, the held C with its fifth ends on C, not A minor
    h = arpeggio([C, F, G, C, C])
    h[-1] = 0
    h[-1, [C, G]] = [2.0, 0.5]
    assert estimate_key_and_chords(model, h)[:2] == (C, False)
    assert chords_of(model, h)[-1] == {0, 4, 7}


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


def test_bad_states_notes_and_bars_get_one_clear_error():
    from symbolic.analysis.harmony import chord_segments, segment_histograms, triad_pitch_classes
    from symbolic.errors import DataError

    for state, reference in [(99, 0), (-1, 0), (0, None), (1.5, 0)]:
        with pytest.raises(DataError, match="state|reference"):
            triad_pitch_classes(state, reference)
    segments = chord_segments([0, 1920], 3840, 480)
    for note in [(0, 480), (0, 480, 200), (480, 0, 60)]:
        with pytest.raises(DataError, match="must be \\(start, end, pitch\\)"):
            segment_histograms([note], segments, 480)
    with pytest.raises(DataError, match="must increase"):
        chord_segments([1920, 0], 3840, 480)
    with pytest.raises(DataError, match="before the last bar start"):
        chord_segments([0, 1920], 100, 480)


def test_the_chords_of_a_whole_arrangement_are_heard_from_all_its_parts():
    from symbolic.analysis.harmony import chords_of_score
    from symbolic.score import Note, Score, Track

    tpb, bar = 480, 1920
    # a melody that names no chord (one E held) over block chords C | F | G | C, a chord a bar
    melody = Track(program=73, notes=[Note(k * bar, bar, 76, 80) for k in range(4)])
    chords = Track(program=0, notes=[Note(k * bar, bar, p, 70) for k, triad in
                                     enumerate([(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]) for p in triad])
    drums = Track(program=0, is_drum=True, notes=[Note(k * 480, 240, 36, 90) for k in range(16)])
    score = Score(ticks_per_beat=tpb, tracks=[melody, chords, drums])
    spans = chords_of_score(score)
    assert [s.label for s in spans] == ["C:maj", "C:maj", "F:maj", "F:maj", "G:maj", "G:maj", "C:maj", "C:maj"]
    assert [(s.start_ticks, s.end_ticks) for s in spans[:2]] == [(0, 960), (960, 1920)]
    assert chords_of_score(score, [2]) == []  # drums name no chord
    assert chords_of_score(Score()) == []
