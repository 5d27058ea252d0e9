"""Lower-precision copies of a trained decoder for faster sampling on CPU.

Sampling one sequence is bound by memory traffic: every new token reads every
weight once.  Fewer bytes per weight means faster tokens:

* :func:`to_bfloat16`: bfloat16 weights and cache (half the bytes; exact up to bf16 rounding).
* :func:`quantize_int8`: dynamic int8 quantization of every linear layer (a quarter of the
  bytes of the linear weights); an approximation, measured in ``benchmarks/model_speed.py``.

Both return a new model for inference; the original is unchanged.  :func:`with_weights_dtype`
picks one by the name a :class:`~symbolic.sampling.config.GenerationConfig` gives
(``weights_dtype``); the decoding session calls it.
"""

from __future__ import annotations

import copy
import warnings

import torch

from symbolic.sampling.config import check_weights_dtype

__all__ = ["to_bfloat16", "quantize_int8", "with_weights_dtype"]


def to_bfloat16(model: torch.nn.Module) -> torch.nn.Module:
    """A bfloat16 copy of ``model`` in eval mode."""
    return copy.deepcopy(model).to(torch.bfloat16).eval()


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers run dynamic int8 quantization (eval mode).

    Weights are quantized per output channel (symmetric, one scale per row: ``torch.ao``'s
    ``per_channel_dynamic_qconfig``), the activations per call and per tensor; the products accumulate
    in int32 (fbgemm / x86 kernels).  Per channel rather than one scale per matrix keeps the validation loss
    within 0.01 nats per token of float32 (``docs/results/job-speed.md``).
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch points eager quantization users at torchao; it still works
        return quantize_dynamic(copy.deepcopy(model).eval(), {torch.nn.Linear: per_channel_dynamic_qconfig},
                                dtype=torch.qint8)


def with_weights_dtype(model: torch.nn.Module, weights_dtype: str) -> torch.nn.Module:
    """``model`` to sample with weights in ``weights_dtype``: ``"float32"`` returns ``model`` itself,
    ``"bfloat16"`` :func:`to_bfloat16`, ``"int8"`` :func:`quantize_int8` (new models, in eval mode).

    Raises:
        ConfigError: ``weights_dtype`` is none of :data:`~symbolic.sampling.config.WEIGHTS_DTYPES`.
    """
    check_weights_dtype(weights_dtype)
    if weights_dtype == "bfloat16":
        return to_bfloat16(model)
    if weights_dtype == "int8":
        return quantize_int8(model)
    return model
