"""bfloat16 and int8 copies of a decoder: close to the original, the original untouched, sampling still works."""

from __future__ import annotations

import torch
from conftest import random_score, tiny_gpt

from symbolic.models.precision import quantize_int8, to_bfloat16
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.generate import generate


def test_bfloat16_copy_is_close_and_leaves_the_original(tokenizer):
    model = tiny_gpt(tokenizer)
    ids = torch.tensor([tokenizer.encode(random_score(0, n_notes=10))[:40]])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    half = to_bfloat16(model)
    assert all(p.dtype == torch.bfloat16 for p in half.parameters()) and not half.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    exact, _ = model(ids)
    approx, _ = half(ids)
    probs, approx_probs = torch.softmax(exact, -1), torch.softmax(approx.float(), -1)
    assert (probs - approx_probs).abs().max() < 0.02 and not torch.equal(exact, approx.float())


def test_int8_copy_quantizes_the_linear_layers_and_samples(tokenizer):
    model = tiny_gpt(tokenizer)
    quantized = quantize_int8(model)
    dynamic = [m for m in quantized.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert n_linear > 0 and len(dynamic) == n_linear  # every linear layer, int8 weights
    assert all(m.weight().dtype == torch.qint8 for m in dynamic)
    assert not any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.modules())  # untouched
    ids = torch.tensor([[tokenizer.vocab.bos_id, tokenizer.vocab.style_id("irish")]])
    exact, _ = model(ids)
    approx, _ = quantized(ids)
    assert (torch.softmax(exact, -1) - torch.softmax(approx, -1)).abs().max() < 0.05
    sequence = generate(quantized, tokenizer, ids[0].tolist(), GenerationConfig(max_new_tokens=40, seed=0))[0]
    assert tokenizer.decode(sequence) is not None and len(sequence) > 2
