"""One decoding session: the model, its cache, the guidance rows and the sliding window.

Both ways of generating use it: :func:`symbolic.sampling.generate.generate` (a
batch of free continuations) and :func:`symbolic.jobs.plan.generate_planned` (a
plan of given and free parts).  A session keeps one growing sequence per row;
:meth:`DecodingSession.feed` appends tokens, :meth:`DecodingSession.sample`
draws the next token of every row.

Feeding is lazy: the tokens fed since the last forward pass wait until logits
are needed, then go through the model in one pass (a bar's opening, its given
parts and the next free part's ``Track`` token are one forward, not three).  And
when the ``mask`` given to :meth:`~DecodingSession.sample` leaves each row one
token only (the grammar and a part's rules often fix a note's position or
velocity), that token is known without the logits: no forward runs for it, the
sampling generator still draws as it would have, and the token joins the next
pass.  The grouping changes the floating-point sums (logits differ by about
1e-6), not what is computed.

Classifier-free guidance doubles the rows: rows ``B..2B`` repeat the sequences
with the "none" style (index 0) and give the unconditional logits.

The window: the model sees at most ``max_window`` tokens (its context, by
default).  When a feed would pass that, the cache is dropped and the last half
context is re-encoded (nanoGPT's ``generate`` crops the same way, one token at a
time).  A first feed longer than the window keeps its last ``max_window`` tokens.
The window is checked at every feed, as if each feed had its own forward pass, so
lazy feeding moves no window.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from symbolic.errors import ConfigError
from symbolic.sampling.processors import LogitsProcessor, ProcessorChain, StepContext

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
        weights_dtype: the number format the model samples in (``"float32"``, ``"bfloat16"``, ``"int8"``;
            :func:`symbolic.sampling.precision.with_weights_dtype`): the session decodes with a converted copy
            (:attr:`model`); the caller's model is unchanged.
    """

    def __init__(self, model, batch_size: int = 1, guidance_scale: float = 1.0,
                 style_ids: torch.Tensor | None = None, style_weights: torch.Tensor | None = None,
                 use_cache: bool = True, max_window: int | None = None, seed: int = 0,
                 weights_dtype: str = "float32") -> None:
        from symbolic.sampling.precision import with_weights_dtype

        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} must be >= 1")
        self.model = with_weights_dtype(model, weights_dtype)
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
        self.cache = self.model.new_cache(rows) if use_cache else None
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.sequences: list[list[int]] = [[] for _ in range(batch_size)]
        self.window_start = 0
        self.forward_passes = 0  # model calls so far (the decoding loop's cost, for tests and benchmarks)
        self._logits: torch.Tensor | None = None  # float (rows, vocab_size) after the last forward pass
        self._fed: list[list[int]] = [[] for _ in range(batch_size)]  # tokens fed since that pass, per row
        self._feed_ends: list[int] = []  # sequence length after each of those feeds

    @property
    def length(self) -> int:
        """Tokens in each row's sequence."""
        return len(self.sequences[0])

    @property
    def logits(self) -> torch.Tensor | None:
        """Float ``(rows, vocab_size)`` logits of what follows every row (runs the pending forward pass);
        ``None`` before the first feed."""
        self.flush()
        return self._logits

    def feed(self, tokens: Sequence[Sequence[int]]) -> None:
        """Append ``tokens[row]`` (the same count in every row); the model reads them at the next
        :meth:`flush` (which :meth:`sample` and :attr:`logits` call)."""
        if len(tokens) != self.batch_size or len({len(t) for t in tokens}) != 1:
            raise ConfigError(f"feed takes {self.batch_size} rows of tokens of one length")
        if not tokens[0]:
            return
        for sequence, fed, new in zip(self.sequences, self._fed, tokens):
            new = [int(t) for t in new]
            sequence.extend(new)
            fed.extend(new)
        self._feed_ends.append(self.length)

    def flush(self) -> None:
        """Run the model once over every token fed since the last pass and keep the logits that follow."""
        if not self._feed_ends:
            return
        first = self._logits is None
        restart = first or self.cache is None
        for end in self._feed_ends:  # the window moves as it would with one pass per feed
            if end - self.window_start > self.max_window:
                self.window_start = end - (self.max_window if first else self.context // 2)
                restart = True
            first = False
        rows = self._fed
        if restart:
            if self.cache is not None:
                self.cache.reset()
            rows = [s[self.window_start:] for s in self.sequences]
        self._fed = [[] for _ in range(self.batch_size)]
        self._feed_ends = []
        ids = torch.tensor(rows, dtype=torch.long, device=self.device)
        if self.guided:
            ids = torch.cat([ids, ids])
        logits, _ = self.model(ids, self.style_ids, style_weights=self.style_weights, cache=self.cache)
        self._logits = logits[:, -1].float()
        self.forward_passes += 1

    def sample(self, process: Callable[[torch.Tensor, StepContext], torch.Tensor],
               grammar_states=None, n_generated: int = 0, new_bars: Sequence[int] | None = None,
               mask: LogitsProcessor | None = None) -> list[int]:
        """The next token of every row: ``process`` the conditional logits, softmax, draw one.

        ``process`` gets a :class:`StepContext` with ``grammar_states``, the unconditional
        logits (when guided), ``n_generated`` and ``new_bars`` (``Bar`` tokens sampled per row).

        ``mask``: the processors of ``process`` that only forbid ids (the grammar mask, a job's part
        rules), whose choice of forbidden ids must not depend on the logit values (see
        :func:`~symbolic.sampling.processors.masking_processors`); a
        :class:`~symbolic.sampling.processors.ProcessorChain` brings its own.  When it leaves each row one
        id, those ids are drawn without running the model (the generator draws as it would anyway).  With
        a chain, the masks run once per step (:meth:`ProcessorChain.finish
        <symbolic.sampling.processors.ProcessorChain.finish>`: the same numbers).
        """
        chain = process if isinstance(process, ProcessorChain) else None
        if mask is None and chain is not None:
            mask = chain.mask
        context = StepContext(grammar_states, None, n_generated, new_bars)
        width = self._logits.size(-1) if self._logits is not None else getattr(self.model.config, "vocab_size", 0)
        bias = None
        if mask is not None and width and (self._feed_ends or (chain is not None and chain.masks_once)):
            bias = mask(torch.zeros(self.batch_size, width), context)
            allowed = torch.isfinite(bias)
            if self._feed_ends and bool((allowed.sum(dim=-1) == 1).all()):
                return torch.multinomial(allowed.float(), 1, generator=self.generator).squeeze(1).tolist()
        self.flush()
        if self._logits is None:
            raise ConfigError("feed the session a prompt before sampling")
        cond = self._logits[:self.batch_size]
        uncond = self._logits[self.batch_size:] if self.guided else None
        context = StepContext(grammar_states, uncond, n_generated, new_bars)
        if chain is not None and chain.masks_once and bias is not None and mask is chain.mask:
            logits = chain.finish(cond, bias.to(cond.device), context)
        else:
            logits = process(cond, context)
        probs = torch.softmax(logits, dim=-1).cpu()
        return torch.multinomial(probs, 1, generator=self.generator).squeeze(1).tolist()
