"""Track roles: the five-track pop example of issue 14, names, programs, one-track piano, empty input."""

from __future__ import annotations

import numpy as np
import pytest

from symbolic.analysis.roles import (
    RoleConfig, analyze_tracks, name_hints, program_family, track_stats,
)
from symbolic.errors import ConfigError
from symbolic.score import Note, Score, Track

TPB = 480
BARS = 100  # 400 beats of 4/4


def five_track_song(names: tuple[str, ...] = ("", "", "", "", "")) -> Score:
    """Drums (channel 10, 1,500 notes), two strummed guitars (chords, 1,200 notes each), a bass line
    (single line, 700 notes, MIDI 28-50) and a vocal melody (single line, 240 notes, MIDI 60-79, rests
    between phrases), as issue 14 describes the files on which the old chooser picks the bass."""
    rng = np.random.default_rng(7)
    beats = BARS * 4
    drums = [Note(round(i * beats * TPB / 1500), 60, int(p), 100)
             for i, p in enumerate(rng.choice([36, 38, 42, 46], 1500))]
    roots = [40, 45, 43, 38]  # E A G D

    def guitar(offset: int, voicing: tuple[int, ...]) -> list[Note]:
        notes = []
        for strum in range(300):  # 300 strums of 4 notes
            onset = round(strum * beats * TPB / 300) + offset
            root = roots[(strum // 3) % 4]
            notes += [Note(onset + 10 * k, TPB, root + 12 + v, 80) for k, v in enumerate(voicing)]
        return notes

    bass = []
    for i in range(700):
        root = roots[(i * 300 // 700 // 3) % 4] - 12 + 2  # 30..35
        pitch = root + int(rng.choice([0, 0, 7, 12, 5]))
        bass.append(Note(round(i * beats * TPB / 700), TPB // 2, int(np.clip(pitch, 28, 50)), 90))
    vocal, pitch = [], 67
    for phrase in range(20):  # 20 phrases of 12 notes: two bars sung, three bars rest
        start = phrase * 5 * 4 * TPB
        for k in range(12):
            pitch = int(np.clip(pitch + rng.choice([-2, -1, 0, 1, 2, 3, -3]), 60, 79))
            vocal.append(Note(start + k * TPB * 2 // 3, TPB // 2, pitch, 96))
    return Score(ticks_per_beat=TPB, tracks=[
        Track(program=0, is_drum=True, name=names[0], notes=drums),
        Track(program=25, name=names[1], notes=guitar(0, (0, 7, 12, 16))),
        Track(program=27, name=names[2], notes=guitar(TPB // 2, (7, 12, 16, 19))),
        Track(program=33, name=names[3], notes=bass),
        Track(program=53, name=names[4], notes=vocal),
    ]).sort()


def test_five_track_song_matches_the_issue() -> None:
    song = five_track_song()
    counts = [len(t.notes) for t in song.tracks]
    assert counts == [1500, 1200, 1200, 700, 240]
    assert min(n.pitch for n in song.tracks[3].notes) >= 28 and max(n.pitch for n in song.tracks[3].notes) <= 50
    assert {n.pitch for n in song.tracks[4].notes} <= set(range(60, 80))
    stats = [track_stats(t, TPB, song.end_ticks) for t in song.tracks]
    assert stats[1].polyphony > 0.7 and stats[3].polyphony == 0 and stats[4].polyphony == 0


def test_old_chooser_picks_the_bass() -> None:
    from symbolic.arrangement import choose_melody_track

    assert choose_melody_track(five_track_song()) == 3  # the failure the issue reports


@pytest.mark.parametrize("names", [("", "", "", "", ""), ("Drums", "Guitar", "Guitar 2", "Bass", "Vocal"),
                                   ("Track 1", "Track 2", "Track 3", "Track 4", "Track 5")])
def test_vocal_is_the_melody_of_the_five_track_song(names) -> None:
    analysis = analyze_tracks(five_track_song(names))
    roles = [t.role for t in analysis.tracks]
    assert analysis.melody_track == 4, analysis.describe()
    assert roles == ["drums", "harmony", "harmony", "bass", "melody"], analysis.describe()
    assert analysis.tracks[4].confidence > 0.8
    assert analysis.extraction_track is None
    assert any("single line" in r for r in analysis.tracks[4].reasons)


def test_the_vocal_wins_on_music_alone_even_on_a_piano_program() -> None:
    song = five_track_song()
    song.tracks[4].program = 0
    song.tracks[3].program = 0
    analysis = analyze_tracks(song)
    assert analysis.melody_track == 4, analysis.describe()
    assert analysis.tracks[3].role == "bass"


def test_a_name_can_point_to_the_melody() -> None:
    # two equal single lines: the one named in Spanish as the voice wins, either way round
    line = [Note(i * TPB, TPB // 2, 64 + (i % 5), 90) for i in range(64)]
    for melody_index in (0, 1):
        names = ["Flute 2", "Flute 2"]
        names[melody_index] = "Voz principal"
        score = Score(tracks=[Track(program=73, name=names[0], notes=list(line)),
                              Track(program=73, name=names[1], notes=list(line))])
        assert analyze_tracks(score).melody_track == melody_index


def test_one_track_piano_has_no_melody_track_and_names_the_track_to_extract() -> None:
    notes = []
    for bar in range(16):
        base = bar * 4 * TPB
        notes += [Note(base + b * TPB, TPB, p, 60) for b in range(4) for p in (48, 55, 64)]  # chords
        notes += [Note(base + b * TPB, TPB, 72 + (bar + b) % 5, 90) for b in range(4)]  # tune on top
    analysis = analyze_tracks(Score(tracks=[Track(program=0, name="Piano", notes=notes)]))
    assert analysis.melody_track is None
    assert analysis.extraction_track == 0
    assert "extract it from track 0" in analysis.describe()


def test_name_hints_in_several_languages() -> None:
    for name in ("Melody", "Lead Vocal", "Vocals", "Chant", "Voz", "Gesang", "Canto", "主旋律", "Lead Voca",
                 "MELODIE", "Singstimme"):
        assert "melody" in name_hints(name), name
    assert name_hints("Bass") == {"bass"}
    assert name_hints("Bass Drum") == {"drums"}
    assert name_hints("Guitar chords") == {"harmony"}
    assert name_hints("Strings") == {"harmony"}
    assert name_hints("Track 3") == set()
    assert name_hints("") == set()


def test_program_family() -> None:
    assert program_family(0) == "piano"
    assert program_family(33) == "bass"
    assert program_family(81) == "synth lead"
    assert program_family(127) == "sound effects"


def test_empty_and_drum_only_scores() -> None:
    assert analyze_tracks(Score()).tracks == ()
    drums = Score(tracks=[Track(is_drum=True, notes=[Note(0, 10, 36, 100)]), Track(name="Empty")])
    analysis = analyze_tracks(drums)
    assert [t.role for t in analysis.tracks] == ["drums", "empty"]
    assert analysis.melody_track is None and analysis.extraction_track is None
    assert "none" in analysis.describe()


def test_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="max_melody_polyphony"):
        RoleConfig(max_melody_polyphony=1.5)
    with pytest.raises(ConfigError, match="temperature"):
        RoleConfig(temperature=0)
