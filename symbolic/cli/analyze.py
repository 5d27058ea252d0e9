"""``symbolic analyze``: each track's role, and the melody taken out of a piano track when no track is one."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "analyze", help="the role of each track (melody, bass, harmony, drums...)",
        description="Print each track's role (melody, counter-melody, bass, harmony, drums, empty) with a "
                    "confidence and the reasons. When no track is a melody line (a one-track piano "
                    "arrangement), say which track's top voice carries it and how many of its notes the "
                    "melody extractor takes.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="MIDI files or folders")
    p.add_argument("--out", type=Path, metavar="OUT.mid",
                   help="with one FILE whose melody must be extracted: write it with that track split into "
                        "'Melody (extracted)' and the rest")
    p.set_defaults(handler=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    from symbolic.analysis.beats import performance_warning
    from symbolic.analysis.roles import analyze_tracks
    from symbolic.cli.common import expand_midi_paths, read_scores
    from symbolic.errors import DataError
    from symbolic.jobs.arrange import find_melody
    from symbolic.outputs.midi import write_midi

    files = expand_midi_paths(args.files)
    if not files:
        raise DataError(f"no MIDI files found in {' '.join(args.files)}")
    if args.out is not None and len(files) != 1:
        raise DataError(f"--out takes one input file, got {len(files)}")
    skipped: list[str] = []
    for path, score in read_scores(files, skipped):
        analysis = analyze_tracks(score)
        print(f"{path}: {len(score.tracks)} tracks")
        warning = performance_warning(score, str(path))  # the jobs print it too, before they run
        if warning is not None:
            print(f"warning: {warning}")
        print(analysis.describe())
        index = analysis.extraction_track
        if index is not None:
            choice = find_melody(score)  # what the jobs keep, and their words for it
            melody = choice.score.tracks[choice.melody_track].notes
            print(f"extracted melody (MIDI {min((n.pitch for n in melody), default=0)}-"
                  f"{max((n.pitch for n in melody), default=0)}): {choice.decision.removeprefix('melody: ')}")
            if args.out is not None:
                write_midi(choice.score, args.out)
                print(f"wrote {args.out}")
        elif args.out is not None:
            print(f"nothing to extract in {path}; {args.out} not written")
    if skipped:
        print(f"analyzed {len(files) - len(skipped)} files; skipped {len(skipped)} (listed above)")
    return 1 if skipped else 0
