"""A GPT-style decoder: pre-norm blocks, causal attention through SDPA, a KV cache.

Positions are learned absolute embeddings.  On a CPU that is one table lookup
per token, where rotary embeddings cost a rotation of every query and key in
every layer at every step.  Training windows always start at position 0 (the
data set cuts pieces into windows), and generation past the context
re-encodes the most recent half-context as a new window, so absolute
positions never meet a case they were not trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from symbolic.errors import ConfigError
from symbolic.models.attention import (CausalSelfAttention, KVCache, apply_linear, attention_step, linear_step,
                                       transposed_weight)
from symbolic.models.base import DecoderConfig, StyleConditioning, language_model_loss

__all__ = ["GPTConfig", "GPT", "KVCache"]


@dataclass(frozen=True)
class GPTConfig(DecoderConfig):
    """Size of a :class:`GPT` (fields in :class:`~symbolic.models.base.DecoderConfig`)."""


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.Sequential(nn.Linear(config.n_embd, 4 * config.n_embd), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * config.n_embd, config.n_embd), nn.Dropout(config.dropout))

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        if self.training:
            x = x + self.attn(self.ln_1(x), cache, layer)  # (B, T, C)
            return x + self.mlp(self.ln_2(x))  # (B, T, C); the MLP widens to (B, T, 4C) inside
        # Inference: the same operations called directly (no module dispatch, no dropout), the same
        # numbers bit for bit; one sampling step is ~30 small calls, where the dispatch cost counts.
        ln_1, ln_2, up, down = self.ln_1, self.ln_2, self.mlp[0], self.mlp[2]
        x = x + self.attn.forward(F.layer_norm(x, ln_1.normalized_shape, ln_1.weight, ln_1.bias, ln_1.eps),
                                  cache, layer)
        h = F.layer_norm(x, ln_2.normalized_shape, ln_2.weight, ln_2.bias, ln_2.eps)
        return x + apply_linear(down, F.gelu(apply_linear(up, h), approximate="tanh"))

    def step(self, x: torch.Tensor, cache: KVCache, layer: int, weights_t: tuple | None = None) -> torch.Tensor:
        """Inference on one new position per row: ``(B, C)`` to ``(B, C)``, the numbers of :meth:`forward`
        (see :meth:`CausalSelfAttention.step`).  ``weights_t``: the transposed ``qkv``, ``proj``, MLP up and
        down weights (:func:`~symbolic.models.attention.transposed_weight`), or ``None``: the modules' own."""
        return block_step(x, cache, layer, self.step_entry(weights_t))

    def step_entry(self, weights_t: tuple | None = None) -> tuple:
        """What :func:`block_step` reads for this block, looked up once (``weights_t`` as in :meth:`step`):
        the layer norms' arguments, the head count and the four projections as
        :func:`~symbolic.models.attention.linear_step` callables."""
        qkv_t, proj_t, up_t, down_t = weights_t or (None, None, None, None)
        ln_1, ln_2, attn = self.ln_1, self.ln_2, self.attn
        return ((ln_1.normalized_shape, ln_1.weight, ln_1.bias, ln_1.eps), attn.n_head,
                linear_step(attn.qkv, qkv_t), linear_step(attn.proj, proj_t),
                (ln_2.normalized_shape, ln_2.weight, ln_2.bias, ln_2.eps),
                linear_step(self.mlp[0], up_t), linear_step(self.mlp[2], down_t))

    def transposed_weights(self) -> tuple:
        """The transposed copies :meth:`step` reads (``None`` for a layer that is not a plain ``nn.Linear``)."""
        return tuple(transposed_weight(layer) for layer in (self.attn.qkv, self.attn.proj, self.mlp[0], self.mlp[2]))


def block_step(x: torch.Tensor, cache: KVCache, layer: int, entry: tuple) -> torch.Tensor:
    """:meth:`Block.step` from the block's :meth:`Block.step_entry`: ``(B, C)`` to ``(B, C)``, the same
    operations (``torch.layer_norm`` is what ``F.layer_norm`` calls), without a module attribute look-up."""
    ln_1, n_head, qkv, proj, ln_2, up, down = entry
    x = x + attention_step(torch.layer_norm(x, *ln_1), cache, layer, n_head, qkv, proj)
    return x + down(F.gelu(up(torch.layer_norm(x, *ln_2)), approximate="tanh"))


