"""Symbolic metrics of one score, with MusPy's definitions (checked against MusPy in the tests).

Ticks are the score's own; a beat is a quarter note (``ticks_per_beat``).
Every metric names its value on a score with no notes: NaN where MusPy gives
NaN (a ratio with nothing to count), 0 for counts.  Drum tracks are ignored by
the pitch metrics and included by the rhythm metrics, as in MusPy.
"""

from __future__ import annotations

import math

import numpy as np

from symbolic.score import Score

__all__ = [
    "pitch_range",
    "n_pitches_used",
    "n_pitch_classes_used",
    "pitch_entropy",
    "pitch_class_entropy",
    "scale_consistency",
    "polyphony",
    "polyphony_rate",
    "empty_beat_rate",
    "groove_consistency",
    "note_density",
    "mean_duration_beats",
    "mean_velocity",
    "measure_ticks",
    "all_metrics",
    "METRIC_NAMES",
]

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)


def _pitches(score: Score) -> np.ndarray:
    return np.array([n.pitch for t in score.tracks if not t.is_drum for n in t.notes], dtype=np.int64)


def _end_ticks(score: Score) -> int:
    return max((n.onset_ticks + n.duration_ticks for t in score.tracks for n in t.notes), default=0)


def pitch_range(score: Score) -> float:
    """Highest minus lowest pitch of the pitched notes, in semitones; NaN with none."""
    p = _pitches(score)
    return float(p.max() - p.min()) if p.size else math.nan


def n_pitches_used(score: Score) -> int:
    """Distinct pitches of the pitched notes; 0 with none."""
    return int(np.unique(_pitches(score)).size)


def n_pitch_classes_used(score: Score) -> int:
    """Distinct pitch classes of the pitched notes; 0 with none."""
    return int(np.unique(_pitches(score) % 12).size)


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total < 1:
        return math.nan
    prob = counts[counts > 0] / total
    return float(-(prob * np.log2(prob)).sum())


def pitch_entropy(score: Score) -> float:
    """Entropy in bits of the pitch histogram of the pitched notes; NaN with none."""
    return _entropy(np.bincount(_pitches(score), minlength=128).astype(float))


def pitch_class_entropy(score: Score) -> float:
    """Entropy in bits of the pitch-class histogram (0..log2 12); NaN with no pitched note."""
    return _entropy(np.bincount(_pitches(score) % 12, minlength=12).astype(float))


def scale_consistency(score: Score) -> float:
    """Largest share of pitched notes inside one major or minor scale (0..1); NaN with none."""
    p = _pitches(score)
    if not p.size:
        return math.nan
    classes = np.bincount(p % 12, minlength=12)
    best = 0.0
    for scale in (_MAJOR, _MINOR):
        for root in range(12):
            best = max(best, classes[np.roll(scale, root)].sum() / p.size)
    return float(best)


def _pianoroll(score: Score) -> np.ndarray:
    roll = np.zeros((_end_ticks(score), 128), dtype=bool)
    for track in score.tracks:
        if not track.is_drum:
            for n in track.notes:
                roll[n.onset_ticks:n.onset_ticks + n.duration_ticks, n.pitch] = True
    return roll


def polyphony(score: Score) -> float:
    """Mean number of pitches sounding, over the ticks where at least one sounds; NaN with none."""
    counts = _pianoroll(score).sum(axis=1)
    sounding = np.count_nonzero(counts > 0)
    return float(counts.sum() / sounding) if sounding else math.nan


def polyphony_rate(score: Score, threshold: int = 2) -> float:
    """Share of ticks with more than ``threshold`` pitches sounding (MusPy's definition); NaN for length 0."""
    counts = _pianoroll(score).sum(axis=1)
    return float(np.count_nonzero(counts > threshold) / counts.size) if counts.size else math.nan


def empty_beat_rate(score: Score) -> float:
    """Share of beats where no note sounds (a note marks every beat from its onset to its end); NaN for length 0."""
    length = _end_ticks(score)
    if length < 1:
        return math.nan
    res = score.ticks_per_beat
    busy = np.zeros(length // res + 1, dtype=bool)
    for track in score.tracks:
        for n in track.notes:
            busy[n.onset_ticks // res:(n.onset_ticks + n.duration_ticks) // res + 1] = True
    return float(1 - busy.sum() / busy.size)


def measure_ticks(score: Score) -> int:
    """Ticks of one bar of the first time signature (4/4 when there is none)."""
    first = score.time_signatures[0] if score.time_signatures else None
    return first.bar_ticks(score.ticks_per_beat) if first else 4 * score.ticks_per_beat


def groove_consistency(score: Score, measure_resolution: int | None = None) -> float:
    """1 minus the mean Hamming distance between onset patterns of neighbouring bars, per bar tick (0..1).

    ``measure_resolution`` is ticks per bar (default :func:`measure_ticks`).
    NaN for a piece shorter than two bars.
    """
    res = measure_resolution or measure_ticks(score)
    n_measures = _end_ticks(score) // res + 1
    if n_measures < 2:
        return math.nan
    patterns = np.zeros((n_measures, res), dtype=bool)
    for track in score.tracks:
        for n in track.notes:
            bar, position = divmod(n.onset_ticks, res)
            patterns[bar, position] = True
    distance = np.count_nonzero(patterns[:-1] != patterns[1:])
    return float(1 - distance / (res * (n_measures - 1)))


def note_density(score: Score) -> float:
    """Notes (all tracks) per beat over the piece's length; 0 with no notes."""
    length = _end_ticks(score)
    return score.n_notes * score.ticks_per_beat / length if length else 0.0


def mean_duration_beats(score: Score) -> float:
    """Mean note duration in beats; NaN with no notes."""
    durations = [n.duration_ticks for t in score.tracks for n in t.notes]
    return float(np.mean(durations) / score.ticks_per_beat) if durations else math.nan


def mean_velocity(score: Score) -> float:
    """Mean MIDI velocity (1..127); NaN with no notes."""
    velocities = [n.velocity for t in score.tracks for n in t.notes]
    return float(np.mean(velocities)) if velocities else math.nan


_METRICS = {
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_entropy": pitch_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "polyphony": polyphony,
    "polyphony_rate": polyphony_rate,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "note_density": note_density,
    "mean_duration_beats": mean_duration_beats,
    "mean_velocity": mean_velocity,
}
METRIC_NAMES = tuple(_METRICS)


def all_metrics(score: Score) -> dict[str, float]:
    """Every metric of this module for one score, by name."""
    return {name: float(fn(score)) for name, fn in _METRICS.items()}
