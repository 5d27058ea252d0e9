"""The one score model every reader produces and every writer and tokenizer consumes.

Times are integer MIDI ticks (``*_ticks``); ``ticks_per_beat`` ticks make one quarter
note.  A score holds tracks of notes, control changes and pitch bends, plus three
global maps: tempo, time signature and key signature (an empty map means the MIDI
default: 120 qpm, 4/4, no key), and the file's length when it runs past its last
event (``end_of_track_ticks``: a trailing rest is part of the music).

Notes are small immutable tuples so that thousands of them are cheap to build and
compare; tracks and scores are plain dataclasses that own lists of them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from operator import add, itemgetter
from typing import NamedTuple

import numpy as np

from symbolic.errors import ScoreError

__all__ = [
    "seconds_of_ticks",
    "tempo_segments",
    "ticks_of_seconds",
    "Note",
    "ControlChange",
    "PitchBend",
    "TempoChange",
    "TimeSignature",
    "KeySignature",
    "Track",
    "Score",
    "DEFAULT_MICROSECONDS_PER_BEAT",
    "ChordSpan",
    "KeySpan",
    "Annotations",
    "SUSTAIN_PEDAL",
    "fold_sustain",
]

DEFAULT_MICROSECONDS_PER_BEAT = 500_000  # 120 quarter notes per minute
_ONSET, _DURATION = itemgetter(0), itemgetter(1)
SUSTAIN_PEDAL = 64  # MIDI controller number of the damper (sustain) pedal; value >= 64 is down


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


class ControlChange(NamedTuple):
    """A MIDI control change at ``time_ticks``: controller ``number`` 0..119 set to ``value`` 0..127.

    64 is the sustain pedal (down at 64 and above), 7 volume, 11 expression, 10 pan, 1 modulation.
    """

    time_ticks: int
    number: int
    value: int


class PitchBend(NamedTuple):
    """A pitch-bend change at ``time_ticks``: ``value`` in -8192..8191 (0 is no bend)."""

    time_ticks: int
    value: int


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
    """One instrument part: a General MIDI ``program`` (0..127), drum flag, notes and controllers.

    ``notes`` is kept sorted by :meth:`Score.sort` (onset, pitch, duration, velocity);
    ``controls`` and ``pitch_bends`` are sorted by time, simultaneous events in file order.
    """

    program: int = 0
    is_drum: bool = False
    name: str = ""
    notes: list[Note] = field(default_factory=list)
    controls: list[ControlChange] = field(default_factory=list)
    pitch_bends: list[PitchBend] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ScoreError(f"track program {self.program} is outside 0..127 (General MIDI programs)")

    @property
    def end_ticks(self) -> int:
        """Tick at which the last note of the track stops or its last controller or bend changes
        (0 for an empty track)."""
        notes = self.notes
        end = max(map(add, map(_ONSET, notes), map(_DURATION, notes)), default=0)
        if self.controls:
            end = max(end, self.controls[-1].time_ticks)
        if self.pitch_bends:
            end = max(end, self.pitch_bends[-1].time_ticks)
        return end

# ---------------------------------------------------------------------------------------------------------
# Annotations: chord and key spans read from annotation files (POP909's chord_midi.txt, key_audio.txt), in
# the score's ticks.  They describe the music rather than play it: MIDI writers and tokenizers ignore them.
# Chord labels are Harte strings ("F#:min7", "N"), read by symbolic.analysis.chords; a key span's
# (tonic, minor) is what symbolic.analysis.keys.scale_pitch_classes takes.
# Harte's spelling, for code that writes labels: the root of each pitch class (0 = C), and the degree name of
# each interval above a root in semitones (a slash chord's bass is one: "C:maj/3").
HARTE_ROOT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
HARTE_DEGREE_NAMES = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")


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
    """A multi-track piece.  ``ticks_per_beat`` is the tick count of a quarter note.

    ``end_of_track_ticks`` is the length of the piece when it runs past its last event
    (a MIDI file's End of Track after a trailing rest); 0 when the piece ends with its
    last event.  :meth:`set_end` keeps that canonical form.
    """

    ticks_per_beat: int = 480
    tracks: list[Track] = field(default_factory=list)
    tempos: list[TempoChange] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    end_of_track_ticks: int = 0
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
        """Tick at which the piece ends: its last note stops, its last controller or map changes, or its
        End of Track comes, whichever is latest (0 for a score with nothing in it)."""
        return max(self.last_event_ticks(), self.end_of_track_ticks)

    def last_event_ticks(self) -> int:
        """Tick of the latest note end, controller, bend or map change (the end without ``end_of_track_ticks``)."""
        end = max((t.end_ticks for t in self.tracks), default=0)
        for changes in (self.tempos, self.time_signatures, self.key_signatures):
            if changes:
                end = max(end, max(c.time_ticks for c in changes))
        return end

    def set_end(self, end_ticks: int) -> "Score":
        """Set the piece's length to ``end_ticks``, kept only when it runs past every event; returns ``self``."""
        self.end_of_track_ticks = end_ticks if end_ticks > self.last_event_ticks() else 0
        return self

    def is_empty(self) -> bool:
        """True when no track holds a note."""
        return self.n_notes == 0

    def sort(self) -> "Score":
        """Sort notes and maps into their canonical order, in place; returns ``self``."""
        for track in self.tracks:
            track.notes.sort()
            track.controls.sort(key=_time)
            track.pitch_bends.sort(key=_time)
        # Stable sorts by time keep the file order of simultaneous changes.
        self.tempos.sort(key=lambda e: e.time_ticks)
        self.time_signatures.sort(key=lambda e: e.time_ticks)
        self.key_signatures.sort(key=lambda e: e.time_ticks)
        return self

    def seconds_at(self, time_ticks: int) -> float:
        """Wall-clock time in seconds of a tick, following the tempo map (120 qpm before the first
        change); one value of :func:`seconds_of_ticks`."""
        return float(seconds_of_ticks(self, [time_ticks])[0])

    @property
    def duration_seconds(self) -> float:
        """Length in seconds up to :attr:`end_ticks`."""
        return self.seconds_at(self.end_ticks)


def _time(event) -> int:
    return event.time_ticks


def fold_sustain(score: Score) -> Score:
    """A copy of ``score`` whose notes last as long as the sustain pedal holds them, pedal events removed.

    The convention of pretty_midi's and MidiTok's sustain handling: a note released while
    its track's pedal (controller 64, down at value >= 64) is down sounds on until the pedal
    goes up, or until the next onset of the same pitch in the track, whichever comes first.
    Drum tracks are left as they are.  Other controllers are kept.
    """
    out = Score(ticks_per_beat=score.ticks_per_beat, tempos=list(score.tempos),
                time_signatures=list(score.time_signatures), key_signatures=list(score.key_signatures),
                end_of_track_ticks=score.end_of_track_ticks, annotations=score.annotations)
    for track in score.tracks:
        pedal = [c for c in track.controls if c.number == SUSTAIN_PEDAL]
        if not pedal or track.is_drum:
            out.tracks.append(Track(track.program, track.is_drum, track.name, list(track.notes),
                                    list(track.controls), list(track.pitch_bends)))
            continue
        # Pedal-down spans [down, up), in ticks; a pedal still down at the end holds to the piece's end.
        spans, down = [], None
        for c in pedal:
            if c.value >= 64 and down is None:
                down = c.time_ticks
            elif c.value < 64 and down is not None:
                spans.append((down, c.time_ticks))
                down = None
        if down is not None:
            spans.append((down, max(score.end_ticks, down)))
        starts = [s for s, _ in spans]
        next_onset: dict[int, list[int]] = {}
        for n in track.notes:
            next_onset.setdefault(n.pitch, []).append(n.onset_ticks)
        notes = []
        for n in track.notes:
            off = n.onset_ticks + n.duration_ticks
            k = bisect.bisect_right(starts, off) - 1
            if k >= 0 and spans[k][0] <= off < spans[k][1]:
                onsets = next_onset[n.pitch]
                j = bisect.bisect_right(onsets, n.onset_ticks)
                limit = onsets[j] if j < len(onsets) else spans[k][1]
                off = max(off, min(spans[k][1], limit))
            notes.append(Note(n.onset_ticks, off - n.onset_ticks, n.pitch, n.velocity))
        out.tracks.append(Track(track.program, track.is_drum, track.name, notes,
                                [c for c in track.controls if c.number != SUSTAIN_PEDAL], list(track.pitch_bends)))
    return out.sort()


# Ticks and seconds for many times at once (numpy), following the tempo map as Score.seconds_at does.
def tempo_segments(score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start tick, start second and seconds per tick (float64 arrays) of each constant-tempo segment of
    ``score``: 120 qpm before the first tempo change, the later of two changes at one tick."""
    ticks, tempos = [0], [DEFAULT_MICROSECONDS_PER_BEAT]
    for change in sorted(score.tempos, key=lambda c: c.time_ticks):
        if change.time_ticks <= ticks[-1]:  # at the same tick the later change wins
            tempos[-1] = change.microseconds_per_beat
        else:
            ticks.append(change.time_ticks)
            tempos.append(change.microseconds_per_beat)
    start_ticks = np.asarray(ticks, dtype=np.float64)
    per_tick = np.asarray(tempos, dtype=np.float64) / 1e6 / score.ticks_per_beat
    start_seconds = np.concatenate([[0.0], np.cumsum(np.diff(start_ticks) * per_tick[:-1])])
    return start_ticks, start_seconds, per_tick


def seconds_of_ticks(score: Score, ticks) -> np.ndarray:
    """Seconds (float64 array, same shape as ``ticks``) of tick times, following the tempo map.

    The vectorised form of :meth:`Score.seconds_at` (120 qpm before the first tempo change).
    """
    ticks = np.asarray(ticks, dtype=np.float64)
    start_ticks, start_seconds, per_tick = tempo_segments(score)
    k = np.clip(np.searchsorted(start_ticks, ticks, side="right") - 1, 0, None)
    return start_seconds[k] + (ticks - start_ticks[k]) * per_tick[k]


def ticks_of_seconds(score: Score, seconds) -> np.ndarray:
    """Nearest integer ticks (int64 array, same shape as ``seconds``) of times in seconds; the inverse of
    :func:`seconds_of_ticks` to within half a tick."""
    seconds = np.asarray(seconds, dtype=np.float64)
    start_ticks, start_seconds, per_tick = tempo_segments(score)
    k = np.clip(np.searchsorted(start_seconds, seconds, side="right") - 1, 0, None)
    return np.rint(start_ticks[k] + (seconds - start_seconds[k]) / per_tick[k]).astype(np.int64)
