"""``symbolic analyze``: roles with reasons, the melody taken out of a one-track piano, bad input."""

from __future__ import annotations

from five_track_song import five_track_song
from symbolic import read_midi, write_midi
from symbolic.cli import main
from symbolic.score import Note, Score, Track


def test_analyze_prints_roles_with_reasons(tmp_path, capsys) -> None:
    path = tmp_path / "song.mid"
    write_midi(five_track_song(("Drums", "Guitar", "Guitar", "Track 4", "")), path)
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "melody: track 4" in out
    lines = out.splitlines()
    assert "bass" in lines[4] and "melody" in lines[5] and "single line" in lines[5]


def test_analyze_extracts_the_melody_of_a_piano_track(tmp_path, capsys) -> None:
    notes = []
    for bar in range(16):
        base = bar * 1920
        notes += [Note(base + b * 480, 480, p, 55) for b in range(4) for p in (48, 55, 64)]
        notes += [Note(base + b * 480, 400, 72 + (bar + b) % 5, 95) for b in range(4)]
    path, out_path = tmp_path / "piano.mid", tmp_path / "split.mid"
    write_midi(Score(tracks=[Track(program=0, name="Piano", notes=notes)]), path)
    assert main(["analyze", str(path), "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "extract it from track 0" in out and "extracted melody:" in out
    split = read_midi(out_path)
    assert [t.name for t in split.tracks] == ["Melody (extracted)", "Piano"]
    assert {n.pitch for n in split.tracks[0].notes} <= set(range(72, 77))
    assert len(split.tracks[0].notes) >= 60


def test_analyze_bad_input(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "missing.mid")]) == 1
    assert "missing.mid" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no MIDI files" in capsys.readouterr().err
