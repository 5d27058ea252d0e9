"""Convert a :class:`~symbolic.score.Score` into ``pretty_midi`` and ``miditoolkit`` objects."""

from __future__ import annotations

from typing import Any

from symbolic.outputs.midi import midi_bytes
from symbolic.score import Score

__all__ = ["to_pretty_midi", "to_miditoolkit"]


def to_pretty_midi(score: Score) -> Any:
    """A ``pretty_midi.PrettyMIDI`` holding the score (times in seconds, tempo map applied)."""
    import io

    import pretty_midi

    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def to_miditoolkit(score: Score) -> Any:
    """A ``miditoolkit.MidiFile`` holding the score (times in ticks)."""
    import io

    import miditoolkit

    return miditoolkit.MidiFile(file=io.BytesIO(midi_bytes(score)))
