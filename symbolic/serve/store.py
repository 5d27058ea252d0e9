"""The job store: one SQLite table (standard library) and one folder per job under the data folder.

A job goes ``submitted -> running -> done | failed | cancelled``.  Every process (the app and each
worker) opens its own connection; SQLite's own locking keeps the writes whole.  Ids are 128-bit random
hex strings (:func:`secrets.token_hex`), so they cannot be guessed; a job's files are named by us
(``input.mid``, ``result.mid``, ...), never after what a client sent.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

__all__ = ["JobStore", "STATES", "UNFINISHED", "JOB_ID_PATTERN"]

STATES = ("submitted", "running", "done", "failed", "cancelled")
UNFINISHED = ("submitted", "running")
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
INTERRUPTED = "the server stopped while this job was running; submit it again"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    state TEXT NOT NULL,
    settings TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    done_bars INTEGER NOT NULL DEFAULT 0,
    total_bars INTEGER NOT NULL DEFAULT 0,
    message TEXT,
    summary TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
)
"""


class JobStore:
    """The jobs of one data folder (``data_dir/jobs.sqlite``, job files in ``data_dir/jobs/<id>/``)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        (self.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "jobs.sqlite"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    def _execute(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        db = self._connect()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def folder(self, job_id: str) -> Path:
        """The folder of a job's files (the id is checked by the caller against :data:`JOB_ID_PATTERN`)."""
        return self.data_dir / "jobs" / job_id

    def create(self, client: str, settings: dict[str, Any]) -> str:
        """A new job id, its folder made, state ``submitted``."""
        job_id = secrets.token_hex(16)
        self.folder(job_id).mkdir()
        self._execute("INSERT INTO jobs (id, client, state, settings, created) VALUES (?, ?, 'submitted', ?, ?)",
                      (job_id, client, json.dumps(settings), time.time()))
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's row as a dict (``settings`` and ``summary`` parsed), or ``None``."""
        rows = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            return None
        job = dict(rows[0])
        job["settings"] = json.loads(job["settings"])
        job["summary"] = json.loads(job["summary"]) if job["summary"] else None
        job["cancel_requested"] = bool(job["cancel_requested"])
        return job

    def count_unfinished(self, client: str) -> int:
        """Jobs of ``client`` that are submitted or running."""
        return self._execute("SELECT COUNT(*) FROM jobs WHERE client = ? AND state IN ('submitted', 'running')",
                             (client,))[0][0]

    def start(self, job_id: str) -> bool:
        """Mark a submitted job running; ``False`` when it is no longer submitted (cancelled, removed)."""
        db = self._connect()
        try:
            return db.execute("UPDATE jobs SET state = 'running', started = ? WHERE id = ? AND state = 'submitted'",
                              (time.time(), job_id)).rowcount == 1
        finally:
            db.close()

    def progress(self, job_id: str, done_bars: int, total_bars: int) -> bool:
        """Record progress; returns whether a cancel was asked for."""
        self._execute("UPDATE jobs SET done_bars = ?, total_bars = ? WHERE id = ?", (done_bars, total_bars, job_id))
        rows = self._execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
        return not rows or bool(rows[0][0])

    def finish(self, job_id: str, state: str, message: str | None = None,
               summary: dict[str, Any] | None = None) -> None:
        """Mark an unfinished job ``done``, ``failed`` or ``cancelled`` with a message and a summary."""
        assert state in ("done", "failed", "cancelled"), state
        self._execute("UPDATE jobs SET state = ?, finished = ?, message = ?, summary = ? "
                      "WHERE id = ? AND state IN ('submitted', 'running')",
                      (state, time.time(), message, json.dumps(summary) if summary is not None else None, job_id))

    def cancel(self, job_id: str) -> None:
        """Ask for a job to stop: a submitted one is cancelled now, a running one at its next bar."""
        self._execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        self._execute("UPDATE jobs SET state = 'cancelled', finished = ?, message = 'cancelled before it started' "
                      "WHERE id = ? AND state = 'submitted'", (time.time(), job_id))

    def remove(self, job_id: str) -> None:
        """Delete a job's row and files."""
        self._execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def mark_interrupted(self) -> int:
        """At start-up: fail every job a previous server left unfinished; returns how many."""
        rows = self._execute("SELECT id FROM jobs WHERE state IN ('submitted', 'running')")
        for row in rows:
            self.finish(row["id"], "failed", INTERRUPTED)
        return len(rows)

    def expire(self, ttl_seconds: float, now: float | None = None) -> int:
        """Remove finished jobs submitted more than ``ttl_seconds`` ago, and stray folders; returns how many."""
        cutoff = (time.time() if now is None else now) - ttl_seconds
        rows = self._execute("SELECT id FROM jobs WHERE created < ? AND state NOT IN ('submitted', 'running')",
                             (cutoff,))
        for row in rows:
            self.remove(row["id"])
        known = {row["id"] for row in self._execute("SELECT id FROM jobs")}
        for folder in (self.data_dir / "jobs").iterdir():
            if folder.name not in known and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        return len(rows)
