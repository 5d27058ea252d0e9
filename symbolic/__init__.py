"""symbolic: symbolic (MIDI) music modeling on a laptop CPU.

Read MIDI and music21 scores into one score model, tokenize them as a
multi-track event stream or a 78-pitch note roll, and build style-labelled
training sets.  ``import symbolic`` needs neither torch nor FluidSynth.
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
from symbolic.inputs.music21 import from_music21
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
]
