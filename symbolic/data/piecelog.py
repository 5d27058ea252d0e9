"""``PieceLog``: an append-only, kill-safe record of tokenized pieces, the streaming half of a data-set build.

A build tokenizes pieces one at a time and appends each to the log, so memory holds one piece,
never the whole set; an interrupted build reopens the log and tokenizes only what is missing.
Layout of the log folder::

    log.json        what the log is for (fingerprint, shard, tokenizer, split shares); rewritten with
                    ``"complete": true`` and the counts once every piece of the selection is in
    pieces.jsonl    one JSON line per piece: id, style, order, notes, midi, offset, length
                    (or id, style, order, failure) -- the line is the commit point
    tokens.i32      the token ids of every piece, int32 little-endian, back to back

Kill safety (SIGKILL at any instruction): a piece's tokens are written and flushed before its
line; a line is valid only when it ends in a newline.  On opening, a trailing partial line is cut
off and ``tokens.i32`` is cut back to the end of the last committed piece, so a piece is either
wholly in the log or not at all, and is never in it twice.  (A power cut may lose more than the
last piece: lines are flushed to the OS, not synced to the disk, except when the log completes.)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from symbolic.errors import DataError
from symbolic.utils import atomic_write_json, read_format_json, remove_stale_temporaries

__all__ = ["PieceLog", "LOG_FORMAT"]

LOG_FORMAT = "symbolic.piecelog/1"
_TOKEN_DTYPE = np.dtype("<i4")


class PieceLog:
    """Open (and recover) or create the log in ``folder`` for the build described by ``meta``.

    Args:
        folder: the log folder (created if missing).
        meta: what the log is for; must hold ``"fingerprint"``.  A log made for another
            fingerprint is discarded and started afresh.

    Attributes:
        folder: the log folder.
        meta: the log's ``log.json`` contents.
        records: the committed pieces, in the order they were appended.
    """

    def __init__(self, folder: str | os.PathLike[str], meta: dict) -> None:
        self.folder = Path(folder)
        old = self.read_meta(self.folder) if (self.folder / "log.json").is_file() else None
        if old is None or old.get("fingerprint") != meta["fingerprint"]:
            if self.folder.exists():
                shutil.rmtree(self.folder)
            self.folder.mkdir(parents=True)
            (self.folder / "pieces.jsonl").touch()
            (self.folder / "tokens.i32").touch()
            atomic_write_json(self.folder / "log.json", {"format": LOG_FORMAT, **meta, "complete": False})
        remove_stale_temporaries(self.folder)
        self.meta = self.read_meta(self.folder)
        self.records = self._recover()
        self._ids = {r["id"] for r in self.records}
        self._end = max((r["offset"] + r["length"] for r in self.records if "offset" in r), default=0)
        self._index = open(self.folder / "pieces.jsonl", "ab")
        self._tokens = open(self.folder / "tokens.i32", "r+b")
        self._tokens.seek(self._end * _TOKEN_DTYPE.itemsize)

    @staticmethod
    def read_meta(folder: str | os.PathLike[str]) -> dict:
        """The ``log.json`` of a log folder.

        Raises:
            DataError: there is none, or it is not a piece log.
        """
        return read_format_json(Path(folder) / "log.json", LOG_FORMAT, "piece log",
                                missing=f"{folder}: no piece log here (log.json is missing)")

    def _recover(self) -> list[dict]:
        """The committed records; cuts off a partial last line and tokens beyond the last committed piece."""
        index = self.folder / "pieces.jsonl"
        data = index.read_bytes()
        committed = data[:data.rfind(b"\n") + 1]
        if len(committed) != len(data):
            with open(index, "r+b") as handle:
                handle.truncate(len(committed))
        records, seen = [], set()
        for line in committed.splitlines():
            record = json.loads(line)
            if record["id"] not in seen:  # never written twice by this class; a guard all the same
                seen.add(record["id"])
                records.append(record)
        end = max((r["offset"] + r["length"] for r in records if "offset" in r), default=0)
        tokens = self.folder / "tokens.i32"
        if tokens.stat().st_size < end * _TOKEN_DTYPE.itemsize:
            raise DataError(f"{tokens}: shorter than its index says; delete {self.folder} and build again")
        with open(tokens, "r+b") as handle:
            handle.truncate(end * _TOKEN_DTYPE.itemsize)
        return records

    def __contains__(self, piece_id: str) -> bool:
        return piece_id in self._ids

    def __len__(self) -> int:
        return len(self.records)

    def append(self, record: dict, ids: np.ndarray | None = None) -> None:
        """Commit one piece: ``record`` (id, style, order, ... or a ``failure``) and its token ids.

        Args:
            record: JSON-able; ``offset`` and ``length`` (in tokens) are added when ``ids`` is given.
            ids: int token ids, shape ``(n,)``, or ``None`` for a piece that failed.
        """
        if record["id"] in self._ids:
            return
        record = dict(record)
        if ids is not None:
            ids = np.asarray(ids, dtype=_TOKEN_DTYPE)
            record["offset"], record["length"] = self._end, int(ids.size)
            self._tokens.write(ids.tobytes())
            self._tokens.flush()
            self._end += int(ids.size)
        self._write_line((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self.records.append(record)
        self._ids.add(record["id"])

    def _write_line(self, line: bytes) -> None:
        self._index.write(line)
        self._index.flush()

    def complete(self, **counts) -> None:
        """Sync the log to disk and mark it complete in ``log.json``, with ``counts`` (e.g. converted pieces)."""
        for handle in (self._tokens, self._index):
            handle.flush()
            os.fsync(handle.fileno())
        self.meta = {**self.meta, "complete": True, "counts": counts}
        atomic_write_json(self.folder / "log.json", self.meta)

    def tokens(self, record: dict) -> np.ndarray:
        """The token ids of a committed record (int32, shape ``(length,)``), read from disk."""
        self._tokens.flush()
        count = record["length"]
        if count == 0:
            return np.zeros(0, dtype=_TOKEN_DTYPE)
        return np.fromfile(self.folder / "tokens.i32", dtype=_TOKEN_DTYPE, count=count,
                           offset=record["offset"] * _TOKEN_DTYPE.itemsize)

    def close(self) -> None:
        """Close the files (the log stays on disk)."""
        self._index.close()
        self._tokens.close()

    def __enter__(self) -> "PieceLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
