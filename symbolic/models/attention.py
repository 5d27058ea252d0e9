"""Causal multi-head self-attention through ``scaled_dot_product_attention``, with a KV cache.

Shared by the GPT blocks and the attention layer of the LSTM decoder.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["KVCache", "CausalSelfAttention", "apply_linear", "transposed_weight", "apply_linear_t", "linear_step"]


def _int8_weights(layer: nn.Module):
    """The packed int8 weights of a dynamically quantized linear layer (``torch.ao``'s
    ``DynamicQuantizedLinear``, made by :func:`symbolic.sampling.precision.quantize_int8`), or ``None``."""
    packed = getattr(layer, "_packed_params", None)
    return packed._packed_params if packed is not None and packed.dtype == torch.qint8 else None


def apply_linear(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``; for a plain ``nn.Linear`` called as ``F.linear`` (the same bits, without the module
    dispatch that counts in a one-token step), for an int8 dynamic one through its operator (the same
    bits as the module); any other layer is called as it is."""
    if type(layer) is nn.Linear:
        return F.linear(x, layer.weight, layer.bias)
    packed = _int8_weights(layer)
    if packed is not None and x.dtype == torch.float32:
        return apply_linear_t(layer, x, packed)
    return layer(x)


def transposed_weight(layer: nn.Module):
    """What :func:`apply_linear_t` multiplies by: a contiguous ``(in_features, out_features)`` copy of a
    plain ``nn.Linear``'s weight, the packed weights of an int8 dynamic layer, ``None`` for any other."""
    if type(layer) is nn.Linear:
        return layer.weight.detach().t().contiguous()
    return _int8_weights(layer)


def apply_linear_t(layer: nn.Module, x: torch.Tensor, weight_t) -> torch.Tensor:
    """``layer(x)`` for 2-D ``x`` ``(B, in_features)`` as ``bias + x @ weight_t`` (``weight_t`` from
    :func:`transposed_weight`), or :func:`apply_linear` when ``weight_t`` is ``None``; for packed int8
    weights, the int8 layer's own operator (the same bits as calling the layer).

    With one or two rows the product over the transposed copy streams through the weights row after row
    and measured 15-30% faster on this project's CPU than ``F.linear`` over the ``(out, in)`` weight (HF's
    GPT-2 ``Conv1D`` keeps its weights in this layout too).  The sums run in another order: the outputs
    differ from ``F.linear``'s in the last bits (about 1e-6 on logits of size 10).
    """
    return linear_step(layer, weight_t)(x)


def linear_step(layer: nn.Module, weight_t) -> Callable[[torch.Tensor], torch.Tensor]:
    """:func:`apply_linear_t` for one ``layer`` and ``weight_t`` as a callable ``x -> layer(x)``, the layer's
    bias and operator looked up once: a one-token step calls it every token (a module attribute costs about
    a microsecond to look up, and a step made ~90 such look-ups).  The same numbers as :func:`apply_linear_t`."""
    if weight_t is None:
        return partial(apply_linear, layer)
    if not isinstance(weight_t, torch.Tensor):  # packed int8 weights (transposed_weight)
        # DynamicQuantizedLinear.forward's operator (activations quantized per call, reduce_range), called
        # through its C++ entry: the module's Python path (Module.__call__, the torch.ops packet's checks
        # for fake script objects) cost about as much CPU as the int8 product itself in a one-token step
        op = torch.ops.quantized.linear_dynamic._op
        return lambda x: op(x, weight_t, True)
    bias = layer.bias
    if bias is None:
        return lambda x: torch.mm(x, weight_t)
    return partial(_addmm_t, bias, weight_t)


