"""Every edge-case file either round-trips or raises a MidiError naming the file and the problem."""

from __future__ import annotations

import pytest

import warnings

from make_edge_cases import EXPECTED, files, many_tracks_file
from symbolic import MidiError, read_midi, write_midi
from symbolic.errors import MidiWarning, SymbolicError, TokenizationError
from symbolic.inputs.midi import parse_midi_bytes
from symbolic.score import ControlChange, Note, PitchBend, Score, Track
from symbolic.tokenization.verify import verify_events


def test_checked_in_files_match_generator(data_dir):
    for name, data in files().items():
        assert (data_dir / name).read_bytes() == data, f"{name} is stale: run python tests/data/make_edge_cases.py"


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e != "roundtrip"))
def test_bad_files_raise_clear_error(data_dir, name):
    with pytest.raises(MidiError) as info:
        read_midi(data_dir / name)
    message = str(info.value)
    assert name in message and EXPECTED[name] in message
    assert isinstance(info.value, SymbolicError)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e == "roundtrip"))
def test_good_files_round_trip(data_dir, tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MidiWarning)
        score = read_midi(data_dir / name)
    again = read_midi(write_midi(score, tmp_path / name))
    assert again == score


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e == "roundtrip" and n not in ("huge_delta.mid", "note_at_2_27.mid")))
def test_good_files_round_trip_through_event_tokens(data_dir, tokenizer, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MidiWarning)
        score = read_midi(data_dir / name)
    assert verify_events(score, tokenizer) == []


def test_missing_file(tmp_path):
    with pytest.raises(MidiError, match="cannot open"):
        read_midi(tmp_path / "nope.mid")


def test_running_status_and_velocity0(data_dir):
    notes = read_midi(data_dir / "running_status.mid").tracks[0].notes
    assert [(n.onset_ticks, n.duration_ticks, n.pitch, n.velocity) for n in notes] == [
        (0, 240, 60, 90), (240, 240, 62, 91), (480, 480, 64, 92)]
    assert read_midi(data_dir / "running_status.mid").tracks[0].program == 5
    notes = read_midi(data_dir / "velocity0_noteoff.mid").tracks[0].notes
    assert [(n.onset_ticks, n.duration_ticks, n.velocity) for n in notes] == [(0, 480, 80), (480, 480, 70)]


def test_overlapping_same_pitch_pairs_first_in_first_out(data_dir):
    notes = read_midi(data_dir / "overlapping_same_pitch.mid").tracks[0].notes
    assert [(n.onset_ticks, n.duration_ticks, n.velocity) for n in notes] == [
        (0, 480, 90), (240, 480, 80), (720, 480, 60), (720, 480, 70)]


def test_hanging_notes_end_with_their_track(data_dir):
    notes = read_midi(data_dir / "no_note_off.mid").tracks[0].notes
    assert [(n.pitch, n.onset_ticks, n.duration_ticks) for n in notes] == [(60, 0, 480), (64, 0, 1440)]


def test_drums_and_many_tracks(data_dir):
    score = read_midi(data_dir / "drums_channel10.mid")
    assert [(t.is_drum, len(t.notes)) for t in score.tracks] == [(False, 4), (True, 4)]
    many = read_midi(data_dir / "many_tracks.mid")
    # Parts 16-19 reuse the channels of parts 0-3 and part 10 that of part 9: their program change at
    # tick 0 comes after the earlier part's first note, so the earlier part's second note takes it.
    sharing = {0: 16, 1: 17, 2: 18, 3: 19, 9: 10}
    expected = []
    for i in range(20):
        if i in sharing:
            expected += [(f"part {i}", (i * 5) % 128, [0]), (f"part {i}", (sharing[i] * 5) % 128, [480])]
        else:
            expected.append((f"part {i}", (i * 5) % 128, [0, 480]))
    assert [(t.name, t.program, [n.onset_ticks for n in t.notes]) for t in many.tracks] == expected


def test_mid_bar_changes_survive(data_dir, tokenizer):
    score = read_midi(data_dir / "tempo_meter_mid_bar.mid")
    assert [(ts.time_ticks, ts.numerator, ts.denominator) for ts in score.time_signatures] == [
        (0, 4, 4), (1440, 3, 8), (2880, 4, 4)]
    decoded = tokenizer.decode(tokenizer.encode(score))
    assert [(ts.time_ticks, ts.numerator, ts.denominator) for ts in decoded.time_signatures] == [
        (0, 4, 4), (1440, 3, 8), (2880, 4, 4)]
    assert [t.time_ticks for t in decoded.tempos] == [0, 1200]


def test_huge_delta_is_bounded(data_dir, tokenizer):
    score = read_midi(data_dir / "huge_delta.mid")
    assert score.tracks[0].notes[1].onset_ticks == 480 + 0x0FFFFFFF
    with pytest.raises(TokenizationError, match="max_bars"):
        tokenizer.encode(score)


