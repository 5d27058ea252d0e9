"""The event tokenization: exact round trip at the grid, total decoding, grammar, spec files."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_score
from symbolic import Note, Score, TempoChange, TimeSignature, Track
from symbolic.errors import ConfigError, StyleError, TokenizationError
from symbolic.resources import project_root
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig, GrammarState, TokenType
from symbolic.tokenization.verify import score_differences
from symbolic.tokenization.vocab import EVENTS_V2, load_spec, spec_dict


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_is_exact_at_grid(tokenizer, seed):
    score = random_score(seed, n_tracks=1 + seed % 4)
    decoded = tokenizer.decode(tokenizer.encode(score))
    assert score_differences(tokenizer.quantize(score), decoded) == []
    assert decoded.n_notes == score.n_notes


def test_quantize_is_idempotent(tokenizer, score):
    once = tokenizer.quantize(score)
    assert tokenizer.quantize(once) == once


def test_grid_values(tokenizer):
    score = Score(ticks_per_beat=480, tracks=[Track(notes=[Note(41, 119, 60, 100)])])
    note = tokenizer.decode(tokenizer.encode(score)).tracks[0].notes[0]
    assert note.onset_ticks == 40  # 41 ticks -> nearest 1/12 beat
    assert note.duration_ticks == 120
    assert abs(note.velocity - 100) <= 3


score_strategy = st.builds(
    lambda tpb, tracks, tempos, meters: Score(
        ticks_per_beat=tpb,
        tracks=[Track(p, d, "", [Note(*n) for n in ns]) for p, d, ns in tracks],
        tempos=[TempoChange(t, us) for t, us in tempos],
        time_signatures=[TimeSignature(t, n, d) for t, n, d in meters]).sort(),
    st.sampled_from([96, 120, 384, 480, 960]),
    st.lists(st.tuples(st.integers(0, 127), st.booleans(),
                       st.lists(st.tuples(st.integers(0, 20000), st.integers(1, 8000), st.integers(0, 127),
                                          st.integers(1, 127)), max_size=30)), max_size=4),
    st.lists(st.tuples(st.integers(0, 20000), st.integers(200_000, 2_000_000)), max_size=3),
    st.lists(st.tuples(st.integers(0, 20000), st.one_of(st.integers(1, 16), st.integers(1, 255)),
                       st.sampled_from([1, 2, 4, 8, 16])), max_size=3),
)


@settings(max_examples=120, deadline=None)
@given(score_strategy)
def test_round_trip_property(score):
    tokenizer = EventTokenizer()
    ids = tokenizer.encode(score, style="irish")
    assert ids[0] == tokenizer.vocab.bos_id and ids[-1] == tokenizer.vocab.eos_id
    assert score_differences(tokenizer.quantize(score), tokenizer.decode(ids)) == []
    # Every encoded sequence is accepted by the grammar.
    GrammarState(tokenizer.vocab).advance_all(ids)
    assert tokenizer.decode_style(ids) == "irish"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, EventTokenizer().vocab_size - 1), max_size=300))
def test_decoding_is_total(ids):
    tokenizer = EventTokenizer()
    score = tokenizer.decode(ids)
    assert all(n.duration_ticks > 0 for t in score.tracks for n in t.notes)


def test_out_of_range_id_raises(tokenizer):
    with pytest.raises(TokenizationError, match="outside the vocabulary"):
        tokenizer.decode([1, 5, tokenizer.vocab_size])
    with pytest.raises(TokenizationError):
        tokenizer.decode([-1])


def test_grammar_walks_always_decode_completely(tokenizer):
    """Random walks through the grammar mask: every note written is decoded, nothing skipped."""
    rng = np.random.default_rng(0)
    v = tokenizer.vocab
    for _ in range(30):
        state, ids = GrammarState(v), []
        for _ in range(400):
            allowed = np.flatnonzero(state.allowed())
            assert len(allowed) > 0
            token = int(rng.choice(allowed))
            state.advance(token)
            ids.append(token)
            if token == v.eos_id:
                break
        n_written = sum(1 for i in ids if v.types[i] == TokenType.DURATION)
        assert tokenizer.decode(ids).n_notes == n_written
        # Round trip of the decoded piece is exact too.
        decoded = tokenizer.decode(ids)
        assert score_differences(tokenizer.quantize(decoded), tokenizer.decode(tokenizer.encode(decoded))) == []


def test_grammar_rejects_bad_successions(tokenizer):
    v = tokenizer.vocab
    state = GrammarState(v)
    with pytest.raises(TokenizationError):
        state.advance(v.bar_id)  # must start with BOS
    state.advance_all([v.bos_id, v.style_id(None), v.id_of(TokenType.TRACK, 0), v.id_of(TokenType.PROGRAM, 3),
                       v.bar_id, v.id_of(TokenType.TRACK, 0), v.id_of(TokenType.POSITION, 5)])
    assert not state.accepts(v.id_of(TokenType.VELOCITY, 3))  # pitch must come first
    assert not state.accepts(v.id_of(TokenType.TRACK, 1))  # track 1 was never declared
    state.advance_all([v.id_of(TokenType.PITCH, 60), v.id_of(TokenType.VELOCITY, 3), v.id_of(TokenType.DURATION, 3)])
    assert not state.accepts(v.id_of(TokenType.POSITION, 5))  # positions must rise
    assert not state.accepts(v.id_of(TokenType.POSITION, 48))  # and stay inside the 4/4 bar
    assert state.accepts(v.id_of(TokenType.POSITION, 47))
    assert not state.accepts(v.id_of(TokenType.PITCH, 59))  # chord pitches do not fall
    mask = state.allowed()
    assert mask.shape == (len(v),) and mask.dtype == bool
    assert mask[v.eos_id] and mask[v.bar_id]


def test_track_order_places_tracks_first(tokenizer):
    score = random_score(4, n_tracks=3)
    ids = tokenizer.encode(score, track_order=[2])
    decoded = tokenizer.decode(ids)
    assert decoded.tracks[0].is_drum == score.tracks[2].is_drum
    assert score_differences(tokenizer.quantize(score, track_order=[2]), decoded) == []
    # Inside every bar, slot 0 (the chosen track) comes before the others.
    names = tokenizer.token_names(ids)
    bar_sections = " ".join(names).split("Bar")[1:]
    for section in bar_sections:
        tracks = [w for w in section.split() if w.startswith("Track_")]
        assert tracks == sorted(tracks, key=lambda w: int(w.split("_")[1]))
    with pytest.raises(TokenizationError, match="twice"):
        tokenizer.encode(score, track_order=[1, 1])
    with pytest.raises(TokenizationError, match="3 tracks"):
        tokenizer.encode(score, track_order=[5])


def test_empty_and_unknown(tokenizer):
    assert tokenizer.encode(Score()) == [tokenizer.vocab.bos_id, tokenizer.vocab.style_id(None), tokenizer.vocab.eos_id]
    assert tokenizer.decode([]).is_empty()
    with pytest.raises(StyleError, match="known styles"):
        tokenizer.encode(Score(), style="polka")


def test_too_many_tracks(tokenizer):
    score = Score(tracks=[Track(notes=[Note(0, 10, 60, 64)]) for _ in range(33)])
    with pytest.raises(TokenizationError, match="max_tracks"):
        tokenizer.encode(score)


def test_unsupported_meter_is_reported_not_hidden(tokenizer):
    from symbolic.tokenization.verify import verify_events

    # 3/64 is not a whole number of 1/12-beat steps; a numerator over 255 does not fit MIDI.
    for meter in ((3, 64), (300, 4)):
        score = Score(tracks=[Track(notes=[Note(0, 480, 60, 64)])], time_signatures=[TimeSignature(0, *meter)])
        assert verify_events(score, tokenizer)  # lossy, and said so


@pytest.mark.parametrize("meter", [(4, 1), (16, 4), (116, 4), (25, 8), (13, 16)])
def test_long_and_odd_meters_round_trip(tokenizer, meter):
    """Bars longer than 12 beats are chunked; every note and the meter map come back."""
    tpb = 480
    bar = meter[0] * 4 * tpb // meter[1]
    notes = [Note(i * 170, 160, 40 + i % 40, 90) for i in range(3 * bar // 170)]
    score = Score(ticks_per_beat=tpb, tracks=[Track(notes=notes)],
                  time_signatures=[TimeSignature(0, *meter), TimeSignature(2 * bar + 240, 3, 4)],
                  tempos=[TempoChange(bar + 7 * tpb, 400_000)])
    ids = tokenizer.encode(score)
    assert score_differences(tokenizer.quantize(score), tokenizer.decode(ids)) == []
    GrammarState(tokenizer.vocab).advance_all(ids)


def test_spec_file_matches_defaults():
    # events-v1.json predates tempo_scheme and fold_sustain: it loads to the default (v1) config unchanged.
    path = project_root() / "tokenizers" / "events-v1.json"
    assert load_spec(path) == EventTokenizerConfig()
    assert json.loads(path.read_text())["vocabulary"] == spec_dict(EventTokenizerConfig())["vocabulary"]
    path = project_root() / "tokenizers" / "events-v2.json"
    assert json.loads(path.read_text()) == spec_dict(EVENTS_V2)
    assert load_spec(path) == EVENTS_V2


def test_v2_tempo_tokens_hold_common_tempos_exactly():
    """Issue 13.8: 120 qpm comes back as 120 qpm (v1: 118.66), and so does every integer tempo 20..300."""
    v1, v2 = EventTokenizer(), EventTokenizer(EVENTS_V2)
    for qpm in range(20, 301):
        score = Score(tracks=[Track(notes=[Note(0, 480, 60, 90)])], tempos=[TempoChange(0, round(60e6 / qpm))])
        # MIDI stores whole microseconds a beat: the decoded tempo is the file's own value, to the microsecond.
        assert v2.decode(v2.encode(score)).tempos == score.tempos
    score = Score(tracks=[Track(notes=[Note(0, 480, 60, 90)])], tempos=[TempoChange(0, 500_000)])
    assert v1.decode(v1.encode(score)).tempos[0].qpm == pytest.approx(118.66, abs=0.01)
    assert v2.decode(v2.encode(score)).tempos[0].microseconds_per_beat == 500_000
    assert v2.vocab.names[v2.vocab.offsets[TokenType.TEMPO]] == "Tempo_20" and len(v2.vocab.tempo_qpm) == 281


def test_v1_tokens_still_decode():
    """A v1 tokenizer still reads v1 ids after v2 exists (the shipped model was trained on v1)."""
    v1 = EventTokenizer.from_spec(project_root() / "tokenizers" / "events-v1.json")
    score = random_score(3)
    assert score_differences(v1.quantize(score), v1.decode(v1.encode(score))) == []
    with pytest.raises(ConfigError, match="integer tempo scheme"):
        EventTokenizerConfig(tempo_scheme="integer", min_qpm=20, max_qpm=300, tempo_bins=48)


def test_trailing_empty_bars_are_encoded(data_dir, tokenizer):
    """Issue 13.4: notes in the first bar, End of Track at the end of the second: two bars, four seconds."""
    from symbolic import read_midi

    score = read_midi(data_dir / "trailing_rest.mid")
    ids = tokenizer.encode(score)
    assert ids.count(tokenizer.vocab.bar_id) == 2
    decoded = tokenizer.decode(ids)
    assert decoded.end_ticks == 2 * 4 * 480 and decoded == tokenizer.quantize(score)


def test_fold_sustain_lengthens_pedalled_notes(data_dir):
    """Issue 13.3: with fold_sustain the three short notes sound until the pedal lifts at two seconds."""
    from symbolic import read_midi

    score = read_midi(data_dir / "sustain_pedal.mid")
    plain = EventTokenizer(EVENTS_V2)
    folded = EventTokenizer(dataclasses.replace(EVENTS_V2, fold_sustain=True))
    assert [n.offset_ticks for n in plain.decode(plain.encode(score)).tracks[0].notes] == [120, 480, 840]
    assert [n.offset_ticks for n in folded.decode(folded.encode(score)).tracks[0].notes] == [1920, 1920, 1920]
    assert folded.decode(folded.encode(score)) == folded.quantize(score)


def test_spec_errors(tmp_path):
    data = spec_dict(EventTokenizerConfig())
    data["config"]["steps_per_bet"] = 12
    with pytest.raises(ConfigError, match="steps_per_bet"):
        load_spec(data)
    data = spec_dict(EventTokenizerConfig())
    data["vocabulary"][10] = "Edited"
    with pytest.raises(ConfigError, match="does not match"):
        load_spec(data)
    with pytest.raises(ConfigError, match="not found"):
        load_spec(tmp_path / "missing.json")
    with pytest.raises(ConfigError):
        EventTokenizerConfig(steps_per_beat=7)  # 480 is not a multiple of 7
    with pytest.raises(ConfigError, match="twice"):
        EventTokenizerConfig(styles=("a", "a"))


def test_custom_styles_and_save(tmp_path):
    tok = EventTokenizer(EventTokenizerConfig(styles=("jazz", "pop")))
    tok.save_spec(tmp_path / "spec.json")
    again = EventTokenizer.from_spec(tmp_path / "spec.json")
    assert again.vocab.names == tok.vocab.names
    assert again.decode_style(again.encode(Score(), style="pop")) == "pop"


def test_token_budget_per_note(tokenizer):
    rng = random.Random(0)
    track = Track(notes=[Note(i * 120, 120, rng.randrange(50, 80), 80) for i in range(200)])
    ids = tokenizer.encode(Score(tracks=[track]))
    assert len(ids) / 200 < 5
