"""Write a :class:`~symbolic.score.Score` as a type-1 Standard MIDI File.

Layout: track 0 holds the tempo, time-signature and key-signature maps; each score
track becomes one MIDI track with its name, a program change, its control changes,
pitch bends and notes.  Drums go to channel 10; other tracks take channels 1..9 and
11..16 in turn, reusing them past fifteen tracks: on a shared channel each note-on is
preceded by its track's program change, because channel state belongs to the file
(each track keeps its own MIDI track, so reading the file back separates them again).
At equal ticks, control changes precede note-offs, which precede note-ons.  Every track
ends at the score's ``end_of_track_ticks`` when the piece runs past its last event.
Gaps longer than a MIDI delta time (2^28 - 1 ticks) are bridged with empty text events.
A score of 65,535 tracks (the most a MIDI header counts) carries its maps in its
first track.

``read_midi(write_midi(score))`` returns the same score for any score that
``read_midi`` produced (same-pitch overlaps pair first-in, first-out).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from symbolic.errors import MidiError
from symbolic.score import Score, Track
from symbolic.utils import atomic_write_bytes

__all__ = ["write_midi", "midi_bytes"]

_MELODIC_CHANNELS = [c for c in range(16) if c != 9]
_MAX_DELTA = 0x0FFFFFFF  # the largest MIDI variable-length number
_MAX_CHUNKS = 0xFFFF  # a MIDI header counts tracks in 16 bits
_FILLER = b"\xff\x01\x00"  # an empty text event: bridges a gap longer than one delta time; readers ignore it


def write_midi(score: Score, path: str | os.PathLike[str]) -> Path:
    """Write ``score`` to ``path`` (atomically) as a type-1 MIDI file; returns the path.

    Raises:
        MidiError: a value MIDI cannot hold (pitch, velocity, tempo, meter, more than 65,535 tracks).
    """
    path = Path(path)
    atomic_write_bytes(path, midi_bytes(score))
    return path


def midi_bytes(score: Score) -> bytes:
    """The bytes of the type-1 MIDI file for ``score`` (see the module docstring for the layout)."""
    if score.ticks_per_beat > 0x7FFF:
        raise MidiError(f"ticks_per_beat {score.ticks_per_beat} does not fit a MIDI header (max 32767)")
    if len(score.tracks) > _MAX_CHUNKS:
        raise MidiError(f"the score has {len(score.tracks)} tracks; a MIDI file holds at most {_MAX_CHUNKS}")
    channels = []
    melodic = 0
    for track in score.tracks:
        if track.is_drum:
            channels.append(9)
        else:
            channels.append(_MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)])
            melodic += 1
    shared = {c for c, n in Counter(channels).items() if n > 1}
    end = score.end_of_track_ticks
    conductor = _conductor_events(score)
    chunks = [] if len(score.tracks) == _MAX_CHUNKS else [_serialize(conductor, end)]
    for i, (track, channel) in enumerate(zip(score.tracks, channels)):
        events = _note_events(track, channel, channel in shared)
        if not chunks:  # no room for a conductor track: the maps travel with the first track
            events += conductor
        chunks.append(_serialize(events, end))
    header = b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big")
    header += len(chunks).to_bytes(2, "big") + score.ticks_per_beat.to_bytes(2, "big")
    return header + b"".join(b"MTrk" + len(c).to_bytes(4, "big") + c for c in chunks)


def _varlen(value: int) -> bytes:
    if value < 0 or value > 0x0FFFFFFF:
        raise MidiError(f"delta time {value} ticks does not fit a MIDI variable-length number")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _meta(meta_type: int, payload: bytes) -> bytes:
    return bytes([0xFF, meta_type]) + _varlen(len(payload)) + payload


def _serialize(events: list[tuple[int, int, bytes]], end_ticks: int = 0) -> bytes:
    """``events`` are (tick, order, message bytes); sorted stably, then delta-coded, then End of Track
    at the last event or ``end_ticks``, whichever is later."""
    events.sort(key=lambda e: (e[0], e[1]))
    out = bytearray()
    last = 0
    for tick, _, message in events:
        out += _delta(tick - last)
        out += message
        last = tick
    out += _delta(max(end_ticks - last, 0)) + _meta(0x2F, b"")
    return bytes(out)


def _delta(ticks: int) -> bytes:
    """A delta time; a gap longer than one varlen is bridged with empty text events."""
    if ticks <= _MAX_DELTA:
        return _varlen(ticks)
    out = bytearray()
    while ticks > _MAX_DELTA:
        out += _varlen(_MAX_DELTA) + _FILLER
        ticks -= _MAX_DELTA
    return bytes(out + _varlen(ticks))


def _conductor_events(score: Score) -> list[tuple[int, int, bytes]]:
    events: list[tuple[int, int, bytes]] = []
    for ts in score.time_signatures:
        power = ts.denominator.bit_length() - 1
        if ts.denominator != 1 << power or not 1 <= ts.numerator <= 255:
            raise MidiError(f"time signature {ts.numerator}/{ts.denominator} cannot be written to MIDI")
        events.append((ts.time_ticks, 0, _meta(0x58, bytes([ts.numerator, power, 24, 8]))))
    for ks in score.key_signatures:
        events.append((ks.time_ticks, 1, _meta(0x59, bytes([ks.sharps & 0xFF, int(ks.minor)]))))
    for tempo in score.tempos:
        if not 0 < tempo.microseconds_per_beat < 1 << 24:
            raise MidiError(f"tempo {tempo.microseconds_per_beat} us per beat cannot be written to MIDI")
        events.append((tempo.time_ticks, 2, _meta(0x51, tempo.microseconds_per_beat.to_bytes(3, "big"))))
    return events


def _note_events(track: Track, channel: int, shared: bool) -> list[tuple[int, int, bytes]]:
    """A track's events; on a ``shared`` channel every note-on is preceded by the track's program change."""
    events: list[tuple[int, int, bytes]] = []
    if track.name:
        events.append((0, 0, _meta(0x03, track.name.encode("latin-1", errors="replace"))))
    program = bytes([0xC0 | channel, track.program])
    events.append((0, 1, program))
    for c in track.controls:
        if not 0 <= c.number <= 127 or not 0 <= c.value <= 127:
            raise MidiError(f"control change {c} has a number or value outside MIDI's 0..127")
        events.append((c.time_ticks, 2, bytes([0xB0 | channel, c.number, c.value])))
    for b in track.pitch_bends:
        if not -8192 <= b.value <= 8191:
            raise MidiError(f"pitch bend {b} is outside MIDI's -8192..8191")
        value = b.value + 8192
        events.append((b.time_ticks, 2, bytes([0xE0 | channel, value & 0x7F, value >> 7])))
    on, off = 0x90 | channel, 0x80 | channel
    for note in track.notes:
        if not 0 <= note.pitch <= 127 or not 1 <= note.velocity <= 127:
            raise MidiError(f"note {note} has a pitch or velocity outside MIDI's 0..127 / 1..127")
        if shared:
            events.append((note.onset_ticks, 4, program))
        events.append((note.onset_ticks, 4, bytes([on, note.pitch, note.velocity])))
        # Offs sort before ons at the same tick, except the off of a zero-length note.
        events.append((note.onset_ticks + note.duration_ticks, 3 if note.duration_ticks else 5,
                       bytes([off, note.pitch, 0])))
    return events
