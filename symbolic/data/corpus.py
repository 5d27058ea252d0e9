"""The music21 corpus as a style-labelled collection, and a user's MIDI folder as one.

The music21 wheel ships its corpus; we take style labels from the collection a
piece belongs to.  Multi-tune ABC files (O'Neill's, Aird's, Essen) are split
into one piece per tune, so each tune has its own identity, cache entry and
split.  A piece id is ``<collection path>[#<tune number>]`` and never changes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from symbolic.data.piece import CorpusPiece
from symbolic.errors import DataError, StyleError
from symbolic.inputs.midi import is_midi_path, read_midi
from symbolic.score import Score
from symbolic.styles.registry import STYLES

__all__ = [
    "MUSIC21_STYLES",
    "music21_corpus_root",
    "list_music21_pieces",
    "list_midi_dir_pieces",
    "load_piece",
]

# style -> (folder, file-name pattern) pairs inside music21/corpus, from the style registry.
MUSIC21_STYLES: dict[str, tuple[tuple[str, str], ...]] = {name: spec.corpus_sources for name, spec in STYLES.items()
                                                          if spec.collection == "music21"}


def music21_corpus_root() -> Path:
    """The ``corpus`` folder inside the installed music21 package."""
    import importlib.util

    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("music21 is not installed; pip install music21 (it ships the corpus we use)")
    return Path(list(spec.submodule_search_locations)[0]) / "corpus"


def list_music21_pieces(styles: list[str] | None = None) -> list[CorpusPiece]:
    """Every piece of the chosen styles (all five by default), sorted by id.

    Raises:
        StyleError: a style that the corpus does not have.
    """
    root = music21_corpus_root()
    chosen = list(styles) if styles else list(MUSIC21_STYLES)
    for style in chosen:
        if style not in MUSIC21_STYLES:
            raise StyleError(f"unknown corpus style {style!r}; the music21 corpus has: {', '.join(MUSIC21_STYLES)}")
    pieces: list[CorpusPiece] = []
    for style in chosen:
        for folder, pattern in MUSIC21_STYLES[style]:
            regex = re.compile(pattern)
            base = root / folder
            for path in sorted(base.rglob("*")):
                if not path.is_file() or not regex.search(path.name):
                    continue
                rel = path.relative_to(root).as_posix()
                if path.suffix == ".abc":
                    for number in _abc_tune_numbers(path):
                        pieces.append(CorpusPiece(f"{rel}#{number}", style, str(path), number))
                else:
                    pieces.append(CorpusPiece(rel, style, str(path)))
    pieces.sort(key=lambda p: p.id)
    return pieces


def list_midi_dir_pieces(directory: str | os.PathLike[str]) -> list[CorpusPiece]:
    """Pieces of a user's folder: every MIDI file below ``DIR/<style>/``, style = subfolder name.

    Raises:
        DataError: the folder is missing or has no style subfolder with MIDI files.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: MIDI folder not found")
    pieces = []
    for sub in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(sub.rglob("*")):
            if path.is_file() and is_midi_path(path):
                pieces.append(CorpusPiece(path.relative_to(directory).as_posix(), sub.name, str(path)))
    if not pieces:
        raise DataError(f"{directory}: no MIDI files found in style subfolders; lay it out as "
                        f"{directory}/<style>/<piece>.mid, one subfolder per style")
    return pieces


def _abc_tune_numbers(path: Path) -> list[int]:
    numbers = []
    for line in path.read_text(encoding="latin-1").splitlines():
        m = re.match(r"^X:\s*(\d+)", line)
        if m:
            numbers.append(int(m.group(1)))
    # A number repeated in one file makes its tunes ambiguous: keep the first of each.
    return list(dict.fromkeys(numbers))


def _abc_tune_text(path: str, number: int) -> str:
    text = Path(path).read_text(encoding="latin-1")
    chunks = re.split(r"(?m)^(?=X:)", text)
    for chunk in chunks:
        m = re.match(r"X:\s*(\d+)", chunk)
        if m and int(m.group(1)) == number:
            return chunk
    raise DataError(f"{path}: tune X:{number} not found")


def load_piece(piece: CorpusPiece) -> Score:
    """Read one piece into a score (music21 for corpus files, our reader for MIDI).

    Raises:
        SymbolicError: the piece cannot be read; the message names it.
    """
    from symbolic.errors import SymbolicError

    if is_midi_path(piece.path):
        return read_midi(piece.path)
    if piece.id.startswith("pop909/"):  # a POP909 song folder: aligned to its annotated beats
        from symbolic.data.pop909 import load_pop909_score

        return load_pop909_score(piece.path)
    from symbolic.inputs.music21 import from_music21

    try:
        from music21 import converter, stream

        if piece.tune is not None:
            parsed = converter.parse(_abc_tune_text(piece.path, piece.tune), format="abc")
        else:
            parsed = converter.parse(piece.path)
        if isinstance(parsed, stream.Opus):
            if not parsed.scores:
                raise DataError(f"{piece.id}: the file holds no score")
            parsed = parsed.scores[0]
        return from_music21(parsed)
    except SymbolicError:
        raise
    except Exception as exc:  # music21 raises many error types on bad files
        raise DataError(f"{piece.id}: music21 could not parse it ({type(exc).__name__}: {exc})") from None
