"""bfloat16 and int8 copies of a decoder: close to the original, the original untouched, sampling still works."""

from __future__ import annotations

import torch
from conftest import random_score, tiny_gpt

import pytest

from symbolic.errors import ConfigError
from symbolic.jobs.config import JobConfig
from symbolic.models.attention import apply_linear, apply_linear_t, transposed_weight
from symbolic.sampling.precision import quantize_int8, to_bfloat16, with_weights_dtype
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.generate import generate
from symbolic.sampling.session import DecodingSession


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


def test_int8_layers_called_through_their_operator_give_the_modules_bits():
    torch.manual_seed(0)
    layer = torch.nn.Linear(64, 96)
    int8 = quantize_int8(torch.nn.Sequential(layer))[0]
    x = torch.randn(2, 64)
    packed = transposed_weight(int8)
    assert packed is not None and not isinstance(packed, torch.Tensor)
    assert torch.equal(apply_linear_t(int8, x, packed), int8(x))
    assert torch.equal(apply_linear(int8, x[:, None]), int8(x[:, None]))  # the general path's 3-D input
    exact = layer(x).detach()
    error = (int8(x) - exact).abs().max()
    assert 0 < error < 0.03 * exact.abs().max()  # int8 rounding: small, not nothing


def test_int8_weights_are_quantized_per_output_channel():
    """One scale per row: a row of tiny weights beside a row of large ones keeps its precision (with one
    scale per matrix its weights would all round to 0)."""
    layer = torch.nn.Linear(32, 2, bias=False)
    with torch.no_grad():
        layer.weight[0] = torch.linspace(-1e-3, 1e-3, 32)
        layer.weight[1] = torch.linspace(-1.0, 1.0, 32)
    weight = quantize_int8(torch.nn.Sequential(layer))[0].weight()
    assert torch.allclose(weight.dequantize()[0], layer.weight[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("weights_dtype, tolerance", [("float32", 0.0), ("bfloat16", 0.02), ("int8", 0.05)])
def test_a_session_decodes_with_a_copy_in_the_weights_dtype(tokenizer, weights_dtype, tolerance):
    model = tiny_gpt(tokenizer)
    ids = [tokenizer.vocab.bos_id, tokenizer.vocab.style_id("irish")] + tokenizer.encode(random_score(1, 8))[2:30]
    probs = {}
    for name in ("float32", weights_dtype):
        session = DecodingSession(model, 1, guidance_scale=3.0, weights_dtype=name)
        session.feed([ids[:-1]])
        session.logits  # the prompt through the general path
        session.feed([ids[-1:]])  # the last token through the one-token step
        probs[name] = torch.softmax(session.logits, -1)
    kind = {"float32": torch.nn.Linear, "bfloat16": torch.nn.Linear,
            "int8": torch.ao.nn.quantized.dynamic.Linear}[weights_dtype]
    assert isinstance(session.model.head, kind)
    assert (session.model is model) == (weights_dtype == "float32")  # reduced precision: a copy
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the caller's model unchanged
    difference = (probs["float32"] - probs[weights_dtype]).abs().max()
    assert difference <= tolerance and (difference > 0) == (tolerance > 0)


def test_a_weights_dtype_that_is_no_number_format_is_refused():
    for make in (lambda: GenerationConfig(weights_dtype="int4"), lambda: JobConfig(weights_dtype="fp16"),
                 lambda: with_weights_dtype(torch.nn.Linear(2, 2), "float64")):
        with pytest.raises(ConfigError, match="weights_dtype=.* use one of float32, bfloat16, int8"):
            make()
    assert JobConfig(weights_dtype="bfloat16").generation().weights_dtype == "bfloat16"


def test_the_lstm_decoder_samples_with_int8_weights(tokenizer):
    from symbolic.models.lstm import LSTMConfig, LSTMDecoder

    torch.manual_seed(0)
    model = LSTMDecoder(LSTMConfig(vocab_size=tokenizer.vocab_size, n_styles=len(tokenizer.vocab.styles),
                                   context_length=96, n_layer=1, n_head=2, n_embd=32)).eval()
    prompt = [tokenizer.vocab.bos_id, tokenizer.vocab.style_id("irish")]
    config = GenerationConfig(max_new_tokens=30, seed=0, weights_dtype="int8", guidance_scale=2.0)
    sequence = generate(model, tokenizer, prompt, config)[0]
    assert len(sequence) > 2 and tokenizer.decode(sequence) is not None
