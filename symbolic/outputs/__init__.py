"""Writing scores: :func:`~symbolic.outputs.midi.write_midi` (and ``midi_bytes``), and
:func:`~symbolic.outputs.pretty_midi.to_pretty_midi` / ``to_miditoolkit`` for those libraries."""
