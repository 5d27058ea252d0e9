"""Small helpers shared across the package: atomic file writes and stable hashing."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

__all__ = ["atomic_writer", "atomic_write_bytes", "atomic_write_text", "atomic_write_json", "stable_hash",
           "remove_stale_temporaries",
           "TEMPORARY_GLOB", "folder_lock", "die_with_parent"]

# The names atomic_write_bytes gives its temporary files: ".<final name>.<random>.tmp".
TEMPORARY_GLOB = ".*.tmp"


@contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file handle whose bytes appear at ``path`` all at once when the ``with`` block ends.

    The bytes go to a temporary file in the same folder (``.<name>.<random>.tmp``), are flushed
    to disk, and the temporary file is renamed over ``path``; an exception or a kill inside the
    block leaves the old file (or none) and no partial one.  For output too large to hold in
    memory; :func:`atomic_write_bytes` is the one-call form.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one (see :func:`atomic_writer`)."""
    with atomic_writer(path) as handle:
        handle.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON (keys in insertion order)."""
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process and on every run."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> int:
    """Delete the temporary files an interrupted :func:`atomic_write_bytes` left in ``folder``; returns how many.

    Only names of the form ``.<name>.<random>.tmp`` directly inside ``folder`` are removed.  Call it
    at the start of a job that owns the folder (a build under its lock, a training run), never while
    another writer may be using the folder.  A missing folder holds none.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for tmp in folder.glob(TEMPORARY_GLOB):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextmanager
def folder_lock(folder: str | os.PathLike[str], what: str) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (the file ``folder/.lock``) for the ``with`` block.

    The lock is an ``flock`` on an open file, so the kernel releases it when the holder exits
    in any way (crash, SIGKILL); a leftover ``.lock`` file never blocks anyone.  The holder's
    pid is written into the file so a refusal can name it.

    Args:
        folder: the folder to lock (created if missing).
        what: the locked job in words, for the error message (e.g. ``"a data-set build"``).

    Raises:
        DataError: another process holds the lock; the message names the folder and its pid.
    """
    from symbolic.errors import DataError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / ".lock"
    handle = open(lock_path, "a+", encoding="utf-8")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no locking
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise DataError(f"{folder}: {what} is already running in this folder (process {holder}); wait "
                                "for it to finish or choose another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()  # closing the file releases the flock


def die_with_parent(parent: int | None = None, kernel_signal: bool = True) -> None:
    """Make the calling (worker) process end when its parent process ends, however the parent ends.

    ``parent`` is the pid the worker belongs to (pass ``os.getpid()`` from the parent, so a parent
    that died before the worker got here is noticed); default: the current parent.

    On Linux the kernel sends SIGKILL to the worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere, or with ``kernel_signal=False``, a daemon thread checks the parent's pid twice a second
    and exits the worker when it changes.  The kernel's signal follows the parent *thread* that started
    the worker, so a pool that may start workers from short-lived threads (a web server's thread pool)
    must pass ``kernel_signal=False``.  Meant as a process-pool initializer.
    """
    parent = os.getppid() if parent is None else parent
    if os.getppid() != parent:  # the parent is already gone
        os._exit(1)
    try:
        if not kernel_signal:
            raise OSError("watch the parent's pid instead")
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl failed")
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
        return
    except (OSError, AttributeError, TypeError):  # no prctl here (not Linux): watch the parent instead
        pass
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def read_format_json(path: str | os.PathLike[str], expected_format: str, what: str,
                     missing: str | None = None) -> dict:
    """The JSON object of a file this package wrote with ``{"format": expected_format, ...}``.

    ``what`` names the kind of file in the messages (e.g. ``"token file"``); ``missing`` replaces the
    message for a file that does not exist.

    Raises:
        DataError: the file is missing, is not JSON, or is not an object of ``expected_format``.
    """
    from symbolic.errors import DataError

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(missing or f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a {what} ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != expected_format:
        raise DataError(f"{path}: not a {what} (expected format {expected_format!r})")
    return data
