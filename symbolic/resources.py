"""The one place that resolves resource paths: tokenizer specs, SoundFonts, shared data.

``tokenizers/`` and ``soundfonts/`` are data folders at the top of the repository
(never Python packages).  In an installed wheel without the repository, the
default tokenizer spec is rebuilt from the config defaults, which a test keeps
identical to ``tokenizers/events-v1.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

from symbolic.errors import ConfigError, DataError

__all__ = [
    "project_root",
    "asset_path",
    "resolve_soundfont",
    "soundfont_candidates",
    "pretty_midi_soundfont",
    "tokenizer_spec_path",
    "default_event_tokenizer",
    "shared_data_dir",
    "DEFAULT_EVENTS_SPEC",
]

DEFAULT_EVENTS_SPEC = "events-v2"  # new data builds use v2 (exact integer tempos); v1 models keep their spec
SOUNDFONT_ENV = "SYMBOLIC_SOUNDFONT"

# Used when the repository's soundfonts/manifest.json is not beside the package (a wheel install).
_FALLBACK_SOUNDFONTS = [
    {"name": "FluidR3_GM", "paths": ["/usr/share/sounds/sf2/FluidR3_GM.sf2"]},
    {"name": "MuseScore_General", "paths": ["/usr/share/sounds/sf3/MuseScore_General.sf3"]},
    {"name": "TimGM6mb", "paths": ["{pretty_midi}/TimGM6mb.sf2"]},
]


def project_root() -> Path:
    """The repository root (the folder holding ``symbolic/``)."""
    return Path(__file__).resolve().parent.parent


def asset_path(name: str) -> Path:
    """A model shipped inside the package (``symbolic/assets/NAME``), e.g. ``"style-classifier"``."""
    path = Path(__file__).resolve().parent / "assets" / name
    if not path.is_dir():
        available = sorted(p.name for p in (path.parent).glob("*") if p.is_dir()) if path.parent.is_dir() else []
        raise DataError(f"no shipped model named {name!r}; available: {', '.join(available) or 'none'}")
    return path


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
    """The default :class:`~symbolic.tokenization.EventTokenizer` of new data (``tokenizers/events-v2.json``)."""
    from symbolic.tokenization.events import EventTokenizer

    path = project_root() / "tokenizers" / f"{DEFAULT_EVENTS_SPEC}.json"
    return EventTokenizer.from_spec(path) if path.is_file() else EventTokenizer()


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository, or ``$SYMBOLIC_SHARED_DATA`` when set."""
    override = os.environ.get("SYMBOLIC_SHARED_DATA")
    return Path(override) if override else project_root().parent / "shared" / "data"


def pretty_midi_soundfont() -> Path:
    """``TimGM6mb.sf2`` inside the installed pretty_midi package."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("pretty_midi is not installed; pip install pretty_midi (it ships TimGM6mb.sf2)")
    return Path(list(spec.submodule_search_locations)[0]) / "TimGM6mb.sf2"


def soundfont_candidates() -> list[tuple[str, Path]]:
    """Every ``(name, path)`` the manifest lists, in order, installed or not."""
    import json

    manifest = project_root() / "soundfonts" / "manifest.json"
    entries = json.loads(manifest.read_text(encoding="utf-8"))["soundfonts"] if manifest.is_file() \
        else _FALLBACK_SOUNDFONTS
    out = []
    for entry in entries:
        for raw in entry["paths"]:
            if "{pretty_midi}" in raw:
                raw = raw.replace("{pretty_midi}", str(pretty_midi_soundfont().parent))
            out.append((entry["name"], Path(raw)))
    return out


def resolve_soundfont(path: str | os.PathLike[str] | None = None) -> Path:
    """The SoundFont to render with.

    Order: ``path`` when given; ``$SYMBOLIC_SOUNDFONT``; the first installed font of
    ``soundfonts/manifest.json``; ``TimGM6mb.sf2`` from the pretty_midi wheel.

    Raises:
        DataError: an explicit path or ``$SYMBOLIC_SOUNDFONT`` that is missing or not a SoundFont.
    """
    for given, where in ((path, "the SoundFont path given"), (os.environ.get(SOUNDFONT_ENV), f"${SOUNDFONT_ENV}")):
        if given:
            candidate = Path(given).expanduser()
            if not candidate.is_file():
                raise DataError(f"{where} ({candidate}) does not exist; pass an .sf2/.sf3 file, or unset it to "
                                "use the default (see soundfonts/README.md)")
            _check_soundfont_header(candidate)
            return candidate
    for _, candidate in soundfont_candidates():
        if candidate.is_file():
            return candidate
    return pretty_midi_soundfont()


def _check_soundfont_header(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise DataError(f"{path} is not a SoundFont (.sf2/.sf3 files start with RIFF....sfbk)")
