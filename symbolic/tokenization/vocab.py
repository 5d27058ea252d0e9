"""Configuration and vocabulary of the multi-track event tokenization.

The configuration is a frozen dataclass; the vocabulary is derived from it, and
both are saved together as a versioned JSON spec (``tokenizers/events-v1.json``,
``tokenizers/events-v2.json``) with every data set and model.  Loading a spec
re-derives the vocabulary and refuses a file whose stored vocabulary disagrees.

``events-v1`` holds 48 geometric tempo values (24..320 qpm, +-2.8%: 120 qpm
decodes as 118.66); ``events-v2`` holds every integer tempo from 20 to 300 qpm
exactly.  A config read from a v1 spec (which has neither ``tempo_scheme`` nor
``fold_sustain``) gets the v1 defaults, so v1 tokens and v1 models keep working.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from symbolic.errors import ConfigError, StyleError
from symbolic.styles.registry import MUSIC21_STYLE_NAMES, NO_STYLE

__all__ = [
    "EventTokenizerConfig",
    "TokenType",
    "Vocabulary",
    "SPEC_FORMAT",
    "DEFAULT_STYLES",
    "NO_STYLE",
    "load_spec",
    "save_spec",
    "EVENTS_V2",
]

SPEC_FORMAT = "symbolic.events/1"
TEMPO_SCHEMES = ("geometric", "integer")
# The music21 corpus styles of symbolic.styles.registry, which events-v1 and events-v2 (and the shipped
# five-style model) know; a build with POP909 adds pop after them (symbolic.data.pop909.with_pop_style), so its
# order is the registry's.
DEFAULT_STYLES = MUSIC21_STYLE_NAMES


class TokenType:
    """Token type codes (small ints, so grammar tables are plain arrays)."""

    PAD, BOS, EOS, MASK, STYLE, TRACK, PROGRAM, DRUMS, BAR, TIMESIG, DENOM, POSITION, TEMPO, PITCH, VELOCITY, \
        DURATION = range(16)
    NAMES = ("Pad", "BOS", "EOS", "Mask", "Style", "Track", "Program", "Drums", "Bar", "TimeSig", "Denom",
             "Position", "Tempo", "Pitch", "Velocity", "Duration")
    COUNT = 16


@dataclass(frozen=True)
class EventTokenizerConfig:
    """Settings of the event tokenization.

    Attributes:
        version: spec version string; models refuse a spec of another version.
        styles: style names, in token order (``"none"`` is always added first).
        steps_per_beat: position grid per quarter note (12 holds 16ths and triplets).
        max_tracks: track slots; a score with more tracks cannot be encoded.
        velocity_bins: number of velocity values (evenly spaced over 1..127).
        tempo_scheme: ``"geometric"``: ``tempo_bins`` values spaced evenly in log tempo between
            ``min_qpm`` and ``max_qpm`` (events-v1); ``"integer"``: every integer qpm from
            ``min_qpm`` to ``max_qpm`` (events-v2; ``tempo_bins`` must count them).  Tempos
            outside the range go to its nearest end.
        tempo_bins: number of tempo values.
        min_qpm, max_qpm: tempo range in quarter notes per minute.
        fold_sustain: lengthen notes held by the sustain pedal (controller 64) to the pedal's release
            before encoding, the convention of pretty_midi and MidiTok pipelines
            (:func:`symbolic.score.fold_sustain`); off: pedal events are dropped, durations kept.
        max_numerator: largest meter numerator (MIDI allows 255).
        denominators: meter denominators (powers of two); a meter whose bar is not a
            whole number of steps (3/32 at 12 steps a beat) cannot be encoded.
        max_bar_beats: quarter notes a ``Bar`` token spans at most; a longer bar
            (4/1, or an unmetered tune stored as one huge bar) is split into
            chunks of this length, each opened by a ``Bar`` token.
        max_bars: a score longer than this many bars (chunks) is refused (guards runaway files).
        decode_ticks_per_beat: ticks per quarter note of decoded scores.
    """

    version: str = "events-v1"
    styles: tuple[str, ...] = DEFAULT_STYLES
    steps_per_beat: int = 12
    max_tracks: int = 32
    velocity_bins: int = 32
    tempo_bins: int = 48
    min_qpm: float = 24.0
    max_qpm: float = 320.0
    tempo_scheme: str = "geometric"
    fold_sustain: bool = False
    max_numerator: int = 255
    denominators: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    max_bar_beats: int = 12
    max_bars: int = 4096
    decode_ticks_per_beat: int = 480

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        object.__setattr__(self, "denominators", tuple(self.denominators))
        if not 1 <= self.steps_per_beat <= 96:
            raise ConfigError(f"steps_per_beat={self.steps_per_beat} must be in 1..96 (12 is the default)")
        if not 1 <= self.max_tracks <= 128:
            raise ConfigError(f"max_tracks={self.max_tracks} must be in 1..128")
        if not 2 <= self.velocity_bins <= 127:
            raise ConfigError(f"velocity_bins={self.velocity_bins} must be in 2..127")
        if not 2 <= self.tempo_bins <= 512 or not 0 < self.min_qpm < self.max_qpm:
            raise ConfigError("tempo_bins must be in 2..512 and 0 < min_qpm < max_qpm")
        if self.tempo_scheme not in TEMPO_SCHEMES:
            raise ConfigError(f"tempo_scheme={self.tempo_scheme!r} must be one of {', '.join(TEMPO_SCHEMES)}")
        if self.tempo_scheme == "integer" and (self.min_qpm != int(self.min_qpm) or self.max_qpm != int(self.max_qpm)
                                               or self.tempo_bins != int(self.max_qpm) - int(self.min_qpm) + 1):
            raise ConfigError(f"the integer tempo scheme needs whole min_qpm and max_qpm and tempo_bins = "
                              f"max_qpm - min_qpm + 1 (got {self.min_qpm}, {self.max_qpm}, {self.tempo_bins})")
        if self.decode_ticks_per_beat % self.steps_per_beat:
            raise ConfigError(
                f"decode_ticks_per_beat={self.decode_ticks_per_beat} must be a multiple of "
                f"steps_per_beat={self.steps_per_beat}"
            )
        if self.max_bars < 1:
            raise ConfigError("max_bars must be at least 1")
        seen = set()
        for style in self.styles:
            if not style or style != style.strip() or "," in style or ":" in style or style == NO_STYLE:
                raise ConfigError(f"style name {style!r} is not allowed (no commas, colons or spaces at the ends; "
                                  f"{NO_STYLE!r} is reserved)")
            if style in seen:
                raise ConfigError(f"style {style!r} is listed twice")
            seen.add(style)
        if not 1 <= self.max_numerator <= 255:
            raise ConfigError(f"max_numerator={self.max_numerator} must be in 1..255 (a MIDI meter byte)")
        if not self.denominators or any(d < 1 or d & (d - 1) or d > 64 for d in self.denominators) \
                or len(set(self.denominators)) != len(self.denominators):
            raise ConfigError(f"denominators={self.denominators} must be distinct powers of two in 1..64")
        if not 1 <= self.max_bar_beats <= 64:
            raise ConfigError(f"max_bar_beats={self.max_bar_beats} must be in 1..64 (12 is the default)")

    @classmethod
    def from_dict(cls, data: dict) -> "EventTokenizerConfig":
        """Build a config from a dict, naming any unknown key (a typo) in the error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown tokenizer setting(s) {unknown}; known settings are {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict:
        """The config as plain JSON-ready data."""
        out = asdict(self)
        out["styles"] = list(self.styles)
        out["denominators"] = list(self.denominators)
        return out


EVENTS_V2 = EventTokenizerConfig(version="events-v2", tempo_scheme="integer", min_qpm=20.0, max_qpm=300.0,
                                 tempo_bins=281)
"""``tokenizers/events-v2.json``: events-v1 with every integer tempo from 20 to 300 qpm (the default of new data)."""


class Vocabulary:
    """Token ids, names, types and values derived from an :class:`EventTokenizerConfig`.

    ``types[i]`` is the :class:`TokenType` of id ``i`` and ``values[i]`` its integer
    value (style index, track slot, program, position step, pitch, bin index...).
    """

    def __init__(self, config: EventTokenizerConfig) -> None:
        self.config = config
        self.names: list[str] = []
        self.types: list[int] = []
        self.values: list[int] = []
        self.offsets: dict[int, int] = {}
        T = TokenType
        self.styles = (NO_STYLE,) + config.styles
        spb = config.steps_per_beat
        self.denominators = config.denominators
        self.max_bar_steps = config.max_bar_beats * spb  # positions a Bar token spans
        self.velocity_values = [
            int(round(1 + (127 - 1) * (i + 1) / config.velocity_bins)) for i in range(config.velocity_bins)
        ]
        if config.tempo_scheme == "integer":
            self.tempo_qpm: list[float] = list(range(int(config.min_qpm), int(config.max_qpm) + 1))
        else:
            ratio = math.log(config.max_qpm / config.min_qpm) / (config.tempo_bins - 1)
            self.tempo_qpm = [round(config.min_qpm * math.exp(ratio * i), 2) for i in range(config.tempo_bins)]
        self.duration_steps = _duration_steps(spb)

        self._add(T.PAD, ["Pad"])
        self._add(T.BOS, ["BOS"])
        self._add(T.EOS, ["EOS"])
        self._add(T.MASK, ["Mask"])
        self._add(T.STYLE, [f"Style_{s}" for s in self.styles])
        self._add(T.TRACK, [f"Track_{i}" for i in range(config.max_tracks)])
        self._add(T.PROGRAM, [f"Program_{p}" for p in range(128)])
        self._add(T.DRUMS, ["Drums"])
        self._add(T.BAR, ["Bar"])
        self._add(T.TIMESIG, [f"TimeSig_{n}" for n in range(1, config.max_numerator + 1)])
        self._add(T.DENOM, [f"Denom_{d}" for d in config.denominators])
        self._add(T.POSITION, [f"Position_{i}" for i in range(self.max_bar_steps)])
        self._add(T.TEMPO, [f"Tempo_{q}" for q in self.tempo_qpm])
        self._add(T.PITCH, [f"Pitch_{p}" for p in range(128)])
        self._add(T.VELOCITY, [f"Velocity_{v}" for v in self.velocity_values])
        self._add(T.DURATION, [f"Duration_{d}" for d in self.duration_steps])
        self.ids = {name: i for i, name in enumerate(self.names)}
        self.pad_id, self.bos_id, self.eos_id, self.mask_id = 0, 1, 2, 3
        self.bar_id = self.ids["Bar"]
        self.drums_id = self.ids["Drums"]

    def _add(self, token_type: int, names: list[str]) -> None:
        self.offsets[token_type] = len(self.names)
        self.names.extend(names)
        self.types.extend([token_type] * len(names))
        self.values.extend(range(len(names)))

    def __len__(self) -> int:
        return len(self.names)

    def id_of(self, token_type: int, value: int) -> int:
        """Token id of the ``value``-th token of ``token_type``."""
        return self.offsets[token_type] + value

    def meter_steps(self, numerator: int, denominator: int) -> int | None:
        """Bar length of a meter in steps, or ``None`` when the tokenization cannot hold the meter."""
        spb = self.config.steps_per_beat
        if not 1 <= numerator <= self.config.max_numerator or denominator not in self.denominators:
            return None
        steps, rest = divmod(numerator * 4 * spb, denominator)
        return None if rest else steps

    def style_id(self, style: str | None) -> int:
        """Token id of a style; ``None`` means no style."""
        name = NO_STYLE if style is None else style
        try:
            index = self.styles.index(name)
        except ValueError:
            raise StyleError(f"unknown style {name!r}; known styles: {', '.join(self.styles)}") from None
        return self.id_of(TokenType.STYLE, index)


def _duration_steps(spb: int) -> list[int]:
    """Duration values in steps: fine for short notes, coarser for long ones, up to 32 beats."""
    out: list[int] = list(range(1, 2 * spb + 1))
    for limit_beats, step in ((4, spb / 4), (8, spb / 2), (16, spb), (32, 2 * spb)):
        step = max(1, int(step))
        value = out[-1] + step
        while value <= limit_beats * spb:
            out.append(value)
            value += step
    return out


def save_spec(config: EventTokenizerConfig, path: str | os.PathLike[str]) -> None:
    """Write the JSON spec (format, config and the full vocabulary) to ``path``, atomically."""
    from symbolic.utils import atomic_write_json

    atomic_write_json(path, spec_dict(config))


def spec_dict(config: EventTokenizerConfig) -> dict:
    """The spec as a dict: ``{"format", "config", "vocabulary"}``."""
    return {"format": SPEC_FORMAT, "config": config.to_dict(), "vocabulary": Vocabulary(config).names}


def load_spec(path_or_dict: str | os.PathLike[str] | dict) -> EventTokenizerConfig:
    """Read a spec written by :func:`save_spec` (a path or the parsed dict)."""
    if isinstance(path_or_dict, dict):
        data, where = path_or_dict, "spec"
    else:
        where = str(path_or_dict)
        try:
            data = json.loads(Path(path_or_dict).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{where}: tokenizer spec not found") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: tokenizer spec is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SPEC_FORMAT:
        raise ConfigError(f"{where}: not an events tokenizer spec (expected format {SPEC_FORMAT!r})")
    config = EventTokenizerConfig.from_dict(data.get("config", {}))
    stored = data.get("vocabulary")
    if stored is not None and stored != Vocabulary(config).names:
        raise ConfigError(f"{where}: the stored vocabulary does not match the config; the file was edited "
                          "by hand or written by another version: regenerate it with save_spec")
    return config
