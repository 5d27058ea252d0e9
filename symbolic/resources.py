"""The one place that resolves resource paths: tokenizer specs, SoundFonts, shared data.

``tokenizers/`` and ``soundfonts/`` are data folders at the top of the repository
(never Python packages).  In an installed wheel without the repository, the
default tokenizer spec is rebuilt from the config defaults, which a test keeps
identical to ``tokenizers/events-v1.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

from symbolic.errors import ConfigError

__all__ = [
    "project_root",
    "tokenizer_spec_path",
    "default_event_tokenizer",
    "shared_data_dir",
    "DEFAULT_EVENTS_SPEC",
]

DEFAULT_EVENTS_SPEC = "events-v1"


def project_root() -> Path:
    """The repository root (the folder holding ``symbolic/``)."""
    return Path(__file__).resolve().parent.parent


def tokenizer_spec_path(name: str = DEFAULT_EVENTS_SPEC) -> Path:
    """Path of a spec in ``tokenizers/`` by name (``"events-v1"``) or of an explicit ``.json`` file."""
    candidate = Path(name)
    if candidate.suffix == ".json":
        if not candidate.is_file():
            raise ConfigError(f"tokenizer spec {candidate} not found")
        return candidate
    path = project_root() / "tokenizers" / f"{name}.json"
    if not path.is_file():
        available = sorted(p.stem for p in (project_root() / "tokenizers").glob("*.json"))
        raise ConfigError(f"no tokenizer spec named {name!r}; available: {', '.join(available) or 'none'}")
    return path


def default_event_tokenizer():
    """The default :class:`~symbolic.tokenization.EventTokenizer` (``tokenizers/events-v1.json``)."""
    from symbolic.tokenization.events import EventTokenizer

    path = project_root() / "tokenizers" / f"{DEFAULT_EVENTS_SPEC}.json"
    return EventTokenizer.from_spec(path) if path.is_file() else EventTokenizer()


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository, or ``$SYMBOLIC_SHARED_DATA`` when set."""
    override = os.environ.get("SYMBOLIC_SHARED_DATA")
    return Path(override) if override else project_root().parent / "shared" / "data"
