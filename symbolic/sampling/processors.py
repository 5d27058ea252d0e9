"""Logits processors: small pure functions of the logits, composed once (as HF's ``LogitsProcessor``).

A processor is a callable ``(logits, context) -> logits`` that returns a new
tensor and never changes its input.  ``logits`` is float ``(B, vocab_size)``;
``context`` is a :class:`StepContext` with what some processors need (the
unconditional logits for guidance, the grammar states for the mask, the step
count).  Processors that know about music (a part's range, rhythm, line, key)
live with the jobs, in :mod:`symbolic.jobs.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from symbolic.errors import ConfigError
from symbolic.sampling.config import GenerationConfig, check_sampling
from symbolic.tokenization.grammar import GrammarState

__all__ = [
    "StepContext",
    "LogitsProcessor",
    "Temperature",
    "TopK",
    "TopP",
    "GrammarMask",
    "Guidance",
    "MinNewTokens",
    "compose",
    "forbid_unless_empty",
    "build_processors",
    "masking_processors",
    "ProcessorChain",
]


@dataclass(frozen=True)
class StepContext:
    """What processors may read at one sampling step.

    Attributes:
        grammar_states: one :class:`~symbolic.tokenization.grammar.GrammarState` per row, or ``None``.
        uncond_logits: float ``(B, vocab_size)`` logits of the unconditional rows (guidance), or ``None``.
        n_generated: tokens sampled so far.
        new_bars: ``Bar`` tokens sampled so far, one count per row (read by :class:`MinBars`), or ``None``.
    """

    grammar_states: Sequence[GrammarState] | None = None
    uncond_logits: torch.Tensor | None = None
    n_generated: int = 0
    new_bars: Sequence[int] | None = None


class LogitsProcessor(Protocol):
    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor: ...


@dataclass(frozen=True)
class Temperature:
    """Divide logits by ``temperature`` (> 0; below 1 sharpens, above 1 flattens)."""

    temperature: float

    def __post_init__(self) -> None:
        check_sampling(self.temperature)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        return logits / self.temperature


@dataclass(frozen=True)
class TopK:
    """Keep the ``top_k`` largest logits of each row; the rest become -inf."""

    top_k: int

    def __post_init__(self) -> None:
        check_sampling(1.0, top_k=self.top_k)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        k = min(self.top_k, logits.size(-1))
        threshold = torch.topk(logits, k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < threshold, float("-inf"))


@dataclass(frozen=True)
class TopP:
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``top_p``."""

    top_p: float

    def __post_init__(self) -> None:
        check_sampling(1.0, top_p=self.top_p)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop_sorted = probs.cumsum(dim=-1) - probs >= self.top_p  # mass before this token
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        return logits.masked_fill(drop, float("-inf"))


@dataclass(frozen=True)
class GrammarMask:
    """Set every id the tokenizer grammar forbids next to -inf (needs ``context.grammar_states``)."""

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.grammar_states is None:
            raise ConfigError("GrammarMask needs the grammar states of the rows")
        allowed = torch.from_numpy(np.stack([s.allowed() for s in context.grammar_states])).to(logits.device)
        return logits.masked_fill(~allowed, float("-inf"))


def forbid_unless_empty(logits: torch.Tensor, forbidden: torch.Tensor) -> torch.Tensor:
    """``logits`` with the ``forbidden`` ids (bool ``(vocab_size,)``) at -inf, except in rows where
    nothing would remain allowed: those are returned as they were."""
    masked = logits.masked_fill(forbidden, float("-inf"))
    keep = torch.isfinite(masked).any(dim=-1, keepdim=True)
    return torch.where(keep, masked, logits)


