"""One decoding session: the model, its cache, the guidance rows and the sliding window.

Both ways of generating use it: :func:`symbolic.sampling.generate.generate` (a
batch of free continuations) and :func:`symbolic.jobs.plan.generate_planned` (a
plan of given and free parts).  A session keeps one growing sequence per row;
:meth:`DecodingSession.feed` appends tokens and computes the logits of what
follows them, :meth:`DecodingSession.sample` draws the next token of every row.

Classifier-free guidance doubles the rows: rows ``B..2B`` repeat the sequences
with the "none" style (index 0) and give the unconditional logits.

The window: the model sees at most ``max_window`` tokens (its context, by
default).  When a feed would pass that, the cache is dropped and the last half
context is re-encoded (nanoGPT's ``generate`` crops the same way, one token at a
time).  A first feed longer than the window keeps its last ``max_window`` tokens.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from symbolic.errors import ConfigError
from symbolic.sampling.processors import StepContext

__all__ = ["DecodingSession", "style_weights"]


def style_weights(styles: tuple[str, ...], mix: dict[str, float], rows: int = 1) -> torch.Tensor:
    """Float32 ``(rows, len(styles))`` tensor of a style mix (names from ``styles``), for ``style_weights=``."""
    weights = torch.zeros(rows, len(styles))
    for name, value in mix.items():
        weights[:, styles.index(name)] = value
    return weights


class DecodingSession:
    """A decoder generating ``batch_size`` sequences together.

    Args:
        model: a decoder with the interface of :mod:`symbolic.models.base` (in eval mode).
        batch_size: sequences (rows) generated together.
        guidance_scale: classifier-free guidance; 1.0 (off) keeps one row per sequence.
        style_ids: int64 ``(batch_size,)`` style indices, or ``None`` for "no style".
        style_weights: float ``(batch_size, n_styles)`` style mix (overrides ``style_ids``).
        use_cache: one token per forward with the KV cache; else the whole window each step.
        max_window: most tokens the model sees (default: its context length).
        seed: seed of the sampling generator.
    """

    def __init__(self, model, batch_size: int = 1, guidance_scale: float = 1.0,
                 style_ids: torch.Tensor | None = None, style_weights: torch.Tensor | None = None,
                 use_cache: bool = True, max_window: int | None = None, seed: int = 0) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        self.model = model
        self.batch_size = batch_size
        self.context = model.config.context_length
        self.max_window = self.context if max_window is None else max_window
        if not 1 <= self.max_window <= self.context:
            raise ConfigError(f"max_window={self.max_window} must be between 1 and the context, {self.context}")
        self.device = next(model.parameters()).device
        self.guided = guidance_scale != 1.0
        rows = 2 * batch_size if self.guided else batch_size
        self.style_ids, self.style_weights = None, None
        if style_weights is not None:
            self.style_weights = style_weights.to(self.device)
            if self.guided:  # the unconditional rows: all weight on "none"
                none = torch.zeros_like(self.style_weights)
                none[:, 0] = 1.0
                self.style_weights = torch.cat([self.style_weights, none])
        else:
            ids = torch.zeros(batch_size, dtype=torch.long) if style_ids is None else style_ids
            ids = ids.to(self.device)
            self.style_ids = torch.cat([ids, torch.zeros_like(ids)]) if self.guided else ids
        self.cache = model.new_cache(rows) if use_cache else None
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.sequences: list[list[int]] = [[] for _ in range(batch_size)]
        self.window_start = 0
        self.logits: torch.Tensor | None = None  # float (rows, vocab_size) after the last feed

    @property
    def length(self) -> int:
        """Tokens in each row's sequence."""
        return len(self.sequences[0])

    def feed(self, tokens: Sequence[Sequence[int]]) -> None:
        """Append ``tokens[row]`` (the same count in every row) and compute the logits of what follows."""
        if len(tokens) != self.batch_size or len({len(t) for t in tokens}) != 1:
            raise ConfigError(f"feed takes {self.batch_size} rows of tokens of one length")
        if not tokens[0]:
            return
        first = self.logits is None
        for sequence, new in zip(self.sequences, tokens):
            sequence.extend(int(t) for t in new)
        slide = self.length - self.window_start > self.max_window
        if slide:
            self.window_start = self.length - (self.max_window if first else self.context // 2)
        if self.cache is not None and not slide and not first:
            self._run([list(t) for t in tokens])
            return
        if self.cache is not None:
            self.cache.reset()
        self._run([s[self.window_start:] for s in self.sequences])

    def _run(self, rows: list[list[int]]) -> None:
        ids = torch.tensor(rows, dtype=torch.long, device=self.device)
        if self.guided:
            ids = torch.cat([ids, ids])
        logits, _ = self.model(ids, self.style_ids, style_weights=self.style_weights, cache=self.cache)
        self.logits = logits[:, -1].float()

    def sample(self, process: Callable[[torch.Tensor, StepContext], torch.Tensor],
               grammar_states=None, n_generated: int = 0, new_bars: Sequence[int] | None = None) -> list[int]:
        """The next token of every row: ``process`` the conditional logits, softmax, draw one.

        ``process`` gets a :class:`StepContext` with ``grammar_states``, the unconditional
        logits (when guided), ``n_generated`` and ``new_bars`` (``Bar`` tokens sampled per row).
        """
        if self.logits is None:
            raise ConfigError("feed the session a prompt before sampling")
        cond = self.logits[:self.batch_size]
        uncond = self.logits[self.batch_size:] if self.guided else None
        probs = torch.softmax(process(cond, StepContext(grammar_states, uncond, n_generated, new_bars)), dim=-1).cpu()
        return torch.multinomial(probs, 1, generator=self.generator).squeeze(1).tolist()
