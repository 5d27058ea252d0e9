"""Walking an event-token stream: its header, its bars, and each bar's parts.

An encoded piece is ``BOS Style (Track [Drums] Program)* (Bar <bar events> (Track <notes>)*)* EOS``
(:mod:`symbolic.tokenization.events`).  This module is the one place outside the
tokenizer that cuts such a stream up:

* :func:`iter_parts` yields each part of each bar, with where it starts in the stream;
* :func:`split_bars` returns the header and, per bar, its opening and parts by slot;
* :func:`part_notes` reads the notes of one part's tokens.

Anything from the first EOS on is ignored.  A stream with no Bar gives no parts.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Sequence

from symbolic.tokenization.vocab import TokenType

__all__ = ["NOTE_TYPES", "Part", "NoteSpan", "iter_parts", "split_bars", "part_notes"]

NOTE_TYPES = frozenset({TokenType.POSITION, TokenType.PITCH, TokenType.VELOCITY, TokenType.DURATION})


class Part(NamedTuple):
    """One track's tokens in one bar.

    Attributes:
        bar: index of the bar (0 = the first Bar token).
        slot: the track slot (the value of its ``Track`` token).
        start: index in the stream of the part's ``Track`` token.
        tokens: the part's ids, its ``Track`` token first.
    """

    bar: int
    slot: int
    start: int
    tokens: list[int]


class NoteSpan(NamedTuple):
    """A note of one part, in steps from its bar line."""

    start: int
    end: int
    pitch: int


def _segments(vocab, ids: Sequence[int]) -> Iterator[tuple[str, int, int, int, list[int]]]:
    """``(kind, bar, slot, start, tokens)`` of each header, bar opening (``slot`` -1) and part, in order."""
    types, values = vocab.types, vocab.values
    kind, bar, slot, start, tokens = "header", -1, -1, 0, []
    for index, token in enumerate(ids):
        token_type = types[token]
        if token_type == TokenType.EOS:
            break
        if token_type == TokenType.BAR or (token_type == TokenType.TRACK and bar >= 0):
            if kind != "header" or tokens:
                yield kind, bar, slot, start, tokens
            if token_type == TokenType.BAR:
                kind, bar, slot = "opening", bar + 1, -1
            else:
                kind, slot = "part", values[token]
            start, tokens = index, []
        tokens.append(token)
    if kind != "header" or tokens:
        yield kind, bar, slot, start, tokens


def iter_parts(vocab, ids: Sequence[int]) -> Iterator[Part]:
    """Each part of each bar of ``ids``, in stream order."""
    for kind, bar, slot, start, tokens in _segments(vocab, ids):
        if kind == "part":
            yield Part(bar, slot, start, tokens)


def split_bars(vocab, ids: Sequence[int]) -> tuple[list[int], list[tuple[list[int], dict[int, list[int]]]]]:
    """Cut an encoded sequence into its header and, per bar, ``(opening ids, {slot: part ids})``.

    The final EOS, if any, is dropped.
    """
    header: list[int] = []
    bars: list[tuple[list[int], dict[int, list[int]]]] = []
    for kind, _, slot, _, tokens in _segments(vocab, ids):
        if kind == "header":
            header = tokens
        elif kind == "opening":
            bars.append((tokens, {}))
        else:
            bars[-1][1].setdefault(slot, []).extend(tokens)
    return header, bars


def part_notes(vocab, tokens: Sequence[int]) -> list[NoteSpan]:
    """The notes in one part's tokens, positions within the bar, in token order."""
    types, values = vocab.types, vocab.values
    notes, pos, pitch = [], 0, None
    for token in tokens:
        kind = types[token]
        if kind == TokenType.POSITION:
            pos = values[token]
        elif kind == TokenType.PITCH:
            pitch = values[token]
        elif kind == TokenType.DURATION and pitch is not None:
            notes.append(NoteSpan(pos, pos + vocab.duration_steps[values[token]], pitch))
            pitch = None
    return notes
