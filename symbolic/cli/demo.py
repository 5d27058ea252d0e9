"""``symbolic demo``: the main job on the embedded corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run_demo"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo", help="build a small corpus slice, tokenize it, verify the round trip, summarize",
        description="Build a small style-labelled slice of the music21 corpus, check that both "
                    "tokenizations round-trip every piece, and write an example decoded MIDI.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default demo-out)")
    p.add_argument("--limit", type=int, default=12, help="pieces per style (default 12)")
    p.add_argument("--styles", default="chorale,renaissance,classical,irish,german-folk",
                   help="comma-separated corpus styles")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    import os

    from symbolic.cli.data import print_build_summary
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_music21_pieces
    from symbolic.inputs.midi import read_midi
    from symbolic.outputs.midi import write_midi
    from symbolic.resources import default_event_tokenizer
    from symbolic.tokenization.roll import NoteRollConfig
    from symbolic.tokenization.verify import verify_events, verify_roll

    tokenizer = default_event_tokenizer()
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    pieces = list_music21_pieces(styles)
    print(f"demo: building {args.limit} pieces per style of {', '.join(styles)} from the music21 corpus")
    result = build_dataset(pieces, args.out / "data", tokenizer,
                           BuildConfig(workers=max(1, os.cpu_count() or 1), limit_per_style=args.limit))
    print_build_summary(result)

    cached = sorted((args.out / "data" / "cache").glob("*.mid"))
    notes = tokens = 0
    exact_events = exact_roll = 0
    for path in cached:
        score = read_midi(path)
        ids = tokenizer.encode(score)
        notes += score.n_notes
        tokens += len(ids)
        exact_events += not verify_events(score, tokenizer)
        exact_roll += not verify_roll(score, NoteRollConfig(frames_per_beat=12))
    print(f"round trip over {len(cached)} pieces: events exact {exact_events}/{len(cached)}, "
          f"note roll (12 frames a beat) exact {exact_roll}/{len(cached)}")
    if notes:
        print(f"event tokens per note: {tokens / notes:.2f} ({tokens} tokens, {notes} notes)")
    if cached:
        example = read_midi(cached[0])
        ids = tokenizer.encode(example, style=None)
        out = write_midi(tokenizer.decode(ids), args.out / "example-roundtrip.mid")
        print(f"first tokens of {cached[0].name}: {' '.join(tokenizer.token_names(ids[:16]))} ...")
        print(f"wrote {out}")
    return 0