class GPT(nn.Module):
    """Style-conditioned GPT decoder; see :mod:`symbolic.models.base` for the interface."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.context_length, config.n_embd)
        self.style = StyleConditioning(config.n_styles, config.n_embd, config.style_dropout)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying
        self.apply(self._init_weights)
        for name, param in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def new_cache(self, batch_size: int, transposed: bool = True) -> KVCache:
        """An empty KV cache for ``batch_size`` sequences.

        With ``transposed``, the cache also holds transposed copies of the linear weights (13 MB for the
        shipped model), which the one-token inference step reads (:func:`~symbolic.models.attention.apply_linear_t`:
        15-30% faster products at one or two rows, the same numbers up to the order of the sums, about
        1e-6 on the logits); ``False``: the step reads the modules' weights and gives the bits of the
        general path.  The copies are taken now: a cache made before the weights change (a training
        step, a load) computes with the old ones, so make a new cache for every generation.  The model
        keeps the last copies and takes new ones only when a weight changed (a parameter's storage or
        in-place version, which every optimizer step and load bumps): ~14 ms a generation on the shipped
        model, 2% of 256 sampled tokens.
        """
        c, weight = self.config, self.tok_emb.weight
        cache = KVCache(c.n_layer, batch_size, c.n_head, c.context_length, c.n_embd // c.n_head, weight.dtype,
                        weight.device)
        if transposed:
            cache.step_weights = self._transposed_weights()
        return cache

    def _transposed_weights(self) -> tuple:
        """``(per block transposed weights, head's)`` for :meth:`new_cache`, copied again only when a parameter
        changed since the last copies (inference tensors track no version: their copies are taken every time)."""
        parameters = list(self.parameters())
        if any(p.is_inference() for p in parameters):
            return tuple(block.transposed_weights() for block in self.blocks), transposed_weight(self.head)
        version = tuple((p.data_ptr(), p._version) for p in parameters)
        kept = self.__dict__.get("_step_weights")
        if kept is None or kept[0] != version:
            kept = (version, (tuple(block.transposed_weights() for block in self.blocks), transposed_weight(self.head)))
            self.__dict__["_step_weights"] = kept
        return kept[1]

    def forward(self, input_ids: torch.Tensor, style_ids: torch.Tensor | None = None,
                targets: torch.Tensor | None = None, style_weights: torch.Tensor | None = None,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits ``(B, T, vocab_size)`` float32 and the mean loss (nats per token) when ``targets`` is given."""
        b, t = input_ids.shape  # (B, T) int64
        start = cache.length if cache is not None else 0  # positions already in the cache
        if start + t > self.config.context_length:
            raise ConfigError(f"{start + t} positions exceed context_length={self.config.context_length}; "
                              "crop the input or start a new cache")
        if cache is not None and t == 1 and targets is None and not self.training:
            kept = cache.step_style  # the style vectors of the last step, for the same style tensors
            if kept is None or kept[0] is not style_ids or kept[1] is not style_weights or kept[2].size(0) != b:
                kept = cache.step_style = (style_ids, style_weights, self.style.forward(style_ids, style_weights, b))
            return self._step(input_ids, kept[2], cache), None
        style = self.style.forward(style_ids, style_weights, b)  # (B, C)
        # token (B, T, C) + position (T, C, rows start..start+T of the table) + style (B, 1, C) embeddings
        x = self.drop(F.embedding(input_ids, self.tok_emb.weight) + self.pos_emb.weight[start:start + t]
                      + style[:, None, :])
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)  # (B, T, C)
        if cache is not None:
            cache.length += t
        logits = apply_linear(self.head, self.ln_f(x))  # (B, T, vocab_size)
        return logits, language_model_loss(logits, targets)

    def _step(self, input_ids: torch.Tensor, style: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Inference logits ``(B, 1, vocab_size)`` of one new token per row, on 2-D ``(B, C)`` activations: the
        sampling loop's step, with fewer calls than the general path; the same bits with a cache made with
        ``transposed=False``, else the same numbers up to the order of the sums (see :meth:`new_cache`)."""
        start = cache.length
        table = cache.step_table
        if table is None:  # the blocks' entries, looked up once per cache (Block.step_entry)
            blocks_t, head_t = cache.step_weights or ((None,) * len(self.blocks), None)
            ln_f = self.ln_f
            table = cache.step_table = (
                self.tok_emb.weight, self.pos_emb.weight,
                tuple(block.step_entry(weights_t) for block, weights_t in zip(self.blocks, blocks_t)),
                (ln_f.normalized_shape, ln_f.weight, ln_f.bias, ln_f.eps), linear_step(self.head, head_t))
        tok_emb, pos_emb, entries, ln_f, head = table
        x = F.embedding(input_ids[:, 0], tok_emb) + pos_emb[start] + style  # (B, C)
        for layer, entry in enumerate(entries):
            x = block_step(x, cache, layer, entry)
        cache.length += 1
        return head(torch.layer_norm(x, *ln_f))[:, None, :]  # (B, 1, vocab_size)

    def num_parameters(self) -> int:
        """Trainable parameters (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())
