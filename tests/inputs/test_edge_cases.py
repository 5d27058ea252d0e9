"""Every edge-case file either round-trips or raises a MidiError naming the file and the problem."""

from __future__ import annotations

import pytest

from make_edge_cases import EXPECTED, files
from symbolic import MidiError, read_midi, write_midi
from symbolic.errors import SymbolicError, TokenizationError
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
    score = read_midi(data_dir / name)
    again = read_midi(write_midi(score, tmp_path / name))
    assert again == score


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e == "roundtrip" and n != "huge_delta.mid"))
def test_good_files_round_trip_through_event_tokens(data_dir, tokenizer, name):
    assert verify_events(read_midi(data_dir / name), tokenizer) == []


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
    assert len(many.tracks) == 20
    assert [t.name for t in many.tracks] == [f"part {i}" for i in range(20)]
    assert [t.program for t in many.tracks] == [(i * 5) % 128 for i in range(20)]


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
