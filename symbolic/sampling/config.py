"""How to sample: :class:`GenerationConfig`, and the checks of its values (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from symbolic.errors import ConfigError

__all__ = ["GenerationConfig", "check_sampling", "WEIGHTS_DTYPES", "check_weights_dtype"]

# the number formats a decoder can sample in (symbolic.sampling.precision.with_weights_dtype)
WEIGHTS_DTYPES = ("float32", "bfloat16", "int8")


def check_sampling(temperature: float, top_k: int | None = None, top_p: float | None = None) -> None:
    """Raise :class:`ConfigError` unless ``temperature > 0``, ``top_k >= 1`` and ``0 < top_p <= 1``
    (``None`` skips a check)."""
    if not temperature > 0:
        raise ConfigError(f"temperature={temperature} must be > 0")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k={top_k} must be >= 1")
    if top_p is not None and not 0 < top_p <= 1:
        raise ConfigError(f"top_p={top_p} must be in (0, 1]")


def check_weights_dtype(weights_dtype: str) -> None:
    """Raise :class:`ConfigError` unless ``weights_dtype`` is one of :data:`WEIGHTS_DTYPES`."""
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ConfigError(f"weights_dtype={weights_dtype!r} is not a number format the decoder samples in; "
                          f"use one of {', '.join(WEIGHTS_DTYPES)}")


@dataclass(frozen=True)
class GenerationConfig:
    """How to sample.

    Attributes:
        max_new_tokens: hard bound on sampled tokens per sequence.
        min_new_tokens: no EOS before this many sampled tokens (the bar bound still ends a sequence).
        max_bars: stop a sequence after this many new bars (``None``: no bar bound).
        min_bars: no EOS before this many new bars (:class:`~symbolic.sampling.processors.MinBars`).
        temperature, top_k, top_p: as in HF ``generate`` (``None`` disables top-k / top-p).
        guidance_scale: classifier-free guidance; 1.0 turns it off.
        constrain: apply the grammar mask (every sample then decodes with nothing skipped).
        use_cache: sample with the KV cache (one token per forward) instead of re-running the window.
        seed: seed of the sampling generator.
        weights_dtype: the number format of the weights while sampling: ``"float32"`` (the trained
            weights), ``"bfloat16"`` or ``"int8"`` (dynamic int8 quantization of the linear layers), see
            :func:`symbolic.sampling.precision.with_weights_dtype`; a reduced precision changes the logits
            slightly (``docs/results/job-speed.md`` measures the cost).
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
    weights_dtype: str = "float32"

    WEIGHTS_DTYPES: ClassVar[tuple[str, ...]] = WEIGHTS_DTYPES

    def __post_init__(self) -> None:
        check_weights_dtype(self.weights_dtype)
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens={self.max_new_tokens} must be >= 1")
        if self.min_new_tokens < 0:
            raise ConfigError(f"min_new_tokens={self.min_new_tokens} must be >= 0")
        if self.max_bars is not None and self.max_bars < 1:
            raise ConfigError(f"max_bars={self.max_bars} must be >= 1")
        if not 0 <= self.min_bars <= (self.max_bars or self.min_bars):
            raise ConfigError(f"min_bars={self.min_bars} must be in 0..max_bars ({self.max_bars})")
        check_sampling(self.temperature, self.top_k, self.top_p)
