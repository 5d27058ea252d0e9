"""Melody extraction: split one polyphonic track (a piano arrangement) into its melody line and the rest.

Two extractors share one interface, a boolean melody mask over the notes:

- :func:`skyline_mask`, the classic baseline (Uitdenbogerd and Zobel 1998): at each onset the highest
  note is melody, unless a higher note is still sounding.
- :func:`melody_mask`, the shipped extractor: per-note features of the note and its neighbourhood
  (:func:`note_features`) read by dilated 1-D convolutions over the note sequence, bidirectional GRU layers
  and optionally self-attention over the whole song, with a MELODY / BRIDGE / PIANO output, trained on the POP909
  train split (``benchmarks/melody_extraction.py --train``); the shipped one is an ensemble of three such networks
  (:class:`MelodyEnsemble`; weights in ``symbolic/assets/melody-extractor``, see MODEL_CARD.md) whose calls, with
  those of each note's repeats in the song (:func:`repeat_matches`), are read by a stacker of gradient-boosted
  trees (:func:`stack_features`, :class:`BoostedTrees`) fit on the validation and train splits.  Inference runs
  in numpy, without torch or scikit-learn.

:func:`extract_melody` is the verb the jobs call: ``extract_melody(track) -> (melody_notes, rest_notes)``.

Notes are handled in a canonical order, onset ascending then pitch descending (:func:`note_order`);
every feature function takes arrays in that order.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from symbolic.errors import ConfigError, DataError, ScoreError
from symbolic.score import Note, Score, Track
from symbolic.threads import numpy_threads

__all__ = [
    "MelodyExtractorConfig",
    "MelodyExtractor",
    "MelodyEnsembleConfig",
    "MelodyEnsemble",
    "FEATURE_NAMES",
    "note_order",
    "onset_groups",
    "onset_rank",
    "held_above",
    "neighbour_top_interval",
    "local_range_position",
    "log_duration_beats",
    "log_gap_beats",
    "relative_velocity",
    "beat_phase",
    "gap_below",
    "local_top_median",
    "song_position",
    "note_features",
    "skyline_mask",
    "top_line_mask",
    "fill_melody_rests",
    "FILL_RESTS_BEATS",
    "split_track_by_mask",
    "repeat_matches",
    "repeat_consistent_probabilities",
    "STACK_FEATURE_NAMES",
    "stack_features",
    "STAGE_TWO_FEATURE_NAMES",
    "called_line",
    "stage_two_features",
    "BoostedTrees",
    "save_boosted_trees",
    "load_boosted_trees",
    "melody_probabilities",
    "mask_from_probabilities",
    "melody_mask",
    "extract_melody",
    "load_melody_extractor",
    "save_melody_extractor",
    "save_melody_ensemble",
    "split_melody_track",
    "merge_tracks",
    "melody_note_accuracy",
]

_ATTENTION_ROWS = 512  # queries scored at once by the numpy attention
# Notes on each side of a block of queries that its attention reads: at least 1,024 either way, about the
# 2,048-note windows the networks were trained on, so time and memory grow linearly on long performances
# (a 12,418-note piano performance: 2.4 CPU s in the attention member over every note).  A song of up to 1,536
# notes is read whole; 116 of the 172 held-out POP909 songs are longer (up to 3,162 notes), and their accuracy
# is the same as with attention over every note (93.49% for the ensemble's mean, docs/results/real-world.md).
_ATTENTION_REACH = 1024
_LOG2_CLIP = 4.0  # log2 of beat lengths is clipped to +-4 (1/16 beat .. 16 beats)


@dataclass(frozen=True)
class MelodyExtractorConfig:
    """Shape of the extractor: ``n_features`` inputs per note, a 1-D convolution over the note sequence of
    ``channels`` channels and ``kernel_size``, then one residual dilated convolution per entry of
    ``dilations``, and a per-note output; a note is melody when its probability exceeds ``threshold``.
    ``window_beats`` is the half-width of the neighbourhood the features look at.  When the extractor calls fewer
    notes melody than ``min_skyline_share`` times the skyline's count, the track is unlike its training data (on
    POP909 validation songs the true melody holds 36-100% as many notes as the skyline) and :func:`melody_mask`
    gives the skyline instead: the top voice followed as one line (:func:`top_line_mask`), as a musician would
    read a piano piece with no sung line.

    With ``gru_layers`` > 0, that many bidirectional GRU layers (Cho et al. 2014; ``gru_units`` each way) read the
    convolutions' output over the whole song before the per-note output, so a call can depend on where the note
    lies in the song's structure (the voice rests in intros and interludes).  ``classes`` names the outputs:
    ``("MELODY",)`` is one logistic output; ``("MELODY", "BRIDGE", "PIANO")`` (POP909's track names) a softmax
    whose first column is P(melody), trained to tell the sung line from the secondary melody.

    With ``attention_layers`` > 0, that many pre-norm transformer blocks (Vaswani et al. 2017; Xiong et al. 2020)
    follow the GRU (or the convolutions): multi-head self-attention over every note of the song
    (``attention_heads`` heads, as torch's ``nn.MultiheadAttention``), then a ReLU feed-forward layer of
    ``attention_ffn`` units, each added to its input.  Pop songs repeat: a chorus's sung line comes back, and
    attention lets a note's call depend on its repeats however far apart they lie."""

    n_features: int = 33
    channels: int = 48
    kernel_size: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    threshold: float = 0.5
    window_beats: float = 2.0
    min_skyline_share: float = 0.25
    gru_layers: int = 0
    gru_units: int = 64
    classes: tuple[str, ...] = ("MELODY",)
    attention_layers: int = 0
    attention_heads: int = 4
    attention_ffn: int = 256

    def __post_init__(self) -> None:
        for name in ("n_features", "channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"melody extractor {name} must be at least 1, got {getattr(self, name)}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"melody extractor kernel_size must be odd and positive, got {self.kernel_size}")
        if any(d < 1 for d in self.dilations):
            raise ConfigError(f"melody extractor dilations must be positive, got {self.dilations}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"melody extractor threshold must lie in (0, 1), got {self.threshold}")
        if not 0.0 <= self.min_skyline_share < 1.0:
            raise ConfigError(f"melody extractor min_skyline_share must lie in [0, 1), got {self.min_skyline_share}")
        if self.window_beats <= 0:
            raise ConfigError(f"melody extractor window_beats must be positive, got {self.window_beats}")
        if self.gru_layers < 0 or self.gru_units < 1:
            raise ConfigError(f"melody extractor needs gru_layers >= 0 and gru_units >= 1, got {self.gru_layers} "
                              f"and {self.gru_units}")
        if not self.classes or self.classes[0] != "MELODY" or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"melody extractor classes must be distinct names starting with MELODY, "
                              f"got {self.classes}")
        if self.attention_layers < 0 or self.attention_heads < 1 or self.attention_ffn < 1:
            raise ConfigError(f"melody extractor needs attention_layers >= 0, attention_heads >= 1 and "
                              f"attention_ffn >= 1, got {self.attention_layers}, {self.attention_heads} "
                              f"and {self.attention_ffn}")
        if self.attention_layers and self.width % self.attention_heads:
            raise ConfigError(f"melody extractor attention_heads ({self.attention_heads}) must divide the width "
                              f"the attention reads ({self.width})")

    @property
    def width(self) -> int:
        """Channels per note after the GRU layers (``2 * gru_units``) or, with none, after the convolutions."""
        return 2 * self.gru_units if self.gru_layers else self.channels

    @property
    def receptive_notes(self) -> int | None:
        """How many notes on each side of a note the output can see (None: the whole song, through the GRU)."""
        if self.gru_layers or self.attention_layers:
            return None
        return (self.kernel_size // 2) * (1 + sum(self.dilations))


# ---------------------------------------------------------------------------------------------- features


def note_order(notes: Sequence[Note]) -> np.ndarray:
    """Indices that put ``notes`` in canonical order: onset ascending, then pitch descending; int64 ``(n,)``."""
    if not notes:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
    return np.lexsort((-arr[:, 2], arr[:, 0])).astype(np.int64)


def onset_groups(onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group notes that start together.  ``onsets`` int ``(n,)`` sorted ascending.

    Returns ``(group, starts, times)``: the group index of each note ``(n,)``, the first note index of each
    group ``(g,)`` and each group's onset tick ``(g,)``.  Empty input gives three empty arrays.
    """
    onsets = np.asarray(onsets)
    times, starts, group = np.unique(onsets, return_index=True, return_inverse=True)
    return group.astype(np.int64), starts.astype(np.int64), times


def onset_rank(onsets: np.ndarray, pitches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each note from the top among notes with the same onset (0 = highest) and the size of its group.

    Arrays in canonical order (:func:`note_order`); returns two int64 ``(n,)`` arrays.  Equal pitches take
    consecutive ranks.
    """
    group, starts, _ = onset_groups(onsets)
    rank = np.arange(len(onsets)) - starts[group]
    sizes = np.bincount(group, minlength=len(starts))
    return rank.astype(np.int64), sizes[group].astype(np.int64)


def held_above(onsets: np.ndarray, durations: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """Number of notes that started earlier, still sound at this note's onset and are higher; int64 ``(n,)``.

    This is what the skyline rule checks: a note under a held higher note is not the top voice.
    """
    n = len(onsets)
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out
    offsets = onsets + durations
    group, starts, _ = onset_groups(onsets)
    ends = np.append(starts[1:], n)
    active: list[int] = []
    for start, end in zip(starts, ends):
        t = onsets[start]
        active = [j for j in active if offsets[j] > t]
        if active:
            held = pitches[active]
            for i in range(start, end):
                out[i] = int(np.count_nonzero(held > pitches[i]))
        active.extend(range(start, end))
    return out


def neighbour_top_interval(onsets: np.ndarray, pitches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval in semitones from each note to the highest note of the previous and of the next onset.

    Arrays in canonical order; returns two float ``(n,)`` arrays (``pitch - top``), 0 where there is no
    previous (first onset) or next (last onset) group.
    """
    group, starts, _ = onset_groups(onsets)
    if len(onsets) == 0:
        return np.zeros(0), np.zeros(0)
    top = pitches[starts].astype(float)  # canonical order: a group's first note is its highest
    prev_top = np.concatenate([[np.nan], top[:-1]])[group]
    next_top = np.concatenate([top[1:], [np.nan]])[group]
    p = pitches.astype(float)
    return np.nan_to_num(p - prev_top), np.nan_to_num(p - next_top)


def local_range_position(onsets: np.ndarray, pitches: np.ndarray, window_ticks: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each note sits in the pitch range of the notes starting within ``window_ticks`` of it.

    Returns ``(below_ceiling, position)``, float ``(n,)``: semitones from the note up to the highest
    neighbouring pitch (>= 0) and the note's place between the lowest (0) and highest (1) neighbour
    (0.5 where all neighbours share one pitch).
    """
    n = len(onsets)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    group, starts, times = onset_groups(onsets)
    ends = np.append(starts[1:], n)
    top = pitches[starts]
    bottom = pitches[ends - 1]
    lo = np.searchsorted(times, times - window_ticks, side="left")
    hi = np.searchsorted(times, times + window_ticks, side="right")
    ceiling = np.array([top[a:b].max() for a, b in zip(lo, hi)], dtype=float)
    floor = np.array([bottom[a:b].min() for a, b in zip(lo, hi)], dtype=float)
    p = pitches.astype(float)
    span = (ceiling - floor)[group]
    position = np.where(span > 0, (p - floor[group]) / np.maximum(span, 1), 0.5)
    return ceiling[group] - p, position


def log_duration_beats(durations: np.ndarray, ticks_per_beat: int) -> np.ndarray:
    """log2 of each duration in beats, clipped to [-4, 4]; float ``(n,)``."""
    beats = np.maximum(np.asarray(durations, dtype=float), 1.0) / ticks_per_beat
    return np.clip(np.log2(beats), -_LOG2_CLIP, _LOG2_CLIP)


def log_gap_beats(onsets: np.ndarray, ticks_per_beat: int) -> tuple[np.ndarray, np.ndarray]:
    """log2 of the time in beats from each note's onset back to the previous onset and on to the next one.

    Clipped to [-4, 4]; the first (last) onset gets 4 for its previous (next) gap.  Float ``(n,)`` each.
    """
    group, _, times = onset_groups(onsets)
    if len(onsets) == 0:
        return np.zeros(0), np.zeros(0)
    gaps = np.diff(times.astype(float)) / ticks_per_beat
    big = 2.0 ** _LOG2_CLIP
    prev_gap = np.concatenate([[big], gaps])[group]
    next_gap = np.concatenate([gaps, [big]])[group]
    clip = lambda x: np.clip(np.log2(np.maximum(x, 1e-6)), -_LOG2_CLIP, _LOG2_CLIP)  # noqa: E731
    return clip(prev_gap), clip(next_gap)


def relative_velocity(onsets: np.ndarray, velocities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Velocity against the whole track and against the loudest note of the same onset, in units of 16.

    Returns ``((v - median) / 16, (v - loudest at onset) / 16)``, float ``(n,)`` each; both are 0 in a track
    whose velocities are all equal (notation software), so the extractor cannot lean on them there.
    """
    if len(onsets) == 0:
        return np.zeros(0), np.zeros(0)
    v = velocities.astype(float)
    group, _, times = onset_groups(onsets)
    loudest = np.full(len(times), -np.inf)
    np.maximum.at(loudest, group, v)
    return (v - np.median(v)) / 16.0, (v - loudest[group]) / 16.0


def beat_phase(onsets: np.ndarray, ticks_per_beat: int) -> np.ndarray:
    """Position of each onset in its beat as ``(sin, cos)`` of the beat, half-beat and quarter-beat phase
    (the last tells how close the onset lies to the sixteenth-note grid); float ``(n, 6)``."""
    phase = 2 * np.pi * (np.asarray(onsets, dtype=float) % ticks_per_beat) / ticks_per_beat
    return np.stack([f(k * phase) for k in (1, 2, 4) for f in (np.sin, np.cos)], axis=1)


def song_position(n_notes: int) -> np.ndarray:
    """Where each note lies in the piece, by note count: 0 for the first, 1 for the last; float ``(n,)``.

    Intros and endings, where an instrument rather than the voice carries the tune, sit near 0 and 1.
    """
    return np.linspace(0.0, 1.0, n_notes) if n_notes > 1 else np.zeros(n_notes)


def velocity_agreement(velocities: np.ndarray, top: np.ndarray, tolerance: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """How well each note's velocity agrees with the velocities of the top line (``top``: bool ``(n,)``).

    A melody played or entered as one part keeps a steady velocity, unlike fills and accompaniment.  Returns
    ``(share, to_mode)``, float ``(n,)`` each: the share of top-line notes within ``tolerance`` of the note's
    velocity, and ``(velocity - mode) / 16``, where the mode is the lowest velocity whose ``tolerance`` window holds
    the most top-line notes.  With no top line both are 0.
    """
    v = np.asarray(velocities, dtype=np.int64)
    top_v = v[np.asarray(top, dtype=bool)]
    if len(v) == 0 or len(top_v) == 0:
        return np.zeros(len(v)), np.zeros(len(v))
    low = int(v.min())  # counted from the lowest velocity: the result does not change when all shift
    counts = np.bincount(top_v - low, minlength=int(v.max()) - low + 1)
    near = np.convolve(counts, np.ones(2 * tolerance + 1), mode="same")
    mode = int(np.argmax(near)) + low
    return near[v - low] / len(top_v), (v - mode) / 16.0


def legato_neighbours(onsets: np.ndarray, durations: np.ndarray, pitches: np.ndarray, velocities: np.ndarray,
                      ticks_per_beat: int, max_interval: int = 7,
                      max_velocity_step: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Whether each note continues a line: a note of similar pitch and velocity ends as it starts, or starts
    as it ends.

    A neighbour qualifies when it lies within ``max_interval`` semitones and ``max_velocity_step`` velocity
    steps, and the gap between one note's end and the other's start lies between a sixteenth-note overlap and
    half a beat of rest.  Returns ``(from_previous, to_next)``, float 0/1 ``(n,)`` each, arrays in any order.
    """
    n = len(onsets)
    prev_found, next_found = np.zeros(n), np.zeros(n)
    if n == 0:
        return prev_found, next_found
    offsets = onsets + durations
    overlap, rest = ticks_per_beat // 4, ticks_per_beat // 2
    by_offset = np.argsort(offsets, kind="stable")
    sorted_offsets = offsets[by_offset]
    lo = np.searchsorted(sorted_offsets, onsets - rest, side="left")
    hi = np.searchsorted(sorted_offsets, onsets + overlap, side="right")
    slot, valid = _windows(lo, hi)
    j = by_offset[slot]
    ok = valid & (onsets[j] < onsets[:, None]) & (np.abs(pitches[j] - pitches[:, None]) <= max_interval) & \
        (np.abs(velocities[j] - velocities[:, None]) <= max_velocity_step)
    prev_found[ok.any(axis=1)] = 1.0
    next_found[j[ok]] = 1.0
    return prev_found, next_found


def _windows(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index matrix ``(n, k)`` of the ranges ``lo[i]..hi[i]`` (padded, clipped) and the mask of real entries."""
    width = max(1, int((hi - lo).max(initial=1)))
    slot = lo[:, None] + np.arange(width)[None, :]
    valid = slot < hi[:, None]
    return np.minimum(slot, max(len(lo) - 1, 0)), valid


def velocity_layer(onsets: np.ndarray, durations: np.ndarray, velocities: np.ndarray, window_ticks: float,
                   max_velocity_step: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """How many other notes of the same loudness sound with each note, and how common its loudness is nearby.

    Returns ``(sounding, share)``, float ``(n,)`` each: the count of other notes sounding at the note's onset
    (started at most ``window_ticks`` before it, not yet ended) within ``max_velocity_step`` of its velocity (a
    melody played as one layer has none), and the share of notes starting within ``window_ticks`` whose
    velocity lies that close.
    Arrays sorted by onset.
    """
    n = len(onsets)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    offsets = onsets + durations
    v = velocities.astype(np.int64)
    start = np.searchsorted(onsets, onsets - window_ticks, side="left")
    end = np.searchsorted(onsets, onsets + window_ticks, side="right")
    now = np.searchsorted(onsets, onsets, side="right")
    slot, valid = _windows(start, end)
    near = valid & (np.abs(v[slot] - v[:, None]) <= max_velocity_step)
    share = near.sum(axis=1) / valid.sum(axis=1)
    before = near & (slot < now[:, None]) & (offsets[slot] > onsets[:, None])
    return before.sum(axis=1) - 1.0, share  # the note itself is one of them


def gap_below(onsets: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """Semitones from each note down to the next lower note starting with it (0 for the lowest); float ``(n,)``.

    Arrays in canonical order.  A melody note over its accompaniment often stands apart from the chord.
    """
    n = len(onsets)
    if n == 0:
        return np.zeros(0)
    group, _, _ = onset_groups(onsets)
    same = np.append(group[1:] == group[:-1], False)
    below = np.append(pitches[1:], 0)
    return np.where(same, pitches - below, 0).astype(float)


def local_top_median(onsets: np.ndarray, pitches: np.ndarray, window_ticks: float) -> np.ndarray:
    """Semitones from each note to the median of the highest notes of the onsets within ``window_ticks``;
    float ``(n,)``, arrays in canonical order.  Where the melody rests the top line drops, which this shows."""
    n = len(onsets)
    if n == 0:
        return np.zeros(0)
    group, starts, times = onset_groups(onsets)
    top = pitches[starts].astype(float)
    lo = np.searchsorted(times, times - window_ticks, side="left")
    hi = np.searchsorted(times, times + window_ticks, side="right")
    slot, valid = _windows(lo, hi)
    ranked = np.sort(np.where(valid, top[slot], np.inf), axis=1)  # the real entries first, in order
    count = valid.sum(axis=1)
    rows = np.arange(len(top))
    medians = 0.5 * (ranked[rows, (count - 1) // 2] + ranked[rows, count // 2])
    return pitches - medians[group]



def line_statistics(notes: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5,
                    min_notes: int = 8) -> np.ndarray:
    """How well each note fits the song's melody line as a first pass sees it: the refiner's extra input.

    ``notes`` int ``(n, 4)`` rows ``(onset, duration, pitch, velocity)`` in canonical order, ``probabilities``
    float ``(n,)`` the first pass's P(melody).  The line is the notes above ``threshold`` (or, with fewer than
    ``min_notes`` of them, the most probable fifth).  A sung melody keeps one loudness (on POP909 the MELODY
    track's velocities spread by 4-6 steps, the BRIDGE's and PIANO's by 10-20) and one register (about an octave
    and a half), which a phrase the first pass missed shares with the rest of the line.

    Returns float32 ``(n, len(LINE_FEATURE_NAMES))``: the note's velocity in robust standard deviations from
    the line's median velocity (clipped at 6, divided by 3) and its absolute value, the share of line notes within
    3 velocity steps, semitones (/12) from the line's median pitch, above its 95th and below its 5th pitch
    percentile, the share of line notes within a semitone of the pitch, of the same pitch class, and log2 of the
    duration against the line's median duration (/4).  All velocity columns are 0 (the share 1) when every
    velocity is equal.  ``(0, k)`` for no notes.
    """
    n = len(notes)
    if n == 0:
        return np.zeros((0, len(LINE_FEATURE_NAMES)), dtype=np.float32)
    d, pitch, v = notes[:, 1], notes[:, 2].astype(np.int64), notes[:, 3].astype(np.int64)
    line = probabilities > threshold
    if line.sum() < min(min_notes, n):
        line = probabilities >= np.quantile(probabilities, 0.8)
    lv, lp = v[line], pitch[line]
    median_v = float(np.median(lv))
    spread = max(1.4826 * float(np.median(np.abs(lv - median_v))), 2.0)
    z = np.clip((v - median_v) / spread, -6, 6) / 3
    v_counts = np.bincount(lv, minlength=128).astype(float)
    near_v = np.convolve(v_counts, np.ones(7), mode="same")[v] / len(lv)
    p05, p50, p95 = np.quantile(lp, [0.05, 0.5, 0.95])
    p_counts = np.bincount(lp, minlength=128).astype(float)
    near_p = np.convolve(p_counts, np.ones(3), mode="same")[pitch] / len(lp)
    class_share = np.bincount(lp % 12, minlength=12)[pitch % 12] / len(lp)
    log_d = np.log2(np.maximum(d, 1).astype(float))
    columns = [z, np.abs(z), near_v, (pitch - p50) / 12.0, np.maximum(0.0, pitch - p95) / 12.0,
               np.maximum(0.0, p05 - pitch) / 12.0, near_p, class_share,
               np.clip(log_d - np.median(log_d[line]), -_LOG2_CLIP, _LOG2_CLIP) / _LOG2_CLIP]
    return np.stack(columns, axis=1).astype(np.float32)


LINE_FEATURE_NAMES = (
    "velocity_vs_line", "velocity_off_line", "line_velocity_share", "pitch_vs_line_median", "above_line_range",
    "below_line_range", "line_pitch_share", "line_pitch_class_share", "duration_vs_line",
)

FEATURE_NAMES = (
    "pitch", "pitch_vs_track_mean", "onset_rank", "onset_group_size", "is_onset_top", "is_onset_bottom",
    "held_above", "interval_to_prev_top", "interval_to_next_top", "below_local_ceiling", "local_range_position",
    "log_duration", "log_gap_prev", "log_gap_next", "velocity_vs_median", "velocity_vs_onset_loudest",
    "velocity_is_constant", "is_skyline", "gap_below", "vs_local_top_median",
    "beat_sin", "beat_cos", "half_beat_sin", "half_beat_cos", "quarter_beat_sin", "quarter_beat_cos",
    "song_position", "velocity_agreement", "velocity_vs_top_mode",
    "legato_from_previous", "legato_to_next", "same_layer_sounding", "same_layer_share",
)


def note_features(notes: Sequence[Note], ticks_per_beat: int, window_beats: float = 2.0) -> np.ndarray:
    """The extractor's input: one row of :data:`FEATURE_NAMES` per note, notes in canonical order.

    ``notes`` in any order (the rows follow :func:`note_order`); returns float32 ``(n, 33)``; ``(0, 33)`` for
    no notes.  Semitone features are divided by 12, counts clipped at 4 and divided by 4.
    """
    if ticks_per_beat <= 0:
        raise ConfigError(f"ticks_per_beat must be positive, got {ticks_per_beat}")
    if not notes:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)[note_order(notes)]
    o, d, p, v = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    rank, size = onset_rank(o, p)
    above = held_above(o, d, p)
    prev_iv, next_iv = neighbour_top_interval(o, p)
    below_ceiling, position = local_range_position(o, p, window_beats * ticks_per_beat)
    gap_prev, gap_next = log_gap_beats(o, ticks_per_beat)
    vel_median, vel_loudest = relative_velocity(o, v)
    constant = float(v.min() == v.max())
    pf = p.astype(float)
    columns = [
        (pf - 60.0) / 12.0, (pf - pf.mean()) / 12.0, np.minimum(rank, 4) / 4.0, np.minimum(size, 4) / 4.0,
        (rank == 0).astype(float), (rank == size - 1).astype(float), np.minimum(above, 4) / 4.0,
        np.clip(prev_iv, -24, 24) / 12.0, np.clip(next_iv, -24, 24) / 12.0, np.minimum(below_ceiling, 36) / 12.0,
        position, log_duration_beats(d, ticks_per_beat) / _LOG2_CLIP, gap_prev / _LOG2_CLIP, gap_next / _LOG2_CLIP,
        vel_median, vel_loudest, np.full(len(p), constant), ((rank == 0) & (above == 0)).astype(float),
        np.minimum(gap_below(o, p), 24) / 12.0,
        np.clip(local_top_median(o, p, 2 * window_beats * ticks_per_beat), -36, 24) / 12.0,
    ]
    agreement, vs_mode = velocity_agreement(v, (rank == 0) & (above == 0))
    legato_prev, legato_next = legato_neighbours(o, d, p, v, ticks_per_beat)
    layer_sounding, layer_share = velocity_layer(o, d, v, window_beats * ticks_per_beat)
    extra = [song_position(len(o)), agreement, vs_mode, legato_prev, legato_next,
             np.minimum(layer_sounding, 4) / 4.0, layer_share]
    return np.concatenate([np.stack(columns, axis=1), beat_phase(o, ticks_per_beat), np.stack(extra, axis=1)],
                          axis=1).astype(np.float32)


# ---------------------------------------------------------------------------------------------- extractors


def skyline_mask(notes: Sequence[Note], respect_held: bool = True) -> np.ndarray:
    """The skyline baseline: bool ``(n,)`` in the order of ``notes``, True for the highest note of each onset
    (with ``respect_held``, only when no earlier, still-sounding higher note covers it; without, the plain
    "highest note at each onset" rule).  Empty input gives an empty mask."""
    out = np.zeros(len(notes), dtype=bool)
    if not notes:
        return out
    order = note_order(notes)
    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)[order]
    rank, _ = onset_rank(arr[:, 0], arr[:, 2])
    above = held_above(arr[:, 0], arr[:, 1], arr[:, 2]) if respect_held else np.zeros(len(arr), dtype=np.int64)
    out[order] = (rank == 0) & (above == 0)
    return out


def top_line_mask(notes: Sequence[Note], ticks_per_beat: int, max_leap_down: int = 9,
                  rest_beats: float = 2.0) -> np.ndarray:
    """The skyline followed as one line: bool ``(n,)`` in the order of ``notes``.  A skyline note more than
    ``max_leap_down`` semitones under the line's last note is left out while it comes within ``rest_beats``
    beats of that note's end: where the right hand rests, the plain skyline jumps to the left hand's bass,
    which no one calls the melody, while a run or a phrase after a rest keeps its notes.  On every third
    validation song of POP909: 80.8% of notes right against the skyline's 79.9% (a leap of 7: 80.95%, 12:
    80.6%; the default, a sixth, lets a melody leap a seventh or an octave down and stay).  Empty input
    gives an empty mask."""
    mask = skyline_mask(notes)
    last_pitch, last_end = None, 0
    for i in note_order(notes):
        if not mask[i]:
            continue
        note = notes[i]
        if last_pitch is not None and note.pitch < last_pitch - max_leap_down \
                and note.onset_ticks - last_end < rest_beats * ticks_per_beat:
            mask[i] = False
            continue
        last_pitch, last_end = note.pitch, note.onset_ticks + note.duration_ticks
    return mask


_SIGMOID_CLIP = 30.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -_SIGMOID_CLIP, _SIGMOID_CLIP)))


class MelodyExtractor:
    """The trained extractor: numpy weights of a stack of 1-D convolutions over the note sequence (an input
    convolution, residual dilated convolutions with ReLU, as in WaveNet / TCN, Bai et al. 2018), optional
    bidirectional GRU layers (``config.gru_layers``, torch's ``nn.GRU`` equations) and a per-note output over
    ``config.classes``.  Build it with :func:`load_melody_extractor`; call :meth:`probabilities`.

    ``refiner``, when given, is a second network of the same kind that reads each note's features, the first
    pass's logit and the note's fit to the line the first pass found (:func:`refiner_inputs`), and gives the
    final probabilities (stacking, Wolpert 1992); its threshold is then the one that counts (:attr:`threshold`).
    """

    @property
    def threshold(self) -> float:
        """The probability above which the final pass calls a note melody."""
        return (self.refiner or self).config.threshold

    def __init__(self, config: MelodyExtractorConfig, weights: dict[str, np.ndarray],
                 refiner: MelodyExtractor | None = None):
        self.config = config
        self.refiner = refiner
        names = _weight_names(config)
        missing = [k for k in names if k not in weights]
        if missing:
            raise DataError(f"melody extractor weights lack {', '.join(missing)}; retrain with "
                            "the script benchmarks/melody_extraction.py")
        self.weights = {k: np.asarray(weights[k], dtype=np.float32) for k in names}

    @staticmethod
    def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
        """Same-length 1-D convolution of ``x`` ``(n, c_in)`` with torch's Conv1d ``weight`` ``(c_out, c_in, k)``."""
        k = weight.shape[2]
        pad = (k // 2) * dilation
        padded = np.pad(x, ((pad, pad), (0, 0)))
        out = np.broadcast_to(bias, (len(x), len(bias))).copy()
        for j in range(k):
            out += padded[j * dilation: j * dilation + len(x)] @ weight[:, :, j].T
        return out

    def _gru(self, x: np.ndarray, layer: str) -> np.ndarray:
        """One direction of torch's ``nn.GRU`` layer (gates r, z, n) over ``x`` ``(n, c_in)``; float32 ``(n, units)``.

        ``layer`` is the weight-name suffix, e.g. ``l0`` or ``l0_reverse`` (run over the reversed sequence)."""
        w = self.weights
        units = self.config.gru_units
        reverse = layer.endswith("_reverse")
        seq = x[::-1] if reverse else x
        gates_in = seq @ w[f"gru.weight_ih_{layer}"].T + w[f"gru.bias_ih_{layer}"]  # (n, 3 units), all steps at once
        w_hh, b_hh = w[f"gru.weight_hh_{layer}"].T, w[f"gru.bias_hh_{layer}"]
        h = np.zeros(units, dtype=np.float32)
        out = np.empty((len(seq), units), dtype=np.float32)
        for t, g in enumerate(gates_in):
            gh = h @ w_hh + b_hh
            rz = 1.0 / (1.0 + np.exp(-(g[:2 * units] + gh[:2 * units])))
            n = np.tanh(g[2 * units:] + rz[:units] * gh[2 * units:])
            h = n + rz[units:] * (h - n)  # (1 - z) n + z h
            out[t] = h
        return out[::-1] if reverse else out

    def _attention_block(self, x: np.ndarray, name: str) -> np.ndarray:
        """One pre-norm transformer block over ``x`` ``(n, width)``: ``x + attention(norm1(x))``, then
        ``+ ff2(relu(ff1(norm2(.))))``; torch's ``nn.MultiheadAttention`` equations (softmax of q k^T / sqrt(d_head)
        per head); float32 ``(n, width)``."""
        w = self.weights
        heads = self.config.attention_heads
        n, width = x.shape
        d_head = width // heads
        qkv = _layer_norm(x, w[f"{name}.norm1.weight"], w[f"{name}.norm1.bias"]) @ w[f"{name}.mha.in_proj_weight"].T
        qkv = (qkv + w[f"{name}.mha.in_proj_bias"]).reshape(n, 3, heads, d_head).transpose(1, 2, 0, 3)
        q, k, v = qkv[0] / np.float32(np.sqrt(d_head)), qkv[1], qkv[2]  # (heads, n, d_head) each
        mixed = np.empty((n, heads, d_head), dtype=np.float32)
        for head in range(heads):  # a block of queries at a time, over the keys within _ATTENTION_REACH of it
            for start in range(0, n, _ATTENTION_ROWS):
                low, high = max(0, start - _ATTENTION_REACH), min(n, start + _ATTENTION_ROWS + _ATTENTION_REACH)
                scores = q[head, start:start + _ATTENTION_ROWS] @ k[head, low:high].T
                scores -= scores.max(axis=1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=1, keepdims=True)
                mixed[start:start + _ATTENTION_ROWS, head] = scores @ v[head, low:high]
        mixed = mixed.reshape(n, width)
        x = x + mixed @ w[f"{name}.mha.out_proj.weight"].T + w[f"{name}.mha.out_proj.bias"]
        hidden = _layer_norm(x, w[f"{name}.norm2.weight"], w[f"{name}.norm2.bias"]) @ w[f"{name}.ff1.weight"].T
        hidden = np.maximum(hidden + w[f"{name}.ff1.bias"], 0.0)
        return x + hidden @ w[f"{name}.ff2.weight"].T + w[f"{name}.ff2.bias"]

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(melody) per row of ``features`` (float ``(n, n_features)``, canonical order); float ``(n,)``."""
        if features.ndim != 2 or features.shape[1] != self.config.n_features:
            raise DataError(f"melody extractor expects {self.config.n_features} features per note, "
                            f"got shape {features.shape}")
        if len(features) == 0:
            return np.zeros(0)
        w = self.weights
        h = np.maximum(self._conv(features.astype(np.float32), w["inp.weight"], w["inp.bias"], 1), 0.0)
        for i, d in enumerate(self.config.dilations):
            h = h + np.maximum(self._conv(h, w[f"blocks.{i}.weight"], w[f"blocks.{i}.bias"], d), 0.0)
        for layer in range(self.config.gru_layers):
            h = np.concatenate([self._gru(h, f"l{layer}"), self._gru(h, f"l{layer}_reverse")], axis=1)
        for block in range(self.config.attention_layers):
            h = self._attention_block(h, f"attn.{block}")
        logits = self._conv(h, w["out.weight"], w["out.bias"], 1).astype(np.float64)
        if len(self.config.classes) == 1:
            return _sigmoid(logits[:, 0])
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp[:, 0] / exp.sum(axis=1)


@dataclass(frozen=True)
class MelodyEnsembleConfig:
    """An ensemble of extractors stored in one folder: ``members`` names the sub-folders, each an extractor of
    its own (:func:`save_melody_extractor`); their P(melody) is averaged and a note is melody when the average
    exceeds ``threshold`` (at most one per onset); ``min_skyline_share`` as in :class:`MelodyExtractorConfig`.

    With ``repeat_window_beats`` > 0, the averaged P(melody) is then made consistent across the song's repeats
    (:func:`repeat_consistent_probabilities`): the candidate notes (P(melody) at least ``repeat_min_probability``)
    are cut into windows of that many beats, windows whose (onset in window, pitch) sets have a Jaccard similarity
    of at least ``repeat_min_similarity`` are paired, and each candidate's probability becomes the mean over
    itself and the notes it matches exactly in paired windows, each weighted by its windows' similarity.  0 (the
    default, and what folders written before it hold) turns it off.

    With ``stacker``, the folder also holds ``stacker.safetensors``: gradient-boosted trees (:class:`BoostedTrees`)
    that read each note's :func:`stack_features` (the members' probabilities, the repeat statistics above, the
    best calls at its onset and along the line around it, and its :func:`note_features`) and give the final
    P(melody) in place of the repeat-consistent mean; it needs ``repeat_window_beats`` > 0.

    With ``stacker_stages`` 2 (it needs ``stacker``), the folder also holds ``stacker-2.safetensors``: trees that
    read the first stacker's P(melody) and the line it calls (:func:`stage_two_features`: notes whose first-stage P
    exceeds ``stage_one_threshold``, at most one per onset) with the first stage's inputs, and give the final
    P(melody), thresholded at ``threshold``.  1 (the default, and what folders written before it hold): one stage."""

    members: tuple[str, ...]
    threshold: float = 0.5
    min_skyline_share: float = 0.25
    repeat_window_beats: float = 0.0
    repeat_min_similarity: float = 0.3
    repeat_min_probability: float = 0.05
    stacker: bool = False
    stacker_stages: int = 1
    stage_one_threshold: float = 0.45

    def __post_init__(self) -> None:
        if len(self.members) < 2 or len(set(self.members)) != len(self.members):
            raise ConfigError(f"a melody ensemble needs two or more distinct members, got {self.members}")
        if any(not name or "/" in name or "\\" in name or name.startswith(".") for name in self.members):
            raise ConfigError(f"melody ensemble members must be plain sub-folder names, got {self.members}")
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"melody ensemble threshold must lie in (0, 1), got {self.threshold}")
        if not 0.0 <= self.min_skyline_share < 1.0:
            raise ConfigError(f"melody ensemble min_skyline_share must lie in [0, 1), got {self.min_skyline_share}")
        if not 0.0 <= self.repeat_window_beats <= 64.0:
            raise ConfigError(f"melody ensemble repeat_window_beats must lie in [0, 64] (0: off), "
                              f"got {self.repeat_window_beats}")
        if not 0.0 < self.repeat_min_similarity <= 1.0:
            raise ConfigError(f"melody ensemble repeat_min_similarity must lie in (0, 1], "
                              f"got {self.repeat_min_similarity}")
        if not 0.0 <= self.repeat_min_probability < 1.0:
            raise ConfigError(f"melody ensemble repeat_min_probability must lie in [0, 1), "
                              f"got {self.repeat_min_probability}")
        if self.stacker_stages not in (1, 2):
            raise ConfigError(f"melody ensemble stacker_stages must be 1 or 2, got {self.stacker_stages}")
        if self.stacker_stages == 2 and not self.stacker:
            raise ConfigError("a melody ensemble's second stacking stage reads the first: stacker_stages 2 needs "
                              "stacker")
        if not 0.0 < self.stage_one_threshold < 1.0:
            raise ConfigError(f"melody ensemble stage_one_threshold must lie in (0, 1), got {self.stage_one_threshold}")
        if self.stacker and self.repeat_window_beats <= 0:
            raise ConfigError("a melody ensemble's stacker reads the repeat statistics: it needs "
                              "repeat_window_beats > 0")


class MelodyEnsemble:
    """Extractors whose P(melody) is averaged per note (model averaging; Dietterich 2000, "Ensemble methods in
    machine learning").  Build it with :func:`load_melody_extractor` on a folder whose ``meta.json`` holds an
    ``ensemble`` entry (:class:`MelodyEnsembleConfig`); :func:`melody_probabilities` and :func:`melody_mask`
    take it wherever they take a :class:`MelodyExtractor`."""

    def __init__(self, config: MelodyEnsembleConfig, members: Sequence[MelodyExtractor],
                 stacker: BoostedTrees | None = None, second_stage: BoostedTrees | None = None):
        if len(members) != len(config.members):
            raise DataError(f"melody ensemble names {len(config.members)} members but got {len(members)}")
        if config.stacker != (stacker is not None):
            raise DataError("melody ensemble: its config " + ("names a stacker but none was given" if config.stacker
                                                              else "names no stacker but one was given"))
        if (config.stacker_stages == 2) != (second_stage is not None):
            raise DataError("melody ensemble: its config " + ("names a second stacking stage but none was given"
                                                              if config.stacker_stages == 2 else
                                                              "names one stacking stage but a second was given"))
        self.config = config
        self.members = tuple(members)
        self.stacker = stacker
        self.second_stage = second_stage

    @property
    def threshold(self) -> float:
        """The averaged probability above which a note is melody."""
        return self.config.threshold


def _weight_names(config: MelodyExtractorConfig) -> tuple[str, ...]:
    layers = ["inp"] + [f"blocks.{i}" for i in range(len(config.dilations))] + ["out"]
    gru = [f"gru.{kind}_{part}_l{i}{way}" for i in range(config.gru_layers) for way in ("", "_reverse")
           for kind in ("weight", "bias") for part in ("ih", "hh")]
    attention = [f"attn.{i}.{part}" for i in range(config.attention_layers)
                 for part in ("norm1.weight", "norm1.bias", "mha.in_proj_weight", "mha.in_proj_bias",
                              "mha.out_proj.weight", "mha.out_proj.bias", "norm2.weight", "norm2.bias",
                              "ff1.weight", "ff1.bias", "ff2.weight", "ff2.bias")]
    return tuple(f"{layer}.{kind}" for layer in layers for kind in ("weight", "bias")) + tuple(gru) + tuple(attention)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """torch's ``nn.LayerNorm`` over the last axis of ``x`` (biased variance, ``eps`` 1e-5)."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + np.float32(eps)) * weight + bias


def save_melody_extractor(folder: str | Path, config: MelodyExtractorConfig, weights: dict[str, np.ndarray],
                          meta: dict, refiner: tuple[MelodyExtractorConfig, dict[str, np.ndarray]] | None = None) -> None:
    """Write ``model.safetensors`` (float32) and ``meta.json`` (config plus ``meta``) into ``folder``; with
    ``refiner`` (its config and weights), its weights go into the same file under ``refiner.`` and its config
    into ``meta.json`` as ``refiner_config``."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.ascontiguousarray(weights[k], dtype=np.float32) for k in _weight_names(config)}
    head = {"config": asdict(config), "features": list(FEATURE_NAMES)}
    if refiner is not None:
        refiner_config, refiner_weights = refiner
        tensors.update({f"refiner.{k}": np.ascontiguousarray(refiner_weights[k], dtype=np.float32)
                        for k in _weight_names(refiner_config)})
        head.update(refiner_config=asdict(refiner_config), line_features=list(LINE_FEATURE_NAMES))
    save_file(tensors, str(folder / "model.safetensors"))
    text = json.dumps({**head, **meta}, indent=2)
    (folder / "meta.json").write_text(text + "\n", encoding="utf-8")


@lru_cache(maxsize=4)
def load_melody_extractor(folder: str | Path | None = None) -> MelodyExtractor | MelodyEnsemble:
    """The extractor stored in ``folder`` (default: the one shipped in ``symbolic/assets/melody-extractor``), or
    the :class:`MelodyEnsemble` when its ``meta.json`` holds an ``ensemble`` entry (see :func:`save_melody_ensemble`).

    Raises :class:`~symbolic.errors.DataError` when the folder lacks ``model.safetensors`` or ``meta.json``
    or its features differ from :data:`FEATURE_NAMES`.
    """
    from safetensors.numpy import load_file

    from symbolic.resources import asset_path

    folder = Path(folder) if folder is not None else asset_path("melody-extractor")
    if (folder / "meta.json").is_file() and "ensemble" in (head := json.loads((folder / "meta.json").read_text(
            encoding="utf-8"))):
        stored = head["ensemble"]
        config = MelodyEnsembleConfig(**dict(stored, members=tuple(stored["members"])))
        stacker = None
        if config.stacker:
            if tuple(head.get("stacker_features", ())) != STACK_FEATURE_NAMES:
                raise DataError(f"{folder}: its stacker's features differ from this version's; retrain it with "
                                "the script benchmarks/melody_extraction.py --train-stacker")
            stacker = load_boosted_trees(folder / "stacker.safetensors")
        second_stage = None
        if config.stacker_stages == 2:
            if tuple(head.get("second_stage_features", ())) != STAGE_TWO_FEATURE_NAMES:
                raise DataError(f"{folder}: its second stacking stage's features differ from this version's; "
                                "retrain it with the script benchmarks/melody_extraction.py --train-stacker")
            second_stage = load_boosted_trees(folder / "stacker-2.safetensors")
        return MelodyEnsemble(config, [load_melody_extractor(folder / name) for name in config.members], stacker,
                              second_stage)
    if not (folder / "model.safetensors").is_file() or not (folder / "meta.json").is_file():
        raise DataError(f"{folder}: not a melody extractor (needs model.safetensors and meta.json); train one "
                        "with the script benchmarks/melody_extraction.py")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if tuple(meta.get("features", ())) != FEATURE_NAMES:
        raise DataError(f"{folder}: its features differ from this version's; retrain with "
                        "the script benchmarks/melody_extraction.py")
    weights = load_file(str(folder / "model.safetensors"))
    refiner = None
    if "refiner_config" in meta:
        if tuple(meta.get("line_features", ())) != LINE_FEATURE_NAMES:
            raise DataError(f"{folder}: its refiner's line features differ from this version's; retrain with "
                            "the script benchmarks/melody_extraction.py")
        refiner = MelodyExtractor(_config_of(meta["refiner_config"]),
                                  {k[len("refiner."):]: v for k, v in weights.items() if k.startswith("refiner.")})
    return MelodyExtractor(_config_of(meta["config"]), weights, refiner)


def save_melody_ensemble(folder: str | Path, config: MelodyEnsembleConfig, meta: dict) -> None:
    """Write ``folder/meta.json`` naming the ensemble's members (``{"ensemble": config, **meta}``); each member
    must already be an extractor folder inside ``folder`` (:func:`save_melody_extractor`)."""
    folder = Path(folder)
    missing = [name for name in config.members if not (folder / name / "meta.json").is_file()]
    if missing:
        raise DataError(f"{folder}: the ensemble's members {', '.join(missing)} are not extractor folders in it")
    if config.stacker and not (folder / "stacker.safetensors").is_file():
        raise DataError(f"{folder}: the ensemble names a stacker but the folder holds no stacker.safetensors "
                        "(save_boosted_trees)")
    if config.stacker_stages == 2 and not (folder / "stacker-2.safetensors").is_file():
        raise DataError(f"{folder}: the ensemble names a second stacking stage but the folder holds no "
                        "stacker-2.safetensors (save_boosted_trees)")
    head = {"ensemble": asdict(config), **({"stacker_features": list(STACK_FEATURE_NAMES)} if config.stacker else {}),
            **({"second_stage_features": list(STAGE_TWO_FEATURE_NAMES)} if config.stacker_stages == 2 else {})}
    text = json.dumps({**head, **meta}, indent=2)
    (folder / "meta.json").write_text(text + "\n", encoding="utf-8")


def _config_of(stored: dict) -> MelodyExtractorConfig:
    return MelodyExtractorConfig(**dict(stored, dilations=tuple(stored["dilations"]),
                                        classes=tuple(stored.get("classes", ("MELODY",)))))


def refiner_inputs(features: np.ndarray, notes: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The refiner's input: the first pass's ``features`` ``(n, 33)``, its logit (clipped at +-9.2, divided by 4)
    and :func:`line_statistics` of ``notes`` (int ``(n, 4)``) under its ``probabilities`` ``(n,)``, all in canonical
    order; float32 ``(n, 33 + 1 + len(LINE_FEATURE_NAMES))``."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-4, 1 - 1e-4)
    logit = (np.log(p / (1 - p)) / 4.0)[:, None]
    return np.concatenate([features, logit, line_statistics(notes, p)], axis=1).astype(np.float32)


def repeat_matches(notes: np.ndarray, ticks_per_beat: int, window_beats: float, min_similarity: float,
                   min_notes: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Notes that recur in another repeat of the same passage: pairs ``(i, j, similarity)``.

    ``notes`` int ``(n, 4)`` rows ``(onset, duration, pitch, velocity)`` in canonical order (:func:`note_order`).
    The song is cut into windows of ``window_beats`` beats from tick 0; a window's fingerprint is the set of its
    notes' (onset within the window in ticks, pitch).  Two windows that do not overlap are paired when both hold at
    least ``min_notes`` such keys and their Jaccard similarity (shared keys over all keys) is at least
    ``min_similarity``; in a pair, the notes with the same key are matched (of notes sharing a key in one window,
    the first).  Returns int64 ``(m,)``, int64 ``(m,)`` (note indices, ``i`` in the earlier window) and float
    ``(m,)`` (the windows' similarity, in (0, 1]); three empty arrays when nothing matches.
    """
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if len(notes) == 0 or window_beats <= 0:
        return empty
    width = max(1, int(round(window_beats * ticks_per_beat)))
    onsets, pitches = notes[:, 0].astype(np.int64), notes[:, 2].astype(np.int64)
    window = onsets // width
    key = (onsets - window * width) * 128 + pitches
    # one note per (window, key): the first in canonical order
    _, first = np.unique(np.stack([window, key], axis=1), axis=0, return_index=True)
    window, key, note = window[first], key[first], first.astype(np.int64)
    windows, window_index = np.unique(window, return_inverse=True)
    sizes = np.bincount(window_index, minlength=len(windows))
    keys, key_index, key_count = np.unique(key, return_inverse=True, return_counts=True)
    shared = key_count[key_index] >= 2  # only keys met in two windows or more can be matched
    window_index, key_index, note = window_index[shared], key_index[shared], note[shared]
    if len(note) == 0:
        return empty
    _, key_index = np.unique(key_index, return_inverse=True)
    present = np.zeros((len(windows), int(key_index.max()) + 1), dtype=np.float32)
    present[window_index, key_index] = 1.0
    note_at = np.full(present.shape, -1, dtype=np.int32)
    note_at[window_index, key_index] = note
    common = present @ present.T  # shared keys of every two windows
    union = sizes[:, None] + sizes[None, :] - common
    similarity = np.where(union > 0, common / np.maximum(union, 1), 0.0)
    big = sizes >= min_notes
    a, b = np.nonzero(np.triu((similarity >= min_similarity) & big[:, None] & big[None, :], k=1))
    if len(a) == 0:
        return empty
    i_out, j_out, s_out = [], [], []
    for start in range(0, len(a), 256):  # pairs of windows in blocks: memory stays (256, keys)
        pa, pb = a[start:start + 256], b[start:start + 256]
        both = (note_at[pa] >= 0) & (note_at[pb] >= 0)
        rows, cols = np.nonzero(both)
        i_out.append(note_at[pa[rows], cols])
        j_out.append(note_at[pb[rows], cols])
        s_out.append(similarity[pa[rows], pb[rows]])
    return (np.concatenate(i_out).astype(np.int64), np.concatenate(j_out).astype(np.int64),
            np.concatenate(s_out).astype(np.float64))


def _repeat_sums(notes: np.ndarray, p: np.ndarray, ticks_per_beat: int, window_beats: float,
                 min_similarity: float, min_probability: float) -> tuple[np.ndarray, np.ndarray]:
    """For each note, the similarity-weighted sum of its repeats' probabilities and the sum of the weights
    (:func:`repeat_consistent_probabilities`); float ``(n,)`` each, 0 where a note matches nothing."""
    candidates = np.flatnonzero(p >= min_probability)
    i, j, similarity = repeat_matches(np.asarray(notes)[candidates], ticks_per_beat, window_beats, min_similarity)
    i, j = candidates[i], candidates[j]
    total, weight = np.zeros(len(p)), np.zeros(len(p))
    np.add.at(total, i, similarity * p[j])
    np.add.at(weight, i, similarity)
    np.add.at(total, j, similarity * p[i])
    np.add.at(weight, j, similarity)
    return total, weight


def repeat_consistent_probabilities(notes: np.ndarray, probabilities: np.ndarray, ticks_per_beat: int,
                                    window_beats: float = 4.0, min_similarity: float = 0.3,
                                    min_probability: float = 0.05) -> np.ndarray:
    """P(melody) made consistent across the song's repeats.

    The candidates, notes whose probability is at least ``min_probability``, are matched with their repeats
    (:func:`repeat_matches` over the candidates alone, so that windows are paired by the line they carry, not by
    an accompaniment pattern that recurs under different tunes); each candidate's probability becomes the
    weighted mean of its own (weight 1) and those of the candidates it matches (each weighted by its windows'
    similarity).  Pop songs repeat (verse, chorus), and a note sung in one chorus is sung in the next: averaging
    over the repeats evens out calls the network makes inconsistently.

    ``notes`` int ``(n, 4)`` in canonical order, ``probabilities`` float ``(n,)`` in the same order; returns float
    ``(n,)``, the input unchanged where a note matches nothing.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    total, weight = _repeat_sums(notes, p, ticks_per_beat, window_beats, min_similarity, min_probability)
    return (p + total) / (1.0 + weight)


STACK_FEATURE_NAMES = (
    "p_mean", "p_min", "p_max", "p_repeat_consistent", "p_repeats", "repeat_weight", "p_best_other_at_onset",
    "p_best_at_onset", "line_within_1_beat", "line_within_4_beats", "line_within_16_beats",
    "log_beats_from_first_onset", "log_beats_to_last_onset",
) + tuple(f"note_{name}" for name in FEATURE_NAMES)
_LINE_REACH_BEATS = (1, 4, 16)


def stack_features(notes: np.ndarray, member_probabilities: np.ndarray, features: np.ndarray, ticks_per_beat: int,
                   window_beats: float = 4.0, min_similarity: float = 0.3,
                   min_probability: float = 0.05) -> np.ndarray:
    """The stacker's input (:data:`STACK_FEATURE_NAMES`): one row per note, notes in canonical order.

    ``notes`` int ``(n, 4)``, ``member_probabilities`` float ``(k, n)`` (each member's P(melody)), ``features``
    float ``(n, 33)`` (:func:`note_features`), all in canonical order; the repeat settings as in
    :func:`repeat_consistent_probabilities`.  Columns: the members' mean, lowest and highest P(melody); the
    repeat-consistent mean, the weighted mean over the note's repeats alone (its own mean where it has none) and
    the repeats' total weight; the highest repeat-consistent probability among the other notes of its onset and
    at its onset; the mean of the highest repeat-consistent probability of each onset within 1, 4 and 16 beats
    (how much melody the line around the note carries); log1p of the beats from the piece's first onset to the
    note's and from the note's to the last onset (where in the song it lies in time: an intro, before the voice
    comes in, is some 8-16 bars long; :func:`song_position` counts notes); then the 33 note features.  Float32
    ``(n, 46)``.
    """
    members = np.atleast_2d(np.asarray(member_probabilities, dtype=np.float64))
    n = members.shape[1]
    if n == 0:
        return np.zeros((0, len(STACK_FEATURE_NAMES)), dtype=np.float32)
    p = members.mean(axis=0)
    total, weight = _repeat_sums(notes, p, ticks_per_beat, window_beats, min_similarity, min_probability)
    consistent = (p + total) / (1.0 + weight)
    repeats = np.where(weight > 0, total / np.maximum(weight, 1e-12), p)
    best, best_other, line = _onset_context(np.asarray(notes)[:, 0], consistent, ticks_per_beat)
    onsets = np.asarray(notes)[:, 0].astype(np.float64)
    clock = [np.log1p((onsets - onsets[0]) / ticks_per_beat), np.log1p((onsets[-1] - onsets) / ticks_per_beat)]
    columns = [p, members.min(axis=0), members.max(axis=0), consistent, repeats, weight, best_other, best,
               *line, *clock]
    return np.concatenate([np.stack(columns, axis=1), np.asarray(features, dtype=np.float64)],
                          axis=1).astype(np.float32)


def _onset_context(onsets: np.ndarray, values: np.ndarray, ticks_per_beat: int
                   ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per note (canonical order, ``onsets`` int ``(n,)``, ``values`` float ``(n,)``, ``n`` > 0): the highest value
    at its onset, the highest among the other notes there (for the best note the runner-up, or the best itself
    where two share it; 0 where it is alone), and for each reach of :data:`_LINE_REACH_BEATS` the mean of each
    onset's highest value within that many beats (the line around the note); float ``(n,)`` each."""
    group, _, times = onset_groups(onsets)
    best = np.full(len(times), -np.inf)
    np.maximum.at(best, group, values)
    is_best = values >= best[group]
    runner_up = np.zeros(len(times))  # the best of the others: the runner-up for the best note
    np.maximum.at(runner_up, group[~is_best], values[~is_best])
    ties = np.bincount(group[is_best], minlength=len(times)) > 1  # two notes share the best value
    best_other = np.where(is_best & ~ties[group], runner_up[group], best[group])
    cumulative = np.concatenate([[0.0], np.cumsum(best)])
    line = []
    for reach in _LINE_REACH_BEATS:
        lo = np.searchsorted(times, times - reach * ticks_per_beat, side="left")
        hi = np.searchsorted(times, times + reach * ticks_per_beat, side="right")
        line.append(((cumulative[hi] - cumulative[lo]) / (hi - lo))[group])
    return best[group], best_other, line


STAGE_TWO_CONTEXT_NAMES = (
    "p1", "p1_repeat_consistent", "p1_repeats", "p1_repeat_weight", "p1_best_at_onset", "p1_best_other_at_onset",
    "p1_over_best_other", "p1_line_within_1_beat", "p1_line_within_4_beats", "p1_line_within_16_beats",
    *(f"{name}_within_{reach}_beats" for reach in (2, 4) for name in (
        "called_share", "pitch_over_called_mean", "pitch_rank_among_called", "pitch_over_called_top",
        "pitch_over_called_bottom")),
    "interval_from_previous_called", "log_beats_since_previous_called", "interval_to_next_called",
    "log_beats_to_next_called", "called",
)
STAGE_TWO_FEATURE_NAMES = STAGE_TWO_CONTEXT_NAMES + STACK_FEATURE_NAMES
_CALLED_REACH_BEATS = (2, 4)
_NO_CALLED_BEATS = 5.0  # log1p(beats) written where no called note lies before (after) a note: ~147 beats


def called_line(notes: np.ndarray, probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """The notes a first pass calls melody: at each onset the most probable note when its probability exceeds
    ``threshold`` (of ties the first in canonical order), as :func:`mask_from_probabilities` decides, on arrays
    already in canonical order: ``notes`` int ``(n, 4)``, ``probabilities`` float ``(n,)``; bool ``(n,)``."""
    p = np.asarray(probabilities, dtype=np.float64)
    out = np.zeros(len(p), dtype=bool)
    if len(p) == 0:
        return out
    group, _, times = onset_groups(np.asarray(notes)[:, 0])
    best = np.full(len(times), -1.0)
    np.maximum.at(best, group, p)
    chosen = np.flatnonzero((p >= best[group]) & (p > threshold))
    _, first = np.unique(group[chosen], return_index=True)
    out[chosen[first]] = True
    return out


def stage_two_features(notes: np.ndarray, probabilities: np.ndarray, stack_inputs: np.ndarray, ticks_per_beat: int,
                       threshold: float, window_beats: float = 4.0, min_similarity: float = 0.3,
                       min_probability: float = 0.05) -> np.ndarray:
    """The second stacking stage's input (:data:`STAGE_TWO_FEATURE_NAMES`): one row per note, canonical order.

    ``notes`` int ``(n, 4)``, ``probabilities`` float ``(n,)`` (the first stage's P(melody)), ``stack_inputs``
    float ``(n, 46)`` (the first stage's input, :func:`stack_features`); ``threshold`` is the P above which the
    first stage calls a note (:func:`called_line`); the repeat settings as in
    :func:`repeat_consistent_probabilities`.  Columns, all read from the first stage's P: P itself, its
    repeat-consistent mean, its mean over the note's repeats and their weight; the best P at the note's onset and
    among the other notes there, and the note's margin over the latter; the mean best P of the onsets within 1, 4
    and 16 beats; then, for the called notes within 2 and within 4 beats (a 4- and an 8-beat phrase window): their
    share of the window's onsets, the note's pitch (semitones) over their mean, the share of them below it, its
    pitch over their highest and their lowest (0 where none); the interval (semitones) from the nearest called
    note before the note's onset and to the nearest after, with log1p of the beats between (0 and 5.0 where there
    is none); whether the note is called; then the 46 ``stack_inputs``.  Float32 ``(n, 71)``.
    """
    notes = np.asarray(notes)
    p = np.asarray(probabilities, dtype=np.float64)
    n = len(p)
    if n == 0:
        return np.zeros((0, len(STAGE_TWO_FEATURE_NAMES)), dtype=np.float32)
    onsets, pitch = notes[:, 0].astype(np.int64), notes[:, 2].astype(np.float64)
    total, weight = _repeat_sums(notes, p, ticks_per_beat, window_beats, min_similarity, min_probability)
    columns = [p, (p + total) / (1.0 + weight), np.where(weight > 0, total / np.maximum(weight, 1e-12), p), weight]
    best, best_other, line = _onset_context(onsets, p, ticks_per_beat)
    columns += [best, best_other, p - best_other, *line]
    _, _, times = onset_groups(onsets)
    called = called_line(notes, p, threshold)
    called_onsets, called_pitch = onsets[called], pitch[called]
    pitch_sums = np.concatenate([[0.0], np.cumsum(called_pitch)])
    last = max(len(called_pitch) - 1, 0)
    for reach in _CALLED_REACH_BEATS:
        lo = np.searchsorted(called_onsets, onsets - reach * ticks_per_beat, side="left")
        hi = np.searchsorted(called_onsets, onsets + reach * ticks_per_beat, side="right")
        count = hi - lo
        onset_count = (np.searchsorted(times, onsets + reach * ticks_per_beat, side="right")
                       - np.searchsorted(times, onsets - reach * ticks_per_beat, side="left"))
        below, top, bottom = np.zeros(n), np.full(n, -np.inf), np.full(n, np.inf)
        for step in range(int(count.max())):  # the called notes of each window, one rank at a time
            inside = lo + step < hi
            other = called_pitch[np.minimum(lo + step, last)]
            below += inside & (other < pitch)
            top = np.where(inside, np.maximum(top, other), top)
            bottom = np.where(inside, np.minimum(bottom, other), bottom)
        some = count > 0
        safe = np.maximum(count, 1)
        columns += [count / np.maximum(onset_count, 1),
                    np.where(some, pitch - (pitch_sums[hi] - pitch_sums[lo]) / safe, 0.0),
                    np.where(some, below / safe, 0.5), np.where(some, pitch - top, 0.0),
                    np.where(some, pitch - bottom, 0.0)]
    if len(called_pitch):
        before = np.searchsorted(called_onsets, onsets, side="left") - 1
        after = np.searchsorted(called_onsets, onsets, side="right")
        has_before, has_after = before >= 0, after < len(called_onsets)
        b, a = np.clip(before, 0, last), np.clip(after, 0, last)
        columns += [np.where(has_before, pitch - called_pitch[b], 0.0),
                    np.where(has_before, np.log1p(np.maximum(onsets - called_onsets[b], 0) / ticks_per_beat),
                             _NO_CALLED_BEATS),
                    np.where(has_after, pitch - called_pitch[a], 0.0),
                    np.where(has_after, np.log1p(np.maximum(called_onsets[a] - onsets, 0) / ticks_per_beat),
                             _NO_CALLED_BEATS)]
    else:
        columns += [np.zeros(n), np.full(n, _NO_CALLED_BEATS), np.zeros(n), np.full(n, _NO_CALLED_BEATS)]
    columns.append(called.astype(np.float64))
    return np.concatenate([np.stack(columns, axis=1), np.asarray(stack_inputs, dtype=np.float64)],
                          axis=1).astype(np.float32)


class BoostedTrees:
    """Binary gradient-boosted regression trees (Friedman 2001), as scikit-learn's
    ``HistGradientBoostingClassifier`` grows them, evaluated in numpy: P = sigmoid(``baseline`` + the sum over
    trees of the leaf each row reaches).  A row goes to a node's ``left`` child when its value of ``feature`` is at
    most ``threshold``.  Arrays over all nodes of all trees (child indices are global): ``feature`` int,
    ``threshold`` float64, ``left``, ``right`` int, ``value`` float64 (a leaf's output), ``is_leaf`` bool; ``roots``
    int ``(trees,)``.  Build it with :func:`load_boosted_trees`."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        names = ("feature", "threshold", "left", "right", "value", "is_leaf", "roots", "baseline")
        missing = [k for k in names if k not in arrays]
        if missing:
            raise DataError(f"boosted trees lack {', '.join(missing)}")
        self.feature = np.asarray(arrays["feature"], dtype=np.int64)
        self.threshold = np.asarray(arrays["threshold"], dtype=np.float64)
        self.left = np.asarray(arrays["left"], dtype=np.int64)
        self.right = np.asarray(arrays["right"], dtype=np.int64)
        self.value = np.asarray(arrays["value"], dtype=np.float64)
        self.is_leaf = np.asarray(arrays["is_leaf"]).astype(bool)
        self.roots = np.asarray(arrays["roots"], dtype=np.int64)
        self.baseline = float(np.asarray(arrays["baseline"]).reshape(-1)[0])
        inner = ~self.is_leaf
        if len(self.roots) == 0 or not (len(self.feature) == len(self.threshold) == len(self.left) ==
                                        len(self.right) == len(self.value) == len(self.is_leaf)) or \
                np.any((self.left[inner] <= np.flatnonzero(inner)) | (self.right[inner] <= np.flatnonzero(inner))) \
                or np.any(self.right[inner] >= len(self.value)):
            raise DataError("boosted trees: the node arrays disagree in length or a child does not follow its parent")

    def arrays(self) -> dict[str, np.ndarray]:
        """The node arrays, as :func:`save_boosted_trees` writes them."""
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left, "right": self.right,
                "value": self.value, "is_leaf": self.is_leaf.astype(np.uint8), "roots": self.roots,
                "baseline": np.array([self.baseline])}

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(class 1) per row of ``x`` (float ``(n, features)``; NaN read as 0); float ``(n,)``."""
        x = np.nan_to_num(np.asarray(x, dtype=np.float64))
        n = len(x)
        if n == 0:
            return np.zeros(0)
        n_trees, n_features = len(self.roots), x.shape[1]
        node = np.tile(self.roots, n)  # (row, tree) pairs, row-major
        row_start = np.repeat(np.arange(n) * n_features, n_trees)
        flat = x.ravel()
        active = np.arange(n * n_trees)
        while True:  # the pairs not yet on a leaf go one level down; those on leaves drop out
            here = node[active]
            inner = ~self.is_leaf[here]
            active, here = active[inner], here[inner]
            if not len(active):
                break
            go_left = flat[row_start[active] + self.feature[here]] <= self.threshold[here]
            node[active] = np.where(go_left, self.left[here], self.right[here])
        return _sigmoid(self.baseline + self.value[node].reshape(n, n_trees).sum(axis=1))


def save_boosted_trees(path: str | Path, trees: BoostedTrees) -> None:
    """Write ``trees``' node arrays to the safetensors file ``path``."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in trees.arrays().items()}, str(path))


def load_boosted_trees(path: str | Path) -> BoostedTrees:
    """The :class:`BoostedTrees` stored at ``path`` (:func:`save_boosted_trees`); raises
    :class:`~symbolic.errors.DataError` when the file is missing or malformed."""
    from safetensors.numpy import load_file

    if not Path(path).is_file():
        raise DataError(f"{path}: no such stacker file; train one with the script benchmarks/melody_extraction.py "
                        "--train-stacker")
    return BoostedTrees(load_file(str(path)))


def melody_probabilities(notes: Sequence[Note], ticks_per_beat: int,
                         extractor: MelodyExtractor | MelodyEnsemble | None = None) -> np.ndarray:
    """P(melody) of each note, float ``(n,)`` in the order of ``notes`` (``extractor`` defaults to the shipped one;
    with a refiner, the refiner's probabilities; of an ensemble, the mean of its members', made consistent across
    the song's repeats when its ``repeat_window_beats`` is set (:func:`repeat_consistent_probabilities`), or its
    stacker's reading of :func:`stack_features` when it has one)."""
    out = np.zeros(len(notes))
    if not notes:
        return out
    extractor = extractor or load_melody_extractor()
    members = extractor.members if isinstance(extractor, MelodyEnsemble) else (extractor,)
    order = note_order(notes)
    features: dict[float, np.ndarray] = {}  # members measuring the same neighbourhood share their features
    each = []
    arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)[order]
    with numpy_threads(1):  # many small products: BLAS threads only wait for each other (symbolic.threads)
        for member in members:
            window = member.config.window_beats
            if window not in features:
                features[window] = note_features(notes, ticks_per_beat, window)
            probabilities = member.probabilities(features[window])
            if member.refiner is not None:
                probabilities = member.refiner.probabilities(refiner_inputs(features[window], arr, probabilities))
            each.append(probabilities)
    mean = np.mean(each, axis=0)
    if isinstance(extractor, MelodyEnsemble) and extractor.config.repeat_window_beats > 0:
        config = extractor.config
        repeat = (ticks_per_beat, config.repeat_window_beats, config.repeat_min_similarity,
                  config.repeat_min_probability)
        if extractor.stacker is not None:
            window = members[0].config.window_beats
            inputs = stack_features(arr, np.array(each), features[window], *repeat)
            mean = extractor.stacker.probabilities(inputs)
            if extractor.second_stage is not None:
                mean = extractor.second_stage.probabilities(stage_two_features(
                    arr, mean, inputs, ticks_per_beat, config.stage_one_threshold, *repeat[1:]))
        else:
            mean = repeat_consistent_probabilities(arr, mean, *repeat)
    out[order] = mean
    return out


def mask_from_probabilities(notes: Sequence[Note], probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """The melody mask, bool ``(n,)``: at each onset the most probable note when its probability exceeds
    ``threshold`` (one note per onset: a melody is one voice; of exact duplicates the first)."""
    out = np.zeros(len(notes), dtype=bool)
    if not notes:
        return out
    order = note_order(notes)
    out[order] = called_line(np.asarray(notes, dtype=np.int64).reshape(-1, 4)[order],
                             np.asarray(probabilities, dtype=float)[order], threshold)
    return out


def melody_mask(notes: Sequence[Note], ticks_per_beat: int,
                extractor: MelodyExtractor | MelodyEnsemble | None = None) -> np.ndarray:
    """Which notes are the melody: bool ``(n,)`` in the order of ``notes``.

    ``extractor`` defaults to the shipped one.  At each onset at most one note is melody (the most probable);
    a note is melody when its probability exceeds the extractor's threshold.  When that calls fewer notes melody
    than ``config.min_skyline_share`` times the skyline's count, the top voice followed as one line
    (:func:`top_line_mask`) is returned instead (see
    :class:`MelodyExtractorConfig`).  Empty input gives an empty mask.
    """
    if not notes:
        return np.zeros(0, dtype=bool)
    extractor = extractor or load_melody_extractor()
    mask = mask_from_probabilities(notes, melody_probabilities(notes, ticks_per_beat, extractor), extractor.threshold)
    skyline = skyline_mask(notes)
    if mask.sum() < extractor.config.min_skyline_share * skyline.sum():
        return top_line_mask(notes, ticks_per_beat)  # the top voice as one line, not the bass
    return mask


FILL_RESTS_BEATS = 16.0
"""The rest, in beats, after which the jobs and ``symbolic analyze`` take the top line where the extractor calls
no melody (:func:`fill_melody_rests`): 4 bars of 4/4 (half that before the line's first note or after its last).
A sung line rests a bar or two between phrases; where it rests 4 bars or more an instrument carries the tune (an
intro, an interlude, a piano piece's melody the POP909-trained extractor does not hear as sung)."""
_STRAY_BEATS = 4.0  # a melody note with no other within this many beats does not end a rest
_MAX_REPEATED_SHARE = 0.5  # a rest's top line that repeats its pitch more often is chords' top, not a tune


def fill_melody_rests(notes: Sequence[Note], mask: np.ndarray, ticks_per_beat: int,
                      min_rest_beats: float = FILL_RESTS_BEATS) -> np.ndarray:
    """``mask`` with its long rests filled by the top line: bool ``(n,)`` in the order of ``notes``.

    A rest is the time from the end of a melody note of ``mask`` (or from the first onset) to the next melody
    note's onset (or past the last note); a stray melody note, with no other starting within 4 beats of it,
    does not end one.  Where a rest lasts ``min_rest_beats`` beats or more (half that before the line's first
    note or after its last: an intro or an ending, where no voice rests between phrases), the notes of
    :func:`top_line_mask` starting inside it are added, unless they lie at or below the track's median pitch
    (there the top line is the left hand's accompaniment, not a tune) or a melody note starts with them (at
    most one melody note per onset); a rest whose top line repeats its previous pitch on more than half of its
    notes keeps none (the top of block chords, a pedal note).  So a piece keeps a tune where the extractor hears
    no voice: an intro or interlude on the piano, or a whole section of a piano piece.  Empty input gives an
    empty mask.

    Raises:
        ConfigError: ``min_rest_beats`` not positive, or ``mask`` not of ``notes``' length.
    """
    if not min_rest_beats > 0:
        raise ConfigError(f"min_rest_beats must be positive, got {min_rest_beats}")
    mask = np.asarray(mask, dtype=bool)
    if len(mask) != len(notes):
        raise ConfigError(f"the mask has {len(mask)} entries for {len(notes)} notes")
    out = mask.copy()
    if not notes:
        return out
    called = sorted((n.onset_ticks, n.onset_ticks + n.duration_ticks) for n, m in zip(notes, mask) if m)
    onsets = np.array([c[0] for c in called], dtype=np.int64)
    reach = _STRAY_BEATS * ticks_per_beat
    company = (np.searchsorted(onsets, onsets + reach, side="right")
               - np.searchsorted(onsets, onsets - reach, side="left")) > 1  # another melody note near it
    first = min(n.onset_ticks for n in notes)
    last = max(n.onset_ticks + n.duration_ticks for n in notes)
    rests, free_from, opening = [], first, True
    for (onset, end), line in zip(called + [(last + 1, last + 1)], [*company, True]):
        if not line:
            continue
        edge = opening or onset > last  # before the line's first note or after its last: an intro, an ending
        if onset - free_from >= min_rest_beats * ticks_per_beat * (0.5 if edge else 1.0):
            rests.append((free_from, onset))
        free_from, opening = max(free_from, end), False
    if not rests:
        return out
    starts = np.array([a for a, _ in rests])
    ends = np.array([b for _, b in rests])
    floor = np.median([n.pitch for n in notes])
    taken = set(onsets.tolist())
    fills: dict[int, list[int]] = {}  # rest -> the top line's notes that may fill it, in onset order
    for i in sorted(np.flatnonzero(top_line_mask(notes, ticks_per_beat)), key=lambda i: notes[i].onset_ticks):
        note = notes[i]
        k = np.searchsorted(starts, note.onset_ticks, side="right") - 1
        if k >= 0 and note.onset_ticks < ends[k] and note.pitch > floor and note.onset_ticks not in taken:
            fills.setdefault(int(k), []).append(int(i))
    for picked in fills.values():
        pitches = [notes[i].pitch for i in picked]
        repeated = sum(a == b for a, b in zip(pitches, pitches[1:]))
        if repeated <= _MAX_REPEATED_SHARE * max(len(pitches) - 1, 1):  # else block chords' top note, not a tune
            out[picked] = True
    return out


def extract_melody(notes: Track | Sequence[Note], ticks_per_beat: int = 480,
                   extractor: MelodyExtractor | MelodyEnsemble | None = None,
                   fill_rests_beats: float | None = None) -> tuple[list[Note], list[Note]]:
    """Split a polyphonic track (or its notes) into ``(melody_notes, rest_notes)``, each sorted by onset.

    Every input note lands in exactly one of the two lists, unchanged.  ``ticks_per_beat`` is the score's
    (features are measured in beats).  With ``fill_rests_beats``, the melody's rests of that many beats or
    more take the top line (:func:`fill_melody_rests`; the jobs pass :data:`FILL_RESTS_BEATS`).  Empty input
    gives two empty lists.
    """
    items = list(notes.notes if isinstance(notes, Track) else notes)
    mask = _extracted_mask(items, ticks_per_beat, extractor, fill_rests_beats)
    melody = sorted(n for n, m in zip(items, mask) if m)
    rest = sorted(n for n, m in zip(items, mask) if not m)
    return melody, rest


def split_melody_track(score: Score, track_index: int,
                       extractor: MelodyExtractor | MelodyEnsemble | None = None,
                       fill_rests_beats: float | None = None) -> Score:
    """A copy of ``score`` whose track ``track_index`` is split in two, in its place: the extracted melody
    (named ``"Melody (extracted)"``) and the rest (the track's own name), both on the track's program
    (``fill_rests_beats`` as in :func:`extract_melody`; :func:`split_track_by_mask` does the split).

    Raises :class:`~symbolic.errors.ScoreError` when the index names no pitched track.
    """
    _check_pitched(score, track_index)
    mask = _extracted_mask(score.tracks[track_index].notes, score.ticks_per_beat, extractor, fill_rests_beats)
    return split_track_by_mask(score, track_index, mask)


def _extracted_mask(notes: Sequence[Note], ticks_per_beat: int, extractor: MelodyExtractor | MelodyEnsemble | None,
                    fill_rests_beats: float | None) -> np.ndarray:
    """:func:`melody_mask`, its long rests filled by the top line when ``fill_rests_beats`` is given."""
    mask = melody_mask(notes, ticks_per_beat, extractor)
    if fill_rests_beats is not None:
        mask = fill_melody_rests(notes, mask, ticks_per_beat, fill_rests_beats)
    return mask


def split_track_by_mask(score: Score, track_index: int, is_melody: np.ndarray) -> Score:
    """A copy of ``score`` whose track ``track_index`` is split in two, in its place: its notes where
    ``is_melody`` (bool ``(n,)`` in the track's note order) is True, named ``"Melody (extracted)"``, and the
    others, under the track's own name; both on the track's program, notes sorted.

    Raises :class:`~symbolic.errors.ScoreError` when the index names no pitched track, or the mask is not of the
    track's length.
    """
    from dataclasses import replace

    _check_pitched(score, track_index)
    source = score.tracks[track_index]
    if len(is_melody) != len(source.notes):
        raise ScoreError(f"the melody mask has {len(is_melody)} entries for track {track_index}'s "
                         f"{len(source.notes)} notes")
    melody = sorted(n for n, m in zip(source.notes, is_melody) if m)
    rest = sorted(n for n, m in zip(source.notes, is_melody) if not m)
    parts = [Track(program=source.program, name="Melody (extracted)", notes=melody),
             Track(program=source.program, name=source.name, notes=rest)]
    tracks = [replace(t, notes=list(t.notes)) for t in score.tracks]
    return replace(score, tracks=tracks[:track_index] + parts + tracks[track_index + 1:],
                   tempos=list(score.tempos), time_signatures=list(score.time_signatures),
                   key_signatures=list(score.key_signatures))


def _check_pitched(score: Score, track_index: int) -> None:
    if not 0 <= track_index < len(score.tracks) or score.tracks[track_index].is_drum:
        raise ScoreError(f"track {track_index} is not a pitched track of this score "
                         f"(it has {len(score.tracks)} tracks, numbered from 0)")


# ---------------------------------------------------------------------------------------------- evaluation


def merge_tracks(score: Score, names: Sequence[str] | None = None) -> tuple[Track, np.ndarray]:
    """All pitched tracks of ``score`` (or those named in ``names``) merged into one nameless piano track.

    Returns ``(track, source)``: the track (program 0, notes sorted) and int64 ``(n,)``, the index in ``score.tracks``
    each of its notes came from.  This is how the benchmark turns a POP909 song (MELODY, BRIDGE, PIANO) into
    a one-track piano arrangement whose melody notes are known.
    """
    tagged = sorted((note, i) for i, t in enumerate(score.tracks)
                    if not t.is_drum and (names is None or t.name in names) for note in t.notes)
    track = Track(program=0, name="", notes=[n for n, _ in tagged])
    return track, np.asarray([i for _, i in tagged], dtype=np.int64)


def melody_note_accuracy(notes: Sequence[Note], predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of notes whose melody / not-melody call is right (both classes count).

    ``predicted`` and ``truth`` are bool ``(n,)`` over ``notes``.  Notes identical in onset, duration, pitch and
    velocity cannot be told apart, so within such a set the calls are matched as counts.  Returns nan for no notes.
    """
    if len(notes) == 0:
        return float("nan")
    counts: dict[Note, list[int]] = {}
    for note, p, t in zip(notes, np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)):
        c = counts.setdefault(note, [0, 0, 0])
        c[0] += 1
        c[1] += int(p)
        c[2] += int(t)
    right = sum(min(p, t) + min(n - p, n - t) for n, p, t in counts.values())
    return right / len(notes)
