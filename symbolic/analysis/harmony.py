"""The chords a melody implies: a hidden Markov model over major and minor triads, one chord a half bar.

A pop arranger harmonises a melody with a chord every bar or half bar; the piano then plays that
chord's tones.  This module guesses those chords from the given notes alone, so a new accompaniment
can follow one harmony instead of picking each note from the key (a pop piano written without it put
0.47 of its note time on POP909's annotated chords, against the real piano's 0.985, and clashed with
itself by semitones).

The model (Rabiner 1989, "A tutorial on hidden Markov models", Viterbi decoding):

* **States:** the 24 major and minor triads, each counted from the key's *reference* pitch class, the
  tonic of the major key with the same key signature (C for both C major and A minor), so one model
  covers major and minor songs.  The key is the model's too: of the 12 references, the one under which
  the notes' likeliest chord path is likeliest (on POP909's 98 validation songs it is the annotated key's
  in 93, where the Krumhansl-Kessler key of the melody's notes, :mod:`symbolic.analysis.keys`, is in 80:
  a melody that dwells on the fifth of its key reads as the key a fifth up).  State ``s`` is the triad
  on ``(reference + s // 2) % 12``, minor when ``s`` is odd.
* **Emissions:** the given notes' pitch-class histogram over the segment, each note counting its beats
  in the segment up to one (a held note is one observation, not four), scored by the log-probabilities
  of a note's interval above the chord's root for a major and a minor chord (``interval_log_probs``),
  times ``emission_weight``.  Counted by whole length, a melody note held four beats outweighed the
  transitions: a tune's last held tonic was heard as the tonic's minor chord.
* **Transitions, a prior and a final distribution** between states, half bar to half bar: the first
  segment's chord, each next one's, and the last one's.  Major and minor keys share a reference, so the
  final distribution cannot tell a major song's ending on its tonic from a minor song's on its own: a
  tester found 26 of 57 major-key test songs heard ending on the relative minor, and the final
  distribution moved only a few (on the 98 test songs the last half bar with melody was guessed as I in
  11 and vi in 63 without it, 14 and 52 with it).

All of it is counted from the POP909 training split's melodies, annotated chords and keys
(``benchmarks/chord_fit.py``, results in ``docs/results/chords.md``); the shipped parameters are
``symbolic/assets/chord-model/model.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from symbolic.errors import ConfigError, DataError

__all__ = ["N_CHORDS", "ChordModel", "chord_segments", "segment_histograms", "triad_pitch_classes",
           "load_chord_model", "fit_chord_model", "estimate_chords"]

N_CHORDS = 24  # 12 roots x (major, minor)
_SMOOTHING = 1.0  # add-one counts for every interval, transition, prior and final state


def triad_pitch_classes(state: int, reference: int) -> frozenset[int]:
    """Pitch classes (0 = C) of chord ``state`` (0..23) counted from ``reference``: root, third, fifth."""
    root = (reference + state // 2) % 12
    return frozenset((root, (root + (3 if state % 2 else 4)) % 12, (root + 7) % 12))


def chord_segments(bar_starts: Sequence[int], end: int, units_per_beat: int) -> list[tuple[int, int, int]]:
    """``(start, end, bar index)`` of each harmony segment: a bar of an even number of beats (4 or more)
    is cut into two halves, any other bar is one segment.  Times in any unit with ``units_per_beat``
    to a quarter note (ticks, steps); ``end`` is where the last bar ends.  No bars give ``[]``.

    Raises:
        ConfigError: ``units_per_beat`` below 1.
    """
    if units_per_beat < 1:
        raise ConfigError(f"units_per_beat={units_per_beat} must be >= 1 (ticks or steps to a quarter note)")
    segments = []
    for index, (start, stop) in enumerate(zip(bar_starts, list(bar_starts[1:]) + [end])):
        if stop <= start:
            continue
        beats = (stop - start) / units_per_beat
        if beats >= 4 and beats == int(beats) and int(beats) % 2 == 0:
            middle = start + (stop - start) // 2
            segments += [(start, middle, index), (middle, stop, index)]
        else:
            segments.append((start, stop, index))
    return segments


def segment_histograms(notes: Iterable[tuple[int, int, int]], segments: Sequence[tuple[int, int, int]],
                       units_per_beat: int, max_note_beats: float = 1.0) -> np.ndarray:
    """Float ``(n_segments, 12)``: beats each pitch class sounds in each segment, from ``(start, end,
    pitch)`` notes in the segments' unit; a note counts at most ``max_note_beats`` in a segment (a note
    across a segment line counts in both, cut)."""
    histograms = np.zeros((len(segments), 12))
    if not segments:
        return histograms
    starts = np.array([s for s, _, _ in segments])
    for start, end, pitch in notes:
        k = max(0, int(np.searchsorted(starts, start, side="right")) - 1)
        while k < len(segments) and segments[k][0] < end:
            overlap = min(end, segments[k][1]) - max(start, segments[k][0])
            if overlap > 0:
                histograms[k, pitch % 12] += min(overlap / units_per_beat, max_note_beats)
            k += 1
    return histograms


@dataclass(frozen=True)
class ChordModel:
    """A hidden Markov model of the chords under a melody (see the module docstring).

    Attributes:
        interval_log_probs: float ``(2, 12)`` nested tuples: log-probability of a sounding pitch class at
            each interval (semitones) above the root of a major (row 0) and a minor (row 1) chord.
        transition_log_probs: float ``(24, 24)``: log P(next state | state), half bar to half bar.
        prior_log_probs: float ``(24,)``: log P(state) of the first segment.
        final_log_probs: float ``(24,)``: log P(state) of the last segment.
        emission_weight: the histogram's log-likelihood is multiplied by this (> 0; larger trusts the
            notes more against the transitions).
    """

    interval_log_probs: tuple[tuple[float, ...], ...]
    transition_log_probs: tuple[tuple[float, ...], ...]
    prior_log_probs: tuple[float, ...]
    final_log_probs: tuple[float, ...]
    emission_weight: float = 2.0

    def __post_init__(self) -> None:
        shapes = (np.shape(self.interval_log_probs), np.shape(self.transition_log_probs),
                  np.shape(self.prior_log_probs), np.shape(self.final_log_probs))
        if shapes != ((2, 12), (N_CHORDS, N_CHORDS), (N_CHORDS,), (N_CHORDS,)):
            raise ConfigError(f"a chord model's tables have shapes (2, 12), (24, 24), (24,) and (24,), not {shapes}")
        if not self.emission_weight > 0:
            raise ConfigError(f"emission_weight={self.emission_weight} must be > 0")

    def emission_scores(self, histograms: np.ndarray, references: Sequence[int]) -> np.ndarray:
        """Float ``(n, 24)``: each segment's weighted log-likelihood under each state (0 for a segment with
        no notes)."""
        intervals = np.asarray(self.interval_log_probs)
        n = len(histograms)
        scores = np.empty((n, N_CHORDS))
        for state in range(N_CHORDS):
            roots = (np.asarray(references) + state // 2) % 12
            # the histogram rotated so index i is i semitones above each segment's root
            rotated = histograms[np.arange(n)[:, None], (roots[:, None] + np.arange(12)) % 12]
            scores[:, state] = rotated @ intervals[state % 2]
        return self.emission_weight * scores

    def to_json(self) -> str:
        return json.dumps({"format": "symbolic.chord-model/1", "interval_log_probs": self.interval_log_probs,
                           "transition_log_probs": self.transition_log_probs,
                           "prior_log_probs": self.prior_log_probs, "final_log_probs": self.final_log_probs,
                           "emission_weight": self.emission_weight})

    @classmethod
    def from_json(cls, text: str) -> "ChordModel":
        """Raises :class:`DataError` on a file that is not a chord model."""
        try:
            data = json.loads(text)
            if data.get("format") != "symbolic.chord-model/1":
                raise ValueError(f"format {data.get('format')!r}")
            return cls(tuple(map(tuple, data["interval_log_probs"])), tuple(map(tuple, data["transition_log_probs"])),
                       tuple(data["prior_log_probs"]), tuple(data["final_log_probs"]), float(data["emission_weight"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DataError(f"not a chord model file ({error}); write one with ChordModel.to_json") from None


@lru_cache(maxsize=1)
def load_chord_model() -> ChordModel:
    """The shipped chord model (``symbolic/assets/chord-model/model.json``), read once."""
    from symbolic.resources import asset_path

    return ChordModel.from_json((asset_path("chord-model") / "model.json").read_text())


def fit_chord_model(songs: Iterable[tuple[np.ndarray, Sequence[int | None], Sequence[tuple[int, bool] | None]]],
                    emission_weight: float = 2.0) -> ChordModel:
    """Count a :class:`ChordModel` from songs given as ``(histograms (n, 12), references (n,), chords (n,))``:
    each segment's note histogram, the reference pitch class of its annotated key and its annotated chord as
    ``(root pitch class, minor)`` (``None``: no chord or no key there; such a segment breaks the transition
    count).
    The prior counts every labelled segment; the final distribution each song's last labelled one.  Add-one
    smoothing on every count.  No songs give the uniform model."""
    intervals = np.full((2, 12), _SMOOTHING)
    transitions = np.full((N_CHORDS, N_CHORDS), _SMOOTHING)
    prior = np.full(N_CHORDS, _SMOOTHING)
    final = np.full(N_CHORDS, _SMOOTHING)
    for histograms, references, chords in songs:
        previous = last = None
        for histogram, reference, chord in zip(histograms, references, chords):
            if chord is None or reference is None:
                previous = None
                continue
            root, minor = chord
            intervals[int(minor)] += np.roll(histogram, -root)
            state = ((root - reference) % 12) * 2 + int(minor)
            prior[state] += 1
            if previous is not None:
                transitions[previous, state] += 1
            previous = last = state
        if last is not None:
            final[last] += 1

    def log(table):
        return tuple(map(tuple, np.log(table / table.sum(axis=-1, keepdims=True)).tolist())) if table.ndim == 2 \
            else tuple(np.log(table / table.sum()).tolist())
    return ChordModel(log(intervals), log(transitions), log(prior), log(final), emission_weight)


def estimate_chords(model: ChordModel, histograms: np.ndarray) -> tuple[int | None, list[int]]:
    """The key's reference pitch class and the most likely chord state of each segment (Viterbi).

    Args:
        histograms: float ``(n, 12)``, beats each pitch class sounds in each segment
            (:func:`segment_histograms`).

    Returns:
        ``(reference, states)``: of the 12 references the one whose best chord path scores highest, and
        that path's ``n`` states (0..23, read with :func:`triad_pitch_classes` from the reference).
        ``(None, [])`` for no segments or no notes.  A segment with no notes takes the chord the
        transitions make most likely around it.

    Raises:
        DataError: histograms not of shape ``(n, 12)``, or holding negative or non-finite values.
    """
    histograms = np.asarray(histograms, dtype=np.float64)
    if histograms.size == 0:
        return None, []
    if histograms.ndim != 2 or histograms.shape[1] != 12:
        raise DataError(f"chord histograms have shape (segments, 12), not {histograms.shape}")
    if not np.isfinite(histograms).all() or (histograms < 0).any():
        raise DataError("chord histograms hold beats of sounding notes: finite and >= 0")
    if not histograms.sum() > 0:
        return None, []
    # the emissions depend on a chord's root, not on the reference: score the 24 chords once (counted from
    # C) and read each reference's states as a permutation of those columns
    absolute = model.emission_scores(histograms, [0] * len(histograms))
    states = np.arange(N_CHORDS)
    best = None
    for reference in range(12):
        columns = 2 * ((reference + states // 2) % 12) + states % 2
        score, path = _viterbi(model, absolute[:, columns])
        if best is None or score > best[0]:
            best = (score, reference, path)
    return best[1], best[2]


def _viterbi(model: ChordModel, emissions: np.ndarray) -> tuple[float, list[int]]:
    """The best path's log-score and states under float ``(n, 24)`` emission scores."""
    n = len(emissions)
    transitions = np.asarray(model.transition_log_probs)
    score = emissions[0] + np.asarray(model.prior_log_probs)
    back = np.zeros((n, N_CHORDS), dtype=np.int64)
    for i in range(1, n):
        candidates = score[:, None] + transitions
        back[i] = np.argmax(candidates, axis=0)
        score = candidates[back[i], np.arange(N_CHORDS)] + emissions[i]
    score = score + np.asarray(model.final_log_probs)
    path = [int(np.argmax(score))]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, path[-1]]))
    return float(score.max()), path[::-1]
