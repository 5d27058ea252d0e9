"""The compiled fast path of :mod:`symbolic.inputs.midi`: one pass over the bytes with numba.

:func:`scan` walks every track chunk of a well-formed file and returns flat integer tables
(notes already paired first-in, first-out and closed at their track's end, program changes,
control changes, pitch bends, meta events, track ends).  It reports, instead of raising, any
departure from a clean file (truncation, a bad varlen or status, a data byte >= 0x80, running
status resumed after a meta event); :func:`symbolic.inputs.midi.parse_midi_bytes` then reads
the file with the pure-Python parser, which is the reference and words the error or warning.
``tests/inputs/test_midi_fast.py`` checks that both paths give equal scores on every edge case
and real file.  Without numba this module is not used.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK = 0
ANOMALY = 1  # anything the reference parser must word (an error) or warn about (a lenient read)


@njit(cache=True, nogil=True)
def _varlen(data, pos, end):  # pragma: no cover - compiled
    """A variable-length number of at most four bytes at ``pos``: (value, next position), value -1 if corrupt."""
    value = 0
    for _ in range(4):
        if pos >= end:
            return -1, pos
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    return -1, pos


@njit(cache=True, nogil=True)
def _put(table, n, row):  # pragma: no cover - compiled
    """Write ``row`` (a tuple of ints) as row ``n`` of ``table``; returns ``n + 1``."""
    for k in range(len(row)):
        table[n, k] = row[k]
    return n + 1


@njit(cache=True, nogil=True)
def scan(data, starts, ends):  # pragma: no cover - compiled; equality with the Python parser is tested
    """Tables of one file's tracks (``data`` the bytes as int64, ``starts``/``ends`` int64 track-body bounds).

    Returns ``(code, notes, n_notes, programs, n_programs, controls, n_controls, bends, n_bends,
    metas, n_metas, track_ends)`` where ``notes`` rows are (track, channel, onset, onset byte,
    duration, pitch, velocity), ``programs`` (channel, tick, track, byte, program), ``controls``
    (track, channel, tick, number, value), ``bends`` (track, channel, tick, value), ``metas``
    (track, tick, type, payload start, payload length).
    """
    size = 0
    for k in range(len(starts)):
        size += ends[k] - starts[k]
    cap = size // 2 + 1  # every event takes at least two bytes (delta and one more)
    notes = np.empty((cap, 7), np.int64)
    programs = np.empty((cap, 5), np.int64)
    controls = np.empty((cap, 5), np.int64)
    bends = np.empty((cap, 4), np.int64)
    metas = np.empty((cap, 5), np.int64)
    track_ends = np.zeros(len(starts), np.int64)
    # First-in, first-out queues of sounding notes per (channel, pitch): linked lists over on-events.
    head = np.full(2048, -1, np.int64)
    tail = np.full(2048, -1, np.int64)
    q_tick = np.empty(cap, np.int64)
    q_vel = np.empty(cap, np.int64)
    q_pos = np.empty(cap, np.int64)
    q_next = np.empty(cap, np.int64)
    nn = npg = ncc = nb = nm = 0
    for t in range(len(starts)):
        pos, end = starts[t], ends[t]
        head[:] = -1
        tail[:] = -1
        nq = 0
        tick = 0
        status = 0
        running = 0
        while pos < end:
            value, pos = _varlen(data, pos, end)  # the delta time
            if value < 0:
                return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
            tick += value
            if pos >= end:
                return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
            event_pos = pos
            byte = data[pos]
            if byte >= 0x80:
                status = byte
                pos += 1
                if byte < 0xF0:
                    running = byte
            else:
                if running == 0 or status >= 0xF0:  # no running status, or resumed after meta/sysex
                    return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
            kind = status & 0xF0
            channel = status & 0x0F
            if kind == 0x80 or kind == 0x90 or kind == 0xA0 or kind == 0xB0 or kind == 0xE0:
                if pos + 2 > end:
                    return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
                a = data[pos]
                b = data[pos + 1]
                if a >= 0x80 or b >= 0x80:
                    return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
                pos += 2
                if kind == 0x90 and b > 0:
                    key = channel * 128 + a
                    q_tick[nq] = tick
                    q_vel[nq] = b
                    q_pos[nq] = event_pos
                    q_next[nq] = -1
                    if tail[key] >= 0:
                        q_next[tail[key]] = nq
                    else:
                        head[key] = nq
                    tail[key] = nq
                    nq += 1
                elif kind == 0x80 or kind == 0x90:
                    key = channel * 128 + a
                    e = head[key]
                    if e >= 0:
                        head[key] = q_next[e]
                        if head[key] < 0:
                            tail[key] = -1
                        if tick > q_tick[e]:
                            nn = _put(notes, nn, (t, channel, q_tick[e], q_pos[e], tick - q_tick[e], a, q_vel[e]))
                elif kind == 0xB0:
                    if a < 120:
                        ncc = _put(controls, ncc, (t, channel, tick, a, b))
                elif kind == 0xE0:
                    nb = _put(bends, nb, (t, channel, tick, ((b << 7) | a) - 8192))
            elif kind == 0xC0 or kind == 0xD0:
                if pos >= end or data[pos] >= 0x80:
                    return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
                if kind == 0xC0:
                    npg = _put(programs, npg, (channel, tick, t, event_pos, data[pos]))
                pos += 1
            elif status == 0xFF or status == 0xF0 or status == 0xF7:
                meta_type = -1
                if status == 0xFF:
                    if pos >= end:
                        return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
                    meta_type = data[pos]
                    pos += 1
                value, pos = _varlen(data, pos, end)  # the payload length
                if value < 0 or pos + value > end:
                    return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
                if meta_type == 0x2F:
                    pos += value
                    break
                if meta_type >= 0:
                    nm = _put(metas, nm, (t, tick, meta_type, pos, value))
                pos += value
            else:
                return ANOMALY, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
        track_ends[t] = tick
        # Close the notes left sounding at the end of the track.
        for key in range(2048):
            e = head[key]
            while e >= 0:
                if tick > q_tick[e]:
                    nn = _put(notes, nn, (t, key // 128, q_tick[e], q_pos[e], tick - q_tick[e], key % 128, q_vel[e]))
                e = q_next[e]
    return OK, notes, nn, programs, npg, controls, ncc, bends, nb, metas, nm, track_ends
