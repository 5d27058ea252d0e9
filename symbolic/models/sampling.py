"""Sampling: small pure logits processors, composed once, and the generation loop.

A processor is a callable ``(logits, context) -> logits`` that returns a new
tensor and never changes its input.  ``logits`` is float ``(B, vocab_size)``;
``context`` is a :class:`StepContext` with what some processors need (the
unconditional logits for guidance, the grammar states for the mask).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from symbolic.errors import ConfigError, TokenizationError
from symbolic.models.min_bars import MinBars
from symbolic.tokenization.grammar import GrammarState, Phase
from symbolic.tokenization.vocab import TokenType

__all__ = [
    "StepContext",
    "LogitsProcessor",
    "Temperature",
    "TopK",
    "TopP",
    "GrammarMask",
    "PitchRange",
    "RhythmGrid",
    "SingleLine",
    "ScaleBias",
    "Guidance",
    "MinNewTokens",
    "compose",
    "GenerationConfig",
    "generate",
]


@dataclass(frozen=True)
class StepContext:
    """What processors may read at one sampling step."""

    grammar_states: Sequence[GrammarState] | None = None
    uncond_logits: torch.Tensor | None = None
    n_generated: int = 0
    pitch_range: tuple[int, int] | None = None  # inclusive MIDI pitches allowed next (PitchRange)
    line: tuple[int, bool, int | None] | None = None  # (earliest onset step, chords, sound_until) (SingleLine)
    scale: frozenset[int] | None = None  # pitch classes of the key here (ScaleBias)
    new_bars: Sequence[int] | None = None  # Bar tokens sampled so far, per row (MinBars)


class LogitsProcessor(Protocol):
    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor: ...


@dataclass(frozen=True)
class Temperature:
    """Divide logits by ``temperature`` (> 0; below 1 sharpens, above 1 flattens)."""

    temperature: float

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"temperature={self.temperature} must be > 0")

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        return logits / self.temperature


@dataclass(frozen=True)
class TopK:
    """Keep the ``top_k`` largest logits of each row; the rest become -inf."""

    top_k: int

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ConfigError(f"top_k={self.top_k} must be >= 1")

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        k = min(self.top_k, logits.size(-1))
        threshold = torch.topk(logits, k, dim=-1).values[..., -1:]
        return logits.masked_fill(logits < threshold, float("-inf"))


@dataclass(frozen=True)
class TopP:
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``top_p``."""

    top_p: float

    def __post_init__(self) -> None:
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p={self.top_p} must be in (0, 1]")

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative - torch.softmax(sorted_logits, dim=-1) >= self.top_p  # mass before this token
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


def _forbid_unless_empty(logits: torch.Tensor, forbidden: torch.Tensor) -> torch.Tensor:
    """``logits`` with the ``forbidden`` ids (bool ``(vocab_size,)``) at -inf, except in rows where
    nothing would remain allowed: those are returned as they were."""
    masked = logits.masked_fill(forbidden, float("-inf"))
    keep = torch.isfinite(masked).any(dim=-1, keepdim=True)
    return torch.where(keep, masked, logits)


@dataclass(frozen=True)
class PitchRange:
    """Keep Pitch ids inside ``context.pitch_range`` (inclusive MIDI pitches; ``pitch_offset`` is the id of
    pitch 0).  A no-op without a range, and for a row it would leave with nothing allowed."""

    pitch_offset: int

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.pitch_range is None:
            return logits
        low, high = context.pitch_range
        outside = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        outside[self.pitch_offset:self.pitch_offset + max(low, 0)] = True
        outside[self.pitch_offset + min(high, 127) + 1:self.pitch_offset + 128] = True
        return _forbid_unless_empty(logits, outside)


@dataclass(frozen=True)
class RhythmGrid:
    """Forbid note onsets off a grid, and durations under a minimum or off the grid (a style's rhythm
    for new parts).

    ``forbidden`` is a bool ``(vocab_size,)`` tensor: the Position ids off the grid and
    the Duration ids that are too short or not a whole number of grid steps; build it
    with :meth:`for_vocab`.  A row it would leave with nothing allowed is passed
    through unchanged.
    """

    forbidden: torch.Tensor

    @classmethod
    def for_vocab(cls, vocab, onset_grid_steps: int, min_duration_steps: int) -> "RhythmGrid":
        """Onsets on multiples of ``onset_grid_steps`` from the bar line; durations that are multiples of
        it too, and at least ``min_duration_steps`` (both in the vocabulary's steps, ``steps_per_beat``
        to a quarter note)."""
        if onset_grid_steps < 1 or min_duration_steps < 1:
            raise ConfigError(f"onset_grid_steps={onset_grid_steps} and min_duration_steps={min_duration_steps} "
                              "must be >= 1")
        forbidden = torch.zeros(len(vocab), dtype=torch.bool)
        position = vocab.offsets[TokenType.POSITION]
        for step in range(vocab.max_bar_steps):
            forbidden[position + step] = step % onset_grid_steps != 0
        duration = vocab.offsets[TokenType.DURATION]
        for k, steps in enumerate(vocab.duration_steps):
            forbidden[duration + k] = steps < min_duration_steps or steps % onset_grid_steps != 0
        return cls(forbidden)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        return _forbid_unless_empty(logits, self.forbidden.to(logits.device))


