"""Tokenizations of scores: the multi-track event stream and the 78-pitch note roll."""

from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.grammar import TYPE_GRAMMAR, GrammarState, Phase
from symbolic.tokenization.roll import (
    LOWEST_PITCH,
    N_PITCHES,
    NoteRoll,
    NoteRollConfig,
    from_note_roll,
    quantize_for_roll,
    to_note_roll,
)
from symbolic.tokenization.verify import score_differences
from symbolic.tokenization.vocab import (
    DEFAULT_STYLES,
    NO_STYLE,
    EventTokenizerConfig,
    TokenType,
    Vocabulary,
    load_spec,
    save_spec,
)

__all__ = [
    "EventTokenizer",
    "EventTokenizerConfig",
    "Vocabulary",
    "TokenType",
    "GrammarState",
    "Phase",
    "TYPE_GRAMMAR",
    "NoteRoll",
    "NoteRollConfig",
    "to_note_roll",
    "from_note_roll",
    "quantize_for_roll",
    "LOWEST_PITCH",
    "N_PITCHES",
    "score_differences",
    "load_spec",
    "save_spec",
    "DEFAULT_STYLES",
    "NO_STYLE",
]