@dataclass(frozen=True)
class MinNewTokens:
    """Forbid ``eos_id`` until ``min_new_tokens`` tokens were sampled (HF's ``min_new_tokens``)."""

    min_new_tokens: int
    eos_id: int

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.n_generated >= self.min_new_tokens:
            return logits
        out = logits.clone()
        out[..., self.eos_id] = float("-inf")
        return out


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance: ``uncond + scale * (cond - uncond)`` (scale 1 = plain conditional)."""

    scale: float

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.uncond_logits is None:
            raise ConfigError("Guidance needs the unconditional logits")
        return context.uncond_logits + self.scale * (logits - context.uncond_logits)


def compose(processors: Sequence[LogitsProcessor]) -> Callable[[torch.Tensor, StepContext], torch.Tensor]:
    """One callable applying ``processors`` in order."""
    chain = tuple(processors)

    def apply(logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        for processor in chain:
            logits = processor(logits, context)
        return logits

    return apply


@dataclass(frozen=True)
class MinBars:
    """Forbid ``eos_id`` in every row that has sampled fewer than ``min_bars`` ``Bar`` tokens.

    A sequence that ends after its N-th new ``Bar`` holds N new bars (EOS closes
    the last one), so EOS becomes possible once the count reaches ``min_bars``.
    Bars count as ``Bar`` tokens, as ``GenerationConfig.max_bars`` counts them (a
    bar longer than ``max_bar_beats`` counts once per chunk).  The grammar allows
    EOS only where it also allows ``Bar`` (or a header ``Track``), so a row is never
    left with nothing allowed; a row that would be is passed through unchanged.
    Like HF's ``MinNewTokensLengthLogitsProcessor``, but counted in bars.

    Reads ``context.new_bars``: a sequence of ints, one per row (``None``: a no-op).

    Args:
        min_bars: bars before EOS is allowed (>= 0; 0 is a no-op).
        eos_id: the EOS token id.
    """

    min_bars: int
    eos_id: int

    def __post_init__(self) -> None:
        if self.min_bars < 0:
            raise ConfigError(f"min_bars={self.min_bars} must be >= 0")

    def __call__(self, logits: torch.Tensor, context) -> torch.Tensor:
        new_bars = getattr(context, "new_bars", None)
        if not self.min_bars or new_bars is None:
            return logits
        short = torch.tensor([n < self.min_bars for n in new_bars], dtype=torch.bool, device=logits.device)
        masked = logits.clone()
        masked[short, self.eos_id] = float("-inf")
        keep = torch.isfinite(masked).any(dim=-1, keepdim=True)
        return torch.where(keep, masked, logits)


def masking_processors(config: GenerationConfig, eos_id: int, masks: Sequence[LogitsProcessor] = ()) -> list:
    """The processors of :func:`build_processors` that forbid ids (min new tokens, min bars, the grammar
    mask, then ``masks``), without guidance, temperature and the top-k/top-p cuts.

    Which ids they set to -inf depends on their state and the :class:`StepContext`, never on the logit
    values (a processor in ``masks`` may add finite biases too, which :class:`ScaleBias
    <symbolic.jobs.rules.ScaleBias>` does): so when they leave a row one id, that id is the next token
    whatever the model says, and :meth:`~symbolic.sampling.session.DecodingSession.sample` draws it
    without running the model.  A processor whose forbidden ids depend on the logits must not be among
    ``masks``.
    """
    out: list = []
    if config.min_new_tokens:
        out.append(MinNewTokens(config.min_new_tokens, eos_id))
    if config.min_bars:
        out.append(MinBars(config.min_bars, eos_id))
    if config.constrain:
        out.append(GrammarMask())
    out.extend(masks)
    return out


def _cut_processors(config: GenerationConfig) -> list:
    """Temperature and the top-k/top-p cuts: the processors that come after the masks."""
    out: list = []
    if config.temperature != 1.0:
        out.append(Temperature(config.temperature))
    if config.top_k is not None:
        out.append(TopK(config.top_k))
    if config.top_p is not None:
        out.append(TopP(config.top_p))
    return out


def build_processors(config: GenerationConfig, eos_id: int, masks: Sequence[LogitsProcessor] = ()) -> list:
    """The processor list a :class:`~symbolic.sampling.config.GenerationConfig` describes, in order:
    min new tokens, min bars, guidance, the grammar mask, then ``masks`` (further processors that forbid or bias
    tokens, such as a job's part rules), then temperature and the top-k/top-p cuts."""
    out = masking_processors(config, eos_id, masks)
    if config.guidance_scale != 1.0:  # guidance goes before the masks: it mixes raw logits
        out.insert(int(bool(config.min_new_tokens)) + int(bool(config.min_bars)), Guidance(config.guidance_scale))
    return out + _cut_processors(config)


class ProcessorChain:
    """The chain of :func:`build_processors`, callable as ``(logits, context) -> logits``, that also knows its
    parts, so that a sampling step can run the masks once.

    A step first runs :attr:`mask` (:func:`masking_processors`; ``None`` without the grammar mask and
    ``masks``) on a probe of zeros, to learn which ids
    are forbidden (:meth:`~symbolic.sampling.session.DecodingSession.sample` draws a token the masks fix
    without running the model).  Since the masks only set ids to -inf or add biases that do not depend on
    the logit values, the probe's output is the masks' whole effect: :meth:`finish` adds it to the guided
    logits and applies the cuts, the numbers of the whole chain bit for bit (x + 0 is x, x + -inf and
    masked_fill(-inf) are both -inf, and the one bias a chain adds is added once either way) without
    running the masks a second time.  This needs ``guidance_scale > 0`` (a -inf that a min-tokens rule
    puts in the conditional logits stays -inf through guidance); :attr:`masks_once` says whether it holds.

    Args:
        config: sampling settings.
        eos_id: the EOS token id.
        masks: further processors that forbid or bias ids (a job's part rules), as in :func:`build_processors`.
    """

    def __init__(self, config: GenerationConfig, eos_id: int, masks: Sequence[LogitsProcessor] = ()) -> None:
        self.processors = tuple(build_processors(config, eos_id, masks))
        # without the grammar mask or rules, the masks (min tokens, min bars) forbid EOS alone: never worth a probe
        masking = masking_processors(config, eos_id, masks) if config.constrain or masks else []
        self.mask: Callable[[torch.Tensor, StepContext], torch.Tensor] | None = compose(masking) if masking else None
        self.guidance_scale = config.guidance_scale
        self.masks_once = config.guidance_scale > 0
        self._apply = compose(self.processors)
        self._cuts = compose(_cut_processors(config))

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        return self._apply(logits, context)

    def finish(self, logits: torch.Tensor, mask_bias: torch.Tensor, context: StepContext) -> torch.Tensor:
        """The chain's output from the conditional ``logits`` (float ``(B, vocab_size)``), the unconditional ones
        in ``context`` when guided, and ``mask_bias``: :attr:`mask` applied to zeros of the same shape.

        Raises:
            ConfigError: ``guidance_scale <= 0`` (see the class), or guidance without unconditional logits.
        """
        if not self.masks_once:
            raise ConfigError(f"guidance_scale={self.guidance_scale}: the masks must run on the guided logits")
        if self.guidance_scale != 1.0:
            logits = Guidance(self.guidance_scale)(logits, context)
        return self._cuts(logits + mask_bias, context)
