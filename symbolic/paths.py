"""Checks of the files and folders a job reads and writes, made before any work starts.

A job that would fail at its last step (an output path that is a folder, an output
folder that is a file, a folder given where one file is read, a folder that cannot
be created) is refused at once with one line naming the path and the fix: no
minutes of generation before the error, no traceback.  Every command calls these;
they only look at the file system (nothing is created or written).  The inputs of
batch commands (many files or folders) are not checked here: a missing or bad one
is skipped and listed while the others are processed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from symbolic.errors import PathError

__all__ = ["check_input_file", "check_input_dir", "check_output_file", "check_output_dir",
           "describe_os_error"]


def check_input_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """``path`` as a :class:`~pathlib.Path` when it is an existing, readable file.

    Raises:
        PathError: it is missing, a folder, or not readable; the message names it and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise PathError(f"{path}: is a folder, but the {what} must be one file; name a file inside it")
    if not path.exists():
        raise PathError(f"{path}: no such {what}; check the name")
    if not os.access(path, os.R_OK):
        raise PathError(f"{path}: the {what} is not readable; check its permissions")
    return path


def check_input_dir(path: str | os.PathLike[str], what: str = "input folder") -> Path:
    """``path`` when it is an existing folder.

    Raises:
        PathError: it is missing or a file.
    """
    path = Path(path)
    if path.is_file():
        raise PathError(f"{path}: is a file, but the {what} must be a folder; name the folder that holds it")
    if not path.is_dir():
        raise PathError(f"{path}: no such {what}; check the name")
    return path


def _nearest_existing(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _check_creatable(path: Path, what: str) -> None:
    """The folders leading to ``path`` either exist or can be made, and the nearest one is writable."""
    base = _nearest_existing(path)
    if not base.is_dir():
        raise PathError(f"{path}: cannot write the {what} there because {base} is a file, not a folder; "
                        "choose another path")
    if not _can_create_in(base):
        raise PathError(f"{path}: cannot write the {what} there because {base} is not writable; choose a folder "
                        "you can write to")


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder``, found by making (and removing) an empty one: permission
    bits say yes to root on read-only mounts and on /proc or /sys, where the write then fails after the work."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, probe = tempfile.mkstemp(prefix=".symbolic-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True


def check_output_file(path: str | os.PathLike[str], what: str = "output file", suffix: str = ".mid") -> Path:
    """``path`` when a file can be written there (it may exist and is then replaced); ``suffix`` is the
    file type the example name in the message uses.

    Raises:
        PathError: it is an existing folder, a folder on the way is a file, or the place is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise PathError(f"{path}: is a folder, but the {what} is one file; give a file name, e.g. "
                        f"{path / ('out' + suffix)}")
    if path.exists() and not os.access(path, os.W_OK):
        raise PathError(f"{path}: the {what} exists and is not writable; choose another name")
    _check_creatable(path, what)
    return path


def check_output_dir(path: str | os.PathLike[str], what: str = "output folder") -> Path:
    """``path`` when it is an existing folder or one that can be made.

    Raises:
        PathError: it is an existing file, a folder on the way is a file, or the place is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PathError(f"{path}: is a file, but the {what} must be a folder; give a folder name (it is made "
                        "if missing)")
    if path.is_dir():
        if not _can_create_in(path):
            raise PathError(f"{path}: the {what} is not writable; choose a folder you can write to")
        return path
    _check_creatable(path, what)
    return path


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system refusal the checks above could not foresee (disk full, a race, permissions)."""
    where = exc.filename if exc.filename is not None else "a file"
    reason = (exc.strerror or str(exc)).rstrip(".")
    return f"{where}: {reason[:1].lower() + reason[1:]}; check the path, its permissions and the free disk space"
