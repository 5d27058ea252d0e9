"""Where the tokenizer's bars start, as the jobs count them."""

from __future__ import annotations

from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.tokenization.vocab import TokenType


def test_bar_starts_steps(tokenizer):
    score = Score(ticks_per_beat=384, tracks=[Track(0, notes=[Note(k * 384, 377, 60 + k, 80) for k in range(8)])],
                  time_signatures=[TimeSignature(0, 3, 4)])
    starts = tokenizer.bar_starts_steps(score)
    assert starts == [0, 36, 72, 108]  # 8 beats of notes in 3/4: three bars, then the next one
    assert tokenizer.bar_starts_steps(Score()) == [0]
    types = tokenizer.vocab.types
    assert sum(types[t] == TokenType.BAR for t in tokenizer.encode(score)) == len(starts) - 1
