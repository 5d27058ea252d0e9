"""Part rules: what a style asks of the parts a job writes, each rule one object with its own state.

A rule is a logits processor (``(logits, context) -> logits``, see
:mod:`symbolic.sampling.processors`) that the plan loop
(:func:`symbolic.jobs.plan.generate_planned`) also tells where it is: which bar
starts (with the given parts' notes), which free part starts and ends, which
note was just written.  It keeps what it needs from that and acts only while a
free part is written.  The :class:`PartRule` protocol is the whole interface;
:class:`PartRuleBase` gives the hooks that do nothing.

The rules, in the order they are applied (right after the grammar mask):

* :class:`RhythmGrid`: note onsets on a grid, durations a whole number of grid steps
  and at least a minimum (a style's part rhythm), or onsets alone (its onset grid);
* :class:`PitchRange`: a new part keeps under the parts above it (held notes too) and over the
  given parts below it (the register), and inside its voice's or instrument's range;
* :class:`ScaleBias`: pitches outside the key around the bar lose some nats;
* :class:`ChordBias`: pitches outside the chord the given parts imply lose some nats (pop's piano);
* :class:`SingleLine`: a part is one line (no note starts while its last sounds),
  optionally with double stops and without rests (legato).

Two rules come from the input rather than the style (the jobs add them, :mod:`symbolic.jobs.arrange`):

* :class:`DoublingLimit`: a new part doubles the kept parts (same pitch class at the same time) for
  at most a share of its sounding time, over the whole part and over its last beats, counted over
  each note's whole length;
* the input's rhythmic feel: in straight music, :func:`straight_grid` (a :class:`RhythmGrid` on the
  16th grid) keeps triplet positions out of the new parts.

A rule holds the state of one generation: build new ones for every plan
(:func:`part_rules` does, from a style's texture).

Torch is needed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Mapping, NamedTuple, Protocol

import torch

from symbolic.errors import ConfigError
from symbolic.sampling.processors import StepContext, forbid_unless_empty
from symbolic.styles.texture import PartRange, StyleTexture, program_range
from symbolic.tokenization.grammar import GrammarState, Phase
from symbolic.tokenization.stream import NoteSpan, part_notes
from symbolic.tokenization.vocab import TokenType

__all__ = ["PartRule", "PartRuleBase", "LineState", "RhythmGrid", "PitchRange", "ScaleBias", "ChordBias", "SingleLine",
           "DoublingLimit", "NoRestrike", "KeepPlaying", "closing_ids", "straight_grid", "part_rules",
           "playable_range", "DRUM_KEYS"]

DRUM_KEYS = PartRange(35, 81)  # the General MIDI drum map (Acoustic Bass Drum .. Open Triangle)

# Usual range of each General MIDI family (program // 8), for programs without their own entry in
# symbolic.styles.texture.PROGRAM_RANGES: piano, chromatic percussion, organ, guitar, bass, strings,
# ensemble, brass, reed, pipe, synth lead, synth pad, synth effects, ethnic, percussive, sound effects.
_FAMILY_RANGES = ((21, 108), (53, 96), (36, 96), (40, 88), (28, 60), (36, 96), (36, 96), (34, 84),
                  (46, 91), (60, 96), (36, 96), (36, 96), (36, 96), (48, 84), (36, 84), (36, 96))


def playable_range(program: int, is_drum: bool = False) -> PartRange:
    """Pitches a part on GM ``program`` may play: the instrument's own range
    (:func:`symbolic.styles.texture.program_range`), else its GM family's usual range; the GM drum map
    (MIDI 35..81) for a drum part.  Always a range, so every new part has a hard limit."""
    if is_drum:
        return DRUM_KEYS
    return program_range(program) or PartRange(*_FAMILY_RANGES[program // 8])


class PartRule(Protocol):
    """A logits processor that follows the plan loop.

    The loop calls :meth:`start` once with the plan, :meth:`start_bar` at each bar
    (after its opening is fed), then for each free part :meth:`skip_part`; when no
    rule skips it, :meth:`start_part`, :meth:`wrote` after each note and
    :meth:`end_part`.  ``chunk`` is the bar's length in steps.
    """

    def start(self, plan) -> None: ...

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None: ...

    def skip_part(self, slot: int, chunk: int) -> bool: ...

    def start_part(self, slot: int, chunk: int) -> None: ...

    def wrote(self, note: NoteSpan) -> None: ...

    def end_part(self) -> None: ...

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor: ...


class PartRuleBase:
    """Hooks that do nothing; a rule overrides those it needs.  ``slot`` is the free part being written."""

    slot: int | None = None

    def start(self, plan) -> None:
        pass

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        pass

    def skip_part(self, slot: int, chunk: int) -> bool:
        return False

    def start_part(self, slot: int, chunk: int) -> None:
        self.slot = slot

    def wrote(self, note: NoteSpan) -> None:
        pass

    def end_part(self) -> None:
        self.slot = None


@dataclass(eq=False)
class RhythmGrid(PartRuleBase):
    """Forbid note onsets off a grid, and durations under a minimum or off the grid (a style's rhythm
    for new parts).

    ``forbidden`` is a bool ``(vocab_size,)`` tensor: the Position ids off the grid and
    the Duration ids that are too short or not a whole number of grid steps; build it
    with :meth:`for_vocab`.  It applies at every step (given parts are fed, not
    sampled, so only free parts meet it).  A row it would leave with nothing allowed
    is passed through unchanged.
    """

    forbidden: torch.Tensor

    @classmethod
    def for_vocab(cls, vocab, onset_grid_steps: int, min_duration_steps: int,
                  durations_on_grid: bool = True, max_duration_steps: int | None = None) -> "RhythmGrid":
        """Onsets on multiples of ``onset_grid_steps`` from the bar line; durations that are multiples of
        it too (unless ``durations_on_grid`` is ``False``: an onset grid alone, as
        ``StyleTexture.part_onsets`` asks), at least ``min_duration_steps`` and at most
        ``max_duration_steps`` (``None``: no maximum; all in the vocabulary's steps, ``steps_per_beat``
        to a quarter note).

        Raises:
            ConfigError: a grid or minimum below one step, or a maximum under the minimum.
        """
        if onset_grid_steps < 1 or min_duration_steps < 1:
            raise ConfigError(f"onset_grid_steps={onset_grid_steps} and min_duration_steps={min_duration_steps} "
                              "must be >= 1")
        if max_duration_steps is not None and max_duration_steps < min_duration_steps:
            raise ConfigError(f"max_duration_steps={max_duration_steps} must be >= min_duration_steps="
                              f"{min_duration_steps}")
        forbidden = torch.zeros(len(vocab), dtype=torch.bool)
        position = vocab.offsets[TokenType.POSITION]
        for step in range(vocab.max_bar_steps):
            forbidden[position + step] = step % onset_grid_steps != 0
        duration = vocab.offsets[TokenType.DURATION]
        for k, steps in enumerate(vocab.duration_steps):
            off_grid = durations_on_grid and steps % onset_grid_steps != 0
            too_long = max_duration_steps is not None and steps > max_duration_steps
            forbidden[duration + k] = steps < min_duration_steps or off_grid or too_long
        return cls(forbidden)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        return forbid_unless_empty(logits, self.forbidden.to(logits.device))


def straight_grid(vocab) -> RhythmGrid | None:
    """The rule for a straight feel: onsets and durations on the 16th grid (a quarter of
    ``steps_per_beat``), so no triplet position; ``None`` when the vocabulary's beat does not split into
    16ths (its steps hold no straight grid finer than the beat)."""
    steps_per_beat = vocab.config.steps_per_beat
    if steps_per_beat % 4:
        return None
    return RhythmGrid.for_vocab(vocab, steps_per_beat // 4, steps_per_beat // 4)


def _pitch_near(notes: list[NoteSpan], pos: int, pick) -> int | None:
    """The pitch the part(s) hold at ``pos``: ``pick`` of those sounding, else the latest before, else the next."""
    sounding = [p for start, end, p in notes if start <= pos < end]
    if sounding:
        return pick(sounding)
    before = [(start, p) for start, _, p in notes if start <= pos]
    if before:
        return max(before)[1]
    after = [(start, p) for start, _, p in notes if start > pos]
    return min(after)[1] if after else None


def _clip(register: PartRange | None, playable: PartRange | None) -> PartRange | None:
    """The register inside the instrument's playable range; the range alone where they do not meet."""
    if register is None or playable is None:
        return register or playable
    low, high = max(register[0], playable[0]), min(register[1], playable[1])
    return PartRange(low, high) if low <= high else playable


