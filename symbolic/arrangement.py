"""The user's jobs on a score: accompaniment, style conversion and continuation.

All three build a :class:`~symbolic.models.constrained.Plan` from the input:
the bars (meters, tempi) come from the input, the tracks that are kept are fed
to the model as they are, and the model writes the rest.  The output score keeps
the input's ticks per beat, tempo map, meters and key signatures, and every kept
track's notes exactly as they were (only new tracks and new bars are generated,
then moved onto the input's tick grid).

Torch is imported by the functions that need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from symbolic.errors import ConfigError, ScoreError, StyleError
from symbolic.generation import style_weights
from symbolic.keys import windowed_scales
from symbolic.models.constrained import BarPlan, Plan, generate_planned, part_notes, split_bars
from symbolic.score import Note, Score, TempoChange, Track
from symbolic.textures import texture_of
from symbolic.tokenization.events import EventTokenizer

__all__ = ["JobResult", "choose_melody_track", "check_playable", "bar_scales", "accompany", "convert",
           "continue_score"]


@dataclass(frozen=True)
class JobResult:
    """A job's output score and where things are in it.

    Attributes:
        score: the output, at the input's ticks per beat.
        melody_track: index in ``score.tracks`` of the melody (``None`` for a continuation).
        kept_tracks: indices of tracks whose notes are the input's, unchanged.
        new_tracks: indices of generated tracks.
    """

    score: Score
    melody_track: int | None
    kept_tracks: tuple[int, ...]
    new_tracks: tuple[int, ...]


def check_playable(score: Score, what: str = "the input") -> None:
    """Raise :class:`ScoreError` with advice when ``score`` has no pitched notes."""
    if score.is_empty():
        raise ScoreError(f"{what} has no notes; give a MIDI file with a melody")
    if all(t.is_drum or not t.notes for t in score.tracks):
        raise ScoreError(f"{what} has only drum notes (channel 10), so there is no melody to work from; "
                         "give a file with a pitched track")


def _check_mix(mix: dict[str, float], styles: tuple[str, ...], what: str) -> None:
    """Raise :class:`StyleError` when a style mix names a style the model does not know or has no weight."""
    unknown = [name for name in mix if name not in styles]
    if unknown:
        raise StyleError(f"{what} names unknown style {unknown[0]!r}; this model knows: "
                         f"{', '.join(s for s in styles if s != 'none')}")
    if not mix or not sum(mix.values()) > 0:
        raise StyleError(f"{what} is empty or has no positive weight; give e.g. {{'chorale': 1.0}}")


def _mean_pitch(track: Track) -> float:
    total = sum(max(n.duration_ticks, 1) for n in track.notes)
    return sum(n.pitch * max(n.duration_ticks, 1) for n in track.notes) / total


def _overlap_ratio(track: Track) -> float:
    """Share of notes that start while another note of the track sounds (chords count)."""
    reach, overlapping = -1, 0
    for note in sorted(track.notes):
        overlapping += note.onset_ticks < reach
        reach = max(reach, note.onset_ticks + note.duration_ticks)
    return overlapping / len(track.notes)


def choose_melody_track(score: Score) -> int:
    """Index of the melody track: the highest mostly single-line pitched track with a fair share of notes.

    Among pitched tracks holding at least a quarter as many notes as the fullest,
    a track where at most 30% of notes start over another is preferred, then the
    highest duration-weighted mean pitch.
    """
    check_playable(score)
    pitched = [(i, t) for i, t in enumerate(score.tracks) if not t.is_drum and t.notes]
    most = max(len(t.notes) for _, t in pitched)
    return max(pitched, key=lambda item: (4 * len(item[1].notes) >= most, _overlap_ratio(item[1]) <= 0.3,
                                          _mean_pitch(item[1])))[0]


def _pitched_high_to_low(score: Score, exclude: int) -> list[int]:
    rows = [i for i, t in enumerate(score.tracks) if i != exclude and not t.is_drum and t.notes]
    return sorted(rows, key=lambda i: -_mean_pitch(score.tracks[i]))


def _rescale(notes, from_tpb: int, to_tpb: int) -> list[Note]:
    if from_tpb == to_tpb:
        return list(notes)
    return [Note(round(n.onset_ticks * to_tpb / from_tpb), max(1, round(n.duration_ticks * to_tpb / from_tpb)),
                 n.pitch, n.velocity) for n in notes]


def _lead(weights: dict[str, float]) -> str:
    return max(weights, key=weights.get)


def bar_scales(vocab, bars, slots: set[int] | None = None) -> tuple[frozenset[int] | None, ...]:
    """The key's pitch classes around each bar (:func:`symbolic.keys.windowed_scales`), told from
    the duration-weighted notes of the parts in ``bars`` (``split_bars`` output), or of ``slots`` only."""
    histograms = []
    for _, parts in bars:
        histogram = np.zeros(12)
        for slot, ids in parts.items():
            if slots is not None and slot not in slots:
                continue
            for start, end, pitch in part_notes(vocab, ids):
                histogram[pitch % 12] += end - start
        histograms.append(histogram)
    return tuple(windowed_scales(histograms))


def _write_parts(model, tokenizer: EventTokenizer, score: Score, given: list[int], programs: list[int],
                 weights: dict[str, float], config, progress: bool) -> list[list[Note]]:
    """Notes of new parts on ``programs`` under the ``given`` tracks (melody first), at ``score.ticks_per_beat``.

    The model sees slot 0 = the melody, slots 1..n_new = the new parts, then the
    other given tracks; programs are those the lead style's corpus declares.  New
    parts keep under the parts above them and over the given parts below them, and
    inside their voice's or instrument's range; where the style has a part rhythm
    (chorale, renaissance), their notes keep to it; where its parts are single lines
    (chorale, renaissance, classical), theirs are too, and chorale voices do not rest;
    and notes outside the key of the given parts around each bar lose the style's
    ``off_scale_penalty``.
    """
    n_new = len(programs)
    lead = _lead(weights)
    texture = texture_of(lead)
    sources = [given[0]] + [None] * n_new + given[1:]
    view = Score(ticks_per_beat=score.ticks_per_beat, tempos=list(score.tempos),
                 time_signatures=list(score.time_signatures),
                 tracks=[Track(program=texture.corpus_program(slot),
                               notes=list(score.tracks[i].notes) if i is not None else [])
                         for slot, i in enumerate(sources)])
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(view, style=lead))
    free = range(1, 1 + n_new)
    plan = Plan(tuple(header), tuple(
        BarPlan(tuple(opening), tuple(sorted([(s, tuple(ids)) for s, ids in parts.items()] + [(s, None) for s in free],
                                             key=lambda item: item[0])))
        for opening, parts in bars), keep_register=True,
        part_ranges=tuple((slot, *limits) for k, (slot, p) in enumerate(zip(free, programs))
                          if (limits := texture.part_range(k, p))),
        part_rhythm=texture.part_rhythm_steps(tokenizer.vocab.config.steps_per_beat),
        part_lines=texture.part_lines, part_chords=texture.part_chords, part_legato=texture.part_legato,
        bar_scales=bar_scales(tokenizer.vocab, bars), off_scale_penalty=texture.off_scale_penalty)
    ids = generate_planned(model, tokenizer, plan, config, style_weights=style_weights(tokenizer.vocab.styles, weights),
                           progress=progress)
    decoded = tokenizer.decode(ids)
    return [_rescale(decoded.tracks[slot].notes, decoded.ticks_per_beat, score.ticks_per_beat) for slot in free]


def _copy_track(track: Track, program: int | None = None) -> Track:
    return Track(program=track.program if program is None else program, is_drum=track.is_drum, name=track.name,
                 notes=list(track.notes))


def _frame(score: Score, tracks: list[Track]) -> Score:
    return Score(ticks_per_beat=score.ticks_per_beat, tracks=tracks, tempos=list(score.tempos),
                 time_signatures=list(score.time_signatures), key_signatures=list(score.key_signatures))


def accompany(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float], config,
              programs: list[int] | None = None, melody_track: int | None = None,
              progress: bool = False) -> JobResult:
    """New accompanying tracks under every track of ``score``, which stay as they are.

    Args:
        model, tokenizer: a trained decoder and its tokenizer.
        score: the melody (or melody and other tracks).
        weights: style mix over ``tokenizer.vocab.styles`` (see :func:`symbolic.generation.resolve_style`).
        config: a :class:`~symbolic.models.sampling.GenerationConfig`.
        programs: GM programs of the new parts, highest part first (default: the lead style's parts).
        melody_track: index of the melody (default: :func:`choose_melody_track`).
        progress: show a tqdm bar over the bars.

    Returns:
        The input tracks, unchanged and in order, then the new tracks.
    """
    check_playable(score)
    _check_mix(weights, tokenizer.vocab.styles, "the style")
    melody = _check_track(score, melody_track) if melody_track is not None else choose_melody_track(score)
    if programs is None:
        texture = texture_of(_lead(weights))
        programs = list(texture.part_programs)
    if not programs:
        raise ConfigError("ask for at least one accompanying part (--voices 1 or more)")
    given = [melody] + _pitched_high_to_low(score, melody)
    parts = _write_parts(model, tokenizer, score, given, list(programs), weights, config, progress)
    tracks = [_copy_track(t) for t in score.tracks]
    tracks += [Track(program=p, name=f"accompaniment {k + 1}", notes=notes)
               for k, (p, notes) in enumerate(zip(programs, parts))]
    n = len(score.tracks)
    return JobResult(_frame(score, tracks), melody, tuple(range(n)), tuple(range(n, len(tracks))))


def convert(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float], config,
            strength: float = 1.0, melody_track: int | None = None, parts: int | None = None,
            progress: bool = False) -> JobResult:
    """Rewrite ``score`` in another style, keeping its melody note for note and its bars.

    ``strength`` in [0, 1] is the share of the other tracks that is rewritten,
    rounded up: drum tracks go first, then the pitched parts from the highest
    down, so the bass (and the harmony it carries) is the last to go.  The new
    parts come from the model in the target style, as many as the style's texture
    has (``parts`` overrides), less the kept ones.  With ``strength > 0`` every
    pitched track takes the target style's instruments.  ``strength = 0`` returns
    the input unchanged.

    Returns:
        The melody first, then the new parts, then the kept parts.
    """
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength={strength} must be between 0 (keep everything) and 1 (rewrite all but "
                          "the melody)")
    if parts is not None and parts < 0:
        raise ConfigError(f"parts={parts} must be >= 0")
    check_playable(score)
    _check_mix(weights, tokenizer.vocab.styles, "the target style")
    melody = _check_track(score, melody_track) if melody_track is not None else choose_melody_track(score)
    if strength == 0.0:
        tracks = [_copy_track(t) for t in score.tracks]
        return JobResult(_frame(score, tracks), melody, tuple(range(len(tracks))), ())
    texture = texture_of(_lead(weights))
    drums = [i for i, t in enumerate(score.tracks) if t.is_drum and t.notes]
    order = drums + _pitched_high_to_low(score, melody)
    kept = order[math.ceil(strength * len(order) - 1e-9):]
    kept_pitched = [i for i in kept if not score.tracks[i].is_drum]
    n_new = max((texture.convert_parts if parts is None else parts) - len(kept_pitched), 0)
    new_programs = [texture.part_program(k) for k in range(n_new)]
    new_notes = _write_parts(model, tokenizer, score, [melody] + kept_pitched, new_programs, weights, config,
                             progress) if n_new else []
    tracks = [_copy_track(score.tracks[melody], texture.lead_program)]
    tracks += [Track(program=texture.part_program(k), name=f"new part {k + 1}", notes=notes)
               for k, notes in enumerate(new_notes)]
    tracks += [_copy_track(score.tracks[i], texture.part_program(n_new + k)) for k, i in enumerate(kept_pitched)]
    tracks += [_copy_track(score.tracks[i]) for i in kept if score.tracks[i].is_drum]
    kept_rows = (0,) + tuple(range(1 + n_new, len(tracks)))
    return JobResult(_frame(score, tracks), 0, kept_rows, tuple(range(1, 1 + n_new)))


def continue_score(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float], config,
                   n_bars: int, progress: bool = False) -> JobResult:
    """``score`` followed by ``n_bars`` new bars for its tracks; the input's notes stay as they are.

    The new bars start after the bar in which the input's last note stops.  The
    model hears the whole input (by windows when it is longer than the context)
    and decides in every new bar which tracks play.
    """
    if n_bars < 1:
        raise ConfigError(f"bars={n_bars} must be at least 1")
    _check_mix(weights, tokenizer.vocab.styles, "the style")
    check_playable(score)
    lead = _lead(weights)
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style=lead))
    given_bars = [BarPlan(tuple(opening), tuple(sorted((s, tuple(ids)) for s, ids in parts.items())))
                  for opening, parts in bars]
    starts = tokenizer.bar_starts_steps(score, cover_sounding=True)
    rest_bars = [BarPlan((tokenizer.vocab.bar_id,), ())] * (len(starts) - 1 - len(given_bars))  # last notes ring on
    slots = tuple((s, None) for s in range(len(score.tracks)))
    new_bars = [BarPlan((tokenizer.vocab.bar_id,), slots)] * n_bars
    plan = Plan(tuple(header), tuple(given_bars + rest_bars + new_bars), optional_free=True)
    ids = generate_planned(model, tokenizer, plan, config, style_weights=style_weights(tokenizer.vocab.styles, weights),
                           progress=progress)
    decoded = tokenizer.decode(ids)
    start_ticks = starts[-1] * decoded.ticks_per_beat // tokenizer.config.steps_per_beat
    tracks = [_copy_track(t) for t in score.tracks]
    for slot, track in enumerate(decoded.tracks[:len(tracks)]):
        new = [n for n in track.notes if n.onset_ticks >= start_ticks]
        tracks[slot].notes += _rescale(new, decoded.ticks_per_beat, score.ticks_per_beat)
    out = _frame(score, tracks)
    scale = score.ticks_per_beat / decoded.ticks_per_beat
    out.tempos += [TempoChange(round(t.time_ticks * scale), t.microseconds_per_beat)
                   for t in decoded.tempos if t.time_ticks >= start_ticks]
    return JobResult(out.sort(), None, (), ())


def _check_track(score: Score, index: int) -> int:
    if not 0 <= index < len(score.tracks):
        raise ConfigError(f"--melody-track {index} does not exist; the file has tracks 0..{len(score.tracks) - 1}")
    track = score.tracks[index]
    if track.is_drum or not track.notes:
        raise ConfigError(f"track {index} is {'a drum track' if track.is_drum else 'empty'}; "
                          "name a pitched track with notes as the melody")
    return index
