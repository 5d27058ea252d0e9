"""The one score model every reader produces and every writer and tokenizer consumes.

Times are integer MIDI ticks (``*_ticks``); ``ticks_per_beat`` ticks make one quarter
note.  A score holds tracks of notes plus three global maps: tempo, time signature
and key signature.  An empty map means the MIDI default (120 qpm, 4/4, no key).

Notes are small immutable tuples so that thousands of them are cheap to build and
compare; tracks and scores are plain dataclasses that own lists of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from symbolic.errors import ScoreError

__all__ = [
    "Note",
    "TempoChange",
    "TimeSignature",
    "KeySignature",
    "Track",
    "Score",
    "DEFAULT_MICROSECONDS_PER_BEAT",
]

DEFAULT_MICROSECONDS_PER_BEAT = 500_000  # 120 quarter notes per minute


class Note(NamedTuple):
    """One note: onset and duration in ticks, MIDI pitch 0..127, velocity 1..127."""

    onset_ticks: int
    duration_ticks: int
    pitch: int
    velocity: int

    @property
    def offset_ticks(self) -> int:
        """Tick at which the note stops sounding."""
        return self.onset_ticks + self.duration_ticks


class TempoChange(NamedTuple):
    """A tempo change at ``time_ticks``, stored exactly as MIDI stores it."""

    time_ticks: int
    microseconds_per_beat: int

    @property
    def qpm(self) -> float:
        """Tempo in quarter notes per minute."""
        return 60_000_000.0 / self.microseconds_per_beat


class TimeSignature(NamedTuple):
    """A meter change at ``time_ticks``; ``denominator`` is a power of two."""

    time_ticks: int
    numerator: int
    denominator: int

    def bar_ticks(self, ticks_per_beat: int) -> int:
        """Length of one bar of this meter in ticks (a beat is a quarter note)."""
        return self.numerator * ticks_per_beat * 4 // self.denominator


class KeySignature(NamedTuple):
    """A key signature at ``time_ticks``: ``sharps`` in -7..7 (flats negative)."""

    time_ticks: int
    sharps: int
    minor: bool


@dataclass
class Track:
    """One instrument part: a General MIDI ``program`` (0..127), drum flag and notes.

    ``notes`` is kept sorted by :meth:`Score.sort` (onset, pitch, duration, velocity).
    """

    program: int = 0
    is_drum: bool = False
    name: str = ""
    notes: list[Note] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ScoreError(f"track program {self.program} is outside 0..127 (General MIDI programs)")

    @property
    def end_ticks(self) -> int:
        """Tick at which the last note of the track stops (0 for an empty track)."""
        return max((n.onset_ticks + n.duration_ticks for n in self.notes), default=0)


@dataclass
class Score:
    """A multi-track piece.  ``ticks_per_beat`` is the tick count of a quarter note."""

    ticks_per_beat: int = 480
    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ticks_per_beat <= 0:
            raise ScoreError(
                f"ticks_per_beat must be positive, got {self.ticks_per_beat}; "
                "480 is the common choice"
            )

    @property
    def n_notes(self) -> int:
        """Number of notes over all tracks."""
        return sum(len(t.notes) for t in self.tracks)

    @property
    def end_ticks(self) -> int:
        """Tick at which the last note stops (0 for a score with no notes)."""
        return max((t.end_ticks for t in self.tracks), default=0)

    def is_empty(self) -> bool:
        """True when no track holds a note."""
        return self.n_notes == 0

    def sort(self) -> "Score":
        """Sort notes and maps into their canonical order, in place; returns ``self``."""
        for track in self.tracks:
            track.notes.sort()
        # Stable sorts by time keep the file order of simultaneous changes.
        self.tempos.sort(key=lambda e: e.time_ticks)
        self.time_signatures.sort(key=lambda e: e.time_ticks)
        self.key_signatures.sort(key=lambda e: e.time_ticks)
        return self

    def seconds_at(self, time_ticks: int) -> float:
        """Wall-clock time in seconds of a tick, following the tempo map."""
        seconds = 0.0
        last_tick = 0
        tempo = DEFAULT_MICROSECONDS_PER_BEAT
        for change in self.tempos:
            if change.time_ticks >= time_ticks:
                break
            seconds += (change.time_ticks - last_tick) * tempo / 1e6 / self.ticks_per_beat
            last_tick, tempo = change.time_ticks, change.microseconds_per_beat
        return seconds + (time_ticks - last_tick) * tempo / 1e6 / self.ticks_per_beat

    @property
    def duration_seconds(self) -> float:
        """Length in seconds up to the end of the last note."""
        return self.seconds_at(self.end_ticks)
