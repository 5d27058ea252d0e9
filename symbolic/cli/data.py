"""``symbolic data build``: a cached, style-labelled, tokenized data set."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from symbolic.styles.registry import STYLE_NAMES

__all__ = ["register", "print_build_summary"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("data", help="build training data sets",
                            description="Build style-labelled, tokenized data sets.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    b = sub.add_parser(
        "build", help="build a data set from the music21 corpus or a MIDI folder",
        description="Convert (in parallel, cached, resumable), tokenize and split pieces into "
                    "train/valid/test shards.  A second run of the same selection only loads.",
    )
    source = b.add_mutually_exclusive_group(required=True)
    source.add_argument("--corpus", choices=("music21",),
                        help=f"the corpus shipped inside the music21 wheel (styles: {', '.join(STYLE_NAMES)})")
    source.add_argument("--midi-dir", type=Path, help="a folder of MIDI files, one subfolder per style")
    b.add_argument("--out", type=Path, required=True, help="output folder (resumed if it exists)")
    b.add_argument("--styles", help="comma-separated subset of styles (music21 corpus only)")
    b.add_argument("--limit", type=int, help="at most N pieces per style (chosen by id hash)")
    b.add_argument("--workers", type=int, default=max(1, os.cpu_count() or 1),
                   help="conversion processes (default: all cores)")
    b.add_argument("--valid-percent", type=int, default=10, help="share of pieces for validation (default 10)")
    b.add_argument("--test-percent", type=int, default=10, help="share of pieces for test (default 10)")
    b.add_argument("--no-progress", action="store_true", help="hide progress bars")
    b.set_defaults(handler=run_build)


def run_build(args: argparse.Namespace) -> int:
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_midi_dir_pieces, list_music21_pieces
    from symbolic.errors import ConfigError
    from symbolic.resources import default_event_tokenizer
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.vocab import EventTokenizerConfig

    config = BuildConfig(workers=args.workers, valid_percent=args.valid_percent, test_percent=args.test_percent,
                         limit_per_style=args.limit)
    tokenizer = default_event_tokenizer()
    if args.corpus:
        styles = [s.strip() for s in args.styles.split(",") if s.strip()] if args.styles else None
        pieces = list_music21_pieces(styles)
    else:
        if args.styles:
            raise ConfigError("--styles picks corpus styles; for a MIDI folder the subfolders are the styles")
        pieces = list_midi_dir_pieces(args.midi_dir)
        styles = tuple(dict.fromkeys(p.style for p in pieces))
        base = tokenizer.config.to_dict()
        base["styles"] = list(styles)
        tokenizer = EventTokenizer(EventTokenizerConfig.from_dict(base))
    result = build_dataset(pieces, args.out, tokenizer, config, progress=not args.no_progress)
    print_build_summary(result)
    return 0


def print_build_summary(result) -> None:
    """Print what a build produced, its failures and its time."""
    how = "reused the existing build" if result.reused else (
        f"converted {result.converted} pieces, {result.cached} from cache")
    print(f"data set in {result.out_dir}: {how}, {result.seconds:.1f} s")
    for split in ("train", "valid", "test"):
        print(f"  {split:5s}: {result.n_pieces[split]:6d} pieces, {result.n_tokens[split]:9d} tokens")
    if result.failures:
        print(f"  skipped {len(result.failures)} pieces that failed to convert (see manifest.json), e.g.:")
        for failure in result.failures[:5]:
            print(f"    {failure['id']}: {failure['reason'][:160]}")
