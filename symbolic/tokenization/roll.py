"""The 78-pitch note roll: MIDI 24..101, time-major ``(T, 78)``, play and articulate planes.

``play[t, k]`` is true while pitch ``24 + k`` sounds in frame ``t``;
``articulate[t, k]`` is true in the frame where a note of that pitch starts, so
two repeated notes stay two notes.  A frame is ``1 / frames_per_beat`` of a
quarter note.

The roll is one instrument, a keyboard reduction: tracks are merged, same-pitch
notes that overlap become one sounding span struck again at each onset, drums
(unpitched) are left out, and velocity and program are not kept.  The round
trip returns exactly that projection (:func:`quantize_for_roll`) at the frame
grid; notes outside 24..101 and drum notes are counted in
:attr:`NoteRoll.n_out_of_range` and :attr:`NoteRoll.n_drum_notes` and reported
with a warning, never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from symbolic.errors import ConfigError, TokenizationError
from symbolic.score import Note, Score, Track

__all__ = ["NoteRollConfig", "NoteRoll", "to_note_roll", "from_note_roll", "quantize_for_roll",
           "LOWEST_PITCH", "N_PITCHES"]

LOWEST_PITCH = 24
N_PITCHES = 78


@dataclass(frozen=True)
class NoteRollConfig:
    """Settings of the note roll.

    Attributes:
        frames_per_beat: frames per quarter note (4 = sixteenth notes).
        max_frames: longest roll allowed; longer scores raise (guards runaway files).
        decode_ticks_per_beat: ticks per quarter note of decoded scores.
        decode_program: General MIDI program of the decoded track.
        decode_velocity: velocity of decoded notes (1..127).
    """

    frames_per_beat: int = 4
    max_frames: int = 200_000
    decode_ticks_per_beat: int = 480
    decode_program: int = 0
    decode_velocity: int = 80

    def __post_init__(self) -> None:
        if not 1 <= self.frames_per_beat <= 96:
            raise ConfigError(f"frames_per_beat={self.frames_per_beat} must be in 1..96 (4 = sixteenth notes)")
        if self.decode_ticks_per_beat % self.frames_per_beat:
            raise ConfigError(f"decode_ticks_per_beat={self.decode_ticks_per_beat} must be a multiple of "
                              f"frames_per_beat={self.frames_per_beat}")
        if self.max_frames < 1:
            raise ConfigError("max_frames must be at least 1")
        if not 0 <= self.decode_program <= 127 or not 1 <= self.decode_velocity <= 127:
            raise ConfigError("decode_program must be in 0..127 and decode_velocity in 1..127")


@dataclass
class NoteRoll:
    """A note roll.

    Attributes:
        play: ``(T, 78)`` bool, pitch sounding.
        articulate: ``(T, 78)`` bool, note starting (implies ``play``).
        frames_per_beat: frames per quarter note.
        n_out_of_range: pitched notes of the source outside MIDI 24..101 (not in the roll).
        n_drum_notes: drum notes of the source (not in the roll).
    """

    play: np.ndarray
    articulate: np.ndarray
    frames_per_beat: int
    n_out_of_range: int = 0
    n_drum_notes: int = 0

    def __post_init__(self) -> None:
        if self.play.ndim != 2 or self.play.shape[1] != N_PITCHES or self.articulate.shape != self.play.shape:
            raise TokenizationError(f"a note roll needs play and articulate of shape (T, {N_PITCHES}); "
                                    f"got {self.play.shape} and {self.articulate.shape}")

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.play.shape[0])

    def stacked(self) -> np.ndarray:
        """``(T, 78, 2)`` uint8: play and articulate as the last axis."""
        return np.stack([self.play, self.articulate], axis=-1).astype(np.uint8)


def _frame(ticks: int, tpb: int, fpb: int) -> int:
    return (2 * ticks * fpb + tpb) // (2 * tpb)


def quantize_for_roll(score: Score, config: NoteRollConfig | None = None) -> tuple[list[tuple[int, int, int]], int, int]:
    """The grid projection: sorted ``(onset_frame, duration_frames, pitch)`` of the notes a roll keeps.

    Onsets and offsets go to the nearest frame (a note lasts at least one frame).
    Same-pitch notes that overlap, from one track or several, merge as one
    keyboard would play them: the pitch sounds over the union of their spans and
    is struck again at every onset.  Written with interval arithmetic, apart from
    the array code of :func:`to_note_roll` / :func:`from_note_roll`, so that each
    checks the other.

    Returns the notes, the count of pitched notes out of range, and the count of drum notes.
    """
    config = config or NoteRollConfig()
    spans, out_of_range, drums = _frame_spans(score, config)
    by_pitch: dict[int, list[tuple[int, int]]] = {}
    for on, off, pitch in spans:
        by_pitch.setdefault(pitch, []).append((on, off))
    notes: list[tuple[int, int, int]] = []
    for pitch, intervals in by_pitch.items():
        intervals.sort()
        component_end, onsets = -1, []
        for on, off in intervals + [(1 << 62, 1 << 62)]:  # sentinel closes the last component
            if on >= component_end and onsets:
                bounds = sorted(set(onsets)) + [component_end]
                notes += [(a, b - a, pitch) for a, b in zip(bounds, bounds[1:])]
                onsets = []
            if on >= component_end:
                component_end = off
            onsets.append(on)
            component_end = max(component_end, off)
    return sorted(notes), out_of_range, drums


def _frame_spans(score: Score, config: NoteRollConfig) -> tuple[list[tuple[int, int, int]], int, int]:
    """``(on_frame, off_frame, pitch)`` of every in-range pitched note, plus the two counts."""
    tpb, fpb = score.ticks_per_beat, config.frames_per_beat
    spans = []
    out_of_range = drums = 0
    for track in score.tracks:
        if track.is_drum:
            drums += len(track.notes)
            continue
        for n in track.notes:
            if not LOWEST_PITCH <= n.pitch < LOWEST_PITCH + N_PITCHES:
                out_of_range += 1
                continue
            on = _frame(n.onset_ticks, tpb, fpb)
            spans.append((on, max(on + 1, _frame(n.onset_ticks + n.duration_ticks, tpb, fpb)), n.pitch))
    return spans, out_of_range, drums


def to_note_roll(score: Score, config: NoteRollConfig | None = None) -> NoteRoll:
    """The note roll of ``score`` (all pitched tracks merged).

    Onsets and offsets go to the nearest frame; a note shorter than a frame lasts
    one frame.  An empty score gives a ``(0, 78)`` roll.

    Raises:
        TokenizationError: the roll would be longer than ``config.max_frames``.
    """
    config = config or NoteRollConfig()
    spans, out_of_range, drums = _frame_spans(score, config)
    n_frames = max((off for _, off, _ in spans), default=0)
    if n_frames > config.max_frames:
        raise TokenizationError(f"the note roll would have {n_frames} frames, over max_frames={config.max_frames}; "
                                "the file is probably corrupt (huge delta times), or raise max_frames")
    play = np.zeros((n_frames, N_PITCHES), dtype=bool)
    articulate = np.zeros((n_frames, N_PITCHES), dtype=bool)
    for on, off, pitch in spans:
        k = pitch - LOWEST_PITCH
        play[on:off, k] = True
        articulate[on, k] = True
    if out_of_range or drums:
        warnings.warn(f"note roll: {out_of_range} pitched notes outside MIDI {LOWEST_PITCH}..{LOWEST_PITCH + N_PITCHES - 1}"
                      f" and {drums} drum notes are not in the roll", stacklevel=2)
    return NoteRoll(play, articulate, config.frames_per_beat, out_of_range, drums)


def from_note_roll(roll: NoteRoll, config: NoteRollConfig | None = None) -> Score:
    """Decode a roll into a one-track score at ``config.decode_ticks_per_beat``.

    A note starts where ``play`` turns on or ``articulate`` is set, and lasts
    while ``play`` stays on without a new articulation.  ``articulate`` without
    ``play`` is ignored.
    """
    config = config or NoteRollConfig()
    if config.decode_ticks_per_beat % roll.frames_per_beat:
        raise ConfigError(f"decode_ticks_per_beat={config.decode_ticks_per_beat} is not a multiple of the "
                          f"roll's frames_per_beat={roll.frames_per_beat}")
    ticks_per_frame = config.decode_ticks_per_beat // roll.frames_per_beat
    play = np.asarray(roll.play, dtype=bool)
    art = np.asarray(roll.articulate, dtype=bool) & play
    n_frames = play.shape[0]
    previous = np.zeros_like(play)
    previous[1:] = play[:-1]
    starts = play & (art | ~previous)
    following = np.zeros_like(play)  # play[t + 1] without a new start: the note goes on
    following[:-1] = play[1:] & ~starts[1:]
    last_frame = play & ~following  # the frame a note ends in
    notes = []
    for k in np.flatnonzero(play.any(axis=0)):
        on = np.flatnonzero(starts[:, k])
        off = np.flatnonzero(last_frame[:, k]) + 1
        pitch = int(k) + LOWEST_PITCH
        for a, b in zip(on.tolist(), off.tolist()):
            notes.append(Note(a * ticks_per_frame, (b - a) * ticks_per_frame, pitch, config.decode_velocity))
    assert n_frames == 0 or len(notes) == int(starts.sum())
    track = Track(program=config.decode_program, notes=notes)
    return Score(ticks_per_beat=config.decode_ticks_per_beat, tracks=[track] if notes else []).sort()
