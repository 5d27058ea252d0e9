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
from symbolic.score import (Note, Score, TempoChange, TimeSignature, Track,
                            seconds_of_ticks, ticks_of_seconds)

__all__ = [
    "BeatGrid",
    "RetimeResult",
    "GridFit",
    "retime",
    "grid_fit",
    "bar_lines_ticks",
    "count_bars",
    "performance_warning",
    "BeatTrackingConfig",
    "find_beats",
    "QuantizeResult",
    "quantize_score",
    "BEAT_METHODS",
    "with_constant_tempo",
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


MAX_BAR_BEATS = 32  # longer spans between two downbeats are cut into bars of the default length


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
    out = []
    for length in lead + bars + tail:  # a gap of many beats between downbeats: bars of the default length
        out += [length] if length <= MAX_BAR_BEATS else \
            [default_beats] * (length // default_beats) + ([length % default_beats] if length % default_beats else [])
    return out


def retime(score: Score, grid: BeatGrid, ticks_per_beat: int = 1920, tolerance_seconds: float = 0.0005) -> RetimeResult:
    """The score with a tempo map and meters from ``grid``, every note at the same time in seconds.

    Each beat of the grid becomes one quarter note (``ticks_per_beat`` ticks) and each bar
    the span between two downbeats (meter ``n/4`` for ``n`` beats; a pickup gets its own
    shorter bar).  Before the first beat the grid is extended back at the first beat's
    length so that tick 0 starts a beat; after the last beat the last tempo goes on.
    Consecutive beats share one tempo while a constant tempo puts each of them within
    ``tolerance_seconds`` of its given time.  Key signatures and annotations are moved
    to the new ticks too, and so are controllers (the sustain pedal) and pitch bends; track names, programs
    and velocities are kept.

    Args:
        score: any score.
        grid: the beats, in the score's own seconds.
        ticks_per_beat: resolution of the result; a note moves by at most half a tick,
            i.e. 1 ms for beats up to 3.84 s long at the default 1920.
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
    def moved(times_ticks: list[int]) -> list[int]:
        return [int(t) for t in ticks_of_seconds(out, seconds_of_ticks(score, times_ticks))] if times_ticks else []

    max_shift = 0.0
    for track in score.tracks:
        # controllers (the sustain pedal) and pitch bends keep their seconds too
        controls = [c._replace(time_ticks=t)
                    for c, t in zip(track.controls, moved([c.time_ticks for c in track.controls]))]
        bends = [b._replace(time_ticks=t)
                 for b, t in zip(track.pitch_bends, moved([b.time_ticks for b in track.pitch_bends]))]
        if not track.notes:
            out.tracks.append(Track(track.program, track.is_drum, track.name, [], controls, bends))
            continue
        arr = np.asarray(track.notes, dtype=np.int64)
        on_s = seconds_of_ticks(score, arr[:, 0])
        off_s = seconds_of_ticks(score, arr[:, 0] + arr[:, 1])
        on_t, off_t = ticks_of_seconds(out, on_s), ticks_of_seconds(out, off_s)
        off_t = np.maximum(off_t, on_t + 1)
        max_shift = max(max_shift, float(np.max(np.abs(seconds_of_ticks(out, on_t) - on_s))),
                        float(np.max(np.abs(seconds_of_ticks(out, off_t) - off_s))))
        notes = [Note(int(a), int(b - a), int(p), int(v)) for a, b, p, v in zip(on_t, off_t, arr[:, 2], arr[:, 3])]
        out.tracks.append(Track(track.program, track.is_drum, track.name, notes, controls, bends))
    key_ticks = ticks_of_seconds(out, seconds_of_ticks(score, [k.time_ticks for k in score.key_signatures]))
    out.key_signatures = [k._replace(time_ticks=int(t)) for k, t in zip(score.key_signatures, key_ticks)]
    out.annotations = score.annotations.mapped(lambda t: ticks_of_seconds(out, seconds_of_ticks(score, t)))
    return RetimeResult(out.sort(), max_shift, added, downbeat_index[0] if downbeat_index else 0)


def bar_lines_ticks(score: Score, until_ticks: int | None = None) -> list[int]:
    """Tick of every bar line from 0 up to ``until_ticks`` (default: the end of the last note), following
    the time signatures (4/4 before the first).  A meter change starts a new bar."""
    until = score.end_ticks if until_ticks is None else until_ticks
    default = TimeSignature(0, 4, 4)
    meters = sorted(score.time_signatures, key=lambda ts: ts.time_ticks)
    if not meters or meters[0].time_ticks > 0:
        meters = [default] + meters
    lines: list[int] = []
    for ts, following in zip(meters, meters[1:] + [None]):
        tick, end = ts.time_ticks, following.time_ticks if following else until + 1
        step = max(1, ts.bar_ticks(score.ticks_per_beat))
        while tick < end and tick <= until:
            lines.append(tick)
            tick += step
    return lines


def count_bars(score: Score) -> int:
    """Bars that hold music: the bar lines of :func:`bar_lines_ticks` before the end of the last note
    (a piece ending exactly on a bar line does not count the empty bar after it); 0 for an empty score."""
    return sum(1 for tick in bar_lines_ticks(score) if tick < score.end_ticks)


# ----------------------------------------------------------------------------- grid fit
# A quantized file has nearly every onset on the 16th/triplet grid; onsets placed at random lie within
# a tenth of a step of it one time in five.  A sequenced file played in by hand or "humanised" has its
# onsets a few ms off that grid but still has notes on its beats; so does a performance after
# `symbolic quantize` (its beats are put on notes).  A recorded performance on a constant tempo has notes
# on few of its beats.  Measured on POP909, on constant-tempo performances made from it and on the real
# files of benchmarks/real_midi: docs/results/quantize.md.
PERFORMANCE_SHARE = 0.5
PERFORMANCE_BEAT_SHARE = 0.5
BEAT_TOLERANCE_BEATS = 1 / 32
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
        beat_onset_share: share of the beats from the first onset to the last with an onset within
            ``BEAT_TOLERANCE_BEATS`` (1/32 beat) of them (1.0 for no onsets).
    """

    n_onsets: int
    on_grid_share: float
    median_deviation_beats: float
    median_deviation_seconds: float
    steps_per_beat: int
    beat_onset_share: float = 1.0

    @property
    def is_performance(self) -> bool:
        """True when, given at least ``PERFORMANCE_MIN_ONSETS`` onsets, fewer than half of them lie on the grid
        and notes start on fewer than half of the beats (a humanised sequence has its onsets off the grid by
        a few ms, but notes on its beats)."""
        return (self.n_onsets >= PERFORMANCE_MIN_ONSETS and self.on_grid_share < PERFORMANCE_SHARE
                and self.beat_onset_share < PERFORMANCE_BEAT_SHARE)

    def warning(self, source: str) -> str | None:
        """One line that names ``source``, what is wrong and the fix; ``None`` when the grid fits."""
        if not self.is_performance:
            return None
        return (f"{source}: only {self.on_grid_share:.0%} of note onsets lie on the file's own beat grid "
                f"(median {1000 * self.median_deviation_seconds:.0f} ms off) and notes start on only "
                f"{self.beat_onset_share:.0%} of its beats: it looks like a recorded "
                f"performance, so bars and beats will not match the music; put it on a grid first with "
                f"'symbolic quantize {source} --out quantized.mid'")


def performance_warning(score: Score, source: str) -> str | None:
    """The one-line warning (naming ``source`` and the fix) for a score whose notes do not follow its own
    beat grid, or ``None``.  The CLI prints it before any work (the jobs' decisions carry it too):
    ``grid_fit(score).warning(source)``."""
    return grid_fit(score).warning(source)


def grid_fit(score: Score, steps_per_beat: int = 12, tolerance_beats: float = 1 / 120) -> GridFit:
    """Distance of each onset from the nearest of ``steps_per_beat`` steps of its beat.

    12 steps hold sixteenths and eighth-note triplets (the event tokenizer's grid).
    Drum tracks count too.  Also measures the share of beats (whole beats of the tempo map, from the first
    onset to the last) on which a note starts, within 1/32 beat.  Empty input:
    ``GridFit(0, 1.0, 0.0, 0.0, steps_per_beat, 1.0)``.
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
    in_beats = onsets / beat_ticks
    beats = np.arange(np.ceil(in_beats[0]), np.floor(in_beats[-1]) + 1)
    after = np.clip(np.searchsorted(in_beats, beats), 0, len(in_beats) - 1)
    before = np.clip(after - 1, 0, len(in_beats) - 1)
    nearest = np.minimum(np.abs(in_beats[after] - beats), np.abs(in_beats[before] - beats))
    beat_share = float(np.mean(nearest <= BEAT_TOLERANCE_BEATS)) if len(beats) else 1.0
    return GridFit(len(onsets), float(np.mean(dev_beats <= tolerance_beats)), float(np.median(dev_beats)),
                   float(np.median(dev_beats * seconds_per_beat)), steps_per_beat, beat_share)


# ----------------------------------------------------------------------------- finding beats
BEAT_METHODS = ("notes", "audio")


@dataclass(frozen=True)
class BeatTrackingConfig:
    """How :func:`find_beats` finds beats.

    Attributes:
        method: ``"notes"``: an onset envelope built from the notes (each onset weighted by its
            velocity and its length up to 1 s), tracked by our numpy form of Ellis's (2007)
            dynamic-programming beat tracker; ``"audio"``: the score rendered with FluidSynth and
            tracked by librosa's implementation of the same tracker.  Measured on POP909:
            docs/results/quantize.md.
        frames_per_second: envelope rate of the notes method.
        tightness: how strictly the tracker keeps a steady tempo (Ellis's and librosa's ``tightness``).
        max_qpm: a tracked tempo above it is taken as twice the beat and halved (the tracker's prior
            sits at 120 qpm; pop songs mostly move slower), keeping the phase with the stronger onsets.
        beats_per_bar: bar length; the bar line goes on the phase of the beats where the low notes are
            strongest and the harmony changes most (each summed over the phase, scaled to the best phase).
        snap_seconds: each beat found moves to the strongest note onset within this distance (the tracker's
            frames are 10-23 ms apart; the notes are exact), so that notes played on the beat land on it.
        sample_rate: rendering rate of the audio method, in Hz.
    """

    method: str = "notes"
    frames_per_second: int = 100
    tightness: float = 400.0
    max_qpm: float = 110.0
    beats_per_bar: int = 4
    snap_seconds: float = 0.06
    sample_rate: int = 22050

    def __post_init__(self) -> None:
        if self.method not in BEAT_METHODS:
            raise ConfigError(f"beat method {self.method!r} is not one of {', '.join(BEAT_METHODS)}")
        if self.snap_seconds < 0:
            raise ConfigError(f"snap_seconds={self.snap_seconds} must be >= 0")
        if self.frames_per_second < 10 or self.tightness <= 0 or self.max_qpm <= 0 or self.beats_per_bar < 1:
            raise ConfigError("frames_per_second must be >= 10, tightness and max_qpm > 0, beats_per_bar >= 1")
        if not 8000 <= self.sample_rate <= 192000:
            raise ConfigError(f"sample_rate={self.sample_rate} must be in 8000..192000 Hz")


def _note_envelopes(score: Score, frames_per_second: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset envelope of all notes and of the notes below the median pitch, one value per frame."""
    rows = np.asarray([(n.onset_ticks, n.duration_ticks, n.pitch, n.velocity)
                       for t in score.tracks for n in t.notes], dtype=np.int64)
    on = seconds_of_ticks(score, rows[:, 0])
    off = seconds_of_ticks(score, rows[:, 0] + rows[:, 1])
    frames = np.rint(on * frames_per_second).astype(np.int64)
    weight = rows[:, 3] / 127.0 * np.minimum(off - on, 1.0)
    low = rows[:, 2] < np.median(rows[:, 2])
    size = int(frames.max()) + 2 * frames_per_second
    env, bass = np.zeros(size), np.zeros(size)
    np.add.at(env, frames, weight)
    np.add.at(bass, frames[low], weight[low])
    return env, bass


def find_beats(score: Score, config: BeatTrackingConfig | None = None) -> BeatGrid:
    """Beats and downbeats of a score from its sound, ignoring its tempo map (times in the score's seconds).

    Raises:
        ScoreError: fewer than two beats found (too few notes to tell a beat).
        ImportError: the audio method without librosa (``pip install librosa``).
    """
    config = config or BeatTrackingConfig()
    if score.n_notes < 4:
        raise ScoreError(f"{score.n_notes} notes are too few to find a beat in")
    fps = config.frames_per_second
    env, bass = _note_envelopes(score, fps)
    if config.method == "notes":
        period = _tempo_period(env, fps)
        beats = _track(env, period, config.tightness) / fps
    else:
        beats = _audio_beats(score, config)
    if len(beats) < 2:
        raise ScoreError("no steady beat found in the notes")
    beats = _snap_to_onsets(score, beats, config.snap_seconds)
    if 60.0 / np.median(np.diff(beats)) > config.max_qpm and len(beats) >= 4:
        beats = max((beats[0::2], beats[1::2]), key=lambda b: _sum_at(env, b, fps) + _sum_at(bass, b, fps))
    n = config.beats_per_bar
    low = np.asarray([_sum_at(bass, beats[p::n], fps) for p in range(min(n, len(beats)))])
    change = _harmony_change(score, beats)
    turns = np.asarray([change[p::n].sum() for p in range(len(low))])
    phase = int(np.argmax(low / (low.max() or 1.0) + turns / (turns.max() or 1.0)))
    flags = tuple(k >= phase and (k - phase) % n == 0 for k in range(len(beats)))
    return BeatGrid(tuple(float(b) for b in beats), flags)


def _tempo_period(env: np.ndarray, fps: int, start_qpm: float = 120.0, std_octaves: float = 1.0) -> int:
    """Beat period in frames: the autocorrelation peak of the envelope under a log-normal tempo prior
    around ``start_qpm`` (the prior of Ellis 2007 and librosa's ``tempo``)."""
    x = env - env.mean()
    size = 1 << int(np.ceil(np.log2(2 * len(x))))
    spectrum = np.fft.rfft(x, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: len(x)]
    lags = np.arange(int(fps * 60 / 300), min(len(acf) - 1, int(fps * 60 / 30)) + 1)
    qpm = 60.0 * fps / lags
    weight = np.exp(-0.5 * ((np.log2(qpm) - np.log2(start_qpm)) / std_octaves) ** 2)
    return int(lags[np.argmax(acf[lags] * weight)])


def _track(env: np.ndarray, period: int, tightness: float) -> np.ndarray:
    """Beat frames by dynamic programming (Ellis 2007): onsets rewarded, gaps other than ``period`` penalised
    by ``tightness * log(gap / period)**2``."""
    window = np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2)
    local = np.convolve(env / (env.std() or 1.0), window, "same")
    n = len(local)
    gaps = np.arange(max(1, period // 2), 2 * period + 1)
    penalty = -tightness * np.log(gaps / period) ** 2
    score = local.copy()
    back = np.full(n, -1, dtype=np.int64)
    for t in range(gaps[0], n):
        prev = t - gaps
        ok = prev >= 0
        candidates = score[prev[ok]] + penalty[ok]
        k = int(np.argmax(candidates))
        if candidates[k] > 0:
            score[t] += candidates[k]
            back[t] = prev[ok][k]
    active = np.flatnonzero(local > 0.01 * local.max())
    first, last = (active[0], active[-1]) if len(active) else (0, n - 1)
    tail = score[max(first, last - period):last + 1]
    t = max(first, last - period) + int(np.argmax(tail))
    beats = []
    while t >= 0:
        beats.append(t)
        t = back[t]
    beats = np.asarray(beats[::-1])
    return beats[(beats >= first - period // 2)].astype(np.float64)


def _audio_beats(score: Score, config: BeatTrackingConfig) -> np.ndarray:
    """Beat times of the score's FluidSynth rendering by librosa's beat tracker."""
    import warnings

    import librosa

    from symbolic.audio.render import RenderConfig, Renderer

    with Renderer(config=RenderConfig(sample_rate=config.sample_rate, reverb=False)) as renderer:
        audio = renderer.render(score).mean(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, beats = librosa.beat.beat_track(y=audio, sr=config.sample_rate, units="time", tightness=config.tightness)
    return np.asarray(beats, dtype=np.float64)


def _snap_to_onsets(score: Score, beats: np.ndarray, window_seconds: float) -> np.ndarray:
    """Each beat moved to the onset within ``window_seconds`` whose notes are loudest (velocity sum); beats with
    no onset near keep their time.  Beats that would meet are kept apart (the later one stays)."""
    onsets = sorted((n.onset_ticks, n.velocity) for t in score.tracks for n in t.notes)
    if not onsets or window_seconds == 0:
        return beats
    ticks, weights = np.unique(np.asarray([o for o, _ in onsets]), return_inverse=True)
    weight = np.bincount(weights, weights=np.asarray([v for _, v in onsets], dtype=np.float64))
    times = seconds_of_ticks(score, ticks)
    out = beats.copy()
    lo = np.searchsorted(times, beats - window_seconds, side="left")
    hi = np.searchsorted(times, beats + window_seconds, side="right")
    for k, (a, b) in enumerate(zip(lo, hi)):
        if b > a:
            out[k] = times[a + int(np.argmax(weight[a:b]))]
    keep = np.concatenate([np.diff(out) > 0, [True]])
    return out[keep]


def _harmony_change(score: Score, beats: np.ndarray) -> np.ndarray:
    """Per beat, how much the sounding pitch classes differ from the previous beat's (1 - cosine of the
    duration-weighted pitch-class histograms; 0 for the first beat)."""
    rows = np.asarray([(n.onset_ticks, n.offset_ticks, n.pitch) for t in score.tracks for n in t.notes
                       if not t.is_drum], dtype=np.int64).reshape(-1, 3)
    edges = np.append(beats, beats[-1] + np.median(np.diff(beats)))
    histograms = np.zeros((len(beats), 12))
    on, off = seconds_of_ticks(score, rows[:, 0]), seconds_of_ticks(score, rows[:, 1])
    first = np.searchsorted(edges, on, side="right") - 1
    last = np.searchsorted(edges, off, side="left")
    for a, b, pitch, i, j in zip(on, off, rows[:, 2], first, last):
        for k in range(max(i, 0), min(j, len(beats))):
            histograms[k, pitch % 12] += min(b, edges[k + 1]) - max(a, edges[k])
    unit = histograms / (np.linalg.norm(histograms, axis=1, keepdims=True) + 1e-9)
    change = np.zeros(len(beats))
    change[1:] = 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)
    return change


def _sum_at(envelope: np.ndarray, seconds: np.ndarray, frames_per_second: int) -> float:
    frames = np.minimum(np.rint(seconds * frames_per_second).astype(np.int64), len(envelope) - 1)
    return float(envelope[frames].sum())


def with_constant_tempo(score: Score, qpm: float = 120.0, ticks_per_beat: int = 480) -> Score:
    """``score`` re-expressed under one constant tempo and 4/4 from tick 0, every note at the same second.

    What a recording at a fixed tempo looks like: the bars have nothing to do with the music.
    """
    if not qpm > 0:
        raise ConfigError(f"qpm={qpm} must be positive")
    beat = 60.0 / qpm
    n = int(score.duration_seconds / beat) + 2
    grid = BeatGrid(tuple(k * beat for k in range(n)), tuple(k % 4 == 0 for k in range(n)))
    return retime(score, grid, ticks_per_beat, tolerance_seconds=1e-3).score


@dataclass
class QuantizeResult:
    """What :func:`quantize_score` did: the new score, the beats it used, the grid fit before and after,
    and the largest change of a note's time in seconds."""

    score: Score
    grid: BeatGrid
    before: GridFit
    after: GridFit
    max_shift_seconds: float


def quantize_score(score: Score, config: BeatTrackingConfig | None = None, ticks_per_beat: int = 1920
                   ) -> QuantizeResult:
    """Find the beats of ``score`` (:func:`find_beats`) and :func:`retime` it onto them.

    Notes keep their times in seconds (to within half a tick); the tempo map and the bar
    lines are new, so the bars of the result follow the music.  Nothing is snapped: a note
    played off the beat stays off it.

    Raises:
        ScoreError: too few notes to find a beat in.
    """
    grid = find_beats(score, config)
    result = retime(score, grid, ticks_per_beat)
    return QuantizeResult(result.score, grid, grid_fit(score), grid_fit(result.score), result.max_shift_seconds)
