"""The settings of the user's jobs, with their defaults: one home for both the Python API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from symbolic.errors import ConfigError
from symbolic.sampling.config import WEIGHTS_DTYPES, GenerationConfig, check_sampling, check_weights_dtype

__all__ = ["JobConfig", "DemoConfig", "CONTINUE_BARS", "CONTINUE_DEFAULTS", "GENERATE_DEFAULTS", "check_segmenting"]

CONTINUE_BARS = 8  # bars a continuation adds unless told

# free generation (``symbolic generate``): eight new bars, at most 2048 sampled tokens, plain sampling
GENERATE_DEFAULTS = GenerationConfig(max_new_tokens=2048, max_bars=8)


def check_segmenting(segment_bars: int, warmup_bars: int) -> None:
    """Raise :class:`ConfigError` unless ``segment_bars`` is 0 (never cut) or above ``warmup_bars`` >= 0."""
    if warmup_bars < 0 or segment_bars < 0:
        raise ConfigError(f"segment_bars={segment_bars} and warmup_bars={warmup_bars} must be >= 0")
    if segment_bars and segment_bars <= warmup_bars:
        raise ConfigError(f"segment_bars={segment_bars} must be 0 (never cut) or at least {warmup_bars + 1} "
                          f"(above warmup_bars={warmup_bars})")


@dataclass(frozen=True)
class JobConfig:
    """How a job (convert, accompany, continue) samples the parts it writes.

    Attributes:
        temperature: sampling temperature (> 0).
        top_k: keep the k most likely tokens (``None``: all).
        top_p: nucleus mass in (0, 1] (``None``: no cut).
        guidance_scale: classifier-free guidance; above 1 the style is applied more strongly, 1 is off.
            6 was chosen on the validation split (``benchmarks/guidance_sweep.py``).
        seed: seed of the sampling generator.
        style_rules: apply the style's part rules (rhythm grid, single lines, legato, key penalty,
            voice ranges); ``False`` keeps only the register and the instruments' ranges.
        off_scale_penalty: nats taken from pitches outside the key; ``None``: the style's own.
        chord_penalty: nats taken from pitches outside the chord: the chords given with the score
            (``score.annotations.chords``, e.g. a chord chart: :func:`symbolic.analysis.chords.read_chords`),
            else the chord the given parts imply (one triad a half bar, :mod:`symbolic.analysis.harmony`);
            ``None``: the style's own (``StyleTexture.chord_penalty``: pop's piano follows the guessed
            chords, the other styles do not), and with given chords at least
            :data:`~symbolic.jobs.rules.GIVEN_CHORD_PENALTY` in every style.
        max_part_tokens: a new part is closed after this many tokens in a bar (at a note boundary).
        density_floor: with ``style_rules``, every new part starts notes at no fewer than this share of
            its style's median onsets a beat (``StyleTexture.part_onsets_per_beat``) in every bar but a
            pickup and the last, spread through the bar (:class:`~symbolic.jobs.rules.KeepPlaying`);
            0: no minimum.  Guided sampling thins new parts (see ``docs/jobs.md``).
        weights_dtype: the number format the model samples in, one of ``WEIGHTS_DTYPES`` (``"float32"``,
            ``"bfloat16"``, ``"int8"``; see :attr:`GenerationConfig.weights_dtype
            <symbolic.sampling.config.GenerationConfig>`); the default was chosen by speed and
            validation loss in ``docs/results/job-speed.md``.
        segment_bars: a song of at least twice this many bars is cut into segments of at least about
            this many bars (2, 4, 8... at phrase boundaries: :func:`symbolic.jobs.plan.plan_segments`), each
            decoded by its own session with its own seed, side by side on the free cores; where the song
            is cut depends on the song alone, so the output is the same with one core or several.
            0: never cut (one session, as before).
        warmup_bars: bars a segment after the first decodes before its own (given parts heard, its
            written notes thrown away), so its new parts enter in the song's key and groove; below
            ``segment_bars``.  8: with 4, new pop pianos played 38% more notes a bar over the 4 bars after a
            cut than one-piece outputs over the same bars, with 8 17% (12 songs, docs/results/job-speed.md).
        repeat_parts: for a style that repeats its parts (``StyleTexture.repeat_parts``: pop), a bar whose melody
            repeats an earlier passage gets the new parts written there (:mod:`symbolic.jobs.repeats`);
            False: every bar is sampled afresh.
    """

    WEIGHTS_DTYPES: ClassVar[tuple[str, ...]] = WEIGHTS_DTYPES

    temperature: float = 0.9
    top_k: int | None = None
    top_p: float | None = 0.95
    guidance_scale: float = 6.0
    seed: int = 0
    style_rules: bool = True
    off_scale_penalty: float | None = None
    chord_penalty: float | None = None
    max_part_tokens: int = 256
    weights_dtype: str = "int8"
    density_floor: float = 0.75
    segment_bars: int = 32
    warmup_bars: int = 8
    repeat_parts: bool = True

    def __post_init__(self) -> None:
        for name in ("seed", "max_part_tokens", "segment_bars", "warmup_bars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name}={value!r} must be a whole number")
        for name in ("temperature", "guidance_scale", "density_floor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name}={value!r} must be a number")
        if not isinstance(self.repeat_parts, bool):
            raise ConfigError(f"repeat_parts={self.repeat_parts!r} must be True or False")
        check_weights_dtype(self.weights_dtype)
        check_segmenting(self.segment_bars, self.warmup_bars)
        if not 0 <= self.density_floor <= 1:
            raise ConfigError(f"density_floor={self.density_floor} must be a share of the style's onsets a beat, "
                              "0 to 1")
        for name in ("off_scale_penalty", "chord_penalty"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or
                                      not 0 <= value < float("inf")):
                raise ConfigError(f"{name}={value!r} must be a finite number of nats >= 0 (or None: the style's own)")
        if self.max_part_tokens < 4:
            raise ConfigError(f"max_part_tokens={self.max_part_tokens} must be >= 4 (one note is 4 tokens)")
        check_sampling(self.temperature, self.top_k, self.top_p)

    def generation(self) -> GenerationConfig:
        """The :class:`~symbolic.sampling.config.GenerationConfig` of these settings."""
        return GenerationConfig(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                                guidance_scale=self.guidance_scale, seed=self.seed,
                                weights_dtype=self.weights_dtype)


# A continuation goes on in the piece's own style, so it needs less guidance than a conversion: on 24
# validation pieces (4 a style, 16 bars continued by 4; 2026-11-30, the six-style model), guidance 6 wrote
# solo tunes at 0.86 (irish) and 0.73 (german-folk) of their notes a bar with 6.0 and 4.75 distinct pitches
# (the demo's Irish tune went on as a drone on two notes); guidance 3: 1.09 and 1.15 of the notes a bar,
# 6.5 and 5.25 pitches, and the classifier's mean P(style) 0.753 against 0.734.
CONTINUE_DEFAULTS = JobConfig(guidance_scale=3.0)


@dataclass(frozen=True)
class DemoConfig:
    """What ``symbolic demo`` does (see :func:`symbolic.jobs.demo.run_demo`).

    Attributes:
        style: corpus style of the held-out tune (and of the accompaniment and continuation, when the
            model knows it).
        targets: styles the tune is converted into; ``None``: :attr:`DEFAULT_TARGETS` that the model
            knows (see :func:`symbolic.jobs.demo.demo_styles`).
        bars: bars of the tune used.
        continue_bars: bars the continuation adds.
        seed: sampling seed of every job.
        audio: render every output to WAV (needs FluidSynth).
        pop909_dir: the POP909 folder the pop part of the demo takes its held-out melody from (for a
            model that knows ``pop``); ``None``: ``../shared/data/pop909``
            (:func:`symbolic.resources.shared_data_dir`).
    """

    DEFAULT_TARGETS: ClassVar[tuple[str, ...]] = ("chorale", "classical")

    style: str = "irish"
    targets: tuple[str, ...] | None = None
    bars: int = 16
    continue_bars: int = 8
    seed: int = 0
    audio: bool = True
    pop909_dir: str | None = None

    def __post_init__(self) -> None:
        if self.targets is not None:
            object.__setattr__(self, "targets", tuple(self.targets))
            if not self.targets:
                raise ConfigError("the demo needs at least one target style (or None for the defaults)")
        if self.bars < 1 or self.continue_bars < 1:
            raise ConfigError(f"bars={self.bars} and continue_bars={self.continue_bars} must be >= 1")

    def job(self) -> JobConfig:
        """The :class:`JobConfig` of the demo's conversions and accompaniments: the defaults, with this seed."""
        return JobConfig(seed=self.seed)

    def continue_job(self) -> JobConfig:
        """The :class:`JobConfig` of the demo's continuation: :data:`CONTINUE_DEFAULTS`, with this seed."""
        return replace(CONTINUE_DEFAULTS, seed=self.seed)
