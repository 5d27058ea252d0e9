"""What both decoders share: the style conditioning and the loss.

Interface of every decoder::

    logits, loss = model(input_ids, style_ids, targets=None, style_weights=None, cache=None)

``input_ids`` int64 ``(B, T)``; ``style_ids`` int64 ``(B,)`` indexing the style
vocabulary (0 = the learned "no style" entry); ``targets`` int64 ``(B, T)`` with
``-100`` where no loss is wanted.  ``style_weights`` float ``(B, n_styles)``
replaces ``style_ids`` by a weighted mix of style embeddings (interpolation).
With a ``cache`` from ``model.new_cache(B)``, ``input_ids`` holds only the new
tokens and the cache is extended in place; logits are ``(B, T, vocab_size)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from symbolic.errors import ConfigError

__all__ = ["DecoderConfig", "StyleConditioning", "language_model_loss", "check_decoder_config", "IGNORE_INDEX"]

IGNORE_INDEX = -100


def check_decoder_config(config) -> None:
    """Shared validation of the decoder configs (raises :class:`ConfigError`)."""
    if config.vocab_size < 4 or config.n_styles < 1:
        raise ConfigError("vocab_size must be >= 4 and n_styles >= 1 (style 0 is 'none')")
    if config.context_length < 2:
        raise ConfigError(f"context_length={config.context_length} must be at least 2")
    if config.n_embd % config.n_head:
        raise ConfigError(f"n_embd={config.n_embd} must be a multiple of n_head={config.n_head}")
    if not 0.0 <= config.dropout < 1.0 or not 0.0 <= config.style_dropout <= 1.0:
        raise ConfigError("dropout must be in [0, 1) and style_dropout in [0, 1]")
    if config.n_layer < 1:
        raise ConfigError("n_layer must be at least 1")


@dataclass(frozen=True)
class DecoderConfig:
    """Size and regularisation shared by both decoders.

    Attributes:
        vocab_size: token ids (from the tokenizer).
        n_styles: style vocabulary size, "none" included (index 0).
        context_length: longest window in tokens (the LSTM's attention window).
        n_layer, n_head, n_embd: depth, attention heads, width.
        dropout: dropout on embeddings and residual outputs (not on attention probabilities).
        style_dropout: training probability of replacing the style by "none".
    """

    vocab_size: int
    n_styles: int
    context_length: int = 512
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    dropout: float = 0.1
    style_dropout: float = 0.1

    def __post_init__(self) -> None:
        check_decoder_config(self)


class StyleConditioning(nn.Module):
    """A style embedding table; row 0 is the learned "no style" entry.

    In training, each sequence's style is replaced by "no style" with probability
    ``style_dropout``, so that one model gives both the conditional and the
    unconditional distribution (classifier-free guidance).
    """

    def __init__(self, n_styles: int, n_embd: int, style_dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_styles, n_embd)
        self.style_dropout = style_dropout

    def forward(self, style_ids: torch.Tensor | None, style_weights: torch.Tensor | None,
                batch_size: int) -> torch.Tensor:
        """Style vectors ``(B, n_embd)``."""
        if style_weights is not None:
            weights = style_weights.to(self.embedding.weight.dtype)
            if weights.dim() != 2 or weights.shape[1] != self.embedding.num_embeddings:
                raise ConfigError(f"style_weights must be (B, {self.embedding.num_embeddings}); "
                                  f"got {tuple(weights.shape)}")
            return weights @ self.embedding.weight
        if style_ids is None:
            style_ids = torch.zeros(batch_size, dtype=torch.long, device=self.embedding.weight.device)
        if self.training and self.style_dropout > 0:
            drop = torch.rand(style_ids.shape, device=style_ids.device) < self.style_dropout
            style_ids = style_ids.masked_fill(drop, 0)
        return self.embedding(style_ids)


def language_model_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy over positions whose target is not ``IGNORE_INDEX`` (nats per token)."""
    if targets is None:
        return None
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX)
