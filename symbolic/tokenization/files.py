"""Token files: event ids as JSON (with the tokenizer config), note rolls as ``.npz``; planning a folder of them.

A folder of token files is written one atomic file at a time, next to a record of the settings
(``.tokenize.json``), so a run that is killed resumes: :func:`plan_token_files` keeps what an earlier
run with the same settings wrote and lists the rest.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from symbolic.errors import DataError
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.roll import NoteRoll
from symbolic.tokenization.vocab import EventTokenizerConfig
from symbolic.utils import atomic_write_bytes, atomic_write_json, read_format_json, remove_stale_temporaries

__all__ = ["write_tokens", "read_tokens", "write_roll", "read_roll", "token_file_names", "plan_token_files",
           "TOKENS_FORMAT", "ROLL_FORMAT", "TOKENIZE_STATE"]

TOKENS_FORMAT = "symbolic.tokens/1"
ROLL_FORMAT = "symbolic.roll/1"
TOKENIZE_STATE = ".tokenize.json"  # the settings a folder of token files was written with


def write_tokens(path: str | os.PathLike[str], ids: list[int], tokenizer: EventTokenizer,
                 style: str | None = None) -> None:
    """Write event ids and the tokenizer config that gives them meaning to a JSON file."""
    atomic_write_json(path, {"format": TOKENS_FORMAT, "tokenizer": tokenizer.config.to_dict(), "style": style,
                             "ids": [int(i) for i in ids]})


def read_tokens(path: str | os.PathLike[str]) -> tuple[list[int], EventTokenizer]:
    """Read a file written by :func:`write_tokens`: the ids and their tokenizer."""
    data = read_format_json(path, TOKENS_FORMAT, "symbolic token file (as the tokenize command writes)",
                            missing=f"{path}: token file not found")
    tokenizer = EventTokenizer(EventTokenizerConfig.from_dict(data["tokenizer"]))
    return [int(i) for i in data["ids"]], tokenizer


def write_roll(path: str | os.PathLike[str], roll: NoteRoll) -> None:
    """Write a note roll as ``.npz`` (``play``, ``articulate`` bool ``(T, 78)``; ``frames_per_beat``)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, format=np.asarray(ROLL_FORMAT), play=roll.play, articulate=roll.articulate,
                        frames_per_beat=np.asarray(roll.frames_per_beat))
    atomic_write_bytes(path, buffer.getvalue())


def read_roll(path: str | os.PathLike[str]) -> NoteRoll:
    """Read a note roll written by :func:`write_roll`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != ROLL_FORMAT:
                raise DataError(f"{path}: not a symbolic note-roll file (expected format {ROLL_FORMAT!r})")
            return NoteRoll(data["play"].astype(bool), data["articulate"].astype(bool), int(data["frames_per_beat"]))
    except FileNotFoundError:
        raise DataError(f"{path}: note-roll file not found") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz note roll ({exc})") from None


def token_file_names(files: list[tuple[Path, Path | None]], suffix: str) -> list[Path]:
    """The token file name of each MIDI file, relative to the output folder.

    A file found in a folder keeps its path below that folder (``root/a/b.mid`` -> ``a/b<suffix>``), so
    files of the same name in different subfolders stay apart; a file given by itself keeps its name.

    Args:
        files: ``(MIDI path, folder it was found in or None)`` pairs.
        suffix: e.g. ``".tokens.json"``.

    Raises:
        DataError: two files would get the same name (the message names both).
    """
    names: list[Path] = []
    owner: dict[Path, Path] = {}
    for path, root in files:
        relative = path.relative_to(root) if root is not None else Path(path.name)
        name = relative.with_name(relative.name.rsplit(".", 1)[0] + suffix)
        if name in owner:
            raise DataError(f"{owner[name]} and {path} would both be written to {name}; tokenize them into "
                            "different output folders or rename one")
        owner[name] = path
        names.append(name)
    return names


def plan_token_files(pairs: list[tuple[Path, Path]], out_dir: str | os.PathLike[str],
                     settings: dict) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Which ``(MIDI file, token file)`` pairs still need writing, and which an earlier run already wrote.

    A token file is kept when the folder's ``.tokenize.json`` holds the same ``settings`` and the token
    file is not older than its MIDI file (token files are written atomically, so one that exists is
    whole).  Otherwise the token files of ``pairs`` left from other settings are deleted and the new
    settings recorded, before anything is written, so a folder never mixes settings.  Temporaries of a
    killed run are removed.  Call it while holding the folder (:func:`symbolic.utils.folder_lock`).

    Args:
        pairs: ``(MIDI path, token file path)`` pairs, token files inside ``out_dir``.
        out_dir: the output folder.
        settings: JSON-able description of everything that changes the token files.

    Returns:
        ``(todo, done)``, each a list of pairs in the order given.
    """
    out = Path(out_dir)
    state = out / TOKENIZE_STATE
    try:
        same = json.loads(state.read_text(encoding="utf-8")) == settings
    except (OSError, ValueError):
        same = False
    for folder in {target.parent for _, target in pairs} | {out}:
        remove_stale_temporaries(folder)
    if not same:
        for _, target in pairs:
            target.unlink(missing_ok=True)
        atomic_write_json(state, settings)
        return list(pairs), []
    todo, done = [], []
    for source, target in pairs:
        try:
            fresh = target.stat().st_mtime_ns >= source.stat().st_mtime_ns
        except FileNotFoundError:
            fresh = False
        (done if fresh else todo).append((source, target))
    return todo, done
