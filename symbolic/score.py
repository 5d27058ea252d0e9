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
    "ChordSpan",
    "KeySpan",
    "Annotations",
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

# ---------------------------------------------------------------------------------------------------------
# Annotations: chord and key spans read from annotation files (POP909's chord_midi.txt, key_audio.txt), in
# the score's ticks.  They describe the music rather than play it: MIDI writers and tokenizers ignore them.
# Chord labels are Harte strings ("F#:min7", "N"), read by symbolic.analysis.chords; a key span's
# (tonic, minor) is what symbolic.keys.scale_pitch_classes takes.
class ChordSpan(NamedTuple):
    """A chord from ``start_ticks`` up to ``end_ticks``; ``label`` in Harte notation (``"N"``: no chord)."""

    start_ticks: int
    end_ticks: int
    label: str


class KeySpan(NamedTuple):
    """A key from ``start_ticks`` up to ``end_ticks``: ``tonic`` pitch class (0 = C) and mode."""

    start_ticks: int
    end_ticks: int
    tonic: int
    minor: bool


@dataclass
class Annotations:
    """Chord and key spans, each list sorted by start tick (empty: not annotated)."""

    chords: list[ChordSpan] = field(default_factory=list)
    keys: list[KeySpan] = field(default_factory=list)

    def chord_at(self, time_ticks: int) -> ChordSpan | None:
        """The chord span sounding at ``time_ticks`` (start inclusive, end exclusive), or ``None``."""
        return _span_at(self.chords, time_ticks)

    def key_at(self, time_ticks: int) -> KeySpan | None:
        """The key span holding at ``time_ticks`` (start inclusive, end exclusive), or ``None``."""
        return _span_at(self.keys, time_ticks)

    def mapped(self, to_ticks) -> "Annotations":
        """A copy with every start and end passed through ``to_ticks`` (a list of ticks -> a list of ticks)."""
        def move(spans):
            if not spans:
                return []
            ends = [int(t) for t in to_ticks([x for s in spans for x in (s.start_ticks, s.end_ticks)])]
            return [s._replace(start_ticks=ends[2 * i], end_ticks=ends[2 * i + 1]) for i, s in enumerate(spans)]
        return Annotations(move(self.chords), move(self.keys))


def _span_at(spans, time_ticks: int):
    import bisect

    i = bisect.bisect_right([s.start_ticks for s in spans], time_ticks) - 1
    return spans[i] if i >= 0 and time_ticks < spans[i].end_ticks else None
# ------------------------------------------------------------------------------------ end of annotations


@dataclass
class Score:
    """A multi-track piece.  ``ticks_per_beat`` is the tick count of a quarter note."""

    ticks_per_beat: int = 480
    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    annotations: Annotations = field(default_factory=Annotations)  # chords and keys, see Annotations

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
