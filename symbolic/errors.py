"""The one error hierarchy of ``symbolic``.

Every error raised at a public boundary derives from :class:`SymbolicError`, so
callers can catch all of ours with one ``except`` clause.  Messages say what is
wrong, where, and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "SymbolicError",
    "MidiError",
    "ScoreError",
    "TokenizationError",
    "ConfigError",
    "DataError",
    "StyleError",
    "MidiWarning",
    "PathError",
]


class SymbolicError(Exception):
    """Base class of every error raised by ``symbolic``."""


class MidiError(SymbolicError, ValueError):
    """A MIDI file cannot be read or written (corrupt, truncated, unsupported)."""


class ScoreError(SymbolicError, ValueError):
    """A score is not valid for the operation asked of it."""


class TokenizationError(SymbolicError, ValueError):
    """Tokens cannot be produced or decoded (out-of-range id, unsupported value)."""


class ConfigError(SymbolicError, ValueError):
    """A configuration value is out of range, misspelt or inconsistent."""


class DataError(SymbolicError, ValueError):
    """A data set or data file is missing, malformed or inconsistent."""


class StyleError(SymbolicError, KeyError):
    """A style name is not known to the tokenizer, data set or model."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that.
        return str(self.args[0]) if self.args else ""


class MidiWarning(UserWarning):
    """A MIDI file was read leniently: it breaks the letter of the standard in a way every
    common reader accepts (running status resumed after a meta event); the message names the file."""


class GenerationWarning(UserWarning):
    """Sampling stopped at its token budget (``max_new_tokens``) before the bars asked for were written;
    the message names the sample, the bars written and the fix; ``sample_index`` is the sample's index."""

    def __init__(self, message: str, sample_index: int = 0) -> None:
        super().__init__(message)
        self.sample_index = sample_index


class PathError(SymbolicError, ValueError):
    """A file or folder given to a job is missing, of the wrong kind (file/folder) or not writable."""
