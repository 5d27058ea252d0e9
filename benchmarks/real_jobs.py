"""What a musician checks first in a job's output on a real file (docs/results/real-jobs.md).

    python benchmarks/real_jobs.py IN.mid OUT.mid [OUT2.mid ...]

For each output: is the melody (the one ``symbolic.jobs.arrange.find_melody`` finds in IN) kept note for
note; the key of the melody (``symbolic.analysis.keys.estimate_key`` on its duration-weighted pitch
classes); for each new part (a track whose notes are no input track's and not the melody): its range,
its own key, the share of its notes in the melody's scale, and the share of its notes that start above
the melody note sounding at that moment (crossing).  Reads with ``symbolic.inputs.midi.read_midi``.
"""

from __future__ import annotations

import bisect
import sys

import numpy as np

from symbolic.analysis.keys import estimate_key, scale_pitch_classes
from symbolic.inputs.midi import read_midi
from symbolic.jobs.arrange import find_melody

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _key(notes) -> tuple[int, bool] | None:
    histogram = np.zeros(12)
    for n in notes:
        histogram[n.pitch % 12] += n.duration_ticks
    return estimate_key(histogram)


def _name(key) -> str:
    return "none" if key is None else f"{NAMES[key[0]]} {'minor' if key[1] else 'major'}"


def check(source_path: str, out_path: str) -> list[str]:
    source, out = read_midi(source_path), read_midi(out_path)
    melody = find_melody(source).score
    melody_notes = melody.tracks[find_melody(source).melody_track].notes
    kept = [i for i, t in enumerate(out.tracks) if t.notes == melody_notes]
    transposed = [i for i, t in enumerate(out.tracks) if len(t.notes) == len(melody_notes) and t.notes and
                  len({b.pitch - a.pitch for a, b in zip(melody_notes, t.notes)}) == 1 and not kept]
    key = _key(melody_notes)
    scale = scale_pitch_classes(*key) if key else frozenset(range(12))
    lines = [f"{out_path}: melody {len(melody_notes)} notes, "
             + (f"kept note for note as track {kept[0]}" if kept else
                f"kept, transposed, as track {transposed[0]}" if transposed else "NOT kept")
             + f"; melody key {_name(key)}"]
    inputs = {tuple(t.notes) for t in source.tracks}
    onsets = [n.onset_ticks for n in melody_notes]
    for i, track in enumerate(out.tracks):
        if i in kept or tuple(track.notes) in inputs or not track.notes or track.is_drum:
            continue
        pitches = [n.pitch for n in track.notes]
        in_scale = np.mean([p % 12 in scale for p in pitches])
        above = []
        for n in track.notes:
            k = bisect.bisect_right(onsets, n.onset_ticks) - 1
            if k >= 0 and melody_notes[k].onset_ticks + melody_notes[k].duration_ticks > n.onset_ticks:
                above.append(n.pitch > melody_notes[k].pitch)
        lines.append(f"  new track {i} (program {track.program}): {len(pitches)} notes, MIDI {min(pitches)}-"
                     f"{max(pitches)}, key {_name(_key(track.notes))}, {in_scale:.0%} in the melody's scale, "
                     f"{np.mean(above) if above else 0:.0%} of {len(above)} notes under a sounding melody note "
                     "start above it")
    return lines


if __name__ == "__main__":
    for path in sys.argv[2:]:
        print("\n".join(check(sys.argv[1], path)))
