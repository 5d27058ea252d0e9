"""Analysis of scores: what a musician reads from the notes.

- :mod:`symbolic.analysis.beats`: beat grids and tempo maps (``retime`` a score onto annotated or found
  beats without moving a note in time; ``grid_fit`` tells a recorded performance; ``find_beats``;
  ``quantize_score``).
- :mod:`symbolic.analysis.chords`: Harte chord and key labels; ``chord_tone_ratio`` against annotations.
"""