_LAST_TIMELINE: list = []  # [plan, vocab, its GivenTimeline]: plans are frozen, so one walk serves them all


class GivenTimeline(NamedTuple):
    """The given parts of a plan on one time line: where each bar starts, where the last ends and every
    given note, in steps from the plan's first bar line (the plan loop's bars, chunk by chunk)."""

    bar_starts: tuple[int, ...]
    end: int
    notes: Mapping[int, tuple[NoteSpan, ...]]  # slot -> its given notes, in rising start order

    @classmethod
    def of_plan(cls, vocab, plan) -> "GivenTimeline":
        """Walk the plan's header and bar openings through the token grammar (which knows each bar's
        length, meter changes and chunks) and put each given part's notes at its bar's start.  Built once
        for the last plan asked (the rules of every segment and the cut planning share it)."""
        if _LAST_TIMELINE and _LAST_TIMELINE[0] is plan and _LAST_TIMELINE[1] is vocab:
            return _LAST_TIMELINE[2]
        timeline = cls._walk(vocab, plan)
        _LAST_TIMELINE[:] = [plan, vocab, timeline]
        return timeline

    @classmethod
    def _walk(cls, vocab, plan) -> "GivenTimeline":
        state = GrammarState(vocab).advance_all(plan.header)
        starts, notes, offset = [], {}, 0
        for bar in plan.bars:
            state.advance_all(bar.opening)
            starts.append(offset)
            for slot, ids in bar.parts:
                if ids is not None:
                    notes.setdefault(slot, []).extend(NoteSpan(offset + s, offset + e, p)
                                                      for s, e, p in part_notes(vocab, ids))
            offset += state.chunk
        return cls(tuple(starts), offset, {slot: tuple(sorted(spans)) for slot, spans in notes.items()})


