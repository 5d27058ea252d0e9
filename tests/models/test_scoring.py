"""Per-token NLL of sequences of any length: one pass within the context, half-overlapping windows past it."""

from __future__ import annotations

import torch
from conftest import tiny_gpt

from symbolic.models.scoring import sequence_nll
from symbolic.score import Note, Score, TimeSignature, Track


def tune(n_bars: int) -> Score:
    notes = [Note(k * 480, 480, 60 + (k * 5) % 17, 80) for k in range(4 * n_bars)]
    return Score(tracks=[Track(0, notes=notes)], time_signatures=[TimeSignature(0, 4, 4)])


def direct_nll(model, window: list[int], weights) -> torch.Tensor:
    with torch.no_grad():
        logits, _ = model(torch.tensor([window]), style_weights=weights)
    return -torch.log_softmax(logits[0, :-1].float(), -1).gather(1, torch.tensor(window[1:])[:, None])[:, 0]


def test_sequence_nll_in_one_window_is_one_pass(tokenizer):
    model = tiny_gpt(tokenizer)
    weights = torch.zeros(1, len(tokenizer.vocab.styles))
    weights[0, tokenizer.vocab.styles.index("irish")] = 1
    ids = tokenizer.encode(tune(2), style="irish")
    assert len(ids) <= model.config.context_length
    assert torch.allclose(sequence_nll(model, ids, weights), direct_nll(model, ids, weights), atol=1e-5)
    assert sequence_nll(model, ids[:1], weights).shape == (0,)


def test_sequence_nll_windows_overlap_by_half_a_context(tokenizer):
    model = tiny_gpt(tokenizer)
    context, half = model.config.context_length, model.config.context_length // 2
    weights = torch.zeros(1, len(tokenizer.vocab.styles))
    ids = tokenizer.encode(tune(20), style="irish")
    assert len(ids) > 3 * context
    nll = sequence_nll(model, ids, weights)
    assert nll.shape == (len(ids) - 1,)
    # the first window scores targets 1..context-1; after it, windows start every half context, and the window
    # starting at s scores the targets s + half .. s + context - 1: each has at least half a context before it
    assert torch.allclose(nll[:context - 1], direct_nll(model, ids[:context], weights), atol=1e-5)
    start = half
    while start + half < len(ids):
        window = ids[start:start + context]
        expected = direct_nll(model, window, weights)[half - 1:]
        assert torch.allclose(nll[start + half - 1:start + len(window) - 1], expected, atol=1e-5), start
        start += half
