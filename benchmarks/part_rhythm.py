"""The rhythm of the accompanying parts in each style's training pieces.

For every training piece of the data set, the pitched tracks other than the
highest (the parts under the melody; a one-track piece counts its only track) are
measured: where in the beat their notes start (on the beat, on an eighth, on a
sixteenth, elsewhere) and how long they last.  ``StyleTexture.part_rhythm`` keeps
the coarsest grid holding at least 95% of the onsets and the longest minimum
note holding at least 95% of the notes, and the durations to whole numbers of
grid steps where that holds for 95% of the notes too.  It also counts the notes that start while
the part's previous note still sounds, apart (``over``) and together with it
(``chord``): ``StyleTexture.part_lines`` is set where fewer than 1% of the notes
start over another, ``part_chords`` where chords are more common than that.  And
it counts the notes (after a part's first) that start right where the part's
sound stopped, with no rest: ``part_legato`` where that holds for 95% of them.  And each part's onsets
(distinct note starts) a beat over the piece's span (first onset to last release):
``part_onsets_per_beat`` is their median; ``part_longest_beats`` is the 99.5th percentile of the note lengths.

    python benchmarks/part_rhythm.py --data data/m21-300
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from symbolic.inputs.midi import read_midi

GRIDS = ((1, "beat"), (2, "eighth"), (4, "sixteenth"))
SHORTEST = ((1, "quarter"), (2, "eighth"), (4, "sixteenth"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/m21-300"))
    parser.add_argument("--share", type=float, default=0.95, help="share of notes a rule must hold")
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    onsets: dict[str, Counter] = defaultdict(Counter)
    lengths: dict[str, list[float]] = defaultdict(list)
    overlaps: dict[str, Counter] = defaultdict(Counter)
    legato: dict[str, Counter] = defaultdict(Counter)
    rates: dict[str, list[float]] = defaultdict(list)  # onsets a beat of each part
    for piece in manifest["pieces"]:
        if piece["split"] != "train":
            continue
        score = read_midi(piece["midi"])
        tpb = score.ticks_per_beat
        tracks = [t for t in score.tracks if t.notes and not t.is_drum]
        if len(tracks) > 1:
            tracks = sorted(tracks, key=lambda t: -sum(n.pitch for n in t.notes) / len(t.notes))[1:]
        notes = [n for t in score.tracks for n in t.notes]
        span_beats = (max(n.onset_ticks + n.duration_ticks for n in notes) - min(n.onset_ticks for n in notes)) / tpb
        for track in tracks:
            rates[piece["style"]].append(len({n.onset_ticks for n in track.notes}) / max(span_beats, 1))
            reach, last_onset = -1, -1
            for note in sorted(track.notes):
                if note.onset_ticks < reach:
                    overlaps[piece["style"]]["chord" if note.onset_ticks == last_onset else "over"] += 1
                if reach >= 0:
                    legato[piece["style"]][note.onset_ticks <= reach] += 1
                reach, last_onset = max(reach, note.onset_ticks + note.duration_ticks), note.onset_ticks
                offset = note.onset_ticks % tpb
                grid = next((n for n, _ in GRIDS if (offset * n) % tpb == 0), 0)
                onsets[piece["style"]][grid] += 1
                lengths[piece["style"]].append(note.duration_ticks / tpb)
    for style in sorted(onsets):
        total = sum(onsets[style].values())
        shares = {name: sum(v for g, v in onsets[style].items() if g and g <= n) / total for n, name in GRIDS}
        grid = next((name for n, name in GRIDS if shares[name] >= args.share), "none")
        at_least = {name: sum(d >= 1 / n - 1e-9 for d in lengths[style]) / len(lengths[style])
                    for n, name in SHORTEST}
        shortest = next((name for n, name in SHORTEST if at_least[name] >= args.share), "none")
        print(f"{style:12s} {total:7d} notes  onsets on: " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items())
              + "  lasting at least: " + ", ".join(f"{k} {v:.3f}" for k, v in at_least.items())
              + f"  -> grid {grid}, shortest {shortest}")
        whole = {name: sum(abs(d * n - round(d * n)) < 1e-6 for d in lengths[style]) / len(lengths[style])
                 for n, name in GRIDS}
        print(f"{'':12s} lasting a whole number of: " + ", ".join(f"{k}s {v:.3f}" for k, v in whole.items()))
        over, chord = (overlaps[style][k] / total for k in ("over", "chord"))
        print(f"{'':12s} starting over the part's previous note: {over:.4f}, with it (chords): {chord:.4f}"
              f"  -> lines {over < 0.01}, chords {chord >= 0.01}")
        joined = legato[style][True] / max(1, sum(legato[style].values()))
        print(f"{'':12s} starting with no rest after the part's previous note: {joined:.4f}  -> legato {joined >= args.share}")
        ordered = sorted(lengths[style])
        print(f"{'':12s} note lengths in beats: 95th percentile {ordered[int(0.95 * len(ordered))]:.2f}, 99th "
              f"{ordered[int(0.99 * len(ordered))]:.2f}, 99.5th {ordered[int(0.995 * len(ordered))]:.2f}  -> part_longest_beats")
        ordered = sorted(rates[style])
        print(f"{'':12s} onsets a beat of a part: 10th percentile {ordered[len(ordered) // 10]:.2f}, median "
              f"{ordered[len(ordered) // 2]:.2f} ({len(ordered)} parts)  -> part_onsets_per_beat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