@dataclass(frozen=True)
class SingleLine:
    """Keep a part a single line, as a singer's or a string player's part is.

    With ``context.line = (earliest, chords, sound_until)``: no note starts at a
    Position before step ``earliest`` of the bar (where the part's previous note
    ends); unless ``chords``, no second Pitch follows a note at the same onset; and
    while ``earliest < sound_until`` (an int, the bar's length say; ``None``: no such
    rule) the next note starts at ``earliest`` itself and the part may not close: it
    does not rest.  ``closing`` is a bool ``(vocab_size,)`` tensor of the ids that
    close a part (Track, Bar, EOS); build the processor with :meth:`for_vocab`.  A
    no-op without a line; each of the two steps (the earliest onset and chords, then
    the rest rule) leaves alone a row it would leave with nothing allowed.
    """

    position_offset: int
    n_positions: int
    pitch_offset: int
    closing: torch.Tensor

    @classmethod
    def for_vocab(cls, vocab) -> "SingleLine":
        """The processor for a tokenizer vocabulary (its Position, Pitch and part-closing ids)."""
        closing = torch.zeros(len(vocab), dtype=torch.bool)
        track = vocab.offsets[TokenType.TRACK]
        closing[track:track + vocab.config.max_tracks] = True
        closing[vocab.bar_id] = closing[vocab.eos_id] = True
        return cls(vocab.offsets[TokenType.POSITION], vocab.max_bar_steps, vocab.offsets[TokenType.PITCH], closing)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.line is None:
            return logits
        earliest, chords, sound_until = context.line
        earliest = min(max(earliest, 0), self.n_positions)
        forbidden = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        forbidden[self.position_offset:self.position_offset + earliest] = True
        states = context.grammar_states
        if not chords and states and states[0].phase == Phase.NOTE_DURATION:
            forbidden[self.pitch_offset:self.pitch_offset + 128] = True
        logits = _forbid_unless_empty(logits, forbidden)
        if sound_until is None or earliest >= sound_until:
            return logits
        no_rest = self.closing.to(logits.device).clone()
        no_rest[self.position_offset + earliest + 1:self.position_offset + self.n_positions] = True
        return _forbid_unless_empty(logits, no_rest)


@dataclass(frozen=True)
class ScaleBias:
    """Lower the logits of Pitch ids outside ``context.scale`` (a set of pitch classes, 0 = C) by
    ``penalty`` nats: notes out of the key stay possible, but rarer.  ``pitch_offset`` is the id
    of pitch 0.  A no-op without a scale."""

    pitch_offset: int
    penalty: float

    def __post_init__(self) -> None:
        if not self.penalty >= 0:
            raise ConfigError(f"penalty={self.penalty} must be >= 0 nats")

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.scale is None or self.penalty == 0:
            return logits
        classes = torch.arange(128, device=logits.device) % 12
        outside = ~torch.isin(classes, torch.tensor(sorted(context.scale), dtype=torch.long, device=logits.device))
        bias = torch.zeros(logits.size(-1), dtype=logits.dtype, device=logits.device)
        bias[self.pitch_offset:self.pitch_offset + 128] = outside.to(logits.dtype) * -self.penalty
        return logits + bias


