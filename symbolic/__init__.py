"""symbolic: symbolic (MIDI) music modeling on a laptop CPU.

Read MIDI and music21 scores into one score model, tokenize them as a
multi-track event stream or a 78-pitch note roll, and build style-labelled
training sets.  ``import symbolic`` needs neither torch nor FluidSynth.

The jobs are here too, loaded on first use (they need torch):
``symbolic.load_decoder`` (:func:`symbolic.models.pretrained.load_decoder`),
``symbolic.convert``, ``symbolic.accompany``, ``symbolic.continue_score``
(:mod:`symbolic.jobs.arrange`) and ``symbolic.JobConfig``.

Packages: ``styles`` (what a style is), ``tokenization``, ``data``, ``analysis``,
``models``, ``sampling``, ``jobs``, ``polyphonic``, ``evaluation``, ``audio``, ``cli``.
"""

from symbolic.errors import (
    ConfigError,
    DataError,
    MidiError,
    ScoreError,
    StyleError,
    SymbolicError,
    TokenizationError,
)
from symbolic.inputs.midi import read_midi
from symbolic.inputs.music21 import from_music21, read_score
from symbolic.outputs.midi import write_midi
from symbolic.outputs.pretty_midi import to_miditoolkit, to_pretty_midi
from symbolic.score import ControlChange, KeySignature, Note, PitchBend, Score, TempoChange, TimeSignature, Track
from symbolic.tokenization import (
    EventTokenizer,
    EventTokenizerConfig,
    NoteRoll,
    NoteRollConfig,
    from_note_roll,
    to_note_roll,
)

__version__ = "0.1.0"

# name -> module of the lazily loaded part of the face
_LAZY = {
    "load_decoder": "symbolic.models.pretrained",
    "convert": "symbolic.jobs.arrange",
    "accompany": "symbolic.jobs.arrange",
    "continue_score": "symbolic.jobs.arrange",
    "JobConfig": "symbolic.jobs.config",
}


def __getattr__(name: str):
    """Load the jobs' names on first use, so that ``import symbolic`` stays free of torch."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symbolic' has no attribute {name!r}")

__all__ = [
    "__version__",
    "SymbolicError",
    "MidiError",
    "ScoreError",
    "TokenizationError",
    "ConfigError",
    "DataError",
    "StyleError",
    "Score",
    "Track",
    "Note",
    "ControlChange",
    "PitchBend",
    "TempoChange",
    "TimeSignature",
    "KeySignature",
    "read_midi",
    "read_score",
    "write_midi",
    "from_music21",
    "to_pretty_midi",
    "to_miditoolkit",
    "EventTokenizer",
    "EventTokenizerConfig",
    "NoteRoll",
    "NoteRollConfig",
    "to_note_roll",
    "from_note_roll",
    *_LAZY,
]
