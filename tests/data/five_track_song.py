"""The five-track pop song of issue 14, on which the old melody chooser picks the bass."""

from __future__ import annotations

import numpy as np

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
