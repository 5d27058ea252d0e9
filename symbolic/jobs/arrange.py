"""The user's jobs on a score: accompaniment, style conversion and continuation.

All three build a :class:`~symbolic.jobs.plan.Plan` from the input:
the bars (meters, tempi) come from the input, the tracks that are kept are fed
to the model as they are, and the model writes the rest.  The output score keeps
the input's ticks per beat, tempo map, meters and key signatures, and every kept
track's notes exactly as they were (only new tracks and new bars are generated,
then moved onto the input's tick grid).  How they sample is a
:class:`~symbolic.jobs.config.JobConfig`; what the new parts keep to comes from
the lead style's texture, as :mod:`symbolic.jobs.rules` objects.

Torch is imported by the functions that need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from symbolic.analysis.keys import bar_scales
from symbolic.errors import ConfigError, ScoreError
from symbolic.jobs.config import CONTINUE_BARS, JobConfig
from symbolic.score import Note, Score, TempoChange, Track
from symbolic.styles.mix import check_mix, lead_style
from symbolic.styles.registry import texture_of
from symbolic.styles.texture import program_range
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.stream import split_bars

__all__ = ["JobResult", "choose_melody_track", "check_playable", "style_programs", "accompany", "convert",
           "continue_score"]

MAX_PARTS = 8  # most new parts a job writes


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


def _write_parts(model, tokenizer: EventTokenizer, score: Score, given: list[int], programs: list[int],
                 weights: dict[str, float], config: JobConfig, progress: bool) -> list[list[Note]]:
    """Notes of new parts on ``programs`` under the ``given`` tracks (melody first), at ``score.ticks_per_beat``.

    The model sees slot 0 = the melody, slots 1..n_new = the new parts, then the
    other given tracks; programs are those the lead style's corpus declares.  New
    parts keep under the parts above them and over the given parts below them, and
    inside their voice's or instrument's range (:class:`~symbolic.jobs.rules.PitchRange`);
    with ``config.style_rules``, the lead style's part rhythm, single lines, legato
    and key penalty apply too (:func:`~symbolic.jobs.rules.part_rules`).
    """
    from symbolic.jobs.plan import BarPlan, Plan, generate_planned
    from symbolic.jobs.rules import part_rules
    from symbolic.sampling.session import style_weights

    n_new = len(programs)
    lead = lead_style(weights)
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
        for opening, parts in bars))
    ranges = {slot: limits for k, (slot, p) in enumerate(zip(free, programs))
              if (limits := (texture.part_range(k, p) if config.style_rules else program_range(p)))}
    rules = part_rules(tokenizer.vocab, texture, ranges, bar_scales(tokenizer.vocab, bars),
                       style_rules=config.style_rules, off_scale_penalty=config.off_scale_penalty)
    ids = generate_planned(model, tokenizer, plan, config.generation(), rules,
                           style_weights=style_weights(tokenizer.vocab.styles, weights),
                           max_part_tokens=config.max_part_tokens, progress=progress)
    decoded = tokenizer.decode(ids)
    return [_rescale(decoded.tracks[slot].notes, decoded.ticks_per_beat, score.ticks_per_beat) for slot in free]


def style_programs(weights: dict[str, float], n_parts: int) -> list[int]:
    """GM programs of ``n_parts`` accompanying parts with the lead style's instruments, highest first.

    Raises:
        ConfigError: ``n_parts`` outside 1..8.
    """
    if not 1 <= n_parts <= MAX_PARTS:
        raise ConfigError(f"{n_parts} parts asked for; ask for 1 to {MAX_PARTS}")
    texture = texture_of(lead_style(weights))
    return [texture.part_program(k) for k in range(n_parts)]


def _copy_track(track: Track, program: int | None = None) -> Track:
    return Track(program=track.program if program is None else program, is_drum=track.is_drum, name=track.name,
                 notes=list(track.notes))


def _frame(score: Score, tracks: list[Track]) -> Score:
    return Score(ticks_per_beat=score.ticks_per_beat, tracks=tracks, tempos=list(score.tempos),
                 time_signatures=list(score.time_signatures), key_signatures=list(score.key_signatures))


def accompany(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
              config: JobConfig = JobConfig(), programs: list[int] | None = None, melody_track: int | None = None,
              progress: bool = False) -> JobResult:
    """New accompanying tracks under every track of ``score``, which stay as they are.

    Args:
        model, tokenizer: a trained decoder and its tokenizer.
        score: the melody (or melody and other tracks).
        weights: style mix over ``tokenizer.vocab.styles`` (see :func:`symbolic.styles.mix.resolve_style`).
        config: how to sample (:class:`~symbolic.jobs.config.JobConfig`).
        programs: GM programs of the new parts, highest part first (default: the lead style's parts).
        melody_track: index of the melody (default: :func:`choose_melody_track`).
        progress: show a tqdm bar over the bars.

    Returns:
        The input tracks, unchanged and in order, then the new tracks.
    """
    check_playable(score)
    check_mix(weights, tokenizer.vocab.styles, "the style")
    melody = _check_track(score, melody_track) if melody_track is not None else choose_melody_track(score)
    if programs is None:
        texture = texture_of(lead_style(weights))
        programs = list(texture.part_programs)
    if not programs:
        raise ConfigError("ask for at least one accompanying part (programs is empty)")
    given = [melody] + _pitched_high_to_low(score, melody)
    parts = _write_parts(model, tokenizer, score, given, list(programs), weights, config, progress)
    tracks = [_copy_track(t) for t in score.tracks]
    tracks += [Track(program=p, name=f"accompaniment {k + 1}", notes=notes)
               for k, (p, notes) in enumerate(zip(programs, parts))]
    n = len(score.tracks)
    return JobResult(_frame(score, tracks), melody, tuple(range(n)), tuple(range(n, len(tracks))))


def convert(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
            config: JobConfig = JobConfig(), strength: float = 1.0, melody_track: int | None = None,
            parts: int | None = None,
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
    check_mix(weights, tokenizer.vocab.styles, "the target style")
    melody = _check_track(score, melody_track) if melody_track is not None else choose_melody_track(score)
    if strength == 0.0:
        tracks = [_copy_track(t) for t in score.tracks]
        return JobResult(_frame(score, tracks), melody, tuple(range(len(tracks))), ())
    texture = texture_of(lead_style(weights))
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


def continue_score(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
                   config: JobConfig = JobConfig(), n_bars: int = CONTINUE_BARS, progress: bool = False) -> JobResult:
    """``score`` followed by ``n_bars`` new bars for its tracks; the input's notes stay as they are.

    The new bars start after the bar in which the input's last note stops.  The
    model hears the whole input (by windows when it is longer than the context)
    and decides in every new bar which tracks play.
    """
    from symbolic.jobs.plan import BarPlan, Plan, generate_planned
    from symbolic.sampling.session import style_weights

    if n_bars < 1:
        raise ConfigError(f"n_bars={n_bars} must be at least 1")
    check_mix(weights, tokenizer.vocab.styles, "the style")
    check_playable(score)
    lead = lead_style(weights)
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style=lead))
    given_bars = [BarPlan(tuple(opening), tuple(sorted((s, tuple(ids)) for s, ids in parts.items())))
                  for opening, parts in bars]
    starts = tokenizer.bar_starts_steps(score, cover_sounding=True)
    rest_bars = [BarPlan((tokenizer.vocab.bar_id,), ())] * (len(starts) - 1 - len(given_bars))  # last notes ring on
    slots = tuple((s, None) for s in range(len(score.tracks)))
    new_bars = [BarPlan((tokenizer.vocab.bar_id,), slots)] * n_bars
    plan = Plan(tuple(header), tuple(given_bars + rest_bars + new_bars), optional_free=True)
    ids = generate_planned(model, tokenizer, plan, config.generation(),
                           style_weights=style_weights(tokenizer.vocab.styles, weights),
                           max_part_tokens=config.max_part_tokens, progress=progress)
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
        raise ConfigError(f"melody track {index} does not exist; the score has tracks 0..{len(score.tracks) - 1}")
    track = score.tracks[index]
    if track.is_drum or not track.notes:
        raise ConfigError(f"track {index} is {'a drum track' if track.is_drum else 'empty'}; "
                          "name a pitched track with notes as the melody")
    return index
