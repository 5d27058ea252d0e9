"""What a style sounds like as an ensemble, instruments by name, and their ranges.

A :class:`StyleTexture` says which General MIDI instruments a style uses (its
lead and its accompanying parts, high to low), how many accompanying parts a
conversion into the style writes, and which programs the training corpus of the
style declares (the model is prompted with those, so that it hears the header it
learned from; the output then gets the style's instruments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from symbolic.errors import ConfigError, StyleError

__all__ = ["PartRange", "StyleTexture", "FALLBACK_TEXTURE", "INSTRUMENTS", "PROGRAM_RANGES", "program_range",
           "parse_instruments"]


class PartRange(NamedTuple):
    """Inclusive MIDI pitch range of a part: its voice's or its instrument's."""

    lowest: int
    highest: int


@dataclass(frozen=True)
class StyleTexture:
    """The ensemble of a style.

    Attributes:
        lead_program: GM program of the melody.
        part_programs: GM programs of the accompanying parts, highest part first.
        convert_parts: accompanying parts a conversion into this style writes (0: a solo tune).
        corpus_programs: programs the style's training pieces declare, melody first (cycled).
        part_slot: the track slot of the first accompanying part in the style's training pieces:
            1 (right after the melody) for most; 2 for pop, whose piano comes after the bridge line.
            The model is shown the same layout (:meth:`slot_layout`).
        part_rhythm: ``(onsets per quarter note, shortest note as 1/n of a quarter)`` that
            new accompanying parts keep to, e.g. ``(2, 2)``: notes start on eighths and last
            a whole number of eighths, at least one; ``None``: the model's own rhythm.
        part_onsets: onsets per quarter note that new accompanying parts start on, with free
            durations (``4``: sixteenths); for a style whose onsets keep a grid but whose
            durations do not; ``None``: no such rule.  With ``part_rhythm`` the finer grid of
            the two is redundant: give one of them.
        part_ranges: ``(lowest, highest)`` MIDI pitch of each accompanying part, highest part
            first (the voice ranges of a choir, say); empty: the instruments' ranges.
        part_lines: new accompanying parts are single lines: a note starts only when the
            part's previous note has ended.
        part_chords: with ``part_lines``, notes may still start together (double stops).
        part_legato: with ``part_lines``, each note starts where the part's previous note
            ends: the parts do not rest.
        off_scale_penalty: nats taken from the logit of a new part's pitch outside the key
            of the given parts around its bar (:mod:`symbolic.analysis.keys`); 0: none.
        part_onsets_per_beat: the median onsets (distinct note starts) a beat of an accompanying
            part in the style's training pieces (``benchmarks/part_rhythm.py``); new parts start at
            least a share of it in every bar, spread through the bar (``JobConfig.density_floor``,
            :class:`~symbolic.jobs.rules.KeepPlaying`); ``None``: no minimum.
        part_longest_beats: the longest note a new accompanying part plays, in beats (the
            99.5th percentile of the style's parts' notes, ``benchmarks/part_rhythm.py``); ``None``:
            no limit.
        chord_penalty: nats taken from the logit of a new part's pitch outside the chord the given
            parts imply at its position (:mod:`symbolic.analysis.harmony`, one triad a half bar;
            :class:`~symbolic.jobs.rules.ChordBias`); 0: the parts pick their notes from the key alone.
        repeat_parts: where the melody repeats an earlier passage, the new parts play what they played
            there (:mod:`symbolic.jobs.repeats`; ``JobConfig.repeat_parts`` turns it off for a job).
    """

    lead_program: int
    part_programs: tuple[int, ...]
    convert_parts: int
    corpus_programs: tuple[int, ...]
    part_rhythm: tuple[int, int] | None = None
    part_onsets: int | None = None
    part_ranges: tuple[PartRange, ...] = ()
    part_lines: bool = False
    part_chords: bool = True
    part_legato: bool = False
    off_scale_penalty: float = 0.0
    part_slot: int = 1
    part_onsets_per_beat: float | None = None
    part_longest_beats: float | None = None
    chord_penalty: float = 0.0
    repeat_parts: bool = False

    def __post_init__(self) -> None:
        for program in (self.lead_program, *self.part_programs, *self.corpus_programs):
            if not 0 <= program <= 127:
                raise ConfigError(f"GM program {program} is outside 0..127")
        if not self.part_programs or not self.corpus_programs:
            raise ConfigError("a texture needs at least one part program and one corpus program")
        if self.part_slot < 1:
            raise ConfigError(f"part_slot={self.part_slot} must be a track slot after the melody's (>= 1)")
        if self.convert_parts < 0:
            raise ConfigError(f"convert_parts={self.convert_parts} must be >= 0")
        object.__setattr__(self, "part_ranges", tuple(PartRange(*r) for r in self.part_ranges))
        for low, high in self.part_ranges:
            if not 0 <= low < high <= 127:
                raise ConfigError(f"part range ({low}, {high}) must be two MIDI pitches, low < high")
        if self.part_onsets_per_beat is not None and not self.part_onsets_per_beat > 0:
            raise ConfigError(f"part_onsets_per_beat={self.part_onsets_per_beat} must be > 0 onsets a beat (or None)")
        if self.part_longest_beats is not None and not self.part_longest_beats > 0:
            raise ConfigError(f"part_longest_beats={self.part_longest_beats} must be > 0 beats (or None)")
        if not 0 <= self.off_scale_penalty < float("inf") or not 0 <= self.chord_penalty < float("inf"):
            raise ConfigError(f"off_scale_penalty={self.off_scale_penalty} and chord_penalty={self.chord_penalty} "
                              "must be >= 0 nats")
        if self.part_rhythm is not None and min(self.part_rhythm) < 1:
            raise ConfigError(f"part_rhythm={self.part_rhythm} must be two counts per quarter note, each >= 1")
        if self.part_onsets is not None and (self.part_onsets < 1 or self.part_rhythm is not None):
            raise ConfigError(f"part_onsets={self.part_onsets} must be onsets per quarter note >= 1, and only "
                              f"without part_rhythm (which sets the onset grid itself)")

    def part_rhythm_steps(self, steps_per_beat: int) -> tuple[int, int] | None:
        """:attr:`part_rhythm` as ``(onset grid, shortest duration)`` in steps, for ``Plan.part_rhythm``.

        ``None`` when the texture has none or the grid does not divide ``steps_per_beat``.
        """
        if self.part_rhythm is None or any(steps_per_beat % n for n in self.part_rhythm):
            return None
        return steps_per_beat // self.part_rhythm[0], steps_per_beat // self.part_rhythm[1]

    def part_onset_steps(self, steps_per_beat: int) -> int | None:
        """:attr:`part_onsets` as an onset grid in steps (``3`` for sixteenths at 12 steps a beat).

        ``None`` when the texture has none or the grid does not divide ``steps_per_beat``.
        """
        if self.part_onsets is None or steps_per_beat % self.part_onsets:
            return None
        return steps_per_beat // self.part_onsets

    def part_range(self, index: int, program: int) -> PartRange | None:
        """Pitch range of accompanying part ``index`` played by ``program``: the texture's own range
        for its part when ``program`` is the texture's instrument, else the instrument's range."""
        if index < len(self.part_ranges) and program == self.part_program(index):
            return self.part_ranges[index]
        return program_range(program)

    def part_program(self, index: int) -> int:
        """Program of accompanying part ``index`` (0 = highest); the lowest program repeats."""
        return self.part_programs[min(index, len(self.part_programs) - 1)]

    def slot_layout(self, n_given: int, n_new: int) -> tuple[list[int | None], range]:
        """Where the model hears ``n_given`` given parts (melody first, then the others high to low) and
        writes ``n_new`` new ones: the style's training layout.

        Returns ``(sources, free)``: ``sources[slot]`` is the index into the given parts of the part in
        track slot ``slot``, or ``None`` for a new part or an empty slot; ``free`` are the new parts'
        slots.  The given parts fill the slots before :attr:`part_slot` (pop: melody, then the bridge);
        a slot the input has no part for stays empty, declared with its corpus program (pop without a
        bridge: the model hears a silent bridge, as in the training songs' bars where it rests); the new
        parts follow, then the remaining given parts.
        """
        upper, start = min(self.part_slot, n_given), self.part_slot
        sources: list[int | None] = list(range(upper)) + [None] * (start - upper + n_new) + list(range(upper, n_given))
        return sources, range(start, start + n_new)

    def corpus_program(self, slot: int) -> int:
        """Program the corpus of this style declares for track slot ``slot``."""
        return self.corpus_programs[min(slot, len(self.corpus_programs) - 1)]


FALLBACK_TEXTURE = StyleTexture(0, (0, 0, 32), 3, (0,))  # a user's own style: piano parts over a bass

# name -> (GM program, typical pitch): parts asked for by name are ordered high to low by the pitch.
INSTRUMENTS: dict[str, tuple[int, int]] = {
    "piano": (0, 60), "organ": (19, 60), "harpsichord": (6, 62), "accordion": (21, 62),
    "guitar": (24, 57), "bass": (32, 40), "violin": (40, 74), "fiddle": (110, 74), "viola": (41, 62),
    "cello": (42, 50), "contrabass": (43, 38), "harp": (46, 60), "strings": (48, 60), "choir": (52, 62),
    "soprano": (52, 72), "alto": (52, 64), "tenor": (52, 57), "trumpet": (56, 70), "trombone": (57, 52),
    "horn": (60, 58), "oboe": (68, 74), "bassoon": (70, 48), "clarinet": (71, 66), "flute": (73, 79),
    "recorder": (74, 77),
}


# Playable range (lowest, highest MIDI pitch) of the GM programs that have a narrow one; new parts on
# these instruments are written inside it.  Keyboards, harps, organs and choirs are left free.
PROGRAM_RANGES: dict[int, PartRange] = {program: PartRange(*limits) for program, limits in {
    24: (40, 76), 25: (40, 76), 32: (28, 55), 33: (28, 55), 43: (28, 55), 40: (55, 96), 110: (55, 96),
    41: (48, 84), 42: (36, 72), 56: (54, 82), 57: (40, 72), 60: (41, 77), 68: (58, 91), 70: (34, 72),
    71: (50, 91), 73: (60, 96), 74: (60, 86), 21: (41, 89),
}.items()}


def program_range(program: int) -> PartRange | None:
    """Playable pitch range of a GM program, or ``None`` for a wide or unknown one."""
    return PROGRAM_RANGES.get(program)


def parse_instruments(text: str) -> list[tuple[str, int]]:
    """``"bass,piano"`` to ``[(name, program), ...]`` ordered high to low (the order parts are written in).

    Raises:
        StyleError: an unknown name (the message lists the known ones) or an empty list.
    """
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise StyleError("the instrument list is empty; name instruments, e.g. 'piano,bass'")
    unknown = [name for name in names if name not in INSTRUMENTS]
    if unknown:
        raise StyleError(f"unknown instrument {unknown[0]!r}; known: {', '.join(sorted(INSTRUMENTS))}")
    ordered = sorted(enumerate(names), key=lambda item: (-INSTRUMENTS[item[1]][1], item[0]))
    return [(name, INSTRUMENTS[name][0]) for _, name in ordered]
