"""Read Standard MIDI Files (type 0 and 1) into a :class:`~symbolic.score.Score`.

The parser is our own, written for errors that teach: a corrupt, truncated, type-2
or SMPTE-timed file raises :class:`~symbolic.errors.MidiError` naming the file and
the problem, never a traceback from inside a dependency.  ``docs/midi-reading.md``
lists what is kept, dropped and refused, and how this compares with other readers.

Policies (documented because MIDI leaves them open):

* Channel state (program) belongs to the file, not the track: a program change in
  any track applies to later notes of its channel in every track, in time order
  (ties: track order, then file order), as FluidSynth's own player does.
* A note-on with velocity 0 is a note-off.  Running status is honoured, and also
  when it resumes after a meta or sysex event (invalid by the letter of the
  standard, common in real collections): such files are read with a
  :class:`~symbolic.errors.MidiWarning` naming the file.
* A data byte >= 0x80 inside a channel message is corruption: ``MidiError`` names
  the file, track, byte offset and event.
* Same-pitch notes on one channel of one track pair first-in, first-out.
* A note still sounding at the end of its track ends at the track's last tick;
  notes of zero length are dropped.
* A MIDI track splits into one :class:`Track` per (channel, program) pair, in the
  order of their first onset; channel 10 (index 9) is drums.  Tracks without notes
  are not kept.  Control changes 0..119 and pitch bends go to the tracks of their
  MIDI track and channel; those of a channel that a MIDI track does not play (a
  set-up track) go to every track of that channel.  Channel-mode messages
  (controllers 120..127) and aftertouch are dropped.
* The latest End of Track is the score's ``end_of_track_ticks`` when it comes after
  every other event (a trailing rest).
"""

from __future__ import annotations

import bisect
import gc
import os
import warnings
from collections import deque
from itertools import repeat
from pathlib import Path

from symbolic.errors import MidiError, MidiWarning
from symbolic.score import ControlChange, KeySignature, Note, PitchBend, Score, TempoChange, TimeSignature, Track

__all__ = ["read_midi", "parse_midi_bytes", "is_midi_path", "MAX_MIDI_BYTES", "MIDI_SUFFIXES", "MAX_TRACKS"]