@dataclass(eq=False)
class PitchRange(PartRuleBase):
    """Keep a free part's pitches in its register and its range.

    With ``keep_register``, a note of the free part at position ``pos`` stays at or
    below what the parts of lower slots (the melody, the parts above) sound there,
    and above what the given parts of higher slots sound there (not in unison with them,
    which would double them), so parts written under a melody stay under it and do not
    cross.  The floor holds only where it lies ``floor_room`` semitones or more under the
    given parts above (the melody): a kept part close under the melody (a full band's
    chords) would otherwise pin the new parts into a few pitches against it, chromatic
    neighbours and unisons, so there they may go under it.  In a bar where a given part
    rests, its last pitch before the bar stands for it (before its first note, its first
    pitch, read from the plan in :meth:`start`), so a part under the melody stays under it
    through the melody's rests and an introduction.  ``ranges`` maps a free
    slot to its voice's or instrument's :class:`PartRange`; where the register and
    the range do not meet, the range wins.  ``pitch_offset`` is the id of pitch 0.

    Held notes: with ``vocab`` (the tokenizer vocabulary) and ``keep_register``, a note may
    not be held over the start of a lower note of a part above: once its pitch is chosen,
    the Duration ids that would make it sound on into such a note are forbidden (the given
    parts' notes are read from the whole plan in :meth:`start`, so a note held over a bar
    line into the melody's next phrase counts; the free parts above count in the bar being
    written).  ``min_duration_steps`` (the shortest note the other rules allow, in steps)
    extends the pitch rule to the notes above that start within that span of the onset, so
    a chosen pitch always has a duration left.

    A no-op where neither applies, and for a row it would leave with nothing allowed.
    """

    pitch_offset: int
    keep_register: bool = True
    ranges: Mapping[int, PartRange] = field(default_factory=dict)
    min_duration_steps: int = 1
    vocab: object | None = None
    floor_room: int = 12
    _notes: dict[int, list[NoteSpan]] = field(default_factory=dict, init=False, repr=False)
    _given: frozenset[int] = field(default=frozenset(), init=False, repr=False)
    _last: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _timeline: GivenTimeline | None = field(default=None, init=False, repr=False)
    _starts: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False)
    _bar: int = field(default=0, init=False, repr=False)
    _chunk: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.min_duration_steps < 1 or self.floor_room < 0:
            raise ConfigError(f"min_duration_steps={self.min_duration_steps} must be >= 1 and "
                              f"floor_room={self.floor_room} >= 0 semitones")

    def start(self, plan) -> None:
        """Before a given part's first note, its first pitch stands for it (an introduction without the melody);
        with a vocabulary, every given note of the plan is read for the held-note rule."""
        self._last, self._notes, self._given = {}, {}, frozenset()
        for bar in plan.bars:
            for slot, ids in bar.parts:
                if ids is not None and slot not in self._last:
                    first = next((t - self.pitch_offset for t in ids
                                  if self.pitch_offset <= t < self.pitch_offset + 128), None)
                    if first is not None:
                        self._last[slot] = first
        if self.vocab is not None and self.keep_register:
            self._timeline = GivenTimeline.of_plan(self.vocab, plan)
            self._starts = {k: [n.start for n in notes] for k, notes in self._timeline.notes.items()}

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        for slot, notes in self._notes.items():  # the last pitch of each given part before this bar
            if slot in self._given and notes:
                self._last[slot] = max(notes)[2]
        self._notes = {slot: list(notes) for slot, notes in given.items() if notes}
        for slot, pitch in self._last.items():  # a given part that rests through the bar holds its last pitch
            self._notes.setdefault(slot, [NoteSpan(0, 1 << 30, pitch)])
        self._given = frozenset(given) | frozenset(self._last)
        self._bar = index

    def start_part(self, slot: int, chunk: int) -> None:
        self.slot, self._chunk = slot, chunk

    def wrote(self, note: NoteSpan) -> None:
        self._notes.setdefault(self.slot, []).append(note)

    def onsets_above(self, slot: int, start: int, end: int) -> list[tuple[int, int]]:
        """``(step, pitch)`` of the notes of parts above free part ``slot`` (lower slots) that start after
        ``start`` and before ``end`` (steps from the bar line of the bar being written; ``end`` may lie in
        a later bar): this bar's notes, and the given notes of later bars when the plan was read."""
        found = [(s, p) for k, notes in self._notes.items() if k < slot for s, _, p in notes if start < s < end]
        if self._timeline is not None and end > self._chunk:
            origin = self._timeline.bar_starts[self._bar]
            low, high = origin + max(start, self._chunk - 1), origin + end
            for k, notes in self._timeline.notes.items():
                if k < slot:
                    starts = self._starts[k]
                    found += [(s - origin, p) for s, _, p in
                              notes[bisect.bisect_right(starts, low):bisect.bisect_left(starts, high)]]
        return found

    def register(self, slot: int, pos: int) -> PartRange | None:
        """Pitch range for a note of free part ``slot`` at ``pos``: at or under the parts above (those sounding
        at ``pos`` and those starting within ``min_duration_steps`` of it), above the given parts below;
        ``None`` when neither sounds anywhere in the bar, or before the first position."""
        if pos < 0:
            return None
        above = [n for s, notes in self._notes.items() if s < slot for n in notes]
        below = [n for s, notes in self._notes.items() if s > slot and s in self._given for n in notes]
        high = _pitch_near(above, pos, min)
        soon = [p for _, p in self.onsets_above(slot, pos, pos + self.min_duration_steps)]
        if soon:
            high = min(soon + ([high] if high is not None else []))
        low = _pitch_near(below, pos, max)
        low = None if low is None else low + 1  # over them, not in unison (which would double them)
        if high is None and low is None:
            return None
        high = 127 if high is None else high
        given_high = _pitch_near([n for s, notes in self._notes.items() if s < slot and s in self._given
                                  for n in notes], pos, min)
        room = (high if given_high is None else given_high) - (low or 0)
        low = 0 if low is None or low > high or room < self.floor_room else low
        return PartRange(low, high)

    def held_durations(self, slot: int, pos: int, pitch: int) -> torch.Tensor | None:
        """Bool ``(vocab_size,)``: the Duration ids that would hold free part ``slot``'s note (``pitch`` at
        ``pos``) over the start of a lower note of a part above; ``None`` when none would (or no vocabulary)."""
        if self.vocab is None:
            return None
        steps = self.vocab.duration_steps
        lower = [s for s, p in self.onsets_above(slot, pos, pos + max(steps)) if p < pitch]
        if not lower:
            return None
        limit = min(lower) - pos  # the note must end by then
        forbidden = torch.zeros(len(self.vocab), dtype=torch.bool)
        offset = self.vocab.offsets[TokenType.DURATION]
        forbidden[offset:offset + len(steps)] = torch.tensor([d > limit for d in steps])
        return forbidden

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if self.slot is None:
            return logits
        state = context.grammar_states[0]
        if state.phase == Phase.NOTE_VELOCITY:  # a Duration comes next: the pitch is chosen
            forbidden = self.held_durations(self.slot, state.note_pos, state.last_pitch) \
                if self.keep_register else None
            return logits if forbidden is None else forbid_unless_empty(logits, forbidden.to(logits.device))
        register = self.register(self.slot, state.note_pos) if self.keep_register else None
        allowed = _clip(register, self.ranges.get(self.slot))
        if allowed is None:
            return logits
        low, high = allowed
        outside = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        outside[self.pitch_offset:self.pitch_offset + max(low, 0)] = True
        outside[self.pitch_offset + min(high, 127) + 1:self.pitch_offset + 128] = True
        return forbid_unless_empty(logits, outside)


def _outside_bias(cache: dict, pitch_classes: frozenset[int], penalty: float, pitch_offset: int,
                  logits: torch.Tensor, below: int = 128) -> torch.Tensor:
    """A ``(vocab_size,)`` bias of ``-penalty`` on the Pitch ids below MIDI ``below`` outside ``pitch_classes`` (0
    elsewhere), in ``logits``' width, dtype and device; built once per set, penalty and bound and kept in
    ``cache``."""
    key = (pitch_classes, penalty, below, logits.size(-1), logits.dtype, logits.device)
    bias = cache.get(key)
    if bias is None:
        pitches = torch.arange(128, device=logits.device)
        outside = ~torch.isin(pitches % 12, torch.tensor(sorted(pitch_classes), dtype=torch.long,
                                                         device=logits.device)) & (pitches < below)
        bias = torch.zeros(logits.size(-1), dtype=logits.dtype, device=logits.device)
        bias[pitch_offset:pitch_offset + 128] = outside.to(logits.dtype) * -penalty
        cache[key] = bias
    return bias


@dataclass(eq=False)
class ScaleBias(PartRuleBase):
    """Lower the logits of a free part's Pitch ids outside the key of its bar by ``penalty`` nats: notes out
    of the key stay possible, but rarer.

    ``scales`` holds the pitch classes (0 = C) of the key of each bar of the plan
    (``None``: a bar with no key); see :func:`symbolic.analysis.keys.bar_scales`.
    ``pitch_offset`` is the id of pitch 0.  In a bar where no given part starts a note (an intro before
    the melody enters, an interlude) the new parts have nothing but the key to follow, and
    ``silent_penalty`` applies instead (``None``: ``penalty``): a tester found a pop piano's intro and
    a melody-less interlude in a key a semitone off the song's (21-44% of its notes in the key).
    """

    pitch_offset: int
    penalty: float
    scales: tuple[frozenset[int] | None, ...]
    silent_penalty: float | None = None
    _penalty: float = field(default=0.0, init=False, repr=False)
    _scale: frozenset[int] | None = field(default=None, init=False, repr=False)
    _biases: dict = field(default_factory=dict, init=False, repr=False)  # one bias vector per key: _outside_bias

    def __post_init__(self) -> None:
        if not 0 <= self.penalty < float("inf") or not (self.silent_penalty is None or
                                                       0 <= self.silent_penalty < float("inf")):
            raise ConfigError(f"penalty={self.penalty} and silent_penalty={self.silent_penalty} must be finite "
                              "numbers of nats >= 0")

    def start(self, plan) -> None:
        if len(self.scales) != len(plan.bars):
            raise ConfigError(f"the key rule has {len(self.scales)} bar scales for {len(plan.bars)} bars")

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        self._scale = self.scales[index]
        silent = self.silent_penalty is not None and not any(given.values())
        self._penalty = self.silent_penalty if silent else self.penalty

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if self.slot is None or self._scale is None or self._penalty == 0:
            return logits
        return logits + _outside_bias(self._biases, self._scale, self._penalty, self.pitch_offset, logits)


