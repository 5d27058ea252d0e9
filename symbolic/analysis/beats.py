"""Beats, bar lines and tempo maps: put a score's notes on a beat grid without moving them in time.

A :class:`BeatGrid` is a list of beat times in seconds with a flag on each beat that
starts a bar (annotated, as in POP909's ``beat_midi.txt``, or found by
:func:`find_beats`).  :func:`retime` rewrites a score's tempo map and meters so that
every beat of the grid is one quarter note and every downbeat is a bar line, and
re-expresses each note's onset and offset in the new ticks; the notes' times in
seconds stay where they were, to within half a tick.

:func:`grid_fit` measures how far a score's onsets lie from its own beat grid (the
test for a recorded performance whose tempo map says nothing about its beats), and
:func:`find_beats` finds beats and downbeats from the notes alone (an onset envelope
built from the notes, tracked by librosa's dynamic-programming beat tracker, Ellis
2007) or from the FluidSynth rendering of the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symbolic.errors import ConfigError, ScoreError
from symbolic.score import DEFAULT_MICROSECONDS_PER_BEAT, Note, Score, TempoChange, TimeSignature, Track

__all__ = [
    "BeatGrid",
    "RetimeResult",
    "GridFit",
    "seconds_of_ticks",
    "ticks_of_seconds",
    "retime",
    "grid_fit",
    "find_beats",
    "quantize_score",
]


@dataclass(frozen=True)
class BeatGrid:
    """Beat times and bar lines.

    Attributes:
        beat_seconds: strictly increasing beat times in seconds (at least two beats).
        downbeats: one flag per beat, True on the first beat of a bar.  Beats before the
            first downbeat form a pickup; with no downbeat at all, bars of four beats
            start at the first beat.
    """

    beat_seconds: tuple[float, ...]
    downbeats: tuple[bool, ...]

    def __post_init__(self) -> None:
        beats = np.asarray(self.beat_seconds, dtype=np.float64)
        if beats.ndim != 1 or len(beats) < 2:
            raise ScoreError(f"a beat grid needs at least two beats, got {len(beats)}")
        if len(self.downbeats) != len(beats):
            raise ScoreError(f"{len(beats)} beats but {len(self.downbeats)} downbeat flags; give one flag per beat")
        if not np.all(np.isfinite(beats)) or beats[0] < 0:
            raise ScoreError("beat times must be finite seconds >= 0")
        gaps = np.diff(beats)
        if np.any(gaps <= 0):
            k = int(np.argmax(gaps <= 0)) + 1
            raise ScoreError(f"beat {k} at {beats[k]:.3f} s does not come after beat {k - 1} at "
                             f"{beats[k - 1]:.3f} s; beat times must increase")

    @property
    def n_beats(self) -> int:
        """Number of beats."""
        return len(self.beat_seconds)


@dataclass
class RetimeResult:
    """What :func:`retime` produced.

    Attributes:
        score: the score on the new grid (a new object; the input is not changed).
        max_shift_seconds: largest change of any note onset or offset in seconds (half a tick at most).
        beats_added_before: beats extrapolated before the first given beat (at the first beat's length)
            so that tick 0 is the start of a beat.
        pickup_beats: beats before the first bar line (0: the piece starts on a downbeat).
    """

    score: Score
    max_shift_seconds: float
    beats_added_before: int
    pickup_beats: int


# ----------------------------------------------------------------------------- ticks and seconds
def _tempo_segments(score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start tick, start second and seconds per tick of each constant-tempo segment of ``score``."""
    ticks, tempos = [0], [DEFAULT_MICROSECONDS_PER_BEAT]
    for change in sorted(score.tempos, key=lambda c: c.time_ticks):
        if change.time_ticks <= ticks[-1]:  # at the same tick the later change wins
            tempos[-1] = change.microseconds_per_beat
        else:
            ticks.append(change.time_ticks)
            tempos.append(change.microseconds_per_beat)
    start_ticks = np.asarray(ticks, dtype=np.float64)
    per_tick = np.asarray(tempos, dtype=np.float64) / 1e6 / score.ticks_per_beat
    start_seconds = np.concatenate([[0.0], np.cumsum(np.diff(start_ticks) * per_tick[:-1])])
    return start_ticks, start_seconds, per_tick


def seconds_of_ticks(score: Score, ticks) -> np.ndarray:
    """Seconds (float64 array, same shape as ``ticks``) of tick times, following the tempo map.

    The vectorised form of :meth:`Score.seconds_at` (120 qpm before the first tempo change).
    """
    ticks = np.asarray(ticks, dtype=np.float64)
    start_ticks, start_seconds, per_tick = _tempo_segments(score)
    k = np.clip(np.searchsorted(start_ticks, ticks, side="right") - 1, 0, None)
    return start_seconds[k] + (ticks - start_ticks[k]) * per_tick[k]


def ticks_of_seconds(score: Score, seconds) -> np.ndarray:
    """Nearest integer ticks (int64 array, same shape as ``seconds``) of times in seconds; the inverse of
    :func:`seconds_of_ticks` to within half a tick."""
    seconds = np.asarray(seconds, dtype=np.float64)
    start_ticks, start_seconds, per_tick = _tempo_segments(score)
    k = np.clip(np.searchsorted(start_seconds, seconds, side="right") - 1, 0, None)
    return np.rint(start_ticks[k] + (seconds - start_seconds[k]) / per_tick[k]).astype(np.int64)


# ----------------------------------------------------------------------------- retime
def _extend_before(beats: np.ndarray) -> tuple[np.ndarray, int]:
    """Beats extrapolated back (at the first beat's length) so that time 0 starts a beat.

    The beat that starts at 0 s lasts between half and one and a half ordinary beats;
    only when the first given beat lies closer to 0 than half a beat is it shorter.
    """
    ibi = beats[1] - beats[0]
    if beats[0] < 1e-6:
        return np.concatenate([[0.0], beats[1:]]), 0
    n = max(0, int(np.floor(beats[0] / ibi - 0.5)))
    added = beats[0] - ibi * np.arange(n, 0, -1)
    return np.concatenate([[0.0], added, beats]), n + 1


def _tempo_map(beats: np.ndarray, ticks_per_beat: int, tolerance_seconds: float) -> list[TempoChange]:
    """One tempo per run of beats that a constant tempo places within ``tolerance_seconds`` of their times."""
    tempos: list[TempoChange] = []
    i, n = 0, len(beats)
    map_seconds = 0.0  # the time the map so far gives beat i (integer microseconds drift a little)
    while i < n - 1:
        j = i + 1
        while j + 1 < n:
            span = beats[j + 1] - map_seconds
            predicted = map_seconds + span * np.arange(1, j + 1 - i) / (j + 1 - i)
            if np.max(np.abs(predicted - beats[i + 1:j + 1])) > tolerance_seconds:
                break
            j += 1
        us = max(1, int(round((beats[j] - map_seconds) * 1e6 / (j - i))))
        if not tempos or tempos[-1].microseconds_per_beat != us:
            tempos.append(TempoChange(i * ticks_per_beat, us))
        map_seconds += us * (j - i) / 1e6
        i = j
    return tempos


def _bar_lengths(downbeat_index: list[int], n_beats: int, default_beats: int = 4) -> list[int]:
    """Bar lengths in beats covering beats ``0 .. n_beats`` from the downbeat positions."""
    if not downbeat_index:
        downbeat_index = [0]
    bars = [b - a for a, b in zip(downbeat_index, downbeat_index[1:])]
    first = bars[0] if bars else default_beats
    last = bars[-1] if bars else default_beats
    pickup = downbeat_index[0]
    lead = ([pickup % first] if pickup % first else []) + [first] * (pickup // first)
    tail, covered = [], downbeat_index[-1]
    while covered < n_beats:
        tail.append(last)
        covered += last
    return lead + bars + tail


def retime(score: Score, grid: BeatGrid, ticks_per_beat: int = 960, tolerance_seconds: float = 0.0005) -> RetimeResult:
    """The score with a tempo map and meters from ``grid``, every note at the same time in seconds.

    Each beat of the grid becomes one quarter note (``ticks_per_beat`` ticks) and each bar
    the span between two downbeats (meter ``n/4`` for ``n`` beats; a pickup gets its own
    shorter bar).  Before the first beat the grid is extended back at the first beat's
    length so that tick 0 starts a beat; after the last beat the last tempo goes on.
    Consecutive beats share one tempo while a constant tempo puts each of them within
    ``tolerance_seconds`` of its given time.  Key signatures and annotations are moved
    to the new ticks too; track names, programs and velocities are kept.

    Args:
        score: any score.
        grid: the beats, in the score's own seconds.
        ticks_per_beat: resolution of the result; a note moves by at most half a tick,
            i.e. 0.5 ms for beats up to 0.96 s long at the default 960.
        tolerance_seconds: how far a beat may sit from the tempo map's beat.

    Returns:
        A :class:`RetimeResult`.

    Raises:
        ConfigError: ``ticks_per_beat`` outside 1..32767 or a negative tolerance.
    """
    if not 1 <= ticks_per_beat <= 0x7FFF:
        raise ConfigError(f"ticks_per_beat={ticks_per_beat} must be in 1..32767 (a MIDI header holds 15 bits)")
    if tolerance_seconds < 0:
        raise ConfigError(f"tolerance_seconds={tolerance_seconds} must be >= 0")
    beats, added = _extend_before(np.asarray(grid.beat_seconds, dtype=np.float64))
    flags = [False] * (len(beats) - len(grid.downbeats)) + list(grid.downbeats)
    out = Score(ticks_per_beat=ticks_per_beat)
    out.tempos = _tempo_map(beats, ticks_per_beat, tolerance_seconds)

    # Meters: one time signature wherever the bar length changes.
    downbeat_index = [k for k, f in enumerate(flags) if f]
    end_seconds = score.duration_seconds
    n_needed = len(beats) + max(0, int(np.ceil((end_seconds - beats[-1]) / (beats[-1] - beats[-2]))))
    lengths = _bar_lengths(downbeat_index, n_needed)
    tick, previous = 0, None
    for length in lengths:
        if length != previous:
            out.time_signatures.append(TimeSignature(tick, length, 4))
            previous = length
        tick += length * ticks_per_beat

    # Notes and maps: seconds under the old map -> ticks under the new one.
    max_shift = 0.0
    for track in score.tracks:
        if not track.notes:
            out.tracks.append(Track(track.program, track.is_drum, track.name, []))
            continue
        arr = np.asarray(track.notes, dtype=np.int64)
        on_s = seconds_of_ticks(score, arr[:, 0])
        off_s = seconds_of_ticks(score, arr[:, 0] + arr[:, 1])
        on_t, off_t = ticks_of_seconds(out, on_s), ticks_of_seconds(out, off_s)
        off_t = np.maximum(off_t, on_t + 1)
        max_shift = max(max_shift, float(np.max(np.abs(seconds_of_ticks(out, on_t) - on_s))),
                        float(np.max(np.abs(seconds_of_ticks(out, off_t) - off_s))))
        notes = [Note(int(a), int(b - a), int(p), int(v)) for a, b, p, v in zip(on_t, off_t, arr[:, 2], arr[:, 3])]
        out.tracks.append(Track(track.program, track.is_drum, track.name, notes))
    key_ticks = ticks_of_seconds(out, seconds_of_ticks(score, [k.time_ticks for k in score.key_signatures]))
    out.key_signatures = [k._replace(time_ticks=int(t)) for k, t in zip(score.key_signatures, key_ticks)]
    out.annotations = score.annotations.mapped(lambda t: ticks_of_seconds(out, seconds_of_ticks(score, t)))
    return RetimeResult(out.sort(), max_shift, added, downbeat_index[0] if downbeat_index else 0)


# ----------------------------------------------------------------------------- grid fit
# A quantized file has nearly every onset on the 16th/triplet grid; onsets placed at random lie within
# a tenth of a step of it one time in five.  Measured on POP909 and on constant-tempo performances made
# from it: docs/results/quantize.md.
PERFORMANCE_SHARE = 0.5
PERFORMANCE_MIN_ONSETS = 16

@dataclass(frozen=True)
class GridFit:
    """How well a score's onsets follow its own beat grid (:func:`grid_fit`).

    Attributes:
        n_onsets: distinct (track, onset) pairs measured.
        on_grid_share: share of them within ``tolerance_beats`` of a grid step (1.0 for no onsets).
        median_deviation_beats: median distance to the nearest step, in beats (0.0 for no onsets).
        median_deviation_seconds: the same in seconds.
        steps_per_beat: the grid.
    """

    n_onsets: int
    on_grid_share: float
    median_deviation_beats: float
    median_deviation_seconds: float
    steps_per_beat: int

    @property
    def is_performance(self) -> bool:
        """True when the onsets do not follow the grid (fewer than half on it, given enough onsets)."""
        return self.n_onsets >= PERFORMANCE_MIN_ONSETS and self.on_grid_share < PERFORMANCE_SHARE

    def warning(self, source: str) -> str | None:
        """One line that names ``source``, what is wrong and the fix; ``None`` when the grid fits."""
        if not self.is_performance:
            return None
        return (f"{source}: only {self.on_grid_share:.0%} of note onsets lie on the file's own beat grid "
                f"(median {1000 * self.median_deviation_seconds:.0f} ms off): it looks like a recorded "
                f"performance, so bars and beats will not match the music; put it on a grid first with "
                f"'symbolic quantize {source} --out quantized.mid'")


def grid_fit(score: Score, steps_per_beat: int = 12, tolerance_beats: float = 1 / 120) -> GridFit:
    """Distance of each onset from the nearest of ``steps_per_beat`` steps of its beat.

    12 steps hold sixteenths and eighth-note triplets (the event tokenizer's grid).
    Drum tracks count too.  Empty input: ``GridFit(0, 1.0, 0.0, 0.0, steps_per_beat)``.
    """
    if steps_per_beat < 1 or tolerance_beats < 0:
        raise ConfigError("steps_per_beat must be >= 1 and tolerance_beats >= 0")
    onsets = np.asarray(sorted({n.onset_ticks for t in score.tracks for n in t.notes}), dtype=np.int64)
    if len(onsets) == 0:
        return GridFit(0, 1.0, 0.0, 0.0, steps_per_beat)
    steps = onsets * steps_per_beat / score.ticks_per_beat
    dev_beats = np.abs(steps - np.rint(steps)) / steps_per_beat
    beat_ticks = score.ticks_per_beat
    seconds_per_beat = seconds_of_ticks(score, onsets + beat_ticks) - seconds_of_ticks(score, onsets)
    return GridFit(len(onsets), float(np.mean(dev_beats <= tolerance_beats)), float(np.median(dev_beats)),
                   float(np.median(dev_beats * seconds_per_beat)), steps_per_beat)
