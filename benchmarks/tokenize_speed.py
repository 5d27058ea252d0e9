"""Tokenization throughput, MIDI files on disk to token ids: symbolic's events against miditok's REMI.

Both tokenizers read the same files in the same process; each is warmed up once,
then timed end to end (file read, parse, tokenize) over ``--repeats`` passes, and
the best pass counts.  miditok is configured as closely as it allows: REMI with
programs (one multi-track stream), tempos, time signatures, 32 velocities and
12 positions a beat for the first 4 beats.

Usage:
    python benchmarks/tokenize_speed.py                   # builds a corpus sample first (cached)
    python benchmarks/tokenize_speed.py --files DIR       # any folder of MIDI files
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def corpus_sample(limit: int) -> Path:
    """MIDI exports of ``limit`` pieces per style of the music21 corpus (built once, then cached)."""
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_music21_pieces
    from symbolic.resources import default_event_tokenizer

    out = HERE / "out" / f"corpus-{limit}"
    build_dataset(list_music21_pieces(), out, default_event_tokenizer(), BuildConfig(limit_per_style=limit))
    return out / "cache"


def time_passes(fn, files, repeats: int) -> tuple[float, int]:
    fn(files[:5])  # warm-up: imports, caches
    best, count = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn(files)
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, help="folder of MIDI files (default: a corpus sample)")
    parser.add_argument("--limit", type=int, default=40, help="pieces per style of the corpus sample (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best counts (default 3)")
    args = parser.parse_args()

    from importlib import metadata

    from miditok import REMI, TokenizerConfig

    from symbolic import read_midi
    from symbolic.resources import default_event_tokenizer

    folder = args.files or corpus_sample(args.limit)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        print(f"no MIDI files in {folder}", file=sys.stderr)
        return 2
    ours = default_event_tokenizer()
    theirs = REMI(TokenizerConfig(num_velocities=32, use_programs=True, use_tempos=True, use_time_signatures=True,
                                  beat_res={(0, 4): 12, (4, 12): 4}))

    def run_ours(paths):
        return sum(len(ours.encode(read_midi(p))) for p in paths)

    def run_theirs(paths):
        total = 0
        for p in paths:
            seq = theirs.encode(p)
            total += len(seq.ids) if hasattr(seq, "ids") else sum(len(s.ids) for s in seq)
        return total

    n_notes = sum(read_midi(p).n_notes for p in files)
    ours_s, ours_tokens = time_passes(run_ours, files, args.repeats)
    theirs_s, theirs_tokens = time_passes(run_theirs, files, args.repeats)
    result = {
        "files": len(files), "notes": n_notes, "repeats": args.repeats,
        "symbolic": {"seconds": round(ours_s, 4), "files_per_s": round(len(files) / ours_s, 1),
                     "notes_per_s": round(n_notes / ours_s), "tokens_per_note": round(ours_tokens / n_notes, 3)},
        "miditok_remi": {"seconds": round(theirs_s, 4), "files_per_s": round(len(files) / theirs_s, 1),
                         "notes_per_s": round(n_notes / theirs_s), "tokens_per_note": round(theirs_tokens / n_notes, 3),
                         "version": metadata.version("miditok")},
        "speedup": round(theirs_s / ours_s, 2),
        "machine": f"{platform.processor() or platform.machine()}, python {platform.python_version()}",
    }
    out = HERE / "out" / "tokenize_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(files)} files, {n_notes} notes, best of {args.repeats}")
    print(f"{'tokenizer':14s} {'seconds':>8s} {'files/s':>8s} {'notes/s':>9s} {'tokens/note':>11s}")
    for name, key in (("symbolic", "symbolic"), ("miditok REMI", "miditok_remi")):
        r = result[key]
        print(f"{name:14s} {r['seconds']:8.3f} {r['files_per_s']:8.1f} {r['notes_per_s']:9d} {r['tokens_per_note']:11.2f}")
    print(f"symbolic is {result['speedup']:.2f}x the speed of miditok REMI")
    return 0


if __name__ == "__main__":
    sys.exit(main())
