"""Walking a token stream: header, bars, parts, notes."""

from __future__ import annotations

from symbolic.score import Note, Score, TempoChange, TimeSignature, Track
from symbolic.tokenization.stream import NoteSpan, iter_parts, part_notes, split_bars
from symbolic.tokenization.vocab import TokenType


def two_part_score() -> Score:
    tpb = 480
    melody = [Note(k * tpb, tpb, 72 - k, 80) for k in range(8)]  # two 4/4 bars of quarters
    bass = [Note(0, 4 * tpb, 48, 70), Note(4 * tpb, 2 * tpb, 43, 70)]  # a whole note, then a half
    return Score(ticks_per_beat=tpb, tracks=[Track(73, notes=melody), Track(32, notes=bass)],
                 tempos=[TempoChange(0, 500_000), TempoChange(4 * tpb, 400_000)],
                 time_signatures=[TimeSignature(0, 4, 4)])


def test_split_bars_cuts_header_openings_and_parts(tokenizer):
    vocab = tokenizer.vocab
    ids = tokenizer.encode(two_part_score(), style="chorale")
    header, bars = split_bars(vocab, ids)
    assert [vocab.types[t] for t in header[:2]] == [TokenType.BOS, TokenType.STYLE] and len(bars) == 2
    assert all(vocab.types[opening[0]] == TokenType.BAR for opening, _ in bars)
    assert TokenType.TEMPO in {vocab.types[t] for t in bars[1][0]}  # the second bar opens with its tempo
    assert [sorted(parts) for _, parts in bars] == [[0, 1], [0, 1]]
    rebuilt = header + [t for opening, parts in bars for t in opening + sum(parts.values(), [])]
    assert rebuilt + [vocab.eos_id] == ids
    assert split_bars(vocab, []) == ([], []) and split_bars(vocab, header) == (header, [])


def test_iter_parts_gives_each_part_with_its_place(tokenizer):
    vocab = tokenizer.vocab
    ids = tokenizer.encode(two_part_score(), style="chorale")
    parts = list(iter_parts(vocab, ids))
    assert [(p.bar, p.slot) for p in parts] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for part in parts:
        assert ids[part.start:part.start + len(part.tokens)] == part.tokens
        assert vocab.types[part.tokens[0]] == TokenType.TRACK
    _, bars = split_bars(vocab, ids)
    assert [p.tokens for p in parts] == [bars[b][1][s] for b in (0, 1) for s in (0, 1)]
    assert list(iter_parts(vocab, ids[:3])) == []


def test_part_notes_read_positions_pitches_and_durations(tokenizer):
    vocab = tokenizer.vocab
    steps = vocab.config.steps_per_beat
    _, bars = split_bars(vocab, tokenizer.encode(two_part_score()))
    assert part_notes(vocab, bars[0][1][1]) == [NoteSpan(0, 4 * steps, 48)]
    assert part_notes(vocab, bars[0][1][0]) == [NoteSpan(k * steps, (k + 1) * steps, 72 - k) for k in range(4)]
    assert part_notes(vocab, []) == []
