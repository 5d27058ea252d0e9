"""POP909 in the data pipeline: alignment to the annotated beats, roles, annotations, the build."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symbolic.analysis.beats import bar_lines_ticks
from symbolic.score import seconds_of_ticks, ticks_of_seconds
from symbolic.data.build import BuildConfig, build_dataset
from symbolic.data.pop909 import (
    POP909_ROLES,
    Pop909Config,
    list_pop909_pieces,
    load_pop909_song,
    read_beat_grid,
    read_chord_labels,
    with_pop_style,
)
from symbolic.errors import ConfigError, DataError
from symbolic.inputs.midi import read_midi
from symbolic.resources import shared_data_dir
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.verify import verify_events

POP909 = shared_data_dir() / "pop909"
SONGS = ("001", "002", "010")


@pytest.fixture(scope="module")
def songs():
    return {song: load_pop909_song(POP909 / song) for song in SONGS}


@pytest.mark.parametrize("song", SONGS)
def test_bar_lines_fall_on_the_annotated_downbeats_and_no_note_moves(songs, song):
    score, report = songs[song]
    raw = read_midi(POP909 / song / f"{song}.mid")
    grid = read_beat_grid(POP909 / song / "beat_midi.txt")
    beat_ticks = ticks_of_seconds(score, grid.beat_seconds)
    tpb = score.ticks_per_beat
    # Each annotated beat is a quarter note of the new grid, each annotated downbeat a bar line.
    assert np.all(np.abs(beat_ticks / tpb - np.rint(beat_ticks / tpb)) < 0.01)
    downbeats = {int(round(t / tpb)) * tpb for t, d in zip(beat_ticks, grid.downbeats) if d}
    assert downbeats <= set(bar_lines_ticks(score, score.end_ticks + 8 * score.ticks_per_beat))
    # The first downbeat is late in the file (a pickup or silence before it), and it is still a bar line.
    assert grid.beat_seconds[list(grid.downbeats).index(True)] > 0.05
    # No note moves in time: same notes per role, same seconds within 1 ms.
    for track in score.tracks:
        source = next(t for t in raw.tracks if t.name == track.name)
        a = np.asarray([(n.onset_ticks, n.offset_ticks) for n in source.notes])
        b = np.asarray([(n.onset_ticks, n.offset_ticks) for n in track.notes])
        assert [(n.pitch, n.velocity) for n in source.notes] == [(n.pitch, n.velocity) for n in track.notes]
        assert np.max(np.abs(seconds_of_ticks(raw, a) - seconds_of_ticks(score, b))) < 1e-3
    assert report.max_shift_seconds < 1e-3
    # Most onsets now sit on the tokenizer's grid; counted from tick 0 under the MIDI tempo they did not.
    assert report.on_grid_share > 0.8
    assert verify_events(score, EventTokenizer()) == []


def test_roles_programs_and_annotations(songs):
    score, _ = songs["002"]
    assert [t.name for t in score.tracks] == list(POP909_ROLES)
    assert [t.program for t in score.tracks] == list(Pop909Config().programs)
    assert len(set(Pop909Config().programs)) == 3
    # chord_midi.txt of 002: "4.380968 6.316452 B:maj" -- read at a time inside it.
    rows = read_chord_labels(POP909 / "002" / "chord_midi.txt")
    start, end, label = next(r for r in rows if r[2] != "N")
    inside = int(ticks_of_seconds(score, (start + end) / 2))
    assert score.annotations.chord_at(inside).label == label == "B:maj"
    # key_audio.txt of 002 says B major for the whole song.
    key = score.annotations.key_at(int(ticks_of_seconds(score, 100.0)))
    assert (key.tonic, key.minor) == (11, False)
    from symbolic.analysis.keys import scale_pitch_classes

    assert scale_pitch_classes(key.tonic, key.minor) == frozenset({11, 1, 3, 4, 6, 8, 10})
    # The accompaniment sits on the annotated chords (they were read from it), the melody mostly.
    from symbolic.analysis.chords import chord_tone_ratio

    assert chord_tone_ratio(score, 2) > 0.9 and chord_tone_ratio(score, 0) > 0.6


def test_pieces_split_and_bad_input(tmp_path):
    pieces = list_pop909_pieces(POP909)
    assert len(pieces) >= 3 and pieces[0].id == "pop909/001" and {p.style for p in pieces} == {"pop"}
    with pytest.raises(DataError, match="not found"):
        list_pop909_pieces(tmp_path / "nothing")
    (tmp_path / "007").mkdir()
    (tmp_path / "007" / "007.mid").write_bytes((POP909 / "002" / "002.mid").read_bytes())
    with pytest.raises(DataError, match="beat_midi.txt"):
        load_pop909_song(tmp_path / "007")
    (tmp_path / "007" / "beat_midi.txt").write_text("0.5 1 1\n0.4 0 0\n")
    with pytest.raises(DataError, match="increase"):
        load_pop909_song(tmp_path / "007")
    with pytest.raises(ConfigError):
        Pop909Config(programs=(0, 0))


def test_build_labels_pop_caches_and_resumes(tmp_path):
    root = tmp_path / "pop909"
    root.mkdir()
    for song in SONGS:
        (root / song).symlink_to(POP909 / song)
    pieces = list_pop909_pieces(root)
    tokenizer = with_pop_style(EventTokenizer())
    assert "pop" in tokenizer.config.styles and with_pop_style(tokenizer) is tokenizer
    out = tmp_path / "built"
    config = BuildConfig(workers=1, valid_percent=30, test_percent=30)
    first = build_dataset(pieces, out, tokenizer, config, progress=False)
    assert first.converted == 3 and not first.failures
    manifest = json.loads((out / "manifest.json").read_text())
    assert {p["style"] for p in manifest["pieces"]} == {"pop"}
    splits = {p["id"]: p["split"] for p in manifest["pieces"]}
    # The split is a function of the song ids: the same songs listed in another order split the same way.
    other = build_dataset(pieces[::-1], tmp_path / "again", tokenizer, config, progress=False)
    assert not other.failures
    again_manifest = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert {p["id"]: p["split"] for p in again_manifest["pieces"]} == splits
    cached = read_midi(out / "cache" / "pop909__002.mid")
    assert [t.name for t in cached.tracks] == list(POP909_ROLES)
    assert verify_events(cached, tokenizer) == []
    (out / "manifest.json").unlink()  # an interrupted build: the cache stays, nothing is converted again
    again = build_dataset(pieces, out, tokenizer, config, progress=False)
    assert again.converted == 0 and again.cached == 3 and again.n_tokens == first.n_tokens


def test_chord_labels_are_checked_row_by_row_as_a_users_chord_file_is(tmp_path):
    path = tmp_path / "chord_midi.txt"
    path.write_text("0.0 1.5 C:maj\n1.5 1.5 N\n1.5 3.0 A:min\n", encoding="utf-8")
    assert read_chord_labels(path) == [(0.0, 1.5, "C:maj"), (1.5, 3.0, "A:min")]  # the empty row holds no chord
    path.write_text("0.0 2.0 C:maj\n1.5 3.0 A:min\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"chord_midi.txt, line 2: the chord starts at 1.5 s"):
        read_chord_labels(path)
    path.write_text("0.0 2.0 C:maj\n2.0 3.0 H:maj\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        read_chord_labels(path)
