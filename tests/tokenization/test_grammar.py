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
    assert np.flatnonzero(_pitch_mask(drums)).tolist() == list(range(40, DRUM_KEYS.stop))
    # The next bar's pitched section is unrestricted again.
    drums.advance_all([v.bar_id, v.id_of(T.TRACK, 0), v.id_of(T.POSITION, 3)])
    assert _pitch_mask(drums).all()


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
