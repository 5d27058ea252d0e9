"""The grammar's drum path: drum slots sample only percussion keys; given sequences are still accepted."""

from __future__ import annotations

import numpy as np

from symbolic.score import Note, Score, Track
from symbolic.tokenization.grammar import DRUM_KEYS, GrammarState
from symbolic.tokenization.vocab import TokenType as T


def _pitch_mask(state: GrammarState) -> np.ndarray:
    v = state.vocab
    return state.allowed()[v.offsets[T.PITCH]:v.offsets[T.PITCH] + 128]


def test_drum_slot_pitches_are_masked_to_the_percussion_map(tokenizer):
    v = tokenizer.vocab
    state = GrammarState(v).advance_all([v.bos_id, v.style_id(None), v.id_of(T.TRACK, 0), v.id_of(T.PROGRAM, 33),
                                         v.id_of(T.TRACK, 1), v.drums_id, v.id_of(T.PROGRAM, 0), v.bar_id])
    assert state.drum_slots == frozenset({1})
    pitched = state.copy().advance_all([v.id_of(T.TRACK, 0), v.id_of(T.POSITION, 0)])
    assert _pitch_mask(pitched).all() and not pitched.in_drum_slot
    drums = state.copy().advance_all([v.id_of(T.TRACK, 1), v.id_of(T.POSITION, 0)])
    assert drums.in_drum_slot
    assert np.flatnonzero(_pitch_mask(drums)).tolist() == list(DRUM_KEYS)
    # A chord of drum hits rises from the last key and stays inside the map.
    drums.advance_all([v.id_of(T.PITCH, 40), v.id_of(T.VELOCITY, 10), v.id_of(T.DURATION, 2)])
    assert np.flatnonzero(_pitch_mask(drums)).tolist() == list(range(41, DRUM_KEYS.stop))
    # The next bar's pitched section is unrestricted again.
    drums.advance_all([v.bar_id, v.id_of(T.TRACK, 0), v.id_of(T.POSITION, 3)])
    assert _pitch_mask(drums).all()


def test_a_sampled_chord_never_strikes_a_pitch_twice_but_a_given_one_may(tokenizer):
    # a pop model in one-beat bars stacked 85 copies of one pitch at one onset (QA, POP909 038's 1/4 meter)
    v = tokenizer.vocab
    state = GrammarState(v).advance_all([v.bos_id, v.style_id(None), v.id_of(T.TRACK, 0), v.id_of(T.PROGRAM, 0),
                                         v.bar_id, v.id_of(T.TRACK, 0), v.id_of(T.POSITION, 0)])
    state.advance_all([v.id_of(T.PITCH, 60), v.id_of(T.VELOCITY, 10), v.id_of(T.DURATION, 2)])
    assert np.flatnonzero(_pitch_mask(state)).tolist() == list(range(61, 128))
    assert state.accepts(v.id_of(T.PITCH, 60))  # a real file's doubled note is still read
    state.advance_all([v.id_of(T.PITCH, 127), v.id_of(T.VELOCITY, 10), v.id_of(T.DURATION, 2)])
    assert not _pitch_mask(state).any() and state.allowed().any()  # the chord ends; the part goes on
    score = Score(tracks=[Track(program=0, notes=[Note(0, 480, 60, 90), Note(0, 240, 60, 70)])])
    GrammarState(v).advance_all(tokenizer.encode(score))


def test_drum_notes_outside_the_map_are_still_accepted(tokenizer):
    score = Score(tracks=[Track(program=0, notes=[Note(0, 480, 20, 90)]),
                          Track(program=0, is_drum=True, notes=[Note(0, 120, 20, 90), Note(480, 120, 100, 90)])])
    ids = tokenizer.encode(score)
    GrammarState(tokenizer.vocab).advance_all(ids)  # a prompt from a file with odd drum keys


