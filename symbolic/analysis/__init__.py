"""Analysis of existing music: what each part of a score does.

Verbs:

- :func:`symbolic.analysis.roles.analyze_tracks` -- each track's role (melody, counter-melody, bass,
  harmony, drums) with a confidence and the reasons; says when no track is the melody.
- :func:`symbolic.analysis.melody.extract_melody` -- split one polyphonic track into its melody line and
  the rest (:func:`~symbolic.analysis.melody.skyline_mask` is the baseline it is measured against).

Importing this package loads neither torch nor the shipped weights; modules are imported on use.
"""
