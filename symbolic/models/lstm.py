"""An LSTM decoder with masked self-attention over its outputs.

Embedding plus style, a stacked LSTM, then one causal multi-head self-attention
layer over the LSTM's outputs (no position sees the future), a residual
connection and a layer norm, and a head tied to the embedding.  Sampling is
stateful: the cache holds the LSTM state and the attention's keys and values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from symbolic.errors import ConfigError
from symbolic.models.attention import CausalSelfAttention, KVCache
from symbolic.models.base import DecoderConfig, StyleConditioning, language_model_loss

__all__ = ["LSTMConfig", "LSTMDecoder", "LSTMCache"]


@dataclass(frozen=True)
class LSTMConfig(DecoderConfig):
    """Size of an :class:`LSTMDecoder` (fields in :class:`~symbolic.models.base.DecoderConfig`);
    ``n_layer`` counts LSTM layers, ``context_length`` bounds the attention window."""

    n_layer: int = 2


class LSTMCache(KVCache):
    """The attention's keys and values plus the LSTM's ``(h, c)`` state."""

    def __init__(self, config: LSTMConfig, batch_size: int, dtype: torch.dtype, device: torch.device) -> None:
        super().__init__(1, batch_size, config.n_head, config.context_length, config.n_embd // config.n_head,
                         dtype, device)
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def reset(self) -> None:
        super().reset()
        self.state = None


class LSTMDecoder(nn.Module):
    """Style-conditioned LSTM decoder; see :mod:`symbolic.models.base` for the interface."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.style = StyleConditioning(config.n_styles, config.n_embd, config.style_dropout)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(config.n_embd, config.n_embd, num_layers=config.n_layer, batch_first=True,
                            dropout=config.dropout if config.n_layer > 1 else 0.0)
        self.attn = CausalSelfAttention(config)
        self.ln = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying
        nn.init.normal_(self.tok_emb.weight, mean=0.0, std=0.02)

    def new_cache(self, batch_size: int) -> LSTMCache:
        """An empty cache for ``batch_size`` sequences."""
        weight = self.tok_emb.weight
        return LSTMCache(self.config, batch_size, weight.dtype, weight.device)

    def forward(self, input_ids: torch.Tensor, style_ids: torch.Tensor | None = None,
                targets: torch.Tensor | None = None, style_weights: torch.Tensor | None = None,
                cache: LSTMCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, vocab_size)`` float32 and the mean loss (nats per token) when ``targets`` is given."""
        b, t = input_ids.shape
        if cache is not None and cache.length + t > self.config.context_length:
            raise ConfigError(f"{cache.length + t} positions exceed context_length={self.config.context_length}; "
                              "crop the input or start a new cache")
        style = self.style(style_ids, style_weights, b)
        x = self.drop(self.tok_emb(input_ids) + style[:, None, :])
        h, state = self.lstm(x, cache.state if cache is not None else None)
        y = self.ln(h + self.attn(h, cache, 0))
        if cache is not None:
            cache.state = state
            cache.length += t
        logits = self.head(y)
        return logits, language_model_loss(logits, targets)

    def num_parameters(self) -> int:
        """Trainable parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())
