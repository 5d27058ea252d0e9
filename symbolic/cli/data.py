"""``symbolic data build``: a cached, style-labelled, tokenized data set."""

from __future__ import annotations

import argparse
from pathlib import Path

from symbolic.styles.registry import MUSIC21_STYLE_NAMES

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
    source = b.add_mutually_exclusive_group()
    source.add_argument("--corpus", choices=("music21",),
                        help=f"the corpus shipped inside the music21 wheel (styles: {', '.join(MUSIC21_STYLE_NAMES)})")
    source.add_argument("--midi-dir", type=Path, help="a folder of MIDI files, one subfolder per style")
    b.add_argument("--pop909", type=Path, help="the POP909 folder (NNN/NNN.mid with beat, chord and key "
                                               "annotations; style pop, bar lines on the annotated downbeats); "
                                               "with --corpus, one data set of both")
    b.add_argument("--out", type=Path, required=True, help="output folder (resumed if it exists)")
    b.add_argument("--styles", help="comma-separated subset of styles (music21 corpus only)")
    b.add_argument("--limit", type=int, help="at most N pieces per style (chosen by id hash); with --corpus and "
                                             "--pop909 it limits the corpus styles and POP909 is taken whole")
    b.add_argument("--workers", type=int, default=0,
                   help="worker processes that convert and tokenize (default 0: one per core this process may use)")
    b.add_argument("--valid-percent", type=int, default=10, help="share of pieces for validation (default 10)")
    b.add_argument("--test-percent", type=int, default=10, help="share of pieces for test (default 10)")
    b.add_argument("--shard-index", type=int, default=0,
                   help="build only shard I of --shard-count (pieces chosen by a hash of their path); "
                        "then combine the shard folders with 'symbolic data merge' (default 0)")
    b.add_argument("--shard-count", type=int, default=1, help="number of shards (machines) in all (default 1)")
    b.add_argument("--no-progress", action="store_true", help="hide progress bars")
    b.set_defaults(handler=run_build)

    m = sub.add_parser(
        "merge", help="combine the shard folders of a sharded build into one data set",
        description="Combine the output folders of 'symbolic data build --shard-index I --shard-count N' "
                    "(every I from 0 to N-1, copied from their machines) into one data set, the same as a "
                    "build of the whole selection on one machine.",
    )
    m.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR", help="the output folder of each shard")
    m.add_argument("--out", type=Path, required=True, help="output folder of the merged data set")
    m.set_defaults(handler=run_merge)


def run_build(args: argparse.Namespace) -> int:
    from symbolic.data.build import BuildConfig, build_dataset, combine_pieces, select_pieces
    from symbolic.data.corpus import list_midi_dir_pieces, list_music21_pieces
    from symbolic.errors import ConfigError
    from symbolic.paths import check_input_dir, check_output_dir
    from symbolic.resources import default_event_tokenizer
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.vocab import EventTokenizerConfig

    if not (args.corpus or args.midi_dir or args.pop909):
        raise ConfigError("name what to build from: --corpus music21, --midi-dir DIR or --pop909 DIR "
                          "(--corpus and --pop909 may go together)")
    if args.midi_dir is not None and args.pop909 is not None:
        raise ConfigError("--pop909 goes with --corpus, not with --midi-dir; build the MIDI folder on its own")
    check_output_dir(args.out, "data set folder")
    if args.midi_dir is not None:
        check_input_dir(args.midi_dir, "MIDI folder")
    both = bool(args.corpus and args.pop909)
    config = BuildConfig(workers=args.workers, valid_percent=args.valid_percent, test_percent=args.test_percent,
                         limit_per_style=None if both else args.limit, shard_index=args.shard_index,
                         shard_count=args.shard_count)
    tokenizer = default_event_tokenizer()
    if args.corpus:
        styles = [s.strip() for s in args.styles.split(",") if s.strip()] if args.styles else None
        pieces = list_music21_pieces(styles)
        if both:
            from symbolic.data.pop909 import list_pop909_pieces, with_pop_style

            pieces = combine_pieces(select_pieces(pieces, args.limit), list_pop909_pieces(args.pop909))
            tokenizer = with_pop_style(tokenizer)
    elif args.pop909:
        from symbolic.data.pop909 import list_pop909_pieces, with_pop_style

        pieces, tokenizer = list_pop909_pieces(args.pop909), with_pop_style(tokenizer)
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


def run_merge(args: argparse.Namespace) -> int:
    from symbolic.data.build import merge_shards
    from symbolic.paths import check_input_dir, check_output_dir

    for shard in args.shards:
        check_input_dir(shard, "shard folder")
    check_output_dir(args.out, "data set folder")
    print_build_summary(merge_shards(args.shards, args.out))
    return 0


def print_build_summary(result) -> None:
    """Print what a build did: sources, splits per style, moved and skipped pieces, time."""
    if result.reused:
        how = "reused the existing build (same pieces and settings; nothing converted or tokenized)"
    else:
        parts = []
        if result.converted or result.cached:
            parts.append(f"converted {result.converted} pieces, loaded {result.cached} from the cache")
        if result.midi_files:
            parts.append(f"read {result.midi_files} MIDI files")
        if result.rebuilt:
            parts.append(f"converted {result.rebuilt} broken cache entries again")
        how = "; ".join(parts) or "no pieces"
    if result.shard is not None:
        index, count = result.shard
        print(f"shard {index} of {count} in {result.out_dir}: {how}, {result.seconds:.1f} s")
        print(f"  {result.n_pieces['all']} pieces, {result.n_tokens['all']} tokens; when every shard is built, "
              f"combine the {count} shard folders with 'symbolic data merge SHARD_DIR... --out DIR'")
        _print_failures(result.failures)
        return
    print(f"data set in {result.out_dir}: {how}, {result.seconds:.1f} s")
    for split in ("train", "valid", "test"):
        print(f"  {split:5s}: {result.n_pieces[split]:6d} pieces, {result.n_tokens[split]:9d} tokens")
    if result.split_counts:
        print("  split by a hash of each piece's id; every style with 3 or more pieces has at least one piece in "
              "valid and in test, and every style one in train:")
        for style, counts in result.split_counts.items():
            print(f"    {style}: " + ", ".join(f"{counts[s]} {s}" for s in ("train", "valid", "test")))
    for move in result.moved:
        print(f"  moved {move['id']} from {move['from']} to {move['to']} (so that its style is in {move['to']})")
    _print_failures(result.failures)


def _print_failures(failures: list[dict]) -> None:
    if failures:
        n = len(failures)
        print(f"  skipped {n} piece{'s' if n != 1 else ''} (listed under \"failures\" in manifest.json):")
        for failure in failures[:10]:
            print(f"    {failure['id']}: {failure['reason'][:160]}")
        if len(failures) > 10:
            print(f"    ... and {len(failures) - 10} more")