MAX_MIDI_BYTES = 64 * 1024 * 1024  # larger files are refused: nothing real is this big
MAX_TRACKS = 65535  # a MIDI header counts tracks in 16 bits; a score with more could not be written back
_DRUM_CHANNEL = 9
_FIRST_MODE_CONTROLLER = 120  # 120..127 are channel-mode messages (all notes off...), not controllers
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
    """Parse the bytes of a MIDI file; ``source`` names it in error messages and warnings.

    The cyclic garbage collector is paused while the score's tuples are built (they hold no
    cycles; measured: reading takes a third of the time), and resumed after, as it was.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse(data, source)
    finally:
        if paused:
            gc.enable()


def _parse(data: bytes, source: str) -> Score:
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

    pos = 8 + header_len
    global _python_bytes
    if len(data) <= _FAST_MAX_BYTES and (_scan or _python_bytes >= _FAST_AFTER_BYTES):
        score = _parse_fast(data, pos, n_tracks, division, source)
        if score is not None:
            return score
    else:
        _python_bytes += len(data)
    score = Score(ticks_per_beat=division)
    end = len(data)
    parsed: list[_ParsedTrack] = []
    program_changes: list[list[tuple[int, int, int, int]]] = [[] for _ in range(16)]
    lenient = [0]
    while len(parsed) < n_tracks and pos < end:
        if pos + 8 > end:
            raise MidiError(f"{source}: truncated: track {len(parsed)} header is cut off at byte {pos}")
        chunk_id = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        body_start = pos + 8
        if body_start + length > end:
            raise MidiError(
                f"{source}: truncated: track {len(parsed)} declares {length} bytes "
                f"but only {end - body_start} remain"
            )
        pos = body_start + length
        if chunk_id != b"MTrk":
            continue  # alien chunks are skipped, as the standard says
        parsed.append(_parse_track(data, body_start, pos, len(parsed), score, source, program_changes, lenient))
    if len(parsed) < n_tracks:
        raise MidiError(f"{source}: truncated: header announces {n_tracks} tracks, file holds {len(parsed)}")
    if lenient[0]:
        warnings.warn(MidiWarning(
            f"{source}: running status resumed after a meta or sysex event {lenient[0]} times (invalid by the "
            "letter of the MIDI standard, common in real collections); read as the channel status before it"),
            stacklevel=4)  # the caller of read_midi
    _build_tracks(parsed, program_changes, score)
    return _finish(score, max((p.end_tick for p in parsed), default=0), source)


def _finish(score: Score, end_tick: int, source: str) -> Score:
    if len(score.tracks) > MAX_TRACKS:
        raise MidiError(
            f"{source}: the file splits into {len(score.tracks)} parts (one per MIDI track, channel and program), "
            f"more than the {MAX_TRACKS} tracks a MIDI file can hold, so it could not be written back; "
            "merge parts before reading it")
    score.sort()
    return score.set_end(end_tick)


# ------------------------------------------------------------------ fast path (numba)
_FAST_MAX_BYTES = 4 * 1024 * 1024  # the compiled scan's tables take ~30x the file; larger files take the slow path
# Loading the compiled scan from numba's cache costs 0.7-2 s of CPU once per process (numba's and LLVM's
# start-up), the time the Python parser takes for 2-4 MB of MIDI (2.4 MB/s measured: a 30 KB pop song in
# 12.5 ms).  So a process reads with the Python parser until it has read this many bytes, then loads the
# scan: a job that reads one song never pays the load, a folder build pays it after a hundred files or so
# (at most twice the better choice's time, the ski-rental bound).  Both parsers give the same scores.
_FAST_AFTER_BYTES = 2 * 1024 * 1024
_python_bytes = 0  # bytes this process has read with the Python parser so far
_scan = None


def _compiled_scan():
    """The numba-compiled scan, or ``False`` when numba is not installed (then the Python parser reads)."""
    global _scan
    if _scan is None:
        try:
            from symbolic.inputs._midi_scan import scan
        except ImportError:
            scan = False
        _scan = scan
    return _scan


def _chunk_bounds(data: bytes, pos: int, n_tracks: int) -> tuple[list[int], list[int]] | None:
    """Body bounds of the first ``n_tracks`` MTrk chunks, or None when the framing is not clean."""
    starts, ends, end = [], [], len(data)
    while len(starts) < n_tracks and pos < end:
        if pos + 8 > end:
            return None
        length = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if pos + 8 + length > end:
            return None
        if data[pos : pos + 4] == b"MTrk":
            starts.append(pos + 8)
            ends.append(pos + 8 + length)
        pos += 8 + length
    return (starts, ends) if len(starts) == n_tracks else None


def _parse_fast(data: bytes, pos: int, n_tracks: int, division: int, source: str) -> Score | None:
    """The score by the compiled scan, or None when numba is missing or the file needs the reference parser
    (any error to word, any lenient reading to warn about)."""
    scan = _compiled_scan()
    if not scan:
        return None
    bounds = _chunk_bounds(data, pos, n_tracks)
    if bounds is None:
        return None
    import numpy as np

    code, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends = scan(
        np.frombuffer(data, dtype=np.uint8).astype(np.int64), np.array(bounds[0], dtype=np.int64),
        np.array(bounds[1], dtype=np.int64))
    if code:
        return None
    score = Score(ticks_per_beat=division)
    names = [""] * n_tracks
    for t, tick, meta_type, start, length in metas[:nm].tolist():
        payload = data[start : start + length]
        _meta(meta_type, payload, tick, score)
        if meta_type == 0x03 and not names[t]:
            names[t] = payload.decode("latin-1").strip()
    notes, programs = notes[:nn], programs[:npg]
    program = np.zeros(nn, dtype=np.int64)
    if npg and nn:
        # Each note's program: the last program change of its channel before it, in (tick, track, byte) order.
        keys = [np.concatenate([programs[:, c], notes[:, n]]) for c, n in ((3, 3), (2, 0), (1, 2), (0, 1))]
        order = np.lexsort(keys)  # by channel, tick, track, byte
        is_change = order < npg
        last = np.maximum.accumulate(np.where(is_change, np.arange(len(order)), -1))
        found = order[np.maximum(last, 0)]
        ok = (last >= 0) & (keys[3][found] == keys[3][order])  # a change of the same channel
        values = np.where(ok, programs[np.minimum(found, npg - 1), 4], 0)
        program[order[~is_change] - npg] = values[~is_change]
    track, channel, onset, duration, pitch, velocity = (notes[:, i] for i in (0, 1, 2, 4, 5, 6))
    order = np.lexsort((velocity, pitch, duration, onset, program, channel, track))  # groups, then Note order
    track, channel, program, onset = track[order], channel[order], program[order], onset[order]
    cols = [onset.tolist()] + [c[order].tolist() for c in (duration, pitch, velocity)]
    cut = np.flatnonzero((np.diff(track) != 0) | (np.diff(channel) != 0) | (np.diff(program) != 0)) + 1
    first = np.concatenate([[0], cut]).astype(np.int64) if nn else np.zeros(0, dtype=np.int64)
    last_ = np.concatenate([cut, [nn]]).astype(np.int64)
    # Within a MIDI track, groups in the order of their first onset (then channel, program).
    group_order = np.lexsort((program[first], channel[first], onset[first], track[first]))
    new_note = tuple.__new__
    groups = []
    for g in group_order:
        a, b = int(first[g]), int(last_[g])
        t = int(track[a])
        groups.append((t, int(channel[a]), int(program[a]), names[t],
                       list(map(new_note, repeat(Note, b - a), zip(cols[0][a:b], cols[1][a:b], cols[2][a:b],
                                                                   cols[3][a:b])))))
    control_map = _events_by_track_channel(controls[:ncc], ControlChange)
    bend_map = _events_by_track_channel(bends[:nb], PitchBend)
    _add_tracks(score, groups, control_map, bend_map)
    return _finish(score, int(track_ends.max()) if n_tracks else 0, source)


def _events_by_track_channel(rows, kind) -> dict[tuple[int, int], list]:
    """(MIDI track, channel) -> ``kind`` tuples built from the remaining columns of ``rows``, in file order."""
    import numpy as np

    out: dict[tuple[int, int], list] = {}
    if not len(rows):
        return out
    order = np.lexsort((rows[:, 1], rows[:, 0]))  # stable: file order within a (track, channel)
    rows = rows[order]
    cut = np.flatnonzero((np.diff(rows[:, 0]) != 0) | (np.diff(rows[:, 1]) != 0)) + 1
    firsts = [0, *cut.tolist()]
    columns = [rows[:, k].tolist() for k in range(2, rows.shape[1])]
    new = tuple.__new__
    for a, b in zip(firsts, [*firsts[1:], len(rows)]):
        out[(int(rows[a, 0]), int(rows[a, 1]))] = list(map(new, repeat(kind, b - a), zip(*(c[a:b] for c in columns))))
    return out


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


_EVENT_NAMES = {0x80: "note-off", 0x90: "note-on", 0xA0: "aftertouch", 0xB0: "control change",
                0xC0: "program change", 0xD0: "channel pressure", 0xE0: "pitch bend"}


def _bad_data_byte(data: bytes, event_pos: int, pos: int, n: int, status: int, tick: int, track_index: int,
                   source: str) -> MidiError:
    """The error for a channel message whose data bytes (``data[pos:pos + n]``) include one >= 0x80."""
    bad = next(b for b in data[pos : pos + n] if b & 0x80)
    shown = " ".join(f"{b:02X}" for b in data[event_pos : pos + n])
    return MidiError(
        f"{source}: corrupt track {track_index}: {_EVENT_NAMES[status & 0xF0]} on channel {(status & 0x0F) + 1} "
        f"at byte {event_pos} (tick {tick}; bytes {shown}) has data byte 0x{bad:02X}, but data bytes are 0..127: "
        "a status byte stands where a data byte belongs; the file is corrupt")


class _ParsedTrack:
    """What one MTrk chunk holds before channel state is resolved across tracks."""

    __slots__ = ("index", "name", "end_tick", "notes", "controls", "bends")

    def __init__(self, index: int) -> None:
        self.index = index
        self.name = ""
        self.end_tick = 0
        self.notes: list[tuple[int, int, int, int, int, int]] = []  # (channel, onset, pos, duration, pitch, vel)
        self.controls: dict[int, list[ControlChange]] = {}
        self.bends: dict[int, list[PitchBend]] = {}


def _parse_track(data: bytes, pos: int, end: int, track_index: int, score: Score, source: str,
                 program_changes: list[list[tuple[int, int, int, int]]], lenient: list[int]) -> _ParsedTrack:
    out = _ParsedTrack(track_index)
    tick = 0
    status = running = 0
    active: dict[tuple[int, int], deque[tuple[int, int, int]]] = {}  # (channel, pitch) -> (onset, vel, pos)
    notes = out.notes
    read_varlen = _read_varlen
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
        event_pos = pos
        byte = data[pos]
        if byte & 0x80:
            status = byte
            pos += 1
            if byte < 0xF0:
                running = byte
        elif running == 0:
            raise MidiError(
                f"{source}: corrupt track {track_index}: data byte 0x{byte:02X} at byte {pos} with no running status"
            )
        else:
            if status >= 0xF0:  # running status resumed after a meta or sysex event: lenient, counted
                lenient[0] += 1
            status = running
        kind = status & 0xF0
        if kind in (0x80, 0x90):
            if pos + 2 > end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a note event")
            pitch, velocity = data[pos], data[pos + 1]
            if (pitch | velocity) & 0x80:
                raise _bad_data_byte(data, event_pos, pos, 2, status, tick, track_index, source)
            pos += 2
            key = (status & 0x0F, pitch)
            if kind == 0x90 and velocity > 0:
                queue = active.get(key)
                if queue is None:
                    queue = active[key] = deque()
                queue.append((tick, velocity, event_pos))
            else:
                queue = active.get(key)
                if queue:
                    onset, vel, onset_pos = queue.popleft()
                    if tick > onset:
                        notes.append((key[0], onset, onset_pos, tick - onset, pitch, vel))
        elif kind in (0xB0, 0xE0, 0xA0):
            if pos + 2 > end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a channel message")
            a, b = data[pos], data[pos + 1]
            if (a | b) & 0x80:
                raise _bad_data_byte(data, event_pos, pos, 2, status, tick, track_index, source)
            pos += 2
            channel = status & 0x0F
            if kind == 0xB0:
                if a < _FIRST_MODE_CONTROLLER:
                    out.controls.setdefault(channel, []).append(ControlChange(tick, a, b))
            elif kind == 0xE0:
                out.bends.setdefault(channel, []).append(PitchBend(tick, ((b << 7) | a) - 8192))
        elif kind in (0xC0, 0xD0):
            if pos >= end:
                raise MidiError(f"{source}: truncated: track {track_index} ends inside a channel message")
            if data[pos] & 0x80:
                raise _bad_data_byte(data, event_pos, pos, 1, status, tick, track_index, source)
            if kind == 0xC0:
                program_changes[status & 0x0F].append((tick, track_index, event_pos, data[pos]))
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
            if meta_type == 0x2F:
                break
            _meta(meta_type, payload, tick, score)
            if meta_type == 0x03 and not out.name:
                out.name = payload.decode("latin-1").strip()
        elif status in (0xF0, 0xF7):
            length, pos = read_varlen(data, pos, end, source, track_index)
            pos += length
        else:
            raise MidiError(
                f"{source}: corrupt track {track_index}: status byte 0x{status:02X} is not allowed in a MIDI file"
            )
        if pos > end:
            raise MidiError(f"{source}: truncated: track {track_index} ends inside an event")
    out.end_tick = tick
    # Close notes left sounding at the end of the track.
    for (channel, pitch), queue in active.items():
        for onset, vel, onset_pos in queue:
            if tick > onset:
                notes.append((channel, onset, onset_pos, tick - onset, pitch, vel))
    return out


def _build_tracks(parsed: list[_ParsedTrack], program_changes: list[list[tuple[int, int, int, int]]],
                  score: Score) -> None:
    """Resolve each note's program from the file-wide channel state and split MIDI tracks into score tracks."""
    keys: list[list[tuple[int, int, int]]] = []
    values: list[list[int]] = []
    for changes in program_changes:
        changes.sort()  # (tick, track, position): the order a player meets them
        keys.append([c[:3] for c in changes])
        values.append([c[3] for c in changes])
    new_note = tuple.__new__  # builds Note tuples without the NamedTuple constructor's overhead
    bisect_right = bisect.bisect_right
    ordered = []
    for raw in parsed:
        groups: dict[tuple[int, int], list[Note]] = {}
        first: dict[tuple[int, int], int] = {}
        index = raw.index
        for channel, onset, onset_pos, duration, pitch, vel in raw.notes:
            channel_keys = keys[channel]
            if channel_keys:
                k = bisect_right(channel_keys, (onset, index, onset_pos)) - 1
                program = values[channel][k] if k >= 0 else 0
            else:
                program = 0
            group = groups.get((channel, program))
            if group is None:
                group = groups[(channel, program)] = []
                first[(channel, program)] = onset
            elif onset < first[(channel, program)]:
                first[(channel, program)] = onset
            group.append(new_note(Note, (onset, duration, pitch, vel)))
        for channel, program in sorted(groups, key=lambda g: (first[g], g)):
            ordered.append((index, channel, program, raw.name, groups[(channel, program)]))
    _add_tracks(score, ordered,
                {(raw.index, c): events for raw in parsed for c, events in raw.controls.items()},
                {(raw.index, c): events for raw in parsed for c, events in raw.bends.items()})


def _add_tracks(score: Score, groups: list[tuple[int, int, int, str, list[Note]]],
                controls: dict[tuple[int, int], list[ControlChange]],
                bends: dict[tuple[int, int], list[PitchBend]]) -> None:
    """Add one score track per (MIDI track, channel, program) group, in order, with its controllers.

    ``controls`` and ``bends`` map (MIDI track, channel) to events in file order; those of a channel
    that their MIDI track does not play (a set-up track) reach every track of that channel.
    """
    played: dict[int, list[Track]] = {}  # channel -> score tracks that play it
    for index, channel, program, name, notes in groups:
        track = Track(program=program, is_drum=channel == _DRUM_CHANNEL, name=name, notes=notes,
                      controls=list(controls.get((index, channel), ())), pitch_bends=list(bends.get((index, channel), ())))
        score.tracks.append(track)
        played.setdefault(channel, []).append(track)
    owned = {(g[0], g[1]) for g in groups}
    for attr, per_key in (("controls", controls), ("pitch_bends", bends)):
        for (index, channel), events in sorted(per_key.items()):
            if (index, channel) not in owned:
                for track in played.get(channel, ()):
                    getattr(track, attr).extend(events)


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
