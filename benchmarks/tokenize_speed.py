"""Tokenization throughput, MIDI files on disk to token ids: symbolic's events against miditok's REMI.

Both tokenizers read the same files in the same process; each is warmed up once,
then timed end to end (file read, parse, tokenize) in ``--repeats`` interleaved
rounds (ours, theirs, ours, theirs...), and the best round of each counts.  Parsing
alone is timed the same way: ``read_midi`` against symusic, the C++ parser miditok uses.  miditok is configured as closely as it allows: REMI with
programs (one multi-track stream), tempos, time signatures, 32 velocities and
12 positions a beat for the first 4 beats.

Usage:
    python benchmarks/tokenize_speed.py                   # builds a corpus sample first (cached)
    python benchmarks/tokenize_speed.py --files DIR [DIR...]   # folders of MIDI files (real songs)
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


def time_rounds(fns, files, repeats: int) -> list[tuple[float, int]]:
    """Best time and result of each function over ``repeats`` interleaved rounds (after one warm-up each)."""
    for fn in fns:
        fn(files[:5])  # warm-up: imports, caches, the compiled scan
    best = [(float("inf"), 0)] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            count = fn(files)
            best[k] = min(best[k], (time.perf_counter() - start, count))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, nargs="+", help="folders of MIDI files (default: a corpus sample)")
    parser.add_argument("--limit", type=int, default=40, help="pieces per style of the corpus sample (default 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best counts (default 3)")
    args = parser.parse_args()

    from importlib import metadata

    from miditok import REMI, TokenizerConfig

    from symbolic import read_midi
    from symbolic.resources import default_event_tokenizer

    folders = args.files or [corpus_sample(args.limit)]
    files = sorted(p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        print(f"no MIDI files in {' '.join(map(str, folders))}", file=sys.stderr)
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

    import symusic

    def parse_ours(paths):
        return sum(read_midi(p).n_notes for p in paths)

    def parse_symusic(paths):
        return sum(symusic.Score(str(p)).note_num() for p in paths)

    n_notes = parse_ours(files)
    rounds = time_rounds([run_ours, run_theirs, parse_ours, parse_symusic], files, args.repeats)
    (ours_s, ours_tokens), (theirs_s, theirs_tokens), (parse_s, _), (symusic_s, _) = rounds
    result = {
        "files": len(files), "notes": n_notes, "repeats": args.repeats,
        "parse_seconds": {"symbolic": round(parse_s, 4), "symusic": round(symusic_s, 4)},
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
    print(f"parsing alone: symbolic {parse_s:.3f} s, symusic {symusic_s:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
