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
    lines = [line for line in out.splitlines() if not line.startswith("warning: ")]  # its strums are off the grid
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
    assert "extract it from track 0" in out and "extracted melody (MIDI 72-76): no track is a melody line" in out
    split = read_midi(out_path)
    assert [t.name for t in split.tracks] == ["Melody (extracted)", "Piano"]
    assert {n.pitch for n in split.tracks[0].notes} <= set(range(72, 77))
    assert len(split.tracks[0].notes) >= 60


def test_analyze_bad_input(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "missing.mid")]) == 1
    captured = capsys.readouterr()
    assert "missing.mid" in captured.err and "analyzed 0 files; skipped 1 (listed above)" in captured.out
    assert main(["analyze", str(tmp_path)]) == 2
    assert "no MIDI files" in capsys.readouterr().err


def test_analyze_warns_of_a_recorded_performance_as_the_jobs_do(tmp_path, capsys) -> None:
    import random

    song = five_track_song(("Drums", "", "", "Bass", "")).sort()
    rng = random.Random(1)
    for track in song.tracks:  # played off the grid
        track.notes = [n._replace(onset_ticks=n.onset_ticks + rng.randint(7, 33)) for n in track.notes]
    tune = [Note(k * 480, 400, 72 + k % 5, 90) for k in range(64)]  # on the beats
    played = write_midi(song, tmp_path / "played.mid")
    clean = write_midi(Score(tracks=[Track(program=73, notes=tune)]), tmp_path / "clean.mid")
    assert main(["analyze", str(played), str(clean)]) == 0
    lines = capsys.readouterr().out.splitlines()
    warnings = [k for k, line in enumerate(lines) if line.startswith("warning: ")]
    assert len(warnings) == 1 and lines[warnings[0] - 1].startswith(str(played))  # under its file, not the other
    assert "recorded performance" in lines[warnings[0]] and "symbolic quantize" in lines[warnings[0]]
