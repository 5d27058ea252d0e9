"""Write a :class:`~symbolic.score.Score` as a type-1 Standard MIDI File.

Layout: track 0 holds the tempo, time-signature and key-signature maps; each score
track becomes one MIDI track with its name, a program change and its notes.
Drums go to channel 10; other tracks take channels 1..9 and 11..16 in turn,
reusing them past fifteen tracks (each track keeps its own MIDI track, so reading
the file back separates them again).  At equal ticks, note-offs precede note-ons.

``read_midi(write_midi(score))`` returns the same score for any score that
``read_midi`` produced (same-pitch overlaps pair first-in, first-out).
"""

from __future__ import annotations

import os
from pathlib import Path

from symbolic.errors import MidiError
from symbolic.score import Score
from symbolic.utils import atomic_write_bytes

__all__ = ["write_midi", "midi_bytes"]

_MELODIC_CHANNELS = [c for c in range(16) if c != 9]


def write_midi(score: Score, path: str | os.PathLike[str]) -> Path:
    """Write ``score`` to ``path`` (atomically) as a type-1 MIDI file; returns the path."""
    path = Path(path)
    atomic_write_bytes(path, midi_bytes(score))
    return path


def midi_bytes(score: Score) -> bytes:
    """The bytes of the type-1 MIDI file for ``score``."""
    if score.ticks_per_beat > 0x7FFF:
        raise MidiError(f"ticks_per_beat {score.ticks_per_beat} does not fit a MIDI header (max 32767)")
    chunks = [_conductor_track(score)]
    melodic = 0
    for track in score.tracks:
        if track.is_drum:
            channel = 9
        else:
            channel = _MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)]
            melodic += 1
        chunks.append(_note_track(track, channel))
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


def _serialize(events: list[tuple[int, int, bytes]]) -> bytes:
    """``events`` are (tick, order, message bytes); sorted stably, then delta-coded."""
    events.sort(key=lambda e: (e[0], e[1]))
    out = bytearray()
    last = 0
    for tick, _, message in events:
        out += _varlen(tick - last)
        out += message
        last = tick
    out += _varlen(0) + _meta(0x2F, b"")
    return bytes(out)


def _conductor_track(score: Score) -> bytes:
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
    return _serialize(events)


def _note_track(track, channel: int) -> bytes:
    events: list[tuple[int, int, bytes]] = []
    if track.name:
        events.append((0, 0, _meta(0x03, track.name.encode("latin-1", errors="replace"))))
    events.append((0, 1, bytes([0xC0 | channel, track.program])))
    on, off = 0x90 | channel, 0x80 | channel
    for note in track.notes:
        if not 0 <= note.pitch <= 127 or not 1 <= note.velocity <= 127:
            raise MidiError(f"note {note} has a pitch or velocity outside MIDI's 0..127 / 1..127")
        events.append((note.onset_ticks, 3, bytes([on, note.pitch, note.velocity])))
        # Offs sort before ons at the same tick, except the off of a zero-length note.
        events.append((note.onset_ticks + note.duration_ticks, 2 if note.duration_ticks else 4,
                       bytes([off, note.pitch, 0])))
    return _serialize(events)
