"""Free generation: cache and no-cache agree, the grammar mask holds, the bar bound is exact."""

from __future__ import annotations

import pytest
import torch
from conftest import RecordingDecoder

from symbolic.errors import TokenizationError
from symbolic.models import GPT, GPTConfig, LSTMConfig, LSTMDecoder
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.generate import generate
from symbolic.tokenization import EventTokenizer, GrammarState, TokenType

TOK = EventTokenizer()
SIZE = {"vocab_size": TOK.vocab_size, "n_styles": len(TOK.vocab.styles), "context_length": 48, "n_layer": 2,
        "n_head": 2, "n_embd": 32}
KINDS = ["gpt", "lstm"]


def make(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**SIZE)) if kind == "gpt" else LSTMDecoder(LSTMConfig(**SIZE))
    return model.eval()


@pytest.mark.parametrize("kind", KINDS)
def test_kv_cache_sampling_equals_no_cache_sampling(kind):
    model = make(kind)
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id("irish")]
    common = dict(max_new_tokens=120, min_new_tokens=110, seed=7, temperature=1.3)  # slides past the context
    with_cache = generate(model, TOK, prompt, GenerationConfig(**common), batch_size=3,
                          style_ids=torch.tensor([4, 4, 4]))
    without = generate(model, TOK, prompt, GenerationConfig(use_cache=False, **common), batch_size=3,
                       style_ids=torch.tensor([4, 4, 4]))
    assert with_cache == without
    assert max(len(s) for s in with_cache) > SIZE["context_length"]
    again = generate(model, TOK, prompt, GenerationConfig(**common), batch_size=3, style_ids=torch.tensor([4, 4, 4]))
    assert again == with_cache  # seeded: reproducible


@pytest.mark.parametrize("kind", KINDS)
def test_grammar_mask_only_lets_decodable_sequences_through(kind):
    model = make(kind, seed=3)
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id("chorale")]
    constrained = generate(model, TOK, prompt, GenerationConfig(max_new_tokens=200, seed=1, temperature=2.0),
                           batch_size=8)
    for seq in constrained:
        GrammarState(TOK.vocab).advance_all(seq)  # raises on any invalid succession
        n_written = sum(TOK.vocab.types[t] == TokenType.DURATION for t in seq)
        assert TOK.decode(seq).n_notes == n_written
    free = generate(model, TOK, prompt, GenerationConfig(max_new_tokens=200, seed=1, temperature=2.0,
                                                         constrain=False), batch_size=8)
    broken = 0
    for seq in free:
        try:
            GrammarState(TOK.vocab).advance_all(seq)
        except TokenizationError:
            broken += 1
    assert broken > 0  # an untrained model breaks the grammar without the mask


def test_style_weights_one_hot_equal_style_ids():
    model = make("gpt")
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id(None)]
    one_hot = torch.zeros(2, SIZE["n_styles"])
    one_hot[:, 3] = 1.0
    by_weights, _ = model(torch.tensor([[1, 2, 3]] * 2), style_weights=one_hot)
    by_ids, _ = model(torch.tensor([[1, 2, 3]] * 2), torch.tensor([3, 3]))
    assert torch.allclose(by_weights, by_ids, atol=1e-6)
    mixed, _ = model(torch.tensor([[1, 2, 3]] * 2), style_weights=torch.full((2, SIZE["n_styles"]), 1 / 6))
    assert not torch.allclose(mixed, by_ids, atol=1e-4)


@pytest.mark.parametrize("max_bars", [1, 3])
def test_max_bars_gives_exactly_that_many_new_bars(max_bars):
    bar = TOK.vocab.bar_id
    model = RecordingDecoder(make("gpt"), bias={bar: 30.0})  # the model wants a new bar at every step
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id("irish"), TOK.vocab.id_of(TokenType.TRACK, 0),
              TOK.vocab.id_of(TokenType.PROGRAM, 0)]
    for seq in generate(model, TOK, prompt, GenerationConfig(max_new_tokens=50, max_bars=max_bars), batch_size=2):
        assert seq[len(prompt):] == [bar] * max_bars + [TOK.vocab.eos_id]


def test_an_empty_or_ungrammatical_prompt_is_refused():
    model = make("gpt")
    with pytest.raises(TokenizationError, match="empty"):
        generate(model, TOK, [], GenerationConfig())
    with pytest.raises(TokenizationError, match="token grammar"):
        generate(model, TOK, [TOK.vocab.bar_id], GenerationConfig())
