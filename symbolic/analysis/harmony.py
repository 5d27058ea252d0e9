"""The chords a melody implies: a hybrid hidden Markov model over major and minor triads, one chord a half bar.

A pop arranger harmonises a melody with a chord every bar or half bar; the piano then plays that
chord's tones.  This module guesses those chords from the given notes alone, so a new accompaniment
can follow one harmony instead of picking each note from the key (a pop piano written without it put
0.47 of its note time on POP909's annotated chords, against the real piano's 0.985, and clashed with
itself by semitones).

The model (Rabiner 1989, "A tutorial on hidden Markov models", Viterbi decoding; hybrid emissions as in
Bourlard and Morgan 1994, "Connectionist speech recognition: a hybrid approach"):

* **States:** the 24 major and minor triads, counted from the key's tonic: state ``s`` is the triad on
  ``(tonic + s // 2) % 12``, minor when ``s`` is odd.  The key is the model's too: of the 24 keys, the one
  under which the notes' likeliest chord path is likeliest.
* **Emissions:** a small classifier (one hidden ReLU layer) reads the melody's pitch-class histogram of the
  segment and of its three neighbours on each side (:func:`segment_histograms`: each note counting its
  beats in a segment up to one) and gives P(chord | those notes) for the 24 chords.  It reads every root's
  rotation of the same notes with the same weights (:func:`rotated_contexts`), so it knows no key and
  favours no root: its log-posterior stands for the log-likelihood up to a constant (posterior / prior with
  a flat prior), times ``emission_weight``.  It replaced a generative emission, each chord quality's counted
  profile of the intervals above its root, which heard a segment alone: on POP909's 98 validation songs
  the triad right went from 34.1% to 42.1% of the half bars and the tones shared from 62.3% to 66.3%
  (``docs/results/chords.md``).  It learnt from melodies alone and with POP909's bridge line, as the jobs
  hear a melody with other parts (with the bridge given: 42.7% to 49.6%, 68.7% to 72.1%).
* **Transitions, a prior and a final distribution** between states, half bar to half bar, counted apart for
  major and minor keys.  Counted together from the key signature (C major and A minor one frame), the final
  distribution could not tell a major song's ending on its tonic from a minor song's on its own: the model
  before this one heard 52 of 98 test songs' last melody half bar as vi.

All of it is learnt from the POP909 training split's melodies, annotated chords and keys
(``benchmarks/chord_fit.py``, :func:`fit_chord_model`, results in ``docs/results/chords.md``); the shipped
parameters are ``symbolic/assets/chord-model/model.json``.  Inference is numpy only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable, Sequence

import numpy as np

from symbolic.errors import ConfigError, DataError

__all__ = ["N_CHORDS", "ChordModel", "ChordFitConfig", "chord_segments", "segment_histograms", "rotated_contexts",
           "chords_of_score",
           "triad_pitch_classes", "load_chord_model", "fit_chord_model", "estimate_chords", "estimate_key_and_chords"]

N_CHORDS = 24  # 12 roots x (major, minor)
_SMOOTHING = 1.0  # add-one counts for every interval, transition, prior and final state


def triad_pitch_classes(state: int, reference: int) -> frozenset[int]:
    """Pitch classes (0 = C) of chord ``state`` (0..23) counted from ``reference``: root, third, fifth.

    Raises:
        DataError: ``state`` outside 0..23, or ``reference`` not an integer (a key of ``None``: no key found).
    """
    if not isinstance(state, (int, np.integer)) or not 0 <= state < N_CHORDS:
        raise DataError(f"chord state {state!r} must be an integer 0..{N_CHORDS - 1} (12 roots x major, minor)")
    if not isinstance(reference, (int, np.integer)):
        raise DataError(f"reference {reference!r} must be a pitch class 0..11 (None: no key was found)")
    root = (int(reference) + int(state) // 2) % 12
    return frozenset((root, (root + (3 if state % 2 else 4)) % 12, (root + 7) % 12))


def chord_segments(bar_starts: Sequence[int], end: int, units_per_beat: int) -> list[tuple[int, int, int]]:
    """``(start, end, bar index)`` of each harmony segment: a bar of an even number of beats (4 or more)
    is cut into two halves, any other bar is one segment.  Times in any unit with ``units_per_beat``
    to a quarter note (ticks, steps); ``end`` is where the last bar ends.  No bars give ``[]``.

    Raises:
        ConfigError: ``units_per_beat`` below 1.
        DataError: bar starts that do not increase, or an ``end`` before the last bar start.
    """
    if units_per_beat < 1:
        raise ConfigError(f"units_per_beat={units_per_beat} must be >= 1 (ticks or steps to a quarter note)")
    if any(b <= a for a, b in zip(bar_starts, bar_starts[1:])):
        raise DataError(f"bar starts {list(bar_starts)[:8]}... must increase")
    if bar_starts and end < bar_starts[-1]:
        raise DataError(f"end={end} comes before the last bar start {bar_starts[-1]}")
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
    across a segment line counts in both, cut).

    Raises:
        DataError: a note that is not ``(start, end, pitch)`` with ``end >= start`` and pitch 0..127.
    """
    histograms = np.zeros((len(segments), 12))
    if not segments:
        return histograms
    starts = np.array([s for s, _, _ in segments])
    for note in notes:
        if len(note) != 3 or not 0 <= note[2] <= 127 or note[1] < note[0]:
            raise DataError(f"note {tuple(note)!r} must be (start, end, pitch) with end >= start and pitch 0..127")
        start, end, pitch = note
        k = max(0, int(np.searchsorted(starts, start, side="right")) - 1)
        while k < len(segments) and segments[k][0] < end:
            overlap = min(end, segments[k][1]) - max(start, segments[k][0])
            if overlap > 0:
                histograms[k, pitch % 12] += min(overlap / units_per_beat, max_note_beats)
            k += 1
    return histograms


