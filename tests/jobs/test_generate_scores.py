"""Free generation of scores: prompts, styles, the context bound."""

from __future__ import annotations

import pytest
from conftest import tiny_gpt

from symbolic.errors import TokenizationError
from symbolic.jobs.generate import generate_scores, prompt_ids
from symbolic.sampling.config import GenerationConfig
from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.tokenization.vocab import TokenType


def test_generate_scores_returns_scores(tokenizer):
    scores = generate_scores(tiny_gpt(tokenizer), tokenizer, GenerationConfig(max_new_tokens=50, seed=2),
                             style="irish", n_samples=2)
    assert len(scores) == 2 and all(s.ticks_per_beat == 480 for s in scores)


def test_prompt_ids_keep_the_first_bars(tokenizer):
    vocab = tokenizer.vocab
    tune = Score(tracks=[Track(0, notes=[Note(k * 480, 480, 60 + k, 80) for k in range(16)])],
                 time_signatures=[TimeSignature(0, 4, 4)])
    assert prompt_ids(tokenizer, "irish") == [vocab.bos_id, vocab.style_id("irish")]
    ids = prompt_ids(tokenizer, "irish", tune, prompt_bars=2)
    assert sum(vocab.types[t] == TokenType.BAR for t in ids) == 2 and ids[-1] != vocab.eos_id
    assert ids == tokenizer.encode(tune, style="irish")[:len(ids)]
    long = Score(tracks=[Track(0, notes=[Note(k * 240, 240, 60 + k % 12, 80) for k in range(200)])])
    with pytest.raises(TokenizationError, match=r"keep fewer of its bars \(prompt_bars\)"):
        generate_scores(tiny_gpt(tokenizer), tokenizer, GenerationConfig(), style="irish", prompt=long)
