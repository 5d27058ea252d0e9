"""Generation: :class:`GenerationConfig` (how to sample) and :func:`generate` (a batch of continuations).

The loop samples every row together with one :class:`~symbolic.sampling.session.DecodingSession`
(the cache, the guidance rows, the sliding window) and the processors the config
describes; a row ends at EOS, at ``max_bars`` new bars, or at ``max_new_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from symbolic.errors import ConfigError, TokenizationError
from symbolic.sampling.processors import GrammarMask, Guidance, MinNewTokens, Temperature, TopK, TopP, compose
from symbolic.sampling.session import DecodingSession, num_threads
from symbolic.tokenization.grammar import GrammarState
from symbolic.tokenization.vocab import TokenType

__all__ = ["GenerationConfig", "generate"]


@dataclass(frozen=True)
class GenerationConfig:
    """How to sample.

    Attributes:
        max_new_tokens: hard bound on sampled tokens per sequence.
        min_new_tokens: no EOS before this many sampled tokens (the bar bound still ends a sequence).
        max_bars: stop a sequence after this many new bars (``None``: no bar bound).
        temperature, top_k, top_p: as in HF ``generate`` (``None`` disables top-k / top-p).
        guidance_scale: classifier-free guidance; 1.0 turns it off.
        constrain: apply the grammar mask (every sample then decodes with nothing skipped).
        use_cache: sample with the KV cache (one token per forward) instead of re-running the window.
        seed: seed of the sampling generator.
    """

    max_new_tokens: int = 1024
    min_new_tokens: int = 0
    max_bars: int | None = None
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    guidance_scale: float = 1.0
    constrain: bool = True
    use_cache: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens={self.max_new_tokens} must be >= 1")
        if self.min_new_tokens < 0:
            raise ConfigError(f"min_new_tokens={self.min_new_tokens} must be >= 0")
        if self.max_bars is not None and self.max_bars < 1:
            raise ConfigError(f"max_bars={self.max_bars} must be >= 1")
        Temperature(self.temperature)
        if self.top_k is not None:
            TopK(self.top_k)
        if self.top_p is not None:
            TopP(self.top_p)

    def processors(self, eos_id: int, masks: Sequence = ()) -> list:
        """The processor list this config describes, in order.

        ``masks``: further processors that forbid or bias tokens (a job's part rules),
        placed right after the grammar mask, before temperature and the top-k/top-p cuts.
        """
        out: list = []
        if self.min_new_tokens:
            out.append(MinNewTokens(self.min_new_tokens, eos_id))
        if self.guidance_scale != 1.0:
            out.append(Guidance(self.guidance_scale))
        if self.constrain:
            out.append(GrammarMask())
        out.extend(masks)
        if self.temperature != 1.0:
            out.append(Temperature(self.temperature))
        if self.top_k is not None:
            out.append(TopK(self.top_k))
        if self.top_p is not None:
            out.append(TopP(self.top_p))
        return out


@torch.inference_mode()
def generate(model: torch.nn.Module, tokenizer, prompt_ids: Sequence[int], config: GenerationConfig,
             batch_size: int = 1, style_ids: torch.Tensor | None = None,
             style_weights: torch.Tensor | None = None) -> list[list[int]]:
    """Sample ``batch_size`` continuations of ``prompt_ids``.

    Args:
        model: a decoder with the interface of :mod:`symbolic.models.base`.
        tokenizer: the :class:`~symbolic.tokenization.EventTokenizer` the model was trained with.
        prompt_ids: the start of every sequence (at least BOS and a style token when constrained).
        config: sampling settings.
        batch_size: sequences sampled together.
        style_ids: int64 ``(batch_size,)`` style indices, or ``None`` for "no style".
        style_weights: float ``(batch_size, n_styles)`` style mix (overrides ``style_ids``).

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
                              max_window=model.config.context_length - 1, seed=config.seed)
    process = compose(config.processors(vocab.eos_id))
    finished = [False] * batch_size
    bars = [0] * batch_size
    rows = 2 * batch_size if session.guided else batch_size
    # One sequence: the matrix-vector products are memory-bound and run faster on one thread.
    with num_threads(1 if rows == 1 else None):
        session.feed([prompt] * batch_size)
        for n_generated in range(config.max_new_tokens):
            sampled = session.sample(process, states, n_generated)
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
