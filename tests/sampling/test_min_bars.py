"""MinBars: no EOS before N new bars (issue 16 item 2)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from symbolic.errors import ConfigError
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.generate import generate
from symbolic.sampling.processors import MinBars, StepContext
from symbolic.tokenization import EventTokenizer, TokenType

TOK = EventTokenizer()


class EagerToEnd(torch.nn.Module):
    """A decoder that always prefers EOS (as an undertrained model on long songs does)."""

    config = SimpleNamespace(context_length=64)

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, ids, style_ids=None, style_weights=None, cache=None):
        logits = torch.zeros(ids.size(0), ids.size(1), TOK.vocab_size)
        logits[..., TOK.vocab.eos_id] = 8.0
        return logits, None


def _bars(seq):
    return sum(TOK.vocab.types[t] == TokenType.BAR for t in seq)


def test_eos_waits_for_the_bars():
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id(None)]
    eager = generate(EagerToEnd(), TOK, prompt, GenerationConfig(max_new_tokens=200, max_bars=4, use_cache=False),
                     batch_size=4)
    assert all(_bars(s) < 4 for s in eager)  # without the processor the pieces end early
    held = generate(EagerToEnd(), TOK, prompt,
                    GenerationConfig(max_new_tokens=200, max_bars=4, min_bars=4, use_cache=False), batch_size=4)
    assert [_bars(s) for s in held] == [4] * 4 and all(s[-1] == TOK.vocab.eos_id for s in held)


def test_processor_rows_and_edges():
    logits = torch.zeros(3, 5)
    out = MinBars(2, eos_id=4)(logits, StepContext(new_bars=[0, 2, 1]))
    assert out[0, 4] == float("-inf") and out[1, 4] == 0 and out[2, 4] == float("-inf")
    assert torch.equal(logits, torch.zeros(3, 5))  # pure
    only_eos = torch.full((1, 5), float("-inf"))
    only_eos[0, 4] = 0.0
    assert torch.equal(MinBars(2, 4)(only_eos, StepContext(new_bars=[0])), only_eos)  # never leaves nothing
    assert torch.equal(MinBars(2, 4)(logits, StepContext()), logits)  # no counts: a no-op
    with pytest.raises(ConfigError):
        MinBars(-1, 4)
    with pytest.raises(ConfigError, match="min_bars"):
        GenerationConfig(max_bars=2, min_bars=3)
