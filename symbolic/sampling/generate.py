"""Generation: :func:`generate`, a batch of continuations under a :class:`GenerationConfig`.

The loop samples every row together with one :class:`~symbolic.sampling.session.DecodingSession`
(the cache, the guidance rows, the sliding window) and the processors the config
describes; a row ends at EOS, at ``max_bars`` new bars, or at ``max_new_tokens``.
"""

from __future__ import annotations

from typing import Sequence

import torch

from symbolic.errors import TokenizationError
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.processors import ProcessorChain
from symbolic.sampling.session import DecodingSession
from symbolic.threads import compute_threads, torch_threads
from symbolic.tokenization.grammar import GrammarState
from symbolic.tokenization.vocab import TokenType

__all__ = ["generate"]


@torch.inference_mode()
def generate(model: torch.nn.Module, tokenizer, prompt_ids: Sequence[int], config: GenerationConfig,
             batch_size: int = 1, style_ids: torch.Tensor | None = None,
             style_weights: torch.Tensor | None = None, threads: int = 0) -> list[list[int]]:
    """Sample ``batch_size`` continuations of ``prompt_ids``.

    Args:
        model: a decoder with the interface of :mod:`symbolic.models.base`.
        tokenizer: the :class:`~symbolic.tokenization.EventTokenizer` the model was trained with.
        prompt_ids: the start of every sequence (at least BOS and a style token when constrained).
        config: sampling settings.
        batch_size: sequences sampled together.
        style_ids: int64 ``(batch_size,)`` style indices, or ``None`` for "no style".
        style_weights: float ``(batch_size, n_styles)`` style mix (overrides ``style_ids``).
        threads: torch threads while sampling (0: :func:`symbolic.threads.compute_threads` decides:
            one for one sequence, else the free cores or the user's limit).

    Returns:
        ``batch_size`` lists of ids: the prompt, then what was sampled up to and
        including EOS (no padding).

    Raises:
        TokenizationError: an empty prompt, or (with ``constrain``) one that breaks the token grammar.
    """
    vocab = tokenizer.vocab
    prompt = [int(i) for i in prompt_ids]
    if not prompt:
        raise TokenizationError("the prompt is empty; start it with BOS and a style token")
    states: list[GrammarState] | None = None
    if config.constrain:
        try:
            first = GrammarState(vocab).advance_all(prompt)
        except TokenizationError as exc:
            raise TokenizationError(f"the prompt does not follow the token grammar ({exc}); encode it with "
                                    "the tokenizer and drop the final EOS") from None
        states = [first.copy() for _ in range(batch_size)]
    # The window holds context - 1 tokens here (generate_planned's holds the full context): kept as it was, so
    # that the same seeds give the same pieces.
    session = DecodingSession(model, batch_size, config.guidance_scale, style_ids=style_ids,
                              style_weights=style_weights, use_cache=config.use_cache,
                              max_window=model.config.context_length - 1, seed=config.seed,
                              weights_dtype=config.weights_dtype)
    # the masks run once per step; rows the grammar leaves one token need no forward pass (DecodingSession.sample)
    process = ProcessorChain(config, vocab.eos_id)
    finished = [False] * batch_size
    bars = [0] * batch_size
    with torch_threads(compute_threads(threads, batch_size=batch_size)):
        session.feed([prompt] * batch_size)
        for n_generated in range(config.max_new_tokens):
            sampled = session.sample(process, states, n_generated, bars)
            for row, token in enumerate(sampled):
                if finished[row]:  # finished rows are padded to keep the batch rectangular
                    sampled[row] = vocab.pad_id
                    continue
                if vocab.types[token] == TokenType.BAR:
                    bars[row] += 1
                    if config.max_bars is not None and bars[row] > config.max_bars:
                        token = vocab.eos_id  # EOS is allowed wherever Bar is
                sampled[row] = token
                if states is not None:
                    states[row].advance(token)
                finished[row] = token == vocab.eos_id
            if all(finished):
                for sequence, token in zip(session.sequences, sampled):
                    sequence.append(token)
                break
            session.feed([[t] for t in sampled])
    return [_strip_padding(s, len(prompt), vocab.pad_id) for s in session.sequences]


def _strip_padding(sequence: list[int], keep: int, pad_id: int) -> list[int]:
    end = len(sequence)
    while end > keep and sequence[end - 1] == pad_id:
        end -= 1
    return sequence[:end]
