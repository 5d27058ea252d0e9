"""Read Standard MIDI Files (type 0 and 1) into a :class:`~symbolic.score.Score`.

The parser is our own, written for speed and for errors that teach: a corrupt,
truncated, type-2 or SMPTE-timed file raises :class:`~symbolic.errors.MidiError`
naming the file and the problem, never a traceback from inside a dependency.

Policies (documented because MIDI leaves them open):

* A note-on with velocity 0 is a note-off.  Running status is honoured.
* Same-pitch notes on one channel of one track pair first-in, first-out.
* A note still sounding at the end of its track ends at the track's last tick;
  notes of zero length are dropped.
* A MIDI track splits into one :class:`Track` per (channel, program) pair, in the
  order of their first onset; channel 10 (index 9) is drums.  Tracks without notes
  are not kept.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from symbolic.errors import MidiError
from symbolic.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

__all__ = ["read_midi", "parse_midi_bytes", "is_midi_path", "MAX_MIDI_BYTES", "MIDI_SUFFIXES"]

MAX_MIDI_BYTES = 64 * 1024 * 1024  # larger files are refused: nothing real is this big
_DRUM_CHANNEL = 9
MIDI_SUFFIXES = (".mid", ".midi", ".kar")


def is_midi_path(path: str | os.PathLike[str]) -> bool:
    """Whether a file name ends in a MIDI suffix (any letter case)."""
    return str(path).lower().endswith(MIDI_SUFFIXES)


def read_midi(path: str | os.PathLike[str]) -> Score:
    """Read a type-0 or type-1 MIDI file into a score.

    Args:
        path: a ``.mid``/``.midi`` file.

    Returns:
        The score, notes sorted, ticks as in the file.

    Raises:
        MidiError: the file is missing, corrupt, truncated, of type 2, or uses
            SMPTE or zero ticks per beat; the message names the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MidiError(f"{path}: cannot open MIDI file ({exc.strerror or exc})") from None
    if size > MAX_MIDI_BYTES:
        raise MidiError(f"{path}: file is {size} bytes, over the {MAX_MIDI_BYTES}-byte limit for MIDI")
    data = path.read_bytes()
    return parse_midi_bytes(data, source=str(path))


def parse_midi_bytes(data: bytes, source: str = "<bytes>") -> Score:
    """Parse the bytes of a MIDI file; ``source`` names it in error messages."""
    if len(data) < 14 or data[:4] != b"MThd":
        if data[:4] == b"RIFF":
            raise MidiError(f"{source}: RIFF-wrapped MIDI (.rmi) is not supported; extract the MThd data")
        raise MidiError(f"{source}: not a MIDI file (no 'MThd' header; {len(data)} bytes)")
    header_len = int.from_bytes(data[4:8], "big")
    if header_len < 6 or 8 + header_len > len(data):
        raise MidiError(f"{source}: corrupt MIDI header (length {header_len})")
    fmt = int.from_bytes(data[8:10], "big")
    n_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt == 2:
        raise MidiError(
            f"{source}: type-2 MIDI (independent sequences) is not supported; "
            "split it into separate type-0 or type-1 files"
        )
    if fmt not in (0, 1):
        raise MidiError(f"{source}: unknown MIDI format {fmt} (expected 0 or 1)")
    if division & 0x8000:
        raise MidiError(
            f"{source}: SMPTE time division is not supported; re-save the file with "
            "ticks per quarter note (metrical timing)"
        )
    if division == 0:
        raise MidiError(f"{source}: ticks per beat is 0, so no time can be computed; the file is corrupt")

    score = Score(ticks_per_beat=division)
    pos = 8 + header_len
    track_index = 0
    end = len(data)
    while track_index < n_tracks and pos < end:
        if pos + 8 > end:
            raise MidiError(f"{source}: truncated: track {track_index} header is cut off at byte {pos}")
        chunk_id = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        body_start = pos + 8
        if body_start + length > end:
            raise MidiError(
                f"{source}: truncated: track {track_index} declares {length} bytes "
                f"but only {end - body_start} remain"
            )
        pos = body_start + length
        if chunk_id != b"MTrk":
            continue  # alien chunks are skipped, as the standard says
        _parse_track(data, body_start, pos, track_index, score, source)
        track_index += 1
    if track_index < n_tracks:
        raise MidiError(f"{source}: truncated: header announces {n_tracks} tracks, file holds {track_index}")
    return score.sort()


def _read_varlen(data: bytes, pos: int, end: int, source: str, track_index: int) -> tuple[int, int]:
    value = 0
    for _ in range(4):
        if pos >= end:
            raise MidiError(f"{source}: truncated: track {track_index} ends inside a length or delta time")
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
    raise MidiError(f"{source}: corrupt variable-length number in track {track_index} (more than 4 bytes)")


