"""Token files: event ids as JSON (with the tokenizer config), note rolls as ``.npz``."""

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
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["write_tokens", "read_tokens", "write_roll", "read_roll", "TOKENS_FORMAT", "ROLL_FORMAT"]

TOKENS_FORMAT = "symbolic.tokens/1"
ROLL_FORMAT = "symbolic.roll/1"


def write_tokens(path: str | os.PathLike[str], ids: list[int], tokenizer: EventTokenizer,
                 style: str | None = None) -> None:
    """Write event ids and the tokenizer config that gives them meaning to a JSON file."""
    atomic_write_json(path, {"format": TOKENS_FORMAT, "tokenizer": tokenizer.config.to_dict(), "style": style,
                             "ids": [int(i) for i in ids]})


def read_tokens(path: str | os.PathLike[str]) -> tuple[list[int], EventTokenizer]:
    """Read a file written by :func:`write_tokens`: the ids and their tokenizer."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: token file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a token file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != TOKENS_FORMAT:
        raise DataError(f"{path}: not a symbolic token file (expected format {TOKENS_FORMAT!r}, "
                        "as the tokenize command writes)")
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
