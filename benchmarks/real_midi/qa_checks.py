"""Checks used in docs/results/real-files-qa.md: melody-track choice, harmony of new parts, piano rolls.

    python benchmarks/real_midi/qa_checks.py melody [FOLDER]            # choose_melody_track on every file
    python benchmarks/real_midi/qa_checks.py harmony IN.mid OUT.mid     # new parts of a job output vs its input
    python benchmarks/real_midi/qa_checks.py roll OUT.png A.mid [B.mid ...] [--bars FIRST:LAST]

*harmony* prints, for each output track whose notes are not an input track's notes (a new part):
the share of its notes whose pitch class sounds in no non-drum input track in the same 4-beat
window ("foreign"), and the share of the time it overlaps kept notes a semitone (mod 12) away
("m2/M7 clash"); then the same two numbers for each input track against the other input tracks,
which is what the human arrangement scores.  Reads with ``symbolic.inputs.midi.read_midi``.
"""

from __future__ import annotations

import argparse
import bisect
import sys
from pathlib import Path

from symbolic.inputs.midi import read_midi

WINDOW_BEATS = 4.0


def _spans(track, ticks_per_beat: int) -> list[tuple[float, float, int]]:
    """(onset, offset, pitch) in beats, sorted."""
    return sorted((n.onset_ticks / ticks_per_beat, (n.onset_ticks + n.duration_ticks) / ticks_per_beat, n.pitch)
                  for n in track.notes)


def _window_pitch_classes(tracks, ticks_per_beat: int) -> dict[int, set[int]]:
    """Pitch classes sounding in each 4-beat window, over the non-drum ``tracks``."""
    windows: dict[int, set[int]] = {}
    for track in tracks:
        if track.is_drum:
            continue
        for onset, offset, pitch in _spans(track, ticks_per_beat):
            w = int(onset // WINDOW_BEATS)
            while w * WINDOW_BEATS < offset:
                windows.setdefault(w, set()).add(pitch % 12)
                w += 1
    return windows


def foreign_share(spans, windows: dict[int, set[int]]) -> float:
    """Share of notes whose pitch class is not in ``windows`` at their onset's window (nan when no notes)."""
    if not spans:
        return float("nan")
    return sum(p % 12 not in windows.get(int(on // WINDOW_BEATS), set()) for on, _, p in spans) / len(spans)


def semitone_clash(spans, others) -> float:
    """Share of overlap time between ``spans`` and ``others`` spent a semitone (mod 12) apart (nan when none)."""
    others = sorted(others)
    starts = [o[0] for o in others]
    longest = max((off - on for on, off, _ in others), default=0.0)
    total = bad = 0.0
    for onset, offset, pitch in spans:
        first = bisect.bisect_left(starts, onset - longest)
        for on2, off2, p2 in others[first:bisect.bisect_left(starts, offset)]:
            overlap = min(offset, off2) - max(onset, on2)
            if overlap > 0:
                total += overlap
                bad += overlap * ((pitch - p2) % 12 in (1, 11))
    return bad / total if total else float("nan")


def harmony(input_path: Path, output_path: Path) -> None:
    given, made = read_midi(input_path), read_midi(output_path)
    known = {tuple(_spans(t, given.ticks_per_beat)) for t in given.tracks}
    kept, new = [], []
    for track in made.tracks:
        if not track.is_drum and track.notes:
            spans = _spans(track, made.ticks_per_beat)
            (kept if tuple(spans) in known else new).append((track.name, spans))
    windows = _window_pitch_classes(given.tracks, given.ticks_per_beat)
    kept_spans = [s for _, spans in kept for s in spans]
    print(f"{output_path.name}: kept {[n for n, _ in kept]}, new {[n for n, _ in new]}")
    for name, spans in new:
        print(f"  new {name!r}: foreign {foreign_share(spans, windows):.3f}, m2/M7 clash {semitone_clash(spans, kept_spans):.3f}")
    for i, track in enumerate(given.tracks):
        if track.is_drum or not track.notes:
            continue
        rest = [t for j, t in enumerate(given.tracks) if j != i]
        spans = _spans(track, given.ticks_per_beat)
        other_spans = [s for t in rest if not t.is_drum for s in _spans(t, given.ticks_per_beat)]
        print(f"  input {i} {track.name!r}: foreign {foreign_share(spans, _window_pitch_classes(rest, given.ticks_per_beat)):.3f}, "
              f"m2/M7 clash {semitone_clash(spans, other_spans):.3f}")


def melody(folder: Path) -> None:
    from symbolic.jobs.arrange import choose_melody_track

    for path in sorted(folder.rglob("*.mid")):
        score = read_midi(path)
        i = choose_melody_track(score)
        track = score.tracks[i]
        names = ", ".join(f"{j}:{t.name[:14]!r}/p{t.program}" for j, t in enumerate(score.tracks) if t.notes and not t.is_drum)
        print(f"{path.relative_to(folder)}: chose {i} {track.name!r} program {track.program} | {names}")


def roll(png: Path, paths: list[Path], bars: tuple[float, float] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(paths), 1, figsize=(16, 4.2 * len(paths)), squeeze=False)
    for ax, path in zip(axes[:, 0], paths):
        score = read_midi(path)
        for i, track in enumerate(score.tracks):
            colour = plt.get_cmap("tab10")(i % 10)
            for onset, offset, pitch in _spans(track, score.ticks_per_beat):
                ax.plot([onset / WINDOW_BEATS, offset / WINDOW_BEATS], [pitch, pitch], color=colour,
                        lw=1 if track.is_drum else 2.2, alpha=0.35 if track.is_drum else 0.9)
            ax.plot([], [], color=colour, lw=3, label=f"{i}:{track.name[:18]} p{track.program}{' drums' if track.is_drum else ''}")
        ax.set(title=path.name, xlabel="bar (4 beats)", ylabel="MIDI pitch")
        if bars:
            ax.set_xlim(*bars)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=70)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="check", required=True)
    sub.add_parser("melody").add_argument("folder", type=Path, nargs="?", default=Path("/work/real-midi"))
    h = sub.add_parser("harmony")
    h.add_argument("input", type=Path)
    h.add_argument("output", type=Path)
    r = sub.add_parser("roll")
    r.add_argument("png", type=Path)
    r.add_argument("files", type=Path, nargs="+")
    r.add_argument("--bars", help="FIRST:LAST, in 4-beat bars")
    args = parser.parse_args(argv)
    if args.check == "melody":
        melody(args.folder)
    elif args.check == "harmony":
        harmony(args.input, args.output)
    else:
        roll(args.png, args.files, tuple(float(x) for x in args.bars.split(":")) if args.bars else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
