"""Logits processors: pure, composable, each doing what its name says."""

from __future__ import annotations

import pytest
import torch

from symbolic.errors import ConfigError
from symbolic.sampling.processors import (GrammarMask, Guidance, MinNewTokens, StepContext, Temperature, TopK, TopP,
                                          compose, forbid_unless_empty)
from symbolic.tokenization import EventTokenizer, GrammarState

TOK = EventTokenizer()


def test_processors_are_pure_and_correct():
    logits = torch.tensor([[3.0, 1.0, 0.5, -1.0, 2.0]])
    original = logits.clone()
    assert torch.isinf(TopK(2)(logits, StepContext())).sum() == 3
    kept = TopP(0.7)(logits, StepContext())
    probs = torch.softmax(logits, -1)[0]
    assert set(torch.nonzero(~torch.isinf(kept[0])).flatten().tolist()) == {0, 4}  # 0.60 + 0.22 >= 0.7
    assert probs[0] < 0.7
    assert torch.allclose(Temperature(2.0)(logits, StepContext()), logits / 2)
    uncond = torch.zeros_like(logits)
    assert torch.allclose(Guidance(3.0)(logits, StepContext(uncond_logits=uncond)), 3 * logits)
    state = GrammarState(TOK.vocab)
    masked = GrammarMask()(torch.zeros(1, TOK.vocab_size), StepContext(grammar_states=[state]))
    assert torch.isfinite(masked).sum() == 1 and torch.isfinite(masked[0, TOK.vocab.bos_id])
    chain = compose([Temperature(0.5), TopK(1)])
    assert torch.isinf(chain(logits, StepContext())).sum() == 4
    assert torch.equal(logits, original)  # nothing changed in place
    with pytest.raises(ConfigError):
        Temperature(0)
    with pytest.raises(ConfigError):
        TopP(1.5)


def test_min_new_tokens_forbids_eos_until_enough_were_sampled():
    logits = torch.zeros(1, 5)
    early = MinNewTokens(3, eos_id=2)(logits, StepContext(n_generated=2))
    assert torch.isinf(early[0, 2]) and torch.isfinite(early[0, [0, 1, 3, 4]]).all()
    assert torch.equal(MinNewTokens(3, eos_id=2)(logits, StepContext(n_generated=3)), logits)


def test_forbid_unless_empty_leaves_a_row_it_would_empty():
    logits = torch.tensor([[0.0, 1.0, 2.0], [float("-inf"), float("-inf"), 2.0]])
    out = forbid_unless_empty(logits, torch.tensor([False, False, True]))
    assert torch.equal(out[0], torch.tensor([0.0, 1.0, float("-inf")])) and torch.equal(out[1], logits[1])
    with pytest.raises(ConfigError, match="grammar states"):
        GrammarMask()(logits, StepContext())
    with pytest.raises(ConfigError, match="unconditional"):
        Guidance(2.0)(logits, StepContext())