@dataclass(frozen=True)
class ChordModel:
    """A hybrid hidden Markov model of the chords under a melody (see the module docstring).

    Attributes:
        hidden_weights: float ``(inputs, hidden)`` nested tuples, ``inputs = 12 * (1 + 2 * context_segments)``:
            the classifier's hidden layer (ReLU); ``()`` for a classifier with no hidden layer.
        hidden_biases: float ``(hidden,)``; ``()`` with no hidden layer.
        output_weights: float ``(hidden, 2)`` (or ``(inputs, 2)`` with no hidden layer): a major (column 0) and
            a minor (column 1) chord's score on the root.
        output_biases: float ``(2,)``.
        transition_log_probs: float ``(modes, 24, 24)``: log P(next state | state), half bar to half bar, in a
            major (``[0]``) and a minor key (``[1]``), states counted from the tonic; with one mode (``modes``
            1) for both, counted from the key signature's reference (the major key's tonic).
        prior_log_probs: float ``(modes, 24)``: log P(state) of the first segment (counted over every
            labelled segment).
        final_log_probs: float ``(modes, 24)``: log P(state) of the last segment.
        context_segments: segments read on each side of the one classified (>= 0).
        emission_weight: the classifier's log-probabilities are multiplied by this (> 0; larger trusts the
            notes more against the transitions).
    """

    hidden_weights: tuple[tuple[float, ...], ...]
    hidden_biases: tuple[float, ...]
    output_weights: tuple[tuple[float, ...], ...]
    output_biases: tuple[float, ...]
    transition_log_probs: tuple[tuple[tuple[float, ...], ...], ...]
    prior_log_probs: tuple[tuple[float, ...], ...]
    final_log_probs: tuple[tuple[float, ...], ...]
    context_segments: int = 3
    emission_weight: float = 2.0

    def __post_init__(self) -> None:
        if not (isinstance(self.context_segments, int) and self.context_segments >= 0):
            raise ConfigError(f"context_segments={self.context_segments!r} must be an integer >= 0")
        inputs = 12 * (1 + 2 * self.context_segments)
        hidden = np.shape(self.hidden_biases)[0] if len(self.hidden_biases) else 0
        modes = len(self.prior_log_probs)
        if modes not in (1, 2):
            raise ConfigError(f"a chord model's tables are for 1 mode (major and minor keys together) or 2 (major, "
                              f"minor), not {modes}")
        expected = ((inputs, hidden) if hidden else (0,), (hidden,) if hidden else (0,),
                    (hidden or inputs, 2), (2,), (modes, N_CHORDS, N_CHORDS), (modes, N_CHORDS), (modes, N_CHORDS))
        shapes = tuple(np.shape(table) for table in (
            self.hidden_weights, self.hidden_biases, self.output_weights, self.output_biases,
            self.transition_log_probs, self.prior_log_probs, self.final_log_probs))
        if shapes != expected:
            raise ConfigError(f"a chord model with {self.context_segments} context segments and {hidden} hidden "
                              f"units has tables of shapes {expected}, not {shapes}")
        if not self.emission_weight > 0:
            raise ConfigError(f"emission_weight={self.emission_weight} must be > 0")

    @cached_property
    def _arrays(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
        hidden = (np.asarray(self.hidden_weights), np.asarray(self.hidden_biases)) if self.hidden_biases \
            else (None, None)
        return (*hidden, np.asarray(self.output_weights), np.asarray(self.output_biases))

    def chord_log_probs(self, histograms: np.ndarray) -> np.ndarray:
        """Float ``(n, 24)``: the classifier's log P(chord | the segment's and its neighbours' notes) for each
        segment of float ``(n, 12)`` ``histograms``, chord ``2 * root + minor`` with the root counted from C.
        It reads each root's rotation of the same notes with the same weights, so it knows no key and no root
        is likelier than another before the notes."""
        hidden_weights, hidden_biases, output_weights, output_biases = self._arrays
        scores = _forward(rotated_contexts(histograms, self.context_segments), hidden_weights, hidden_biases,
                          output_weights, output_biases)[0]
        return _log_softmax(scores)

    def to_json(self) -> str:
        return json.dumps({"format": _FORMAT, **{name: getattr(self, name) for name in _FIELDS}})

    @classmethod
    def from_json(cls, text: str) -> "ChordModel":
        """Raises :class:`DataError` on a file that is not a chord model (of this format)."""
        try:
            data = json.loads(text)
            if data.get("format") != _FORMAT:
                raise ValueError(f"format {data.get('format')!r}, not {_FORMAT!r}")

            def table(value):
                return tuple(table(row) if isinstance(row, list) else row for row in value)
            return cls(*(table(data[name]) for name in _FIELDS[:7]), int(data["context_segments"]),
                       float(data["emission_weight"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DataError(f"not a chord model file ({error}); write one with ChordModel.to_json") from None


_FORMAT = "symbolic.chord-model/2"
_FIELDS = ("hidden_weights", "hidden_biases", "output_weights", "output_biases", "transition_log_probs",
           "prior_log_probs", "final_log_probs", "context_segments", "emission_weight")


def rotated_contexts(histograms: np.ndarray, context_segments: int) -> np.ndarray:
    """Float ``(n, 12, 12 * (1 + 2 * context_segments))``: for each segment and each root (0 = C), the
    segment's histogram and its neighbours' (nearest first: previous, next, the one before, ...; zeros past
    the ends), each rotated so that index ``i`` is ``i`` semitones above the root."""
    histograms = np.asarray(histograms, dtype=np.float64).reshape(-1, 12)
    n = len(histograms)
    channels = [histograms]
    for distance in range(1, context_segments + 1):
        previous, following = np.zeros_like(histograms), np.zeros_like(histograms)
        if distance < n:
            previous[distance:], following[:n - distance] = histograms[:n - distance], histograms[distance:]
        channels += [previous, following]
    return _rotations(np.stack(channels, axis=1))


def _rotations(stacked: np.ndarray) -> np.ndarray:
    """Float ``(n, channels, 12)`` pitch-class rows -> ``(n, 12 roots, channels * 12)`` intervals above each root."""
    index = (np.arange(12)[:, None] + np.arange(12)[None, :]) % 12  # [root, interval] -> pitch class
    n, channels, _ = stacked.shape
    return stacked[:, :, index].transpose(0, 2, 1, 3).reshape(n, 12, channels * 12)


def _forward(inputs, hidden_weights, hidden_biases, output_weights, output_biases):
    """Scores ``(n, 24)`` of rotated inputs ``(n, 12, inputs)`` and the hidden layer's pre-activations."""
    pre = None
    if hidden_weights is not None:
        pre = inputs @ hidden_weights + hidden_biases
        inputs = np.maximum(pre, 0.0)
    return (inputs @ output_weights + output_biases).reshape(len(inputs), N_CHORDS), pre


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@lru_cache(maxsize=1)
def load_chord_model() -> ChordModel:
    """The shipped chord model (``symbolic/assets/chord-model/model.json``), read once."""
    from symbolic.resources import asset_path

    return ChordModel.from_json((asset_path("chord-model") / "model.json").read_text())


@dataclass(frozen=True)
class ChordFitConfig:
    """How :func:`fit_chord_model` trains the classifier (Adam on the mean cross-entropy of the labelled segments'
    chords, Kingma and Ba 2015, with L2 ``weight_decay`` added to the gradient as torch's Adam does).

    Attributes:
        context_segments: neighbouring segments read on each side (>= 0).
        hidden_units: the classifier's hidden layer (0: none, a log-linear model).
        epochs: passes over the training segments (>= 1).
        batch_size: segments a step (>= 1).
        learning_rate: Adam's step size (> 0).
        weight_decay: L2 coefficient (>= 0).
        emission_weight: the model's (> 0).
        seed: the initial weights' and the batches' random seed.
        modes: 2 counts the transitions, prior and final distribution of major and minor keys apart, from the
            tonic; 1 counts them together from the key signature's reference (C for C major and A minor).
    """

    context_segments: int = 3
    hidden_units: int = 32
    epochs: int = 20
    batch_size: int = 512
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3
    emission_weight: float = 4.0
    seed: int = 0
    modes: int = 2

    def __post_init__(self) -> None:
        if self.modes not in (1, 2):
            raise ConfigError(f"modes={self.modes!r} must be 1 (major and minor keys counted together) or 2")
        for name, low in (("context_segments", 0), ("hidden_units", 0), ("epochs", 1), ("batch_size", 1)):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= low):
                raise ConfigError(f"{name}={value!r} must be an integer >= {low}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate={self.learning_rate} must be > 0")
        if not self.weight_decay >= 0:
            raise ConfigError(f"weight_decay={self.weight_decay} must be >= 0")
        if not self.emission_weight > 0:
            raise ConfigError(f"emission_weight={self.emission_weight} must be > 0")


def fit_chord_model(songs: Iterable[tuple[np.ndarray, Sequence[tuple[int, bool] | None],
                                         Sequence[tuple[int, bool] | None]]],
                    config: ChordFitConfig | None = None, progress: bool = False) -> ChordModel:
    """Train a :class:`ChordModel` on songs given as ``(histograms (n, 12), keys (n,), chords (n,))``: each
    segment's note histogram, its annotated key as ``(tonic pitch class, minor)`` and its annotated chord as
    ``(root pitch class, minor)`` (``None``: no chord or no key there; such a segment breaks the transition
    count and is not trained on).
    The transitions, prior (every labelled segment) and final distribution (each song's last labelled segment)
    are counts with add-one smoothing, in the key's frame (``config.modes``); the classifier learns the labelled
    segments with notes.  No such segments give uniform tables and an untrained classifier.  ``progress`` shows
    a bar per epoch.
    """
    config = config or ChordFitConfig()
    transitions = np.full((config.modes, N_CHORDS, N_CHORDS), _SMOOTHING)
    prior = np.full((config.modes, N_CHORDS), _SMOOTHING)
    final = np.full((config.modes, N_CHORDS), _SMOOTHING)
    inputs, targets = [], []
    for histograms, keys, chords in songs:
        histograms = np.asarray(histograms, dtype=np.float64).reshape(-1, 12)
        contexts = None
        previous = last = None
        for k, (histogram, key, chord) in enumerate(zip(histograms, keys, chords)):
            if chord is None or key is None:
                previous = None
                continue
            root, minor = chord
            if histogram.any():
                if contexts is None:  # rotated to root C only: the training rotates them to every root
                    contexts = rotated_contexts(histograms, config.context_segments)[:, 0]
                inputs.append(contexts[k])
                targets.append(2 * (root % 12) + int(minor))
            reference, mode = _frame(key, config.modes)
            state = ((root - reference) % 12) * 2 + int(minor)
            prior[mode, state] += 1
            if previous is not None and previous[0] == mode:
                transitions[mode, previous[1], state] += 1
            previous = last = mode, state
        if last is not None:
            final[last] += 1
    n_inputs = 12 * (1 + 2 * config.context_segments)
    weights = _train_classifier(np.array(inputs).reshape(-1, n_inputs), np.array(targets, dtype=np.int64),
                                config, progress)
    return ChordModel(*(_tuples(w) for w in weights), _tuples(np.log(transitions / transitions.sum(-1, keepdims=True))),
                      _tuples(np.log(prior / prior.sum(-1, keepdims=True))),
                      _tuples(np.log(final / final.sum(-1, keepdims=True))), config.context_segments,
                      config.emission_weight)


def _frame(key: tuple[int, bool], modes: int) -> tuple[int, int]:
    """The pitch class a key's states count from and its tables' index: the tonic and the mode, or with one
    mode the key signature's major tonic and 0."""
    tonic, minor = key
    return ((tonic % 12, int(minor)) if modes == 2 else ((tonic + 3 * int(minor)) % 12, 0))


def _tuples(array: np.ndarray) -> tuple:
    """Nested tuples of an array's floats (a frozen model's tables)."""
    return tuple(_tuples(row) for row in array) if np.ndim(array) > 1 else tuple(float(x) for x in array)


def _train_classifier(inputs: np.ndarray, targets: np.ndarray, config: ChordFitConfig,
                      progress: bool) -> list[np.ndarray]:
    """``[hidden_weights, hidden_biases, output_weights, output_biases]`` trained on ``inputs`` (float
    ``(m, n_inputs)``, each rotated to root C) and ``targets`` (``(m,)`` chords ``2 * root + minor``); every
    step rotates its batch to the 12 roots.  With no hidden layer the first two are empty."""
    from tqdm import tqdm

    rng = np.random.default_rng(config.seed)
    n_inputs, hidden = inputs.shape[1], config.hidden_units

    def uniform(fan_in, shape):  # torch.nn.Linear's initialisation
        return rng.uniform(-1, 1, shape) / np.sqrt(fan_in)
    params = [uniform(n_inputs, (n_inputs, hidden)), uniform(n_inputs, hidden),
              uniform(hidden, (hidden, 2)), uniform(hidden, 2)] if hidden else \
        [np.zeros((0,)), np.zeros((0,)), uniform(n_inputs, (n_inputs, 2)), uniform(n_inputs, 2)]
    if not len(inputs):
        return params
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8
    step = 0
    for _ in tqdm(range(config.epochs), desc="chord classifier", unit="epoch", disable=not progress):
        for batch in np.array_split(rng.permutation(len(inputs)), max(1, -(-len(inputs) // config.batch_size))):
            x = _rotations(inputs[batch].reshape(len(batch), -1, 12))
            scores, pre = _forward(x, params[0] if hidden else None, params[1] if hidden else None, params[2],
                                   params[3])
            grad_scores = np.exp(_log_softmax(scores))
            grad_scores[np.arange(len(batch)), targets[batch]] -= 1.0
            grad_scores = (grad_scores / len(batch)).reshape(len(batch), 12, 2)
            if hidden:
                active = np.maximum(pre, 0.0)
                grad_pre = (grad_scores @ params[2].T) * (pre > 0)
                grads = [x.reshape(-1, n_inputs).T @ grad_pre.reshape(-1, hidden), grad_pre.sum(axis=(0, 1)),
                         active.reshape(-1, hidden).T @ grad_scores.reshape(-1, 2), grad_scores.sum(axis=(0, 1))]
            else:
                grads = [params[0], params[1], x.reshape(-1, n_inputs).T @ grad_scores.reshape(-1, 2),
                         grad_scores.sum(axis=(0, 1))]
            step += 1
            for k, (param, grad) in enumerate(zip(params, grads)):
                if not param.size:
                    continue
                grad = grad + config.weight_decay * param
                first, second = moments[k]
                first *= beta1
                first += (1 - beta1) * grad
                second *= beta2
                second += (1 - beta2) * grad * grad
                param -= config.learning_rate * (first / (1 - beta1 ** step)) / (
                    np.sqrt(second / (1 - beta2 ** step)) + epsilon)
    return params


def chords_of_score(score, tracks: Sequence[int] | None = None, model: ChordModel | None = None) -> list:
    """The chords the notes of ``tracks`` (default: every pitched track) imply, as chord spans
    (:class:`~symbolic.score.ChordSpan`, Harte labels ``"C:maj"``/``"A:min"``) in the score's ticks: one major
    or minor triad a half bar (:func:`chord_segments` on the score's bar lines), by ``model`` (default: the
    shipped one); a half bar where none of the notes sounds has no span.  ``[]`` when they hold no notes.

    Heard from a whole arrangement this is far surer than from a melody: on 40 POP909 test songs, from
    MELODY, BRIDGE and PIANO together, the triad right in 77.5% of the annotated half bars and 88.9% of its
    tones shared (the melody alone: 39.2%, 65.0%; ``benchmarks/chord_fit.py``'s measures).
    """
    from symbolic.analysis.beats import bar_lines_ticks
    from symbolic.score import HARTE_ROOT_NAMES, ChordSpan

    tpb = score.ticks_per_beat
    chosen = range(len(score.tracks)) if tracks is None else tracks
    notes = [(n.onset_ticks, n.onset_ticks + n.duration_ticks, n.pitch)
             for i in chosen if not score.tracks[i].is_drum for n in score.tracks[i].notes]
    if not notes:
        return []
    segments = chord_segments(bar_lines_ticks(score), score.end_ticks, tpb)
    histograms = segment_histograms(notes, segments, tpb)
    reference, states = estimate_chords(model or load_chord_model(), histograms)
    if reference is None:
        return []
    return [ChordSpan(start, end, f"{HARTE_ROOT_NAMES[(reference + state // 2) % 12]}:{'min' if state % 2 else 'maj'}")
            for (start, end, _), state, histogram in zip(segments, states, histograms) if histogram.any()]


def estimate_chords(model: ChordModel, histograms: np.ndarray) -> tuple[int | None, list[int]]:
    """The key's reference pitch class and the most likely chord state of each segment (Viterbi).

    Args:
        histograms: float ``(n, 12)``, beats each pitch class sounds in each segment
            (:func:`segment_histograms`).

    Returns:
        ``(reference, states)``: the pitch class the states count from (the chosen key's tonic; with a one-mode
        model the key signature's major tonic) and the ``n`` states (0..23, read with
        :func:`triad_pitch_classes` from the reference), as :func:`estimate_key_and_chords` finds them.
        ``(None, [])`` for no segments or no notes.

    Raises:
        DataError: histograms not of shape ``(n, 12)``, or holding negative or non-finite values.
    """
    reference, _, states = estimate_key_and_chords(model, histograms)
    return reference, states


def estimate_key_and_chords(model: ChordModel, histograms: np.ndarray) -> tuple[int | None, bool | None, list[int]]:
    """The key and the most likely chord of each segment: of the 24 keys (12 with a one-mode model, one a key
    signature) the one whose best chord path (Viterbi, in that key's tables) scores highest, and that path.

    Args:
        histograms: float ``(n, 12)``, beats each pitch class sounds in each segment
            (:func:`segment_histograms`).

    Returns:
        ``(reference, minor, states)``: the pitch class the states count from (the key's tonic; with a one-mode
        model the key signature's major tonic), whether the key is minor (``None`` with a one-mode model) and
        the ``n`` states (0..23, read with :func:`triad_pitch_classes` from the reference).
        ``(None, None, [])`` for no segments or no notes.  A segment with no notes takes the chord the
        transitions make most likely around it.

    Raises:
        DataError: histograms not of shape ``(n, 12)``, or holding negative or non-finite values.
    """
    histograms = np.asarray(histograms, dtype=np.float64)
    if histograms.size == 0:
        return None, None, []
    if histograms.ndim != 2 or histograms.shape[1] != 12:
        raise DataError(f"chord histograms have shape (segments, 12), not {histograms.shape}")
    if not np.isfinite(histograms).all() or (histograms < 0).any():
        raise DataError("chord histograms hold beats of sounding notes: finite and >= 0")
    if not histograms.sum() > 0:
        return None, None, []
    # the emissions depend on a chord's root, not on the key: score the 24 chords once (counted from C) and
    # read each key's states as a permutation of those columns.  A segment with no notes has no emission: the
    # transitions fill it
    absolute = model.emission_weight * model.chord_log_probs(histograms)
    absolute[~histograms.any(axis=1)] = 0.0
    modes = len(model.prior_log_probs)
    references = np.tile(np.arange(12), modes)  # key k: reference k % 12, mode k // 12
    states = np.arange(N_CHORDS)
    columns = 2 * ((references[:, None] + states // 2) % 12) + states % 2  # (keys, 24)
    emissions = absolute[:, columns].transpose(1, 0, 2)  # (keys, n, 24)
    mode_of_key = np.repeat(np.arange(modes), 12)
    key, path = _viterbi(emissions, np.asarray(model.transition_log_probs)[mode_of_key],
                         np.asarray(model.prior_log_probs)[mode_of_key], np.asarray(model.final_log_probs)[mode_of_key])
    return int(references[key]), (bool(key // 12) if modes == 2 else None), path


def _viterbi(emissions: np.ndarray, transitions: np.ndarray, prior: np.ndarray,
             final: np.ndarray) -> tuple[int, list[int]]:
    """The key whose best path scores highest (the first of equals) and that path's states, from float
    ``(keys, n, 24)`` emission scores, ``(keys, 24, 24)`` transitions and ``(keys, 24)`` prior and final
    log-probabilities (Rabiner 1989)."""
    keys, n, _ = emissions.shape
    score = emissions[:, 0] + prior
    back = np.zeros((n, keys, N_CHORDS), dtype=np.int64)
    for i in range(1, n):
        candidates = score[:, :, None] + transitions  # (keys, from, to)
        back[i] = np.argmax(candidates, axis=1)
        score = np.take_along_axis(candidates, back[i][:, None, :], axis=1)[:, 0] + emissions[:, i]
    score = score + final
    key = int(np.argmax(score.max(axis=1)))
    path = [int(np.argmax(score[key]))]
    for i in range(n - 1, 0, -1):
        path.append(int(back[i, key, path[-1]]))
    return key, path[::-1]
