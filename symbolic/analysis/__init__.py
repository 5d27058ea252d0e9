"""What the jobs need to know about a score.

Verbs: :func:`~symbolic.analysis.keys.estimate_key`,
:func:`~symbolic.analysis.keys.scale_pitch_classes`,
:func:`~symbolic.analysis.keys.windowed_scales` and
:func:`~symbolic.analysis.keys.bar_scales` (the key around each bar).
"""
