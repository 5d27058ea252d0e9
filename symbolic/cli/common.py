"""What the commands share: finding MIDI files, and reading them with bad files skipped and reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

from symbolic.errors import SymbolicError
from symbolic.inputs.midi import is_midi_path
from symbolic.score import Score

__all__ = ["expand_midi_paths", "read_scores", "add_threads_option"]

def add_threads_option(parser, what: str = "torch threads") -> None:
    """The ``--threads`` option of a command that computes (0, the default, leaves it to symbolic.threads)."""
    parser.add_argument("--threads", type=int, default=0,
                        help=f"{what} (default 0: one for one sequence, else the cores other processes leave "
                             "free, at most OMP_NUM_THREADS when set; 1 leaves a core for other work)")


def expand_midi_paths(items: list[str]) -> list[Path]:
    """Files as given, folders expanded to the MIDI files below them (sorted)."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and is_midi_path(p))
        else:
            out.append(path)
    return out


def read_scores(paths: list[Path], skipped: list[str], lenient: list[str] | None = None) -> Iterator[tuple[Path, Score]]:
    """``(path, score)`` for each readable file; an unreadable one is reported on stderr and added to ``skipped``.

    With ``lenient``, the :class:`~symbolic.errors.MidiWarning` of each file read leniently is added to it
    (and printed to stderr) instead of going through :mod:`warnings`.
    """
    import warnings

    from symbolic.errors import MidiWarning
    from symbolic.inputs.midi import read_midi

    for path in paths:
        try:
            with warnings.catch_warnings(record=lenient is not None) as caught:
                if lenient is not None:
                    warnings.simplefilter("always", MidiWarning)
                score = read_midi(path)
            for w in caught or ():
                if issubclass(w.category, MidiWarning):
                    lenient.append(str(w.message))
                    print(f"read leniently: {w.message}", file=sys.stderr)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        except SymbolicError as exc:
            skipped.append(str(exc))
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        yield path, score
