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



def _lstm(context_length: int = 32):
    from symbolic.models.lstm import LSTMConfig, LSTMDecoder

    torch.manual_seed(0)
    return LSTMDecoder(LSTMConfig(vocab_size=TOK.vocab_size, n_styles=len(TOK.vocab.styles),
                                  context_length=context_length, n_layer=1, n_head=2, n_embd=32)).eval()


@pytest.mark.parametrize("kind", ["gpt", "lstm"])
def test_feeds_wait_for_one_forward_pass_with_the_logits_of_one_pass_per_feed(kind):
    inner = tiny_gpt(TOK, context_length=32) if kind == "gpt" else _lstm()
    feeds = [list(range(10, 38)), [38, 39], [40], [41, 42], [43]]  # 33 tokens: the window slides at [41, 42]
    lazy, eager = RecordingDecoder(inner), RecordingDecoder(inner)
    lazy_session, eager_session = DecodingSession(lazy), DecodingSession(eager)
    with torch.inference_mode():
        for tokens in feeds:
            lazy_session.feed([tokens])
            eager_session.feed([tokens])
            eager_session.flush()  # one pass per feed, as before lazy feeding
        assert lazy.calls == [] and len(eager.calls) == len(feeds)
        logits = lazy_session.logits
    assert len(lazy.calls) == 1 and lazy_session.forward_passes == 1
    # the window moved where one pass per feed moved it: the last half context (16) from the feed that
    # passed the context (33 tokens), then one more token
    assert lazy_session.window_start == eager_session.window_start == 33 - 16
    assert lazy.calls[0][0].tolist() == [list(range(27, 44))]
    assert torch.allclose(logits, eager_session.logits, atol=1e-5)


def test_a_token_the_mask_fixes_runs_no_forward_and_draws_as_sampling_would():
    only = TOK.vocab.bar_id

    def mask(logits, context):  # leaves one id: the next token is known without the model
        out = torch.full_like(logits, float("-inf"))
        out[:, only] = logits[:, only]
        return out

    runs = {}
    for name, given_mask in (("probe", mask), ("sample", None)):
        model = RecordingDecoder(tiny_gpt(TOK))
        session = DecodingSession(model, batch_size=2, seed=3)
        with torch.inference_mode():
            session.feed([[1, 2], [1, 3]])
            session.sample(lambda logits, context: logits)  # a first free draw: one pass
            session.feed([[5], [6]])
            fixed = session.sample(mask, mask=given_mask)
            session.feed([[t] for t in fixed])
            free = session.sample(lambda logits, context: logits)
        runs[name] = (fixed, free, len(model.calls), session.generator.get_state())
    assert runs["probe"][0] == runs["sample"][0] == [only, only]
    assert runs["probe"][2] == 2 and runs["sample"][2] == 3  # the known token joined the next pass
    assert runs["probe"][1] == runs["sample"][1]  # the same draws after it
    assert torch.equal(runs["probe"][3], runs["sample"][3])  # the generator is where it would be
