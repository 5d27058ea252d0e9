"""``symbolic tokenize`` and ``symbolic detokenize``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from symbolic.errors import DataError, SymbolicError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "tokenize", help="MIDI files to tokens, or --verify their round trip",
        description="Encode MIDI files as event tokens or note rolls.  With --verify, decode what was "
                    "encoded and compare note for note with the grid projection, and report what the "
                    "tokenization drops (control changes, pitch bends), the largest timing drift in seconds "
                    "and the files read leniently; the summary line reads "
                    "'verified N files: E exact, L lossy' and the exit code is 1 when any file is lossy "
                    "or unreadable.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="MIDI files or folders (searched recursively)")
    p.add_argument("--tokenizer", choices=("events", "roll"), default="events",
                   help="events: multi-track event stream (default); roll: 78-pitch note roll")
    p.add_argument("--verify", action="store_true", help="check the round trip instead of writing files")
    p.add_argument("--out", type=Path, help="folder for token files (<name>.tokens.json or <name>.roll.npz)")
    p.add_argument("--style", default=None, help="style token to put first (events only; default: none)")
    p.add_argument("--spec", default=None,
                   help="event tokenizer spec: a name in tokenizers/ or a .json path (default: the one new data uses)")
    p.add_argument("--frames-per-beat", type=int, default=4, help="note-roll frames per quarter note (default 4)")
    p.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p.set_defaults(handler=run_tokenize)

    d = commands.add_parser(
        "detokenize", help="a token file back to MIDI",
        description="Decode a .tokens.json or .roll.npz file written by 'symbolic tokenize' into a MIDI file.",
    )
    d.add_argument("tokens", type=Path, metavar="TOKENS", help="a .tokens.json or .roll.npz file")
    d.add_argument("--out", type=Path, required=True, help="output MIDI file")
    d.set_defaults(handler=run_detokenize)


def run_tokenize(args: argparse.Namespace) -> int:
    from symbolic.cli.common import expand_midi_paths
    from symbolic.paths import check_output_dir
    from symbolic.resources import DEFAULT_EVENTS_SPEC, tokenizer_spec_path
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.roll import NoteRollConfig

    if not args.verify and args.out is None:
        raise DataError("say where the token files go with --out DIR, or check the round trip with --verify")
    if args.out is not None:
        check_output_dir(args.out)
    found = [(path, Path(item) if Path(item).is_dir() else None) for item in args.files
             for path in expand_midi_paths([item])]
    if not found:
        raise DataError(f"no MIDI files found in {' '.join(args.files)}")
    tokenizer = EventTokenizer.from_spec(tokenizer_spec_path(args.spec or DEFAULT_EVENTS_SPEC))
    roll_config = NoteRollConfig(frames_per_beat=args.frames_per_beat)
    if args.style is not None:
        tokenizer.check_style(args.style)
    if args.verify:
        return _verify(args, [path for path, _ in found], tokenizer, roll_config)
    from symbolic.tokenization.files import plan_token_files, token_file_names
    from symbolic.utils import folder_lock

    suffix = ".tokens.json" if args.tokenizer == "events" else ".roll.npz"
    names = token_file_names(found, suffix)
    settings = {"tokenizer": args.tokenizer, "style": args.style,
                **({"events": tokenizer.config.to_dict()} if args.tokenizer == "events"
                   else {"frames_per_beat": args.frames_per_beat})}
    with folder_lock(args.out, "a tokenize run"):
        todo, done = plan_token_files([(path, args.out / name) for (path, _), name in zip(found, names)],
                                      args.out, settings)
        return _write_token_files(args, todo, len(done), tokenizer, roll_config)


def _write_token_files(args: argparse.Namespace, todo: list[tuple[Path, Path]], n_done: int, tokenizer,
                       roll_config) -> int:
    """Encode and atomically write each ``(MIDI file, token file)`` pair; print a line per file and a summary."""
    from symbolic.cli.common import read_scores
    from symbolic.tokenization.files import write_roll, write_tokens
    from symbolic.tokenization.roll import to_note_roll

    target_of = dict(todo)
    written = 0
    skipped: list[str] = []
    for path, score in read_scores([source for source, _ in todo], skipped):
        target = target_of[path]
        try:
            if args.tokenizer == "events":
                ids = tokenizer.encode(score, style=args.style)
                write_tokens(target, ids, tokenizer, args.style)
                detail = f"{len(ids)} tokens"
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    roll = to_note_roll(score, roll_config)
                write_roll(target, roll)
                detail = f"{roll.n_frames} frames" + (
                    f", {roll.n_out_of_range} notes out of range and {roll.n_drum_notes} drum notes left out"
                    if roll.n_out_of_range or roll.n_drum_notes else "")
        except SymbolicError as exc:
            skipped.append(str(exc))
            print(f"skipped: {path}: {exc}", file=sys.stderr)
            continue
        written += 1
        if not args.quiet:
            print(f"wrote {target}: {detail}")
    if skipped:
        print(f"{len(skipped)} files could not be read or encoded (listed above)")
    kept = f"; kept {n_done} written earlier with the same settings" if n_done else ""
    print(f"tokenized {written} files into {args.out}{kept}")
    return 1 if skipped else 0


def _verify(args: argparse.Namespace, files: list[Path], tokenizer, roll_config) -> int:
    """``tokenize --verify``: decode what was encoded and compare; print a line per file and a summary."""
    from symbolic.cli.common import read_scores
    from symbolic.tokenization.verify import check_events, roll_merge_count, verify_roll

    exact = lossy = 0
    skipped: list[str] = []
    lenient: list[str] = []
    dropped_files = dropped_controls = dropped_bends = 0
    max_drift = 0.0
    for path, score in read_scores(files, skipped, lenient):
        if args.tokenizer == "events":
            check = check_events(score, tokenizer)
            problems = check.problems
            max_drift = max(max_drift, check.max_drift_seconds)
            if check.dropped_controls or check.dropped_pitch_bends:
                dropped_files += 1
                dropped_controls += check.dropped_controls
                dropped_bends += check.dropped_pitch_bends
            detail = f"{score.n_notes} notes; max drift {check.max_drift_seconds:.3f} s" + (
                f"; dropped {check.dropped_controls} control changes and {check.dropped_pitch_bends} pitch bends"
                if check.dropped_controls or check.dropped_pitch_bends else "")
        else:
            problems = verify_roll(score, roll_config)
            detail = f"{score.n_notes} notes, {roll_merge_count(score, roll_config)} same-pitch overlaps merged"
        if problems:
            lossy += 1
            print(f"lossy: {path}: " + "; ".join(problems))
        else:
            exact += 1
            if not args.quiet:
                print(f"exact: {path} ({detail})")
    unreadable = len(skipped)
    if unreadable:
        print(f"{unreadable} files could not be read or encoded (listed above)")
    if args.tokenizer == "events":
        print(f"dropped by the tokenization (not notes): {dropped_controls} control changes and {dropped_bends} "
              f"pitch bends in {dropped_files} files; largest timing drift {max_drift:.3f} s")
    print(f"read leniently: {len(lenient)} files")
    print(f"verified {exact + lossy} files: {exact} exact, {lossy} lossy")
    return 1 if lossy or unreadable else 0


def run_detokenize(args: argparse.Namespace) -> int:
    from symbolic.outputs.midi import write_midi
    from symbolic.paths import check_input_file, check_output_file
    from symbolic.tokenization.files import read_roll, read_tokens
    from symbolic.tokenization.roll import NoteRollConfig, from_note_roll

    check_input_file(args.tokens, "token file")
    check_output_file(args.out)
    name = args.tokens.name
    if name.endswith(".npz"):
        roll = read_roll(args.tokens)
        score = from_note_roll(roll, NoteRollConfig(frames_per_beat=roll.frames_per_beat))
    elif name.endswith(".json"):
        ids, tokenizer = read_tokens(args.tokens)
        score = tokenizer.decode(ids)
    else:
        raise DataError(f"{args.tokens}: expected a .tokens.json or .roll.npz file")
    write_midi(score, args.out)
    print(f"wrote {args.out}: {score.n_notes} notes in {len(score.tracks)} tracks")
    return 0