def test_key_signature_and_sysex(data_dir):
    score = read_midi(data_dir / "sysex_and_key.mid")
    assert score.n_notes == 1
    assert [(k.sharps, k.minor) for k in score.key_signatures] == [(-2, True)]


def test_channel_state_belongs_to_the_file(data_dir):
    """Issue 13.1: a program change in track 0 sets the program of channel 1's notes in track 1."""
    score = read_midi(data_dir / "program_in_other_track.mid")
    assert [(t.program, len(t.notes)) for t in score.tracks] == [(40, 2)]


def test_status_byte_as_data_names_file_track_offset_and_event(data_dir):
    """Issue 13.2: a note-on whose key byte is 0xFD is corruption, not pitch 125."""
    with pytest.raises(MidiError) as info:
        read_midi(data_dir / "status_byte_as_data.mid")
    message = str(info.value)
    for words in ("status_byte_as_data.mid", "track 0", "at byte 32", "note-on", "90 FD 40", "0xFD"):
        assert words in message


@pytest.mark.parametrize("status", [0x80, 0xA0, 0xB0, 0xE0, 0xC0, 0xD0])
def test_every_channel_message_checks_its_data_bytes(status):
    size = 1 if status in (0xC0, 0xD0) else 2
    body = b"\x00" + bytes([status]) + b"\x81" * size + b"\x00\xff\x2f\x00"
    data = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk" + len(body).to_bytes(4, "big") + body
    with pytest.raises(MidiError, match="data byte 0x81"):
        parse_midi_bytes(data, "x.mid")


def test_controllers_are_kept(data_dir):
    """Issue 13.3: pedal, volume, expression, pan, modulation and pitch bends are in the score."""
    track = read_midi(data_dir / "sustain_pedal.mid").tracks[0]
    assert track.controls == [ControlChange(0, 64, 127), ControlChange(0, 7, 100), ControlChange(0, 11, 120),
                              ControlChange(0, 10, 40), ControlChange(0, 1, 0), ControlChange(1920, 64, 0)]
    assert track.pitch_bends == [PitchBend(840, 2048), PitchBend(2880, 0)]


def test_end_of_track_is_kept(data_dir, tmp_path):
    """Issue 13.4: notes in the first two seconds, End of Track at four: the score lasts four seconds."""
    score = read_midi(data_dir / "trailing_rest.mid")
    assert score.end_of_track_ticks == 3840 and score.duration_seconds == 4.0
    again = read_midi(write_midi(score, tmp_path / "again.mid"))
    assert again.duration_seconds == 4.0 and again == score


def test_running_status_after_meta_is_read_with_a_warning(data_dir):
    """Issue 13.7: mido, pretty_midi and music21 read it; so do we, saying so."""
    with pytest.warns(MidiWarning, match="running_status_after_meta.mid.*running status resumed after a meta"):
        score = read_midi(data_dir / "running_status_after_meta.mid")
    assert [(n.onset_ticks, n.duration_ticks, n.pitch, n.velocity) for n in score.tracks[0].notes] == [
        (0, 480, 60, 90), (480, 480, 62, 91)]


def test_65535_tracks_round_trip():
    """Issue 13.14: what read_midi accepts, write_midi writes (65,535 is the most a header counts)."""
    from symbolic.outputs.midi import midi_bytes

    score = parse_midi_bytes(many_tracks_file(65535), "many.mid")
    assert len(score.tracks) == 65535
    assert parse_midi_bytes(midi_bytes(score), "again.mid") == score


def test_more_parts_than_a_file_can_hold_are_refused_when_reading():
    one = b"MTrk\x00\x00\x00\x0c\x00\x90\x3c\x40\x00\x91\x3c\x40\x01\xff\x2f\x00"  # two channels
    data = b"MThd\x00\x00\x00\x06\x00\x01" + (32768).to_bytes(2, "big") + b"\x01\xe0" + one * 32768
    with pytest.raises(MidiError, match="parts.csv.*65535 tracks a MIDI file can hold"):
        parse_midi_bytes(data, "parts.csv")


def test_gaps_longer_than_a_delta_time_are_written(tmp_path):
    """Issue 13.14: a gap past 2^28 ticks is bridged, not refused."""
    score = Score(tracks=[Track(notes=[Note(0, 10, 60, 90), Note(3 << 28, 1 << 29, 62, 90)],
                                controls=[ControlChange(1 << 30, 64, 0)])]).set_end(6 << 28)
    again = read_midi(write_midi(score, tmp_path / "long.mid"))
    assert again == score and again.end_of_track_ticks == 6 << 28


def test_fuzzer_findings_are_read_or_refused(data_dir):
    """Every input benchmarks/fuzz_reader.py ever flagged is kept here and must now read or be refused."""
    for path in sorted((data_dir / "fuzz_crashes").glob("*.mid")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MidiWarning)
                read_midi(path)
        except SymbolicError:
            pass