def _addmm_t(bias: torch.Tensor, weight_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.addmm(bias, x, weight_t)


class KVCache:
    """Preallocated keys and values of every layer: ``(B, n_head, capacity, head_dim)`` each.

    ``length`` is the number of positions filled.  One cache serves one batch.  ``step_weights``: what a
    decoder's one-token step reads instead of its modules' weights (the GPT's transposed copies,
    :meth:`symbolic.models.gpt.GPT.new_cache`), or ``None``.
    """

    def __init__(self, n_layer: int, batch_size: int, n_head: int, capacity: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        shape = (batch_size, n_head, capacity, head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.values = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(n_layer)]
        self.length = 0
        self.capacity = capacity
        self.step_weights: tuple | None = None
        self.step_table: tuple | None = None  # what a decoder's one-token step reads, built at its first step
        # (style_ids, style_weights, style vectors) of the last one-token step: the same tensors give the same vectors
        self.step_style: tuple | None = None

    def reset(self) -> None:
        """Forget every cached position."""
        self.length = 0


class CausalSelfAttention(nn.Module):
    """Causal self-attention; ``config`` needs ``n_embd``, ``n_head`` and ``dropout``.

    Dropout applies to the output projection only, not to the attention
    probabilities: on a CPU, attention dropout forces SDPA off its fused kernel
    onto the unfused path (explicit scores, softmax and a Bernoulli mask), which
    measured 1.66 times slower for a whole training step (benchmarks/model_speed.py).

    Without a cache: ``is_causal`` attention over the window.  With a cache: the
    new keys and values are written at ``cache.length`` and the queries attend to
    every cached position before them (the caller advances ``cache.length``).
    """

    def __init__(self, config) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        """``x`` float ``(B, T, C)`` to the attention output ``(B, T, C)``; ``layer`` indexes the cache."""
        b, t, c = x.shape  # batch, new positions, embedding width (n_embd)
        q, k, v = apply_linear(self.qkv, x).split(c, dim=2)  # each (B, T, C)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, nh, T, hs)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        else:
            start = cache.length  # S positions already cached
            cache.keys[layer][:, :, start:start + t] = k
            cache.values[layer][:, :, start:start + t] = v
            # (B, nh, S+T, hs): the cached positions and the new ones
            keys, values = cache.keys[layer][:, :, :start + t], cache.values[layer][:, :, :start + t]
            if t == 1:  # one new token sees every cached position
                y = F.scaled_dot_product_attention(q, keys, values)  # (B, nh, 1, hs)
            else:  # a block of new tokens: causal among themselves, full view of the past
                mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)  # (T, S+T)
                y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(b, t, c)  # re-assemble the heads side by side: (B, T, C)
        return self.resid_dropout(apply_linear(self.proj, y))  # (B, T, C)

    def step(self, x: torch.Tensor, cache: KVCache, layer: int, weights_t: tuple = (None, None)) -> torch.Tensor:
        """Inference on one new position per row: float ``x`` ``(B, C)`` to the attention output ``(B, C)``.

        The operations of :meth:`forward` with ``T = 1`` and a cache, on 2-D tensors and without the
        reshapes a length-1 axis needs there: the same numbers bit for bit when ``weights_t`` is
        ``(None, None)`` (the tests compare with ``torch.equal``), in fewer calls.  ``weights_t``: the
        transposed ``qkv`` and ``proj`` weights (:func:`transposed_weight`; the same numbers up to the
        order of the sums).  The caller advances ``cache.length``.
        """
        qkv_t, proj_t = weights_t
        return attention_step(x, cache, layer, self.n_head, linear_step(self.qkv, qkv_t), linear_step(self.proj, proj_t))


def attention_step(x: torch.Tensor, cache: KVCache, layer: int, n_head: int, qkv: Callable, proj: Callable) -> torch.Tensor:
    """:meth:`CausalSelfAttention.step` with its projections as :func:`linear_step` callables: float ``x``
    ``(B, C)`` to ``(B, C)``; writes the new keys and values at ``cache.length`` (not advanced here)."""
    b, c = x.shape
    q, k, v = qkv(x).view(b, 3, n_head, 1, c // n_head).unbind(1)  # each (B, nh, 1, hs)
    start = cache.length
    keys, values = cache.keys[layer], cache.values[layer]
    keys.narrow(2, start, 1).copy_(k)
    values.narrow(2, start, 1).copy_(v)
    y = F.scaled_dot_product_attention(q, keys.narrow(2, 0, start + 1), values.narrow(2, 0, start + 1))
    return proj(y.view(b, c))  # (B, nh, 1, hs) is already the heads side by side