# Given chords (a chart, a lead sheet, the chords convert hears): the bass of a chord (its root, or a slash
# chord's bass) under the lowest note a new part strikes in the chord's first beat, when that note lies below
# BASS_BELOW (MIDI 55, G3: a piano's left hand, a bass); other pitch classes there lose BASS_ROOT_PENALTY nats.
# A tester measured the pop piano's lowest note at chord changes on the root in 30-41% of chords with the
# annotated chords given (the real pianos 87-98%).  On 12 POP909 test songs, 16 bars, melody and annotated
# chords given (/work/runs/bass, the lowest piano note in each chord's first beat): 0 / 1.5 / 3 nats put it on
# the chord's bass in 41% / 68% / 83% of chords, chord-tone ratio 0.956 / 0.968 / 0.963, P(pop) 0.908 / 0.908 /
# 0.874: 1.5.  Guessed chords get no bass rule: on a wrong guess it roots the bass on the wrong note (3 nats
# with the melody alone: P(pop) 0.867).
BASS_BELOW = 55
BASS_ROOT_PENALTY = 1.5


@dataclass(eq=False)
class ChordBias(PartRuleBase):
    """Lower the logits of a free part's Pitch ids outside the chord at the note's position by ``penalty``
    nats: the part follows one harmony, chord tones first, other notes rarer.

    :meth:`start` reads every given note of the plan (``vocab`` walks it: :class:`GivenTimeline`), cuts the
    plan into harmony segments (half bars of 4/4, :func:`~symbolic.analysis.harmony.chord_segments`) and
    guesses one triad a segment with ``model`` (``None``: the shipped one,
    :func:`~symbolic.analysis.harmony.load_chord_model`), which also chooses the key.  In a half bar where
    no given note sounds, and with no given notes at all, the rule does nothing.  With ``given`` (chords the
    user gave: ``(start_step, end_step, pitch classes or None)`` spans, steps from the plan's first bar line)
    it follows those instead, every tone of each chord, wherever a span lies (an intro too); outside the spans
    and under ``None`` (no chord) it does nothing.  A span's fourth field, when there, is its bass pitch class:
    with ``bass_penalty`` the lowest note of an onset in the span's first beat, below ``bass_below``, loses
    ``bass_penalty`` nats on every other pitch class (the left hand on the root at a chord change).
    A pop piano written from the key alone put 0.47 of its note time on POP909's annotated chords (the real
    piano 0.985) and clashed with itself by semitones (``docs/results/pop-accompaniment.md``).

    Raises:
        ConfigError: ``penalty`` below 0 or not finite.
    """

    vocab: object
    penalty: float
    model: object | None = None  # a symbolic.analysis.harmony.ChordModel
    given: tuple[tuple, ...] | None = None  # (start_step, end_step, pitch classes or None[, bass pitch class])
    bass_penalty: float = 0.0
    bass_below: int = BASS_BELOW
    _starts: list[int] = field(default_factory=list, init=False, repr=False)
    _chords: list[frozenset[int] | None] = field(default_factory=list, init=False, repr=False)
    _basses: list[int | None] = field(default_factory=list, init=False, repr=False)
    _bar_starts: tuple[int, ...] = field(default=(), init=False, repr=False)
    _origin: int = field(default=0, init=False, repr=False)
    _biases: dict = field(default_factory=dict, init=False, repr=False)  # one bias vector per chord: _outside_bias

    def __post_init__(self) -> None:
        if not 0 <= self.penalty < float("inf"):
            raise ConfigError(f"penalty={self.penalty} must be a finite number of nats >= 0")
        if not 0 <= self.bass_penalty < float("inf"):
            raise ConfigError(f"bass_penalty={self.bass_penalty} must be a finite number of nats >= 0")

    def start(self, plan) -> None:
        from symbolic.analysis.harmony import (chord_segments, estimate_chords, load_chord_model,
                                               segment_histograms, triad_pitch_classes)

        timeline = GivenTimeline.of_plan(self.vocab, plan)
        self._bar_starts = timeline.bar_starts
        if self.given is not None:
            self._starts, self._chords, self._basses, last_end = [], [], [], None
            for start, end, tones, *bass in sorted(self.given, key=lambda span: span[0]):
                if last_end is not None and start > last_end:
                    self._starts.append(last_end)  # a gap between spans: no chord
                    self._chords.append(None)
                    self._basses.append(None)
                self._starts.append(start)
                self._chords.append(tones)
                self._basses.append(bass[0] if bass and tones else None)
                last_end = end
            if last_end is not None:
                self._starts.append(last_end)
                self._chords.append(None)
                self._basses.append(None)
            return
        steps_per_beat = self.vocab.config.steps_per_beat
        segments = chord_segments(timeline.bar_starts, timeline.end, steps_per_beat)
        histograms = segment_histograms((n for notes in timeline.notes.values() for n in notes), segments,
                                        steps_per_beat)
        reference, states = estimate_chords(self.model or load_chord_model(), histograms)
        self._starts = [start for start, _, _ in segments] if states else []
        # where nothing given sounds (an intro, an interlude) the guess is the transitions' filler, not heard
        # from notes: a tester found a 13-bar intro held on one chord; there the part plays as it will
        self._chords = [triad_pitch_classes(state, reference) if histogram.any() else None
                        for state, histogram in zip(states, histograms)]
        self._basses = [(reference + state // 2) % 12 if histogram.any() else None  # the root
                        for state, histogram in zip(states, histograms)]

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        self._origin = self._bar_starts[index] if index < len(self._bar_starts) else 0

    def chord_at(self, step: int) -> frozenset[int] | None:
        """Pitch classes of the chord at ``step`` (from the plan's first bar line); ``None`` before the first
        segment and in a segment where no given note sounds."""
        k = self._segment_at(step)
        return self._chords[k] if k >= 0 else None

    def _segment_at(self, step: int) -> int:
        """Index of the segment (or given span) holding ``step``; -1 before the first."""
        return bisect.bisect_right(self._starts, step) - 1

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        states = context.grammar_states
        if self.slot is None or self.penalty == 0 or not self._chords or not states:
            return logits
        step = self._origin + states[0].note_pos
        k = self._segment_at(step)
        chord = self._chords[k] if k >= 0 else None
        if chord is None:
            return logits
        offset = self.vocab.offsets[TokenType.PITCH]
        out = logits + _outside_bias(self._biases, chord, self.penalty, offset, logits)
        bass = self._basses[k]
        if self.bass_penalty and bass is not None and states[0].last_pitch == -1 \
                and step - self._starts[k] < self.vocab.config.steps_per_beat:
            # the lowest note of an onset in the chord's first beat: below bass_below, the root (or the given bass)
            out = out + _outside_bias(self._biases, frozenset({bass}), self.bass_penalty, offset, logits,
                                      below=self.bass_below)
        return out


@dataclass(eq=False)
class DoublingLimit(PartRuleBase):
    """Keep a free part from doubling the kept parts for long, counted by sounding time.

    A note of a free part doubles where a note of a ``kept`` slot (default: every given slot) sounds the
    same pitch class at the same time (unison or octave; the measure of
    :func:`symbolic.analysis.parts.doubling_share`).  The kept notes are known in advance: :meth:`start`
    reads every given note of the plan (``vocab`` walks it), so a note is measured over its whole length,
    across bar lines, up to the plan's end (where the job cuts it).  Per free part the rule keeps a
    budget: ``max_share`` of its sounding time minus its doubled time, both over its whole part so far
    and over its last ``window_steps`` of sounding time (the smaller budget counts, never below 0).  A
    note may spend at most that budget on doubling beyond ``max_share`` of its own length:

    * a Pitch id is forbidden when the note, held ``horizon_steps`` from its onset, would overspend (its
      pitch class sounds in a kept part then);
    * once the pitch is chosen, a Duration id is forbidden when the note held that long would overspend.

    So the part leaves the kept parts' notes, or plays shorter, or its doubled note stops where the kept
    note comes in, and its doubled share stays at or under ``max_share``.  Where every pitch would
    overspend, the row may still end the chord or the part (a rest); only in a row where the grammar and
    the rules before this one leave nothing else do the ids that overspend least stay (it gives way as
    little as it can).  The forbidden ids depend on the rule's state, the grammar state and which ids the
    earlier masks left (as :func:`~symbolic.sampling.processors.forbid_unless_empty` does), never on the
    logit values.  ``horizon_steps``: steps (``steps_per_beat`` to a quarter note); ``window_steps`` too.

    Raises:
        ConfigError: ``max_share`` outside [0, 1], or a window or horizon under one step.
    """

    vocab: object
    max_share: float = 0.5
    window_steps: int = 96
    kept: frozenset[int] | None = None
    horizon_steps: int = 12
    _given: tuple[NoteSpan, ...] = field(default=(), init=False, repr=False)
    _starts: list[int] = field(default_factory=list, init=False, repr=False)
    _longest: int = field(default=0, init=False, repr=False)
    _bar_starts: tuple[int, ...] = field(default=(), init=False, repr=False)
    _origin: int = field(default=0, init=False, repr=False)
    _end: int = field(default=0, init=False, repr=False)
    _recent: dict[int, list[tuple[int, int]]] = field(default_factory=dict, init=False, repr=False)
    _total: dict[int, tuple[int, int]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_share <= 1.0:
            raise ConfigError(f"max_share={self.max_share} must be between 0 and 1")
        if self.window_steps < 1 or self.horizon_steps < 1:
            raise ConfigError(f"window_steps={self.window_steps} and horizon_steps={self.horizon_steps} "
                              "must be >= 1")

    def start(self, plan) -> None:
        timeline = GivenTimeline.of_plan(self.vocab, plan)
        self._given = tuple(sorted(n for slot, notes in timeline.notes.items()
                                   if self.kept is None or slot in self.kept for n in notes))
        self._starts = [n.start for n in self._given]
        self._longest = max((n.end - n.start for n in self._given), default=0)
        self._bar_starts, self._end, self._recent, self._total = timeline.bar_starts, timeline.end, {}, {}

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        self._origin = self._bar_starts[index]

    def sounding(self, start: int, end: int) -> int:
        """Steps of ``[start, end)`` (steps from the bar line of the bar being written) before the plan's end."""
        return max(0, min(end + self._origin, self._end) - start - self._origin)

    def doubled_spans(self, start: int, end: int, pitch: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` (steps from the bar line of the bar being written) in which a kept
        note sounds ``pitch``'s pitch class: disjoint ``(start, end)`` spans in time order, in those steps."""
        from symbolic.analysis.parts import doubled_spans

        origin = self._origin
        start, end = start + origin, end + origin
        near = self._given[bisect.bisect_left(self._starts, start - self._longest):
                           bisect.bisect_left(self._starts, end)]
        return [(s - origin, e - origin) for s, e in doubled_spans(start, end, pitch, near)]

    def doubled(self, start: int, end: int, pitch: int) -> int:
        """Steps of ``[start, end)`` (steps from the bar line of the bar being written) in which a kept note
        sounds ``pitch``'s pitch class."""
        return sum(e - s for s, e in self.doubled_spans(start, end, pitch))

    def wrote(self, note: NoteSpan) -> None:
        length, doubled = self.sounding(note.start, note.end), self.doubled(*note)
        recent = self._recent.setdefault(self.slot, [])
        recent.append((length, doubled))
        while len(recent) > 1 and sum(n for n, _ in recent[1:]) >= self.window_steps:
            recent.pop(0)
        total = self._total.get(self.slot, (0, 0))
        self._total[self.slot] = (total[0] + length, total[1] + doubled)

    def share(self, slot: int) -> float:
        """The doubled share of free part ``slot``'s recent sounding time (0.0 before its first note)."""
        recent = self._recent.get(slot, [])
        total = sum(length for length, _ in recent)
        return sum(doubled for _, doubled in recent) / total if total else 0.0

    def budget(self, slot: int) -> float:
        """Steps free part ``slot`` may still double beyond ``max_share`` of its next note: the smaller of
        ``max_share`` times its sounding time minus its doubled time, over the whole part and over its recent
        window; never below 0."""
        recent = self._recent.get(slot, [])
        window = self.max_share * sum(n for n, _ in recent) - sum(d for _, d in recent)
        length, doubled = self._total.get(slot, (0, 0))
        return max(0.0, min(window, self.max_share * length - doubled))

    def _forbid_costly(self, logits: torch.Tensor, ids: slice, cost: torch.Tensor) -> torch.Tensor:
        """Forbid the ``ids`` whose ``cost`` (their overspend, steps) is above 0; in a row that would leave
        nothing allowed (not even an id of another type), keep those of least cost among those it allows."""
        forbidden = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        forbidden[ids] = cost > 0
        masked = logits.masked_fill(forbidden, float("-inf"))
        if torch.isfinite(masked).any(dim=-1).all():
            return masked
        allowed = torch.isfinite(logits[:, ids])
        least = torch.where(allowed, cost, torch.full_like(cost, float("inf"))).min(dim=-1, keepdim=True).values
        fallback = torch.zeros_like(logits, dtype=torch.bool)
        fallback[:, ids] = cost > least
        return torch.where(torch.isfinite(masked).any(dim=-1, keepdim=True), masked,
                           forbid_unless_empty(logits, fallback))

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        if self.slot is None:
            return logits
        state = context.grammar_states[0]
        budget = self.budget(self.slot)
        if state.phase in (Phase.NOTE_POSITION, Phase.NOTE_DURATION):  # a Pitch may come next
            span = (state.note_pos, state.note_pos + self.horizon_steps)
            share = self.max_share * self.sounding(*span)
            over = [self.doubled(*span, pc) - share - budget for pc in range(12)]
            offset = self.vocab.offsets[TokenType.PITCH]
            cost = torch.tensor(over, dtype=logits.dtype, device=logits.device).repeat(11)[:128]
            return self._forbid_costly(logits, slice(offset, offset + 128), cost)
        if state.phase == Phase.NOTE_VELOCITY:  # a Duration comes next
            steps = self.vocab.duration_steps
            pos = state.note_pos
            # the doubled spans of the longest duration, clipped at each duration's end: doubled(pos, pos + d)
            # for every d in one look-up instead of one per duration (about 60)
            spans = self.doubled_spans(pos, pos + max(steps), state.last_pitch)
            over = [sum(max(0, min(e, pos + d) - s) for s, e in spans) - self.max_share * self.sounding(pos, pos + d)
                    - budget for d in steps]
            offset = self.vocab.offsets[TokenType.DURATION]
            cost = torch.tensor(over, dtype=logits.dtype, device=logits.device)
            return self._forbid_costly(logits, slice(offset, offset + len(steps)), cost)
        return logits


class LineState(NamedTuple):
    """Where a single line stands while a part is written.

    Attributes:
        earliest: step of the bar from which the next note may start (where the part's notes end).
        chords: several notes may start together (double stops).
        sound_until: the part sounds up to this step without rests (legato), or ``None``.
    """

    earliest: int
    chords: bool
    sound_until: int | None


def closing_ids(vocab) -> torch.Tensor:
    """Bool ``(vocab_size,)``: the ids that close the part being written (every Track, Bar, EOS)."""
    closing = torch.zeros(len(vocab), dtype=torch.bool)
    track = vocab.offsets[TokenType.TRACK]
    closing[track:track + vocab.config.max_tracks] = True
    closing[vocab.bar_id] = closing[vocab.eos_id] = True
    return closing


@dataclass(eq=False)
class SingleLine(PartRuleBase):
    """Keep a free part a single line, as a singer's or a string player's part is.

    No note starts at a Position before the step where the part's previous note
    ends (across bar lines too: a bar the part's note holds through is skipped);
    unless ``chords``, no second Pitch follows a note at the same onset, and with ``chords`` at most
    ``max_chord`` notes start together (a string player's double stop; QA found new quartet parts
    stacking clusters of 5 to 7 notes, where the corpus quartets have 4% double stops); with
    ``legato`` the next note starts where the previous one ends and the part may
    not close before the bar's end: it does not rest.  ``closing`` is a bool
    ``(vocab_size,)`` tensor of the ids that close a part (Track, Bar, EOS); build
    the rule with :meth:`for_vocab`.  Each of the two steps (the earliest onset and
    chords, then the rest rule) leaves alone a row it would leave with nothing allowed.
    """

    position_offset: int
    n_positions: int
    pitch_offset: int
    closing: torch.Tensor
    chords: bool = True
    legato: bool = False
    max_chord: int = 2
    _held: dict[int, int] = field(default_factory=dict, init=False, repr=False)  # slot -> steps into next bar
    _reach: int = field(default=0, init=False, repr=False)
    _chunk: int = field(default=0, init=False, repr=False)
    _onset: int = field(default=-1, init=False, repr=False)
    _together: int = field(default=0, init=False, repr=False)  # notes started at _onset

    @classmethod
    def for_vocab(cls, vocab, chords: bool = True, legato: bool = False) -> "SingleLine":
        """The rule for a tokenizer vocabulary (its Position, Pitch and part-closing ids)."""
        return cls(vocab.offsets[TokenType.POSITION], vocab.max_bar_steps, vocab.offsets[TokenType.PITCH],
                   closing_ids(vocab),
                   chords, legato)

    def start(self, plan) -> None:
        if plan.optional_free:
            raise ConfigError("a single-line rule needs every free part planned (optional_free=False)")

    def skip_part(self, slot: int, chunk: int) -> bool:
        reach = self._held.get(slot, 0)
        if reach >= chunk:  # the part's last note holds through this bar
            self._held[slot] = reach - chunk
            return True
        return False

    def start_part(self, slot: int, chunk: int) -> None:
        self.slot, self._reach, self._chunk = slot, self._held.get(slot, 0), chunk
        self._onset, self._together = -1, 0

    def wrote(self, note: NoteSpan) -> None:
        self._reach = max(self._reach, note.end)
        self._onset, self._together = note.start, (self._together + 1 if note.start == self._onset else 1)

    def end_part(self) -> None:
        self._held[self.slot] = max(self._reach - self._chunk, 0)
        self.slot = None

    @property
    def line(self) -> LineState | None:
        """The line of the part being written, or ``None`` between parts."""
        if self.slot is None:
            return None
        return LineState(self._reach, self.chords, self._chunk if self.legato else None)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        line = self.line
        if line is None:
            return logits
        earliest = min(max(line.earliest, 0), self.n_positions)
        forbidden = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        forbidden[self.position_offset:self.position_offset + earliest] = True
        states = context.grammar_states
        full = not line.chords or self._together >= self.max_chord
        if full and states and states[0].phase == Phase.NOTE_DURATION:  # no (further) note at this onset
            forbidden[self.pitch_offset:self.pitch_offset + 128] = True
        logits = forbid_unless_empty(logits, forbidden)
        if line.sound_until is None or earliest >= line.sound_until:
            return logits
        no_rest = self.closing.to(logits.device).clone()
        no_rest[self.position_offset + earliest + 1:self.position_offset + self.n_positions] = True
        return forbid_unless_empty(logits, no_rest)


@dataclass(eq=False)
class NoRestrike(PartRuleBase):
    """A free part does not strike a pitch it is still holding: a Pitch id is forbidden while the part's
    own earlier note of that pitch sounds (across bar lines too).  Two overlapping notes of one pitch on
    one channel are one key struck twice: the second note-on cuts the first, and readers pair the
    note-offs differently (QA: a pop piano overlapped its own held notes in 10-45% of its notes; real
    POP909 pianos in under 1%).  ``pitch_offset`` is the id of pitch 0.
    """

    vocab: object
    pitch_offset: int
    _bar_starts: tuple[int, ...] = field(default=(), init=False, repr=False)
    _bar_start: int = field(default=0, init=False, repr=False)
    _held: dict[int, dict[int, int]] = field(default_factory=dict, init=False, repr=False)  # slot -> pitch -> end

    def start(self, plan) -> None:
        self._bar_starts, self._held = GivenTimeline.of_plan(self.vocab, plan).bar_starts, {}

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        self._bar_start = self._bar_starts[index] if index < len(self._bar_starts) else self._bar_start

    def wrote(self, note: NoteSpan) -> None:
        held = self._held.setdefault(self.slot, {})
        held[note.pitch] = max(held.get(note.pitch, 0), self._bar_start + note.end)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        states = context.grammar_states
        if self.slot is None or not states or states[0].phase not in (Phase.NOTE_POSITION, Phase.NOTE_DURATION):
            return logits
        now = self._bar_start + states[0].note_pos
        sounding = [p for p, end in self._held.get(self.slot, {}).items() if end > now]
        if not sounding:
            return logits
        forbidden = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        forbidden[[self.pitch_offset + p for p in sounding]] = True
        return forbid_unless_empty(logits, forbidden)


@dataclass(eq=False)
class KeepPlaying(PartRuleBase):
    """A part keeps playing, its onsets spread through the bar: in each bar it starts notes at no fewer
    than ``min_onsets_per_beat[slot]`` onsets a beat of the bar (rounded, at least 1).  While onsets are
    owed, the part may not close the bar, and its next onset may come no later than an even spacing of
    the owed onsets over the rest of the bar would put it (so the notes owed are not crammed at the
    bar's end: QA found 21-28% of a pop piano's notes in the last eighth of the bar when only closing
    was forbidden, against 6-7% in the real pianos).  A single line (``grid_steps`` > 0: its onset grid)
    also keeps each note short enough for its next owed onset, and rings into the next bar no further
    than that bar's first owed onset; a part that plays chords (``grid_steps`` 0) may hold notes under
    its next onsets.  With ``free_ends``, a pickup bar (a first bar shorter than the second) and the
    last bar owe nothing: an anacrusis and a final chord.

    A model that believes the piece has ended writes the one note a required part must and stops; a
    heavily guided model thins new parts to a few long notes (the demo's quartet parts played 0.25-0.65
    notes a beat where the corpus quartets' parts play 0.69 or more in 90% of the pieces).
    ``closing`` is a bool ``(vocab_size,)`` tensor of the ids that close a part (Track, Bar, EOS);
    build the rule with :meth:`for_vocab`, and the rates with :meth:`minimums` (a continuation) or
    from a style's ``StyleTexture.part_onsets_per_beat`` (:func:`part_rules`).
    """

    closing: torch.Tensor
    min_onsets_per_beat: Mapping[int, float]
    steps_per_beat: int
    position_offset: int
    n_positions: int
    duration_offset: int
    duration_steps: torch.Tensor  # long (n_durations,): steps of each Duration id
    grid_steps: int = 1
    free_ends: bool = False
    vocab: object = None  # needed with free_ends (the plan's bar lengths)
    _free_bars: frozenset = field(default=frozenset(), init=False, repr=False)
    _bar: int = field(default=0, init=False, repr=False)
    _onsets: int = field(default=0, init=False, repr=False)
    _last_onset: int = field(default=-1, init=False, repr=False)
    _floor: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if any(not rate >= 0 for rate in self.min_onsets_per_beat.values()):
            raise ConfigError(f"min_onsets_per_beat={dict(self.min_onsets_per_beat)} must be >= 0 onsets a beat")
        if self.grid_steps < 0:
            raise ConfigError(f"grid_steps={self.grid_steps} must be >= 0")

    @classmethod
    def for_vocab(cls, vocab, min_onsets_per_beat: Mapping[int, float], grid_steps: int = 1,
                  free_ends: bool = False) -> "KeepPlaying":
        return cls(closing_ids(vocab), dict(min_onsets_per_beat), vocab.config.steps_per_beat,
                   vocab.offsets[TokenType.POSITION], vocab.max_bar_steps, vocab.offsets[TokenType.DURATION],
                   torch.tensor(vocab.duration_steps, dtype=torch.long), grid_steps, free_ends, vocab)

    @staticmethod
    def minimums(vocab, bars, bar_steps, share: float = 0.5) -> dict[int, float]:
        """Per slot, ``share`` of its median onsets a beat over ``bars`` (``(slot, ids)`` parts of the last
        given bars, :class:`~symbolic.jobs.plan.BarPlan`, lasting ``bar_steps`` steps each); slots with
        no notes there are left out."""
        import statistics

        rates: dict[int, list[float]] = {}
        for bar, steps in zip(bars, bar_steps):
            for slot, ids in bar.parts:
                if ids:
                    onsets = len({note.start for note in part_notes(vocab, ids)})
                    rates.setdefault(slot, []).append(onsets * vocab.config.steps_per_beat / steps)
        return {slot: share * statistics.median(r) for slot, r in rates.items()}

    def start(self, plan) -> None:
        self._bar, self._free_bars = 0, frozenset()
        if self.free_ends and plan.bars:
            timeline = GivenTimeline.of_plan(self.vocab, plan)
            lengths = [b - a for a, b in zip(timeline.bar_starts, timeline.bar_starts[1:] + (timeline.end,))]
            pickup = {0} if len(lengths) > 1 and lengths[0] < lengths[1] else set()
            self._free_bars = frozenset(pickup | {len(lengths) - 1})

    def floor(self, slot: int, chunk: int) -> int:
        """Onsets ``slot`` starts at least in a bar of ``chunk`` steps (0: no minimum)."""
        rate = self.min_onsets_per_beat.get(slot)
        return max(1, round(rate * chunk / self.steps_per_beat)) if rate else 0

    def start_bar(self, index: int, given: Mapping[int, list[NoteSpan]]) -> None:
        self._bar = index

    def start_part(self, slot: int, chunk: int) -> None:
        self.slot, self._onsets, self._last_onset = slot, 0, -1
        self._floor = 0 if self._bar in self._free_bars else self.floor(slot, chunk)

    def wrote(self, note: NoteSpan) -> None:
        if note.start != self._last_onset:
            self._onsets, self._last_onset = self._onsets + 1, note.start

    def _latest_onset(self, owed: int, chunk: int, after: int | None = None) -> int:
        """The latest step the next onset may take, ``owed`` onsets left to start in the bar after the onset
        at ``after`` (default: the part's last): the first of ``owed`` onsets spaced evenly over the rest of
        the bar (for a part that plays chords, with a last gap before the bar line: spaced up to it, a
        reluctant pop piano's last owed onset fell on the bar's last step), up to the eighth note it falls
        in (so the part keeps to the meter's pulse rather than to an even spacing that may fall between its
        eighths, as in 9/8)."""
        after = max(self._last_onset if after is None else after, 0)
        # a chord part's owed onsets leave a last gap before the bar line (its late onsets are stabs); a line's
        # may run to it (its last note holds to the bar line)
        even = after + (chunk - after) // (owed + (0 if self.grid_steps else 1))
        pulse = max(self.steps_per_beat // 2, 1)
        return min(-(-even // pulse) * pulse, chunk - 1)

    def __call__(self, logits: torch.Tensor, context: StepContext) -> torch.Tensor:
        states = context.grammar_states
        if self.slot is None or not self._floor or not states:
            return logits
        state, owed = states[0], self._floor - self._onsets
        forbidden = torch.zeros(logits.size(-1), dtype=torch.bool, device=logits.device)
        if state.phase == Phase.NOTE_VELOCITY:  # a Duration comes next
            if not self.grid_steps:
                return logits  # chords: later onsets may start over this note
            new_onset = state.note_pos != self._last_onset
            left = owed - 1 if new_onset else owed  # onsets owed after this note's
            if left > 0:  # it ends by the latest step the next onset owed may take
                room = self._latest_onset(left, state.chunk, state.note_pos) - state.note_pos
            else:  # it may ring into the next bar, up to that bar's first owed onset
                room = state.chunk - state.note_pos + state.chunk // max(self._floor, 1)
            too_long = self.duration_steps > room
            forbidden[self.duration_offset:self.duration_offset + len(too_long)] = too_long.to(logits.device)
            return forbid_unless_empty(logits, forbidden)
        if owed <= 0 or state.note_pos >= state.chunk - 1:
            return logits  # nothing owed, or no position left in the bar
        latest = self._latest_onset(owed, state.chunk)
        if latest <= self._last_onset:
            return logits  # the onsets owed no longer fit: let the part go on as it will
        forbidden |= self.closing.to(logits.device)
        forbidden[self.position_offset + latest + 1:self.position_offset + self.n_positions] = True
        return forbid_unless_empty(logits, forbidden)


# Nats taken from a new part's pitch outside the key in a bar where no given part plays (ScaleBias.silent_penalty):
# there the key is all the model has to follow.  2 nats make an out-of-key pitch about 7 times rarer; chosen, not
# calibrated (the styles' own penalties, 0.5-1, were calibrated with the melody playing: benchmarks/key_fit.py).
SILENT_BAR_PENALTY = 2.0
# Nats taken from a new part's pitch outside the chord the user gave (a chord chart), in every style.  Chosen
# on 12 POP909 test songs, 16 bars, the pop piano given the melody and the annotated chords (the six-style
# model, benchmarks/pop_accompaniment.py --settings melody+chords): 2 / 3 / 4 / 6 nats put 0.82 / 0.90 / 0.96 /
# 0.98 of its note time on the chords (the real piano 0.99), P(pop) 0.875 / 0.903 / 0.908 / 0.882.  A given
# chord is sure where a guessed one is not: pop's penalty for guessed chords is 2 (StyleTexture.chord_penalty).
GIVEN_CHORD_PENALTY = 4.0


def part_rules(vocab, texture: StyleTexture, ranges: Mapping[int, PartRange],
               bar_scales: tuple[frozenset[int] | None, ...], style_rules: bool = True,
               off_scale_penalty: float | None = None, density_floor: float = 0.0,
               chord_penalty: float | None = None,
               chords: tuple[tuple[int, int, frozenset[int] | None], ...] | None = None) -> list[PartRule]:
    """The rules for new parts in a style, in the order they apply.

    Args:
        vocab: the tokenizer vocabulary.
        texture: the style's ensemble (its part rhythm or onset grid, single lines, legato and key penalty).
        ranges: free slot -> its voice's or instrument's range.
        bar_scales: the key of each bar of the plan (for the key rule).
        style_rules: ``False`` leaves out the texture's rhythm, single lines and key penalty (the
            register and the ranges stay).
        off_scale_penalty: overrides the texture's key penalty (nats; ``None``: the texture's).
        chord_penalty: overrides the texture's chord penalty (nats; ``None``: the texture's, or
            :data:`GIVEN_CHORD_PENALTY` when ``chords`` are given and the texture's is lower).
        chords: chords the user gave (:class:`ChordBias`'s ``given`` spans, in plan steps), followed in
            every style instead of the chords guessed from the given parts; ``None``: guessed (where the
            texture asks for it).
        density_floor: each free part plays at least this share of the texture's
            ``part_onsets_per_beat`` in every bar (:class:`KeepPlaying`); 0: no minimum.
    """
    rules: list[PartRule] = []
    spb = vocab.config.steps_per_beat
    rhythm = texture.part_rhythm_steps(spb) if style_rules else None
    onsets = texture.part_onset_steps(spb) if style_rules else None
    longest = round(texture.part_longest_beats * spb) if style_rules and texture.part_longest_beats else None
    if rhythm is not None:
        rules.append(RhythmGrid.for_vocab(vocab, *rhythm, max_duration_steps=longest))
    elif onsets is not None or longest is not None:
        rules.append(RhythmGrid.for_vocab(vocab, onsets or 1, 1, durations_on_grid=False,
                                          max_duration_steps=longest))
    shortest = rhythm[1] if rhythm is not None else 1
    rules.append(PitchRange(vocab.offsets[TokenType.PITCH], True, dict(ranges), shortest, vocab))
    rules.append(NoRestrike(vocab, vocab.offsets[TokenType.PITCH]))
    penalty = texture.off_scale_penalty if off_scale_penalty is None else off_scale_penalty
    if style_rules and bar_scales and penalty:
        rules.append(ScaleBias(vocab.offsets[TokenType.PITCH], penalty, tuple(bar_scales),
                               silent_penalty=max(SILENT_BAR_PENALTY, penalty)))
    chord = chord_penalty if chord_penalty is not None else (
        texture.chord_penalty if chords is None else max(texture.chord_penalty, GIVEN_CHORD_PENALTY))
    if style_rules and chord:
        rules.append(ChordBias(vocab, chord, given=chords, bass_penalty=BASS_ROOT_PENALTY if chords is not None else 0.0))
    if style_rules and texture.part_lines:
        rules.append(SingleLine.for_vocab(vocab, texture.part_chords, texture.part_legato))
    if style_rules and density_floor > 0 and texture.part_onsets_per_beat:
        # the steps between two onsets of a single line; 0 for chords (later onsets may sound over a note)
        grid = (rhythm[0] if rhythm is not None else onsets or 1) if texture.part_lines else 0
        rules.append(KeepPlaying.for_vocab(vocab, {slot: density_floor * texture.part_onsets_per_beat
                                                   for slot in ranges}, grid, free_ends=True))
    return rules
