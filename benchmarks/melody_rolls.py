"""Piano rolls of the extracted melody against the rest, for one-track piano files and performances.

    python benchmarks/melody_rolls.py FILE.mid [FILE.mid ...] --out benchmarks/out/melody-rolls [--beats 64]

For each file, the first pitched track with notes is split by :func:`symbolic.analysis.melody.split_melody_track`;
the PNG shows the first ``--beats`` beats, the extracted line in blue over the rest in orange, and the console
gives the counts and the line's range, the share of its notes that are the skyline's and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbolic.analysis.melody import skyline_mask, split_melody_track  # noqa: E402
from symbolic.evaluation.figures import write_piano_rolls  # noqa: E402
from symbolic.inputs.midi import read_midi  # noqa: E402
from symbolic.score import Note, Score  # noqa: E402


def window(score: Score, beats: float) -> Score:
    """The notes of ``score`` that start in its first ``beats`` beats (from its first note)."""
    onsets = [n.onset_ticks for t in score.tracks for n in t.notes]
    start = min(onsets, default=0)
    end = start + beats * score.ticks_per_beat
    keep = lambda notes: [Note(n.onset_ticks - start, *n[1:]) for n in notes if start <= n.onset_ticks < end]  # noqa: E731
    return replace(score, tracks=[replace(t, notes=keep(t.notes)) for t in score.tracks])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "melody-rolls")
    parser.add_argument("--beats", type=float, default=64.0, help="beats shown per file (default 64)")
    args = parser.parse_args()
    for path in args.files:
        score = read_midi(path)
        index = next((i for i, t in enumerate(score.tracks) if t.notes and not t.is_drum), None)
        if index is None:
            print(f"{path}: no pitched track; skipped")
            continue
        notes = score.tracks[index].notes
        start = time.process_time()
        split = split_melody_track(score, index)
        seconds = time.process_time() - start
        line = split.tracks[index].notes
        on_top = set(n for n, top in zip(notes, skyline_mask(notes)) if top)
        pitches = np.array([n.pitch for n in line]) if line else np.zeros(1)
        print(f"{path.name}: {len(notes)} notes, {len(line)} extracted as melody (MIDI {pitches.min():.0f}-"
              f"{pitches.max():.0f}), {sum(n in on_top for n in line) / max(len(line), 1):.0%} of them the skyline's; "
              f"{seconds:.2f} CPU s")
        shown = window(replace(split, tracks=[split.tracks[index], split.tracks[index + 1]]), args.beats)
        png = write_piano_rolls(args.out / f"{path.stem}.png", [(f"{path.name}: extracted melody (blue), rest "
                                                                   f"(orange), first {args.beats:g} beats", shown)])
        print(f"  {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
