"""Write the tiny edge-case MIDI files of this folder, byte by byte.

Run ``python tests/data/make_edge_cases.py`` to regenerate them; the files are
checked in, and ``tests/test_edge_cases.py`` checks that they match this script.
The bytes are assembled here by hand, independent of ``symbolic``'s own writer.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def header(fmt: int, n_tracks: int, division: int) -> bytes:
    return b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + n_tracks.to_bytes(2, "big") + \
        division.to_bytes(2, "big")


def track(events: list[tuple[int, bytes]], end: bool = True, end_delta: int = 0) -> bytes:
    body = b"".join(varlen(delta) + data for delta, data in events)
    if end:
        body += varlen(end_delta) + b"\xff\x2f\x00"
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def on(ch: int, pitch: int, vel: int = 100) -> bytes:
    return bytes([0x90 | ch, pitch, vel])


def off(ch: int, pitch: int) -> bytes:
    return bytes([0x80 | ch, pitch, 0])


def tempo(qpm: float) -> bytes:
    return b"\xff\x51\x03" + int(round(60_000_000 / qpm)).to_bytes(3, "big")


def meter(n: int, d_power: int) -> bytes:
    return bytes([0xFF, 0x58, 0x04, n, d_power, 24, 8])


def simple_melody(ch: int = 0, base: int = 60, n: int = 4, step: int = 480) -> list[tuple[int, bytes]]:
    events = []
    for i in range(n):
        events.append((0, on(ch, base + i)))
        events.append((step, off(ch, base + i)))
    return events


def files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    out["empty_file.mid"] = b""
    good = header(1, 1, 480) + track(simple_melody())
    out["truncated_track.mid"] = good[:-9]
    out["zero_ticks_per_beat.mid"] = header(0, 1, 0) + track(simple_melody())
    out["type2.mid"] = header(2, 2, 480) + track(simple_melody()) + track(simple_melody(base=64))
    out["smpte_division.mid"] = header(0, 1, 0xE728) + track(simple_melody())
    out["not_midi.mid"] = b"RIFF....WAVEfmt this is not a MIDI file at all"
    # Running status: one status byte, then bare data pairs; note-offs as note-on velocity 0.
    rs = [(0, bytes([0xC0, 5])), (0, bytes([0x90, 60, 90])), (240, bytes([60, 0])), (0, bytes([62, 91])),
          (240, bytes([62, 0])), (0, bytes([64, 92])), (480, bytes([64, 0]))]
    out["running_status.mid"] = header(0, 1, 480) + track(rs)
    v0 = [(0, on(0, 60, 80)), (480, on(0, 60, 0)), (0, on(0, 60, 70)), (480, bytes([0x90, 60, 0]))]
    out["velocity0_noteoff.mid"] = header(0, 1, 480) + track(v0)
    overlap = [(0, on(0, 60, 90)), (240, on(0, 60, 80)), (240, off(0, 60)), (240, off(0, 60)),
               (0, on(0, 60, 70)), (0, on(0, 60, 60)), (480, off(0, 60)), (0, off(0, 60))]
    out["overlapping_same_pitch.mid"] = header(0, 1, 480) + track(overlap)
    hanging = [(0, on(0, 60)), (0, on(0, 64)), (480, off(0, 60)), (960, bytes([0xFF, 0x01, 0x03]) + b"end")]
    out["no_note_off.mid"] = header(0, 1, 480) + track(hanging)
    # Tempo change and meter change in the middle of a 4/4 bar (beat 2.5 and beat 3).
    conductor = [(0, meter(4, 2)), (0, tempo(100)), (1200, tempo(140)), (240, meter(3, 3)), (1440, meter(4, 2))]
    notes = []
    for i in range(12):
        notes += [(0, on(0, 60 + i % 5)), (240, off(0, 60 + i % 5))]
    out["tempo_meter_mid_bar.mid"] = header(1, 2, 480) + track(conductor) + track(notes)
    drums = [(0, bytes([0xC9, 0])), (0, on(9, 36)), (120, off(9, 36)), (120, on(9, 38)), (120, off(9, 38)),
             (120, on(9, 42)), (0, on(9, 36)), (120, off(9, 42)), (0, off(9, 36))]
    out["drums_channel10.mid"] = header(1, 3, 480) + track([(0, tempo(120))]) + \
        track(simple_melody(ch=0, base=48)) + track(drums)
    many = [track([(0, tempo(90))])]
    for i in range(20):
        ch = i % 16 if i % 16 != 9 else 10
        many.append(track([(0, b"\xff\x03" + varlen(len(f"part {i}")) + f"part {i}".encode()),
                           (0, bytes([0xC0 | ch, (i * 5) % 128]))] + simple_melody(ch=ch, base=40 + i, n=2)))
    out["many_tracks.mid"] = header(1, len(many), 480) + b"".join(many)
    huge = [(0, on(0, 60)), (480, off(0, 60)), (0x0FFFFFFF, on(0, 62)), (480, off(0, 62))]
    out["huge_delta.mid"] = header(0, 1, 96) + track(huge)
    bad_varlen = b"MTrk" + (8).to_bytes(4, "big") + b"\xff\xff\xff\xff\xff\x90\x3c\x40"
    out["corrupt_varlen.mid"] = header(0, 1, 480) + bad_varlen
    no_status = b"MTrk" + (4).to_bytes(4, "big") + b"\x00\x3c\x40\x00"
    out["data_without_status.mid"] = header(0, 1, 480) + no_status
    sysex = [(0, b"\xf0\x05\x7e\x7f\x09\x01\xf7"), (0, on(0, 67)), (480, off(0, 67)),
             (0, b"\xff\x59\x02\xfe\x01")]  # key signature: 2 flats, minor
    out["sysex_and_key.mid"] = header(0, 1, 480) + track(sysex)
    out["no_notes.mid"] = header(1, 1, 480) + track([(0, tempo(120)), (0, meter(3, 2))])
    # Issue 13 (public bug reports rebuilt).  At 120 qpm and 480 ticks a beat, 960 ticks are one second.
    # 1: the program change lives in track 0, the notes on the same channel in track 1 (a violin).
    out["program_in_other_track.mid"] = header(1, 2, 480) + track([(0, tempo(120)), (0, bytes([0xC0, 40]))]) + \
        track(simple_melody(ch=0, base=67, n=2, step=960))
    # 2: a note-on whose key byte is a status byte (0xFD).
    out["status_byte_as_data.mid"] = header(0, 1, 480) + track([(0, on(0, 60)), (480, off(0, 60)),
                                                                (0, bytes([0x90, 0xFD, 0x40])), (480, off(0, 62))])
    # 3: sustain pedal down at the start, up after two seconds, three short notes; volume, expression,
    # pan, modulation and a pitch bend on the way.
    pedal = [(0, bytes([0xB0, 64, 127])), (0, bytes([0xB0, 7, 100])), (0, bytes([0xB0, 11, 120])),
             (0, bytes([0xB0, 10, 40])), (0, bytes([0xB0, 1, 0]))]
    for i in range(3):
        pedal += [(0 if i == 0 else 240, on(0, 60 + 4 * i, 90)), (120, off(0, 60 + 4 * i))]
    pedal += [(0, bytes([0xE0, 0x00, 0x50])), (1080, bytes([0xB0, 64, 0])), (960, bytes([0xE0, 0x00, 0x40]))]
    out["sustain_pedal.mid"] = header(1, 2, 480) + track([(0, tempo(120))]) + track(pedal)
    # 4: notes in the first two seconds, End of Track at four seconds.
    out["trailing_rest.mid"] = header(1, 2, 480) + track([(0, tempo(120)), (0, meter(4, 2))]) + \
        track(simple_melody(ch=0, base=60, n=4, step=480), end_delta=1920)
    # 6: two C4 in one track, 1-3 s and 2.5-4 s.
    out["overlapping_unison.mid"] = header(0, 1, 480) + track(
        [(0, tempo(120)), (960, on(0, 60, 100)), (1440, on(0, 60, 100)), (480, off(0, 60)), (960, off(0, 60))])
    # 7: running status resumed after a meta event (common in the Lakh collection).
    after_meta = [(0, on(0, 60, 90)), (480, bytes([60, 0])), (0, b"\xff\x01\x02hi"), (0, bytes([62, 91])),
                  (480, bytes([62, 0]))]
    out["running_status_after_meta.mid"] = header(0, 1, 480) + track(after_meta)
    # 5: a note at tick 2^27 (a broken file whose render would need tens of gigabytes).
    out["note_at_2_27.mid"] = header(0, 1, 480) + track([(0, on(0, 60)), (480, off(0, 60)),
                                                         (1 << 27, on(0, 62)), (480, off(0, 62))])
    return out


# What each file must do: "roundtrip" or the words its MidiError message must contain.
EXPECTED = {
    "empty_file.mid": "not a MIDI file",
    "truncated_track.mid": "truncated",
    "zero_ticks_per_beat.mid": "ticks per beat is 0",
    "type2.mid": "type-2",
    "smpte_division.mid": "SMPTE",
    "not_midi.mid": "RIFF",
    "corrupt_varlen.mid": "variable-length",
    "data_without_status.mid": "running status",
    "running_status.mid": "roundtrip",
    "velocity0_noteoff.mid": "roundtrip",
    "overlapping_same_pitch.mid": "roundtrip",
    "no_note_off.mid": "roundtrip",
    "tempo_meter_mid_bar.mid": "roundtrip",
    "drums_channel10.mid": "roundtrip",
    "many_tracks.mid": "roundtrip",
    "huge_delta.mid": "roundtrip",
    "sysex_and_key.mid": "roundtrip",
    "no_notes.mid": "roundtrip",
    "program_in_other_track.mid": "roundtrip",
    "status_byte_as_data.mid": "data byte 0xFD",
    "sustain_pedal.mid": "roundtrip",
    "trailing_rest.mid": "roundtrip",
    "overlapping_unison.mid": "roundtrip",
    "running_status_after_meta.mid": "roundtrip",
    "note_at_2_27.mid": "roundtrip",
}


def many_tracks_file(n_tracks: int) -> bytes:
    """A type-1 file of ``n_tracks`` tracks, one note each (65,535 is the most a header can count)."""
    one = track([(0, on(0, 60)), (1, off(0, 60))])
    return header(1, n_tracks, 480) + one * n_tracks


if __name__ == "__main__":
    for name, data in files().items():
        (HERE / name).write_bytes(data)
        print(f"wrote {name} ({len(data)} bytes)")
