"""Analysis of existing music: what a musician reads from the notes.

Verbs:

- :func:`symbolic.analysis.roles.analyze_tracks` -- each track's role (melody, counter-melody, bass,
  harmony, drums) with a confidence and the reasons; says when no track is the melody.
- :func:`symbolic.analysis.melody.extract_melody` -- split one polyphonic track into its melody line and
  the rest (:func:`~symbolic.analysis.melody.skyline_mask` is the baseline it is measured against).
- :mod:`symbolic.analysis.keys` -- ``estimate_key``, ``scale_pitch_classes``, ``windowed_scales`` and
  ``bar_scales`` (the key around each bar, from the kept parts).
- :mod:`symbolic.analysis.beats` -- beat grids and tempo maps (``retime`` a score onto annotated or found
  beats without moving a note in time; ``grid_fit`` tells a recorded performance; ``find_beats``;
  ``quantize_score``).
- :mod:`symbolic.analysis.chords` -- Harte chord and key labels; ``chord_tone_ratio`` against annotations.
- :mod:`symbolic.analysis.harmony` -- the chords a melody implies (``estimate_chords``: a hidden Markov
  model over 24 triads, one a half bar, whose emissions are a small classifier of the notes around it and
  which also chooses the key), learnt from POP909.

Importing this package loads neither torch nor the shipped weights; modules are imported on use.
"""
