"""Scoring token sequences with a decoder: per-token negative log-likelihood over any length."""

from __future__ import annotations

import torch

__all__ = ["sequence_nll"]


@torch.inference_mode()
def sequence_nll(model, ids: list[int], style_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Negative log-likelihood (nats) of each of ``ids[1:]`` given what precedes it: float ``(len(ids) - 1,)``.

    Sequences longer than the context are scored by windows that overlap by half a
    context, each token scored once with at least half a context before it (or all of it).
    """
    context = model.config.context_length
    out = torch.zeros(max(len(ids) - 1, 0))
    start, scored = 0, 0  # scored: targets ids[1..scored] are done
    while scored < len(ids) - 1:
        window = torch.tensor([ids[start:start + context]], dtype=torch.long)
        logits, _ = model(window, style_weights=style_weights)
        logp = torch.log_softmax(logits[0, :-1].float(), dim=-1)
        targets = window[0, 1:]
        nll = -logp.gather(1, targets[:, None])[:, 0]
        first = scored - start  # index into targets of the first new target
        out[scored:start + len(targets)] = nll[first:]
        scored = start + len(targets)
        start = scored - context // 2 + 1 if scored < len(ids) - 1 else start
        start = max(start, 0)
    return out
