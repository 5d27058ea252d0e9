"""Reading scores: :func:`~symbolic.inputs.midi.read_midi` (and ``parse_midi_bytes``), and
:func:`~symbolic.inputs.music21.from_music21`."""
