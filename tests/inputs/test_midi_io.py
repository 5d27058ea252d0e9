"""Reading and writing MIDI: agreement with pretty_midi and miditoolkit, exact round trips."""

from __future__ import annotations

import io

import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_score
from symbolic import Note, Score, Track, read_midi, to_miditoolkit, to_pretty_midi, write_midi
from symbolic.errors import MidiError, ScoreError
from symbolic.inputs.midi import parse_midi_bytes
from symbolic.outputs.midi import midi_bytes


def _pretty_midi_file(path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=96)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    for program, is_drum in [(0, False), (40, False), (0, True)]:
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=f"inst{program}{is_drum}")
        for i in range(40):
            inst.notes.append(pretty_midi.Note(velocity=30 + i, pitch=36 + (i * 7) % 50, start=i * 0.31,
                                               end=i * 0.31 + 0.2 + (i % 3) * 0.4))
        pm.instruments.append(inst)
    pm.write(str(path))
    return pm


def test_agrees_with_pretty_midi(tmp_path):
    path = tmp_path / "pm.mid"
    _pretty_midi_file(path)
    ours = read_midi(path)
    theirs = pretty_midi.PrettyMIDI(str(path))
    assert len(ours.tracks) == len(theirs.instruments)
    for track, inst in zip(ours.tracks, theirs.instruments):
        assert (track.program, track.is_drum, track.name) == (inst.program, inst.is_drum, inst.name)
        ours_notes = sorted((n.pitch, n.velocity, round(ours.seconds_at(n.onset_ticks), 4),
                             round(ours.seconds_at(n.offset_ticks), 4)) for n in track.notes)
        their_notes = sorted((n.pitch, n.velocity, round(n.start, 4), round(n.end, 4)) for n in inst.notes)
        assert ours_notes == their_notes
    # pretty_midi's end time ignores End of Track, which its writer puts one tick after the last note.
    assert abs(ours.seconds_at(max(t.end_ticks for t in ours.tracks)) - theirs.get_end_time()) < 1e-3


def test_to_pretty_midi_and_miditoolkit(score):
    pm = to_pretty_midi(score)
    assert sum(len(i.notes) for i in pm.instruments) == score.n_notes
    assert [i.is_drum for i in pm.instruments] == [t.is_drum for t in score.tracks]
    mt = to_miditoolkit(score)
    assert mt.ticks_per_beat == score.ticks_per_beat
    assert sorted((n.start, n.end, n.pitch) for n in mt.instruments[0].notes) == sorted(
        (n.onset_ticks, n.offset_ticks, n.pitch) for n in score.tracks[0].notes)


@pytest.mark.parametrize("seed", range(5))
def test_write_read_is_exact(tmp_path, seed):
    score = random_score(seed, n_tracks=4)
    first = read_midi(write_midi(score, tmp_path / "a.mid"))
    second = read_midi(write_midi(first, tmp_path / "b.mid"))
    assert second == first
    # Everything but same-pitch overlap pairing survives the first trip too.
    assert [len(t.notes) for t in first.tracks] == [len(t.notes) for t in score.tracks]
    assert first.tempos == score.tempos and first.time_signatures == score.time_signatures


notes_strategy = st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 3000), st.integers(0, 127),
                                    st.integers(1, 127)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 127), st.booleans(), notes_strategy), max_size=5), st.integers(1, 32767))
def test_read_of_written_is_fixed_point(tracks, tpb):
    score = Score(ticks_per_beat=tpb, tracks=[Track(p, d, "", [Note(*n) for n in ns]) for p, d, ns in tracks])
    once = parse_midi_bytes(midi_bytes(score.sort()))
    assert parse_midi_bytes(midi_bytes(once)) == once
    assert once.n_notes == score.n_notes


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data):
    try:
        parse_midi_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0" + data)
    except MidiError:
        pass


def test_write_rejects_what_midi_cannot_hold():
    with pytest.raises(ScoreError):
        Track(program=200)
    with pytest.raises(ScoreError):
        Score(ticks_per_beat=0)
    with pytest.raises(MidiError, match="velocity"):
        midi_bytes(Score(tracks=[Track(notes=[Note(0, 10, 60, 0)])]))


def test_empty_score_round_trips(tmp_path):
    empty = Score()
    assert read_midi(write_midi(empty, tmp_path / "e.mid")) == empty
    assert empty.end_ticks == 0 and empty.duration_seconds == 0.0 and empty.is_empty()


def test_seconds_follow_tempo_map(score):
    from symbolic.score import TempoChange

    s = Score(ticks_per_beat=100, tempos=[TempoChange(0, 1_000_000), TempoChange(200, 500_000)])
    assert s.seconds_at(200) == pytest.approx(2.0)
    assert s.seconds_at(400) == pytest.approx(3.0)


def test_bytes_io_source():
    data = midi_bytes(random_score(3))
    assert pretty_midi.PrettyMIDI(io.BytesIO(data)).instruments
