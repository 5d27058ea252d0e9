"""The decoding session: guidance rows, the sliding window, the cache."""

from __future__ import annotations

import pytest
import torch
from conftest import RecordingDecoder, tiny_gpt

from symbolic.errors import ConfigError
from symbolic.sampling.session import DecodingSession, style_weights
from symbolic.tokenization import EventTokenizer

TOK = EventTokenizer()


def test_the_window_slides_to_the_last_half_context():
    model = RecordingDecoder(tiny_gpt(TOK, context_length=32))
    session = DecodingSession(model)
    session.feed([list(range(10, 40))])  # 30 tokens: fits
    session.flush()
    assert model.calls[-1][0].tolist() == [list(range(10, 40))]
    session.feed([[40, 41]])  # 32: still fits the context, one forward of the two new tokens
    session.flush()
    assert model.calls[-1][0].tolist() == [[40, 41]]
    session.feed([[42]])  # 33 > 32: the cache is dropped and the last 16 tokens are encoded again
    session.flush()
    assert model.calls[-1][0].tolist() == [list(range(27, 43))]
    session.feed([[43]])
    session.flush()
    assert model.calls[-1][0].tolist() == [[43]] and session.length == 34
    assert session.sequences == [list(range(10, 44))]


def test_a_first_feed_longer_than_the_window_keeps_its_end():
    model = RecordingDecoder(tiny_gpt(TOK, context_length=32))
    session = DecodingSession(model, max_window=31)
    session.feed([list(range(40))])
    session.flush()
    assert model.calls[-1][0].tolist() == [list(range(9, 40))]
    with pytest.raises(ConfigError, match="max_window"):
        DecodingSession(model, max_window=33)


def test_without_the_cache_every_step_encodes_the_window():
    model = RecordingDecoder(tiny_gpt(TOK, context_length=32))
    session = DecodingSession(model, batch_size=2, use_cache=False)
    session.feed([[1, 2, 3], [1, 2, 4]])
    session.feed([[5], [6]])
    session.flush()
    assert model.calls[-1][0].tolist() == [[1, 2, 3, 5], [1, 2, 4, 6]]


def test_guidance_adds_unconditional_rows_with_no_style():
    model = RecordingDecoder(tiny_gpt(TOK))
    mix = style_weights(TOK.vocab.styles, {"irish": 0.5, "chorale": 0.5}, rows=2)
    session = DecodingSession(model, batch_size=2, guidance_scale=3.0, style_weights=mix)
    session.feed([[1, 2], [1, 3]])
    session.flush()
    ids, weights = model.calls[-1]
    assert ids.tolist() == [[1, 2], [1, 3], [1, 2], [1, 3]]
    none = torch.zeros(2, len(TOK.vocab.styles))
    none[:, TOK.vocab.styles.index("none")] = 1.0
    assert torch.equal(weights, torch.cat([mix, none]))
    seen = {}

    def process(logits, context):
        seen["cond"], seen["uncond"] = logits, context.uncond_logits
        return logits

    session.sample(process)
    assert torch.equal(seen["cond"], session.logits[:2]) and torch.equal(seen["uncond"], session.logits[2:])
    with pytest.raises(ConfigError, match="feed"):
        DecodingSession(model).sample(process)