@dataclass(frozen=True)
class MinNewTokens:
    """Forbid ``eos_id`` until ``min_new_tokens`` tokens were sampled (HF's ``min_new_tokens``)."""

    min_new_tokens: int
    eos_id: int

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if context.n_generated >= self.min_new_tokens:
            return logits
        return logits.index_fill(-1, torch.tensor([self.eos_id], device=logits.device), float("-inf"))


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
class GenerationConfig:
    """How to sample.

    Attributes:
        max_new_tokens: hard bound on sampled tokens per sequence.
        min_new_tokens: no EOS before this many sampled tokens (the bar bound still ends a sequence).
        max_bars: stop a sequence after this many new bars (``None``: no bar bound).
        min_bars: no EOS before this many new bars (:class:`~symbolic.models.min_bars.MinBars`).
        temperature, top_k, top_p: as in HF ``generate`` (``None`` disables top-k / top-p).
        guidance_scale: classifier-free guidance; 1.0 turns it off.
        constrain: apply the grammar mask (every sample then decodes with nothing skipped).
        use_cache: sample with the KV cache (one token per forward) instead of re-running the window.
        seed: seed of the sampling generator.
    """

    max_new_tokens: int = 1024
    min_new_tokens: int = 0
    max_bars: int | None = None
    min_bars: int = 0
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
        if not 0 <= self.min_bars <= (self.max_bars or self.min_bars):
            raise ConfigError(f"min_bars={self.min_bars} must be in 0..max_bars ({self.max_bars})")
        Temperature(self.temperature)
        if self.top_k is not None:
            TopK(self.top_k)
        if self.top_p is not None:
            TopP(self.top_p)

    def processors(self, eos_id: int) -> list:
        """The processor list this config describes, in order."""
        out: list = []
        if self.min_new_tokens:
            out.append(MinNewTokens(self.min_new_tokens, eos_id))
        if self.min_bars:
            out.append(MinBars(self.min_bars, eos_id))
        if self.guidance_scale != 1.0:
            out.append(Guidance(self.guidance_scale))
        if self.constrain:
            out.append(GrammarMask())
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
    device = next(model.parameters()).device
    guided = config.guidance_scale != 1.0
    rows = 2 * batch_size if guided else batch_size
    if style_weights is not None:
        style_weights = style_weights.to(device)
        if guided:
            none = torch.zeros_like(style_weights)
            none[:, 0] = 1.0
            style_weights = torch.cat([style_weights, none])
    else:
        if style_ids is None:
            style_ids = torch.zeros(batch_size, dtype=torch.long)
        style_ids = style_ids.to(device)
        if guided:
            style_ids = torch.cat([style_ids, torch.zeros_like(style_ids)])
    process = compose(config.processors(vocab.eos_id))
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    context_length = model.config.context_length
    sequences = [list(prompt) for _ in range(batch_size)]
    finished = [False] * batch_size
    bars = [0] * batch_size
    window_start = max(0, len(prompt) - context_length + 1)
    cache = model.new_cache(rows) if config.use_cache else None

    def run(tokens: list[list[int]]) -> torch.Tensor:
        ids = torch.tensor(tokens, dtype=torch.long, device=device)
        if guided:
            ids = torch.cat([ids, ids])
        logits, _ = model(ids, style_ids, style_weights=style_weights, cache=cache)
        return logits[:, -1].float()

    def window() -> list[list[int]]:
        return [s[window_start:] for s in sequences]

    # One sequence: the matrix-vector products are memory-bound and run faster on one thread.
    with _num_threads(1 if rows == 1 else torch.get_num_threads()):
        logits = run(window())
        for n_generated in range(config.max_new_tokens):
            cond = logits[:batch_size]
            context = StepContext(states, logits[batch_size:] if guided else None, n_generated, new_bars=bars)
            probs = torch.softmax(process(cond, context), dim=-1).cpu()
            sampled = torch.multinomial(probs, 1, generator=generator).squeeze(1).tolist()
            for row, token in enumerate(sampled):
                if finished[row]:  # finished rows are padded to keep the batch rectangular
                    sampled[row] = vocab.pad_id
                    sequences[row].append(vocab.pad_id)
                    continue
                if vocab.types[token] == TokenType.BAR:
                    bars[row] += 1
                    if config.max_bars is not None and bars[row] > config.max_bars:
                        token = vocab.eos_id  # EOS is allowed wherever Bar is
                sampled[row] = token
                if states is not None:
                    states[row].advance(token)
                sequences[row].append(token)
                finished[row] = token == vocab.eos_id
            if all(finished):
                break
            length = len(sequences[0])
            if length - window_start >= context_length:  # slide: re-encode the last half-context
                window_start = length - context_length // 2
                if cache is not None:
                    cache.reset()
                logits = run(window())
            elif cache is not None:
                logits = run([[t] for t in sampled])
            else:
                logits = run(window())
    return [_strip_padding(s, len(prompt), vocab.pad_id) for s in sequences]


@contextmanager
def _num_threads(n: int):
    """Run a block with ``torch.set_num_threads(n)``, restoring the old count after."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _strip_padding(sequence: list[int], keep: int, pad_id: int) -> list[int]:
    end = len(sequence)
    while end > keep and sequence[end - 1] == pad_id:
        end -= 1
    return sequence[:end]