def _parse_track(data: bytes, pos: int, end: int, track_index: int, score: Score, source: str) -> None:
    tick = 0
    status = 0
    name = ""
    programs = [0] * 16
    active: dict[tuple[int, int], deque[tuple[int, int, int]]] = {}  # (channel, pitch) -> (onset, vel, program)
    notes: dict[tuple[int, int], list[Note]] = {}  # (channel, program) -> notes, in first-note order
    read_varlen = _read_varlen
    new_note = tuple.__new__  # builds Note tuples without the NamedTuple constructor's overhead
    while pos < end:
        byte = data[pos]
        if byte < 0x80:  # one- and two-byte delta times cover nearly every event
            tick += byte
            pos += 1
        elif pos + 1 < end and data[pos + 1] < 0x80:
            tick += ((byte & 0x7F) << 7) | data[pos + 1]
            pos += 2
        else:
            delta, pos = read_varlen(data, pos, end, source, track_index)
            tick += delta
        if pos >= end:
            raise MidiError(f"{source}: truncated: track {track_index} ends after a delta time")
        byte = data[pos]
        if byte & 0x80:
            status = byte
            pos += 1
        elif status == 0 or status >= 0xF0:
            raise MidiError(
                f"{source}: corrupt track {track_index}: data byte 0x{byte:02X} at byte {pos} with no running status"
            )
        kind = status & 0xF0
        if kind in (0x80, 0x90):
            if pos + 2 > end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a note event")
            pitch, velocity = data[pos] & 0x7F, data[pos + 1] & 0x7F
            pos += 2
            channel = status & 0x0F
            key = (channel, pitch)
            if kind == 0x90 and velocity > 0:
                queue = active.get(key)
                if queue is None:
                    queue = active[key] = deque()
                queue.append((tick, velocity, programs[channel]))
            else:
                queue = active.get(key)
                if queue:
                    onset, vel, program = queue.popleft()
                    if tick > onset:
                        group = notes.get((channel, program))
                        if group is None:
                            group = notes[(channel, program)] = []
                        group.append(new_note(Note, (onset, tick - onset, pitch, vel)))
        elif kind in (0xA0, 0xB0, 0xE0):
            pos += 2
        elif kind == 0xC0:
            if pos >= end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a program change")
            programs[status & 0x0F] = data[pos] & 0x7F
            pos += 1
        elif kind == 0xD0:
            pos += 1
        elif status == 0xFF:
            if pos >= end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a meta event")
            meta_type = data[pos]
            length, pos = read_varlen(data, pos + 1, end, source, track_index)
            if pos + length > end:
                raise MidiError(f"{source}: truncated: meta event in track {track_index} runs past the track end")
            payload = data[pos : pos + length]
            pos += length
            status = 0  # meta events cancel running status
            if meta_type == 0x2F:
                break
            _meta(meta_type, payload, tick, score)
            if meta_type == 0x03 and not name:
                name = payload.decode("latin-1").strip()
        elif status in (0xF0, 0xF7):
            length, pos = read_varlen(data, pos, end, source, track_index)
            pos += length
            status = 0
        else:
            raise MidiError(
                f"{source}: corrupt track {track_index}: status byte 0x{status:02X} is not allowed in a MIDI file"
            )
        if pos > end:
            raise MidiError(f"{source}: truncated: track {track_index} ends inside an event")
    # Close notes left sounding at the end of the track.
    for (channel, pitch), queue in active.items():
        for onset, vel, program in queue:
            if tick > onset:
                notes.setdefault((channel, program), []).append(Note(onset, tick - onset, pitch, vel))
    ordered = sorted(notes.items(), key=lambda item: (min(n.onset_ticks for n in item[1]), item[0]))
    for (channel, program), group in ordered:
        score.tracks.append(Track(program=program, is_drum=channel == _DRUM_CHANNEL, name=name, notes=group))


def _meta(meta_type: int, payload: bytes, tick: int, score: Score) -> None:
    if meta_type == 0x51 and len(payload) == 3:
        tempo = int.from_bytes(payload, "big")
        if tempo > 0:
            score.tempos.append(TempoChange(tick, tempo))
    elif meta_type == 0x58 and len(payload) >= 2:
        numerator, power = payload[0], payload[1]
        if numerator > 0 and power <= 6:
            score.time_signatures.append(TimeSignature(tick, numerator, 1 << power))
    elif meta_type == 0x59 and len(payload) == 2:
        sharps = payload[0] - 256 if payload[0] > 127 else payload[0]
        if -7 <= sharps <= 7:
            score.key_signatures.append(KeySignature(tick, sharps, payload[1] == 1))