def test_a_sampled_header_declares_a_track_but_a_trackless_prompt_is_accepted(tokenizer):
    v = tokenizer.vocab
    state = GrammarState(v).advance_all([v.bos_id, v.style_id(None)])
    assert np.flatnonzero(state.allowed()).tolist() == [v.id_of(T.TRACK, 0)]
    assert state.accepts(v.bar_id) and state.accepts(v.eos_id)  # an empty score's encoding is grammatical
    GrammarState(v).advance_all(tokenizer.encode(Score()))
    state.advance_all([v.id_of(T.TRACK, 0), v.id_of(T.PROGRAM, 0)])
    assert state.allowed()[[v.bar_id, v.eos_id, v.id_of(T.TRACK, 1)]].all()


def _allowed_of(state: GrammarState, token_type: int) -> list[int]:
    v = state.vocab
    return [v.values[i] for i in np.flatnonzero(state.allowed()) if v.types[i] == token_type]


def test_sampled_meters_are_sane_but_any_given_meter_is_accepted(tokenizer):
    v = tokenizer.vocab
    state = GrammarState(v).advance_all([v.bos_id, v.style_id(None), v.id_of(T.TRACK, 0), v.id_of(T.PROGRAM, 0),
                                         v.bar_id])
    # the vocabulary holds numerators 1..255; the mask lets a model sample 1..16 only (QA saw 59/4)
    assert [n + 1 for n in _allowed_of(state, T.TIMESIG)] == list(range(1, 17))
    assert state.accepts(v.id_of(T.TIMESIG, 58))
    three = state.copy().advance_all([v.id_of(T.TIMESIG, 2)])
    assert [v.denominators[i] for i in _allowed_of(three, T.DENOM)] == [2, 4, 8, 16]
    assert three.accepts(v.id_of(T.DENOM, v.denominators.index(1)))  # 3/1 encodes from a file
    # a prompt's 59/4 is accepted, and the mask then still offers the denominators the vocabulary holds
    odd = state.copy().advance_all([v.id_of(T.TIMESIG, 58)])
    assert 4 in [v.denominators[i] for i in _allowed_of(odd, T.DENOM)]
    odd.advance_all([v.id_of(T.DENOM, v.denominators.index(4)), v.id_of(T.POSITION, 0)])
    # a meter change inside a bar is held to the same set
    mid = state.copy().advance_all([v.id_of(T.POSITION, 6)])
    assert [n + 1 for n in _allowed_of(mid, T.TIMESIG)] == list(range(1, 17))


def test_every_sampled_meter_is_sane(tokenizer):
    """Sampling with the mask from uniform logits (every meter equally likely) never writes a meter
    outside 1..16 over 2, 4, 8, 16."""
    from symbolic.sampling.processors import GrammarMask, StepContext
    import torch

    v = tokenizer.vocab
    rng = np.random.default_rng(0)
    meters = set()
    for _ in range(300):
        state = GrammarState(v).advance_all([v.bos_id, v.style_id(None), v.id_of(T.TRACK, 0),
                                             v.id_of(T.PROGRAM, 0), v.bar_id])
        numerator = None
        for _ in range(2):
            logits = GrammarMask()(torch.zeros(1, len(v)), StepContext(grammar_states=[state]))
            allowed = np.flatnonzero(torch.isfinite(logits[0]).numpy())
            timesigs = [i for i in allowed if v.types[i] == T.TIMESIG]
            token = int(rng.choice(timesigs or allowed))
            if v.types[token] == T.TIMESIG:
                numerator = v.values[token] + 1
            elif v.types[token] == T.DENOM:
                meters.add((numerator, v.denominators[v.values[token]]))
            state.advance(token)
    assert meters and all(1 <= n <= 16 and d in (2, 4, 8, 16) for n, d in meters), sorted(meters)
    # every sampled bar fits one Bar token, so a piece of N bars is N Bar tokens (a 15/4 bar was two)
    assert all(v.meter_steps(n, d) <= v.max_bar_steps for n, d in meters), sorted(meters)
    assert any(n > 12 for n, _ in meters)  # long numerators are still drawn, over 8 or 16
