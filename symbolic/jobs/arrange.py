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
from typing import Callable

from symbolic.analysis.keys import bar_scales
from symbolic.analysis.roles import analyze_tracks
from symbolic.errors import ConfigError, ScoreError
from symbolic.jobs.config import CONTINUE_BARS, CONTINUE_DEFAULTS, JobConfig
from symbolic.score import Note, Score, TempoChange, Track
from symbolic.styles.mix import check_mix, lead_style
from symbolic.styles.registry import texture_of
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.stream import split_bars
from symbolic.tokenization.vocab import TokenType

__all__ = ["JobResult", "MelodyChoice", "find_melody", "choose_melody_track", "check_playable", "style_programs",
           "accompany", "convert", "continue_score", "KEEPABLE", "parse_keep", "check_keep", "check_accompany_keep"]

MAX_PARTS = 8  # most new parts a job writes
MAX_DOUBLING_SHARE = 0.5  # a new part doubles the kept parts at most this share of its sounding time, over ...
DOUBLING_WINDOW_BEATS = 8  # ... the whole part and over its last this many beats of sounding time
KEEPABLE = ("bass", "drums")  # roles a conversion can keep as they are


@dataclass(frozen=True)
class JobResult:
    """A job's output score and where things are in it.

    Attributes:
        score: the output, at the input's ticks per beat.
        melody_track: index in ``score.tracks`` of the melody (``None`` for a continuation).
        kept_tracks: indices of tracks whose notes are the input's, unchanged.
        new_tracks: indices of generated tracks.
        decisions: what the job decided, one short line each, in the input's track numbers: which
            track is the melody and why, what was kept, extracted, dropped or rewritten.
    """

    score: Score
    melody_track: int | None
    kept_tracks: tuple[int, ...]
    new_tracks: tuple[int, ...]
    decisions: tuple[str, ...] = ()

    def describe(self) -> str:
        """The decisions as one short block, a line each."""
        return "\n".join(self.decisions)

    def note_roles(self, original: Score) -> tuple[list[list[str]], list[list[str]]]:
        """What became of each note: ``(roles of original's notes, roles of score's notes)``, one list per
        track, one role per note in the track's order (for piano rolls in colours).

        A note of the output is ``"new"`` in a new track or when the input has no note at the same
        onset, pitch and duration (a continuation's bars), else ``"melody"`` in the melody track and
        ``"kept"`` elsewhere.  A melody moved by whole octaves (a solo tune put in its instrument's range) is
        still ``"melody"`` (it is not among ``kept_tracks``): its notes are matched one octave move back, the
        move that matches most of them.
        A note of the input is ``"melody"`` or ``"kept"`` when the output keeps it so, else ``"dropped"``
        (rewritten or left out).  Both scores are at the input's ticks per beat.
        """
        def key(note) -> tuple[int, int, int]:
            return note.onset_ticks, note.pitch, note.duration_ticks

        before = {key(n) for t in original.tracks for n in t.notes}
        back = 0  # the octave move that brings a moved melody (not among the kept tracks) back to the input's notes
        if self.melody_track is not None and self.melody_track not in self.kept_tracks + self.new_tracks:
            line = self.score.tracks[self.melody_track].notes
            back = max((-12, 12, -24, 24, -36, 36), key=lambda o: sum(
                (n.onset_ticks, n.pitch + o, n.duration_ticks) in before for n in line))
        out, melody, kept = [], set(), set()
        for k, track in enumerate(self.score.tracks):
            roles = []
            for note in track.notes:
                move = back if k == self.melody_track else 0
                source = (note.onset_ticks, note.pitch + move, note.duration_ticks)
                source = source if source in before else None
                if k in self.new_tracks or source is None:
                    roles.append("new")
                else:
                    roles.append("melody" if k == self.melody_track else "kept")
                    (melody if k == self.melody_track else kept).add(source)
            out.append(roles)
        return ([["melody" if key(n) in melody else "kept" if key(n) in kept else "dropped" for n in t.notes]
                 for t in original.tracks], out)


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
    """The old rule, kept as the baseline of ``benchmarks/real_world.py``; the jobs use :func:`find_melody`.

    Index of the melody track: the highest mostly single-line pitched track with a fair share of notes.

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


def _new_parts_line(programs: list[int], parts: list[list[Note]]) -> str:
    """The decision line of the new parts: ``"new: 1 part on program 0 with 228 notes"``."""
    plural = "s" if len(programs) > 1 else ""
    return (f"new: {len(parts)} part{plural} on program{plural} {', '.join(map(str, programs))} with "
            f"{sum(map(len, parts))} notes")


def _bars_of(score: Score, ticks: list[int]) -> str:
    """The bars (numbered from 1, as :func:`symbolic.analysis.beats.bar_lines_ticks` lays them) holding
    ``ticks``, as runs: ``"bars 1-8, 40-44"``."""
    from bisect import bisect_right

    from symbolic.analysis.beats import bar_lines_ticks

    lines = bar_lines_ticks(score)
    bars = sorted({bisect_right(lines, t) for t in ticks})
    runs: list[list[int]] = []
    for bar in bars:
        if runs and bar == runs[-1][1] + 1:
            runs[-1][1] = bar
        else:
            runs.append([bar, bar])
    text = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in runs)
    return f"bar{'s' if len(bars) > 1 else ''} {text}"


def _label(track: Track, index: int) -> str:
    return f"track {index} {track.name!r}" if track.name else f"track {index}"


@dataclass(frozen=True)
class MelodyChoice:
    """Where a job's melody is (:func:`find_melody`).

    Attributes:
        score: the score the job works on: the input, or a copy whose polyphonic track is split into
            the extracted melody and the rest (:func:`symbolic.analysis.melody.split_melody_track`).
        melody_track: index of the melody in ``score.tracks``.
        rest_track: index in ``score.tracks`` of what is left of the split track (accompaniment the
            job rewrites), or ``None`` when no track was split.
        source: input track number of each track of ``score`` (the split track's two halves share one).
        roles: role of each track of ``score`` (``symbolic.analysis.roles.ROLES``; the split halves are
            ``melody`` and ``harmony``).
        decision: one line saying which track is the melody and why.
    """

    score: Score
    melody_track: int
    rest_track: int | None
    source: tuple[int, ...]
    roles: tuple[str, ...]
    decision: str


def parse_keep(text: str | None) -> tuple[str, ...]:
    """The roles of a ``"bass,drums"`` text as the jobs' ``keep`` takes them (``()`` for ``None`` or ``""``)."""
    return tuple(role.strip() for role in (text or "").split(",") if role.strip())


def check_keep(keep: tuple[str, ...]) -> None:
    """Raise :class:`ConfigError` for a role in ``keep`` that a conversion cannot keep (see :data:`KEEPABLE`)."""
    unknown = [role for role in keep if role not in KEEPABLE]
    if unknown:
        raise ConfigError(f"cannot keep {unknown[0]!r}; a conversion keeps {' and '.join(KEEPABLE)}")


def check_accompany_keep(keep: tuple[str, ...], replace_accompaniment: bool) -> None:
    """Raise :class:`ConfigError` for ``keep`` with an unknown role (:func:`check_keep`), or given while the
    accompaniment is not replaced (then every input track is kept anyway)."""
    check_keep(keep)
    if keep and not replace_accompaniment:
        raise ConfigError(f"keeping {', '.join(keep)} applies only when the accompaniment is replaced; "
                          "otherwise every input track is kept as it is")


def find_melody(score: Score, melody_track: int | None = None) -> MelodyChoice:
    """The melody of ``score``: ``melody_track`` when given, else the track roles' melody
    (:func:`symbolic.analysis.roles.analyze_tracks`); when no track is a melody line and a polyphonic
    track carries it, its melody is extracted onto its own track (the melody extractor's line, at most one note
    at a time, with its long rests filled by the top voice: :func:`symbolic.analysis.melody.split_melody_track`
    with :data:`~symbolic.analysis.melody.FILL_RESTS_BEATS`).  With neither, the highest pitched track.

    Raises:
        ScoreError: no pitched notes.  ConfigError: ``melody_track`` names no pitched track with notes.
    """
    check_playable(score)
    analysis = analyze_tracks(score)
    roles = tuple(t.role for t in analysis.tracks)
    source = tuple(range(len(score.tracks)))
    if melody_track is not None:
        index = _check_track(score, melody_track)
        roles = tuple("melody" if i == index else r for i, r in enumerate(roles))
        return MelodyChoice(score, index, None, source, roles,
                            f"melody: {_label(score.tracks[index], index)} (given)")
    index = analysis.melody_track
    if index is not None:
        role = analysis.tracks[index]
        return MelodyChoice(score, index, None, source, roles,
                            f"melody: {_label(score.tracks[index], index)}, confidence {role.confidence:.2f}: "
                            + "; ".join(role.reasons[:3]))
    index = analysis.extraction_track
    if index is not None:
        from symbolic.analysis.melody import FILL_RESTS_BEATS, fill_melody_rests, melody_mask, split_track_by_mask

        notes = score.tracks[index].notes
        line = melody_mask(notes, score.ticks_per_beat)
        kept = fill_melody_rests(notes, line, score.ticks_per_beat, FILL_RESTS_BEATS)
        split = split_track_by_mask(score, index, kept)
        melody, rest = split.tracks[index], split.tracks[index + 1]
        filled = [n.onset_ticks for n, k, l in zip(notes, kept, line) if k and not l]
        fill = (f"; {len(filled)} of them the top voice in {_bars_of(score, filled)}, where that line rests "
                f"{FILL_RESTS_BEATS:g} beats or more" if filled else "")
        if melody.notes and rest.notes:
            return MelodyChoice(
                split, index, index + 1, source[:index + 1] + source[index:],
                roles[:index] + ("melody", "harmony") + roles[index + 1:],
                f"melody: no track is a melody line; extracted {len(melody.notes)} notes (the melody extractor's "
                f"line, one note at a time{fill}) from {_label(score.tracks[index], index)} onto their own track; "
                f"its other {len(rest.notes)} notes are accompaniment")
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.notes]
    index = max(pitched, key=lambda i: _mean_pitch(score.tracks[i]))
    roles = tuple("melody" if i == index else r for i, r in enumerate(roles))
    return MelodyChoice(score, index, None, source, roles,
                        f"melody: {_label(score.tracks[index], index)}, the highest pitched track (no track "
                        "reads as a melody line)")


def _rescale(notes, from_tpb: int, to_tpb: int) -> list[Note]:
    if from_tpb == to_tpb:
        return list(notes)
    return [Note(round(n.onset_ticks * to_tpb / from_tpb), max(1, round(n.duration_ticks * to_tpb / from_tpb)),
                 n.pitch, n.velocity) for n in notes]


def _write_parts(model, tokenizer: EventTokenizer, score: Score, given: list[int], programs: list[int],
                 weights: dict[str, float], config: JobConfig, progress: bool,
                 on_bar: Callable[[int, int], None] | None = None,
                 drums: list[int] = (), chords_from: str = "given with the input") -> tuple[list[list[Note]], list[str]]:
    """Notes of new parts on ``programs`` under the ``given`` tracks (melody first), at ``score.ticks_per_beat``,
    and the decisions about them (the feel, the doubling), a line each.  ``drums``: kept drum tracks, which
    the model does not hear but whose feel the new parts keep.

    The model sees the tracks in the lead style's training layout (:meth:`StyleTexture.slot_layout
    <symbolic.styles.texture.StyleTexture.slot_layout>`): the melody in slot 0, the new parts from the
    style's ``part_slot`` on (pop: after the bridge, an empty slot when none is given), the other given
    tracks around them; programs are those the lead style's corpus declares.  New
    parts keep under the parts above them and over the given parts below them, and
    inside their voice's or instrument's range (:class:`~symbolic.jobs.rules.PitchRange`);
    with ``config.style_rules``, the lead style's part rhythm, single lines, legato
    and key penalty apply too (:func:`~symbolic.jobs.rules.part_rules`).  Whatever the style, the new
    parts keep the given parts' rhythmic feel (straight given parts: no triplet positions,
    :func:`~symbolic.jobs.rules.straight_grid`; swung or triplet: allowed) and do not double them for
    long (:class:`~symbolic.jobs.rules.DoublingLimit`, at most :data:`MAX_DOUBLING_SHARE` of their sounding
    time, over the whole part and over its last :data:`DOUBLING_WINDOW_BEATS` beats).
    """
    from symbolic.analysis.parts import doubling_share, triplet_share, SWING_SHARE
    from symbolic.jobs.plan import BarPlan, Plan, generate_planned
    from symbolic.jobs.repeats import copy_repeats, cut_restrikes, describe_repeats, plan_repeat_sources
    from symbolic.jobs.rules import ChordBias, DoublingLimit, part_rules, playable_range, straight_grid
    from symbolic.sampling.session import style_weights

    n_new = len(programs)
    lead = lead_style(weights)
    texture = texture_of(lead)
    sources, free = texture.slot_layout(len(given), n_new)
    view = Score(ticks_per_beat=score.ticks_per_beat, tempos=list(score.tempos),
                 time_signatures=list(score.time_signatures),
                 tracks=[Track(program=texture.corpus_program(slot),
                               notes=list(score.tracks[given[k]].notes) if k is not None else [])
                         for slot, k in enumerate(sources)])
    # the new parts play as long as the song does: while any of its tracks sounds (the band's outro after the
    # melody's last note, a long last melody note), not only to the bar of the given parts' last onset
    # (the encoding runs its bars to the End of Track)
    view.end_of_track_ticks = max((n.onset_ticks + n.duration_ticks for t in score.tracks for n in t.notes), default=0)
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(view, style=lead))
    plan = Plan(tuple(header), tuple(
        BarPlan(tuple(opening), tuple(sorted([(s, tuple(ids)) for s, ids in parts.items()] + [(s, None) for s in free],
                                             key=lambda item: item[0])))
        for opening, parts in bars))
    # every new part has a hard range: its voice's, else its instrument's (or its GM family's)
    ranges = {slot: (texture.part_range(k, p) if config.style_rules else None) or playable_range(p)
              for k, (slot, p) in enumerate(zip(free, programs))}
    chords = given_chord_steps(tokenizer, score)
    rules = part_rules(tokenizer.vocab, texture, ranges, bar_scales(tokenizer.vocab, bars),
                       style_rules=config.style_rules, off_scale_penalty=config.off_scale_penalty,
                       density_floor=config.density_floor, chord_penalty=config.chord_penalty, chords=chords)
    kept = [score.tracks[i].notes for i in given]
    triplets = triplet_share(kept + [score.tracks[i].notes for i in drums], score.ticks_per_beat)
    grid = straight_grid(tokenizer.vocab) if triplets < SWING_SHARE else None
    if grid is not None:
        rules.append(grid)
    followed = any(isinstance(rule, ChordBias) for rule in rules)
    decisions = [_chords_line(tokenizer, view, chords, followed, chords_from)] if followed or chords is not None else []
    decisions += [f"feel: {'straight' if triplets < SWING_SHARE else 'swung or triplet'} ({triplets:.0%} of the "
                 f"kept parts' onsets on triplet positions): "
                 + ("no triplet positions in the new parts" if grid is not None else "triplets allowed")]
    steps_per_beat = tokenizer.config.steps_per_beat
    rules.append(DoublingLimit(tokenizer.vocab, MAX_DOUBLING_SHARE, DOUBLING_WINDOW_BEATS * steps_per_beat,
                               horizon_steps=steps_per_beat))
    repeating = config.repeat_parts and texture.repeat_parts
    repeats = plan_repeat_sources(tokenizer.vocab, plan, chords) if repeating else {}
    ids = generate_planned(model, tokenizer, plan, config.generation(), rules,
                           style_weights=style_weights(tokenizer.vocab.styles, weights),
                           max_part_tokens=config.max_part_tokens, progress=progress, on_bar=on_bar,
                           segment_bars=config.segment_bars, warmup_bars=config.warmup_bars, repeats=repeats)
    if repeating:
        ids = copy_repeats(tokenizer.vocab, ids, repeats, free)  # the repeats of bars another segment kept
        decisions.append(f"repeats: {len(repeats)} of {len(plan.bars)} bars repeat an earlier passage of the melody "
                         "and play the new parts written there"
                         + (f" (bars {describe_repeats(repeats)})" if repeats else ""))
    decoded = tokenizer.decode(ids)
    end = score.end_ticks  # the song's length: new notes stop where it ends
    parts = [[n._replace(duration_ticks=min(n.duration_ticks, end - n.onset_ticks))
              for n in _rescale(decoded.tracks[slot].notes, decoded.ticks_per_beat, score.ticks_per_beat)
              if n.onset_ticks < end] for slot in free]
    if repeating:
        parts = [cut_restrikes(notes) for notes in parts]  # a copied bar against the bars around it
    pitched = [notes for i, notes in zip(given, kept) if not score.tracks[i].is_drum]
    decisions.append("doubling: the new parts sound a kept part's pitch class for "
                     + ", ".join(f"{doubling_share(notes, pitched):.0%}" for notes in parts)
                     + f" of their time (limit {MAX_DOUBLING_SHARE:.0%} of the part and of any "
                       f"{DOUBLING_WINDOW_BEATS} beats)")
    return parts, decisions


def given_chord_steps(tokenizer: EventTokenizer, score: Score) -> tuple[tuple[int, int, frozenset[int] | None], ...] | None:
    """The chords given with ``score`` (``score.annotations.chords``: a chord chart, a lead sheet's symbols,
    POP909's annotations) as ``(start_step, end_step, pitch classes, bass pitch class)`` spans on the
    tokenizer's grid, which :class:`~symbolic.jobs.rules.ChordBias` follows; ``None`` (no chords given) when
    it has none.  A span labelled ``N`` has ``None`` for its pitch classes and bass.

    Raises:
        DataError: a label that is not Harte notation.
    """
    from symbolic.analysis.chords import chord_bass, chord_pitch_classes

    if not score.annotations.chords:
        return None
    tpb = score.ticks_per_beat
    return tuple((tokenizer.grid_step(c.start_ticks, tpb), tokenizer.grid_step(c.end_ticks, tpb),
                  chord_pitch_classes(c.label), chord_bass(c.label)) for c in score.annotations.chords)


def _chords_line(tokenizer: EventTokenizer, view: Score, chords, followed: bool, source: str) -> str:
    """The decision line on the chords the new parts follow: given (and which bars they cover), or guessed."""
    import bisect

    if chords is None:
        return "chords: guessed from the given parts' notes, a triad a half bar"
    n = len(chords)
    given = f"the {n} chord{'s' if n != 1 else ''} {source}"
    if not followed:
        return f"chords: {given} are not followed (chord penalty 0)"
    bar_starts = tokenizer.bar_starts_steps(view, cover_sounding=True)
    n_bars = len(bar_starts) - 1
    first = bisect.bisect_right(bar_starts, min((span[0] for span in chords), default=0)) or 1
    last = bisect.bisect_left(bar_starts, max((span[1] for span in chords), default=0))
    where = [f"from bar {first}"] if first > 1 else []
    if last < n_bars:
        where.append(f"to bar {last} of {n_bars} (no chord rule after it)")
    elif last > n_bars:
        where.append(f"the last {last - n_bars} bar{'s' if last - n_bars != 1 else ''} past the end unused")
    return f"chords: {given}" + (", " + ", ".join(where) if where else "")


def style_programs(weights: dict[str, float], n_parts: int) -> list[int]:
    """GM programs of ``n_parts`` accompanying parts with the lead style's instruments, highest first.

    Raises:
        ConfigError: ``n_parts`` outside 1..8.
    """
    if not 1 <= n_parts <= MAX_PARTS:
        raise ConfigError(f"{n_parts} parts asked for; ask for 1 to {MAX_PARTS}")
    texture = texture_of(lead_style(weights))
    return [texture.part_program(k) for k in range(n_parts)]


def _copy_track(track: Track, program: int | None = None, transpose: int = 0) -> Track:
    """A copy with its controllers and pitch bends; on ``program`` and moved ``transpose`` semitones if asked."""
    notes = [n._replace(pitch=n.pitch + transpose) for n in track.notes] if transpose else list(track.notes)
    return Track(program=track.program if program is None else program, is_drum=track.is_drum, name=track.name,
                 notes=notes, controls=list(track.controls), pitch_bends=list(track.pitch_bends))


def _frame(score: Score, tracks: list[Track]) -> Score:
    """``tracks`` in the input's frame: its ticks per beat, maps and length (End of Track)."""
    out = Score(ticks_per_beat=score.ticks_per_beat, tracks=tracks, tempos=list(score.tempos),
                time_signatures=list(score.time_signatures), key_signatures=list(score.key_signatures))
    return out.set_end(score.end_ticks)


def _octave_shift(track: Track, program: int) -> int:
    """Semitones (a multiple of 12, smallest first) that put most of ``track`` inside ``program``'s range."""
    from symbolic.jobs.rules import playable_range

    low, high = playable_range(program)
    pitches = [n.pitch for n in track.notes]

    def outside(shift: int) -> int:
        return sum(not low <= p + shift <= high for p in pitches)
    return min((12 * k for k in range(-4, 5)), key=lambda shift: (outside(shift), abs(shift)))


def _labels(choice: MelodyChoice, rows) -> str:
    score = choice.score
    return ", ".join(_label(score.tracks[i], choice.source[i]) for i in rows)


def _kept_roles(choice: MelodyChoice, keep: tuple[str, ...],
                style: str) -> tuple[list[int], list[int], list[int], list[str]]:
    """``(drums, kept_drums, kept_bass)`` rows of ``choice.score`` besides the melody, by the ``keep`` rule:
    drums stay when ``keep`` holds ``"drums"`` or ``style``'s texture has drums, the bass tracks when it
    holds ``"bass"``; and the decision line for drums dropped (or none)."""
    work, melody = choice.score, choice.melody_track
    others = [i for i, t in enumerate(work.tracks) if i != melody and t.notes]
    drums = [i for i in others if work.tracks[i].is_drum or choice.roles[i] == "drums"]
    style_drums = bool(getattr(texture_of(style), "drums", False))  # a texture field the style registry may add
    kept_drums = drums if "drums" in keep or style_drums else []
    bass = [i for i in others if i not in drums and choice.roles[i] == "bass"] if "bass" in keep else []
    decisions = [f"dropped: {_labels(choice, drums)} ({style} has no drums; keep drums to keep them)"] \
        if drums and not kept_drums else []
    return drums, kept_drums, bass, decisions


def _timing_decisions(score: Score) -> list[str]:
    """The decision line on a recorded performance (:meth:`~symbolic.analysis.beats.GridFit.is_performance`):
    its bars do not match the music, so the job's bars are not the song's; ``[]`` for a file on its grid.
    Python and HTTP users see it in the decisions; the CLI also prints its warning before the job runs."""
    from symbolic.analysis.beats import grid_fit

    fit = grid_fit(score)
    if not fit.is_performance:
        return []
    return [f"timing: the input looks like a recorded performance ({fit.on_grid_share:.0%} of its onsets on its "
            f"beat grid, notes on {fit.beat_onset_share:.0%} of its beats), so its bars do not match the music; "
            "put it on a grid first (symbolic.analysis.beats.quantize_score, or symbolic quantize)"]


def _with_heard_chords(work: Score, parts: list[int]) -> tuple[Score, str]:
    """``work`` with the chords heard from its ``parts`` (track indices, the melody among them) when it carries
    none, and where the new parts' chords come from, for their decision line.  The parts left out or kept carry
    the song's harmony, which the new parts would not hear otherwise: chords heard from every pitched part get
    77.5% of POP909's triads right, against 39% from the melody alone."""
    if work.annotations.chords:
        return work, "given with the input"
    from dataclasses import replace

    from symbolic.analysis.harmony import chords_of_score
    from symbolic.score import Annotations

    heard = chords_of_score(work, parts)
    if not heard:
        return work, "given with the input"
    return (replace(work, annotations=Annotations(heard, list(work.annotations.keys))),
            "heard from the input's own parts (a triad a half bar)")


def accompany(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
              config: JobConfig = JobConfig(), programs: list[int] | None = None, melody_track: int | None = None,
              progress: bool = False, on_bar: Callable[[int, int], None] | None = None,
              replace_accompaniment: bool = False, keep: tuple[str, ...] = ()) -> JobResult:
    """New accompanying tracks under the melody of ``score``; the input's tracks stay as they are, or, with
    ``replace_accompaniment``, the new tracks replace the input's accompaniment.  When the input has pitched
    parts beside the melody (kept, replaced, or the rest of a piano track the melody was extracted from) and
    no chords of its own, the new parts follow the chords heard from all of them, as in :func:`convert`.

    Args:
        model, tokenizer: a trained decoder and its tokenizer.
        score: the melody (or melody and other tracks).
        weights: style mix over ``tokenizer.vocab.styles`` (see :func:`symbolic.styles.mix.resolve_style`).
        config: how to sample (:class:`~symbolic.jobs.config.JobConfig`).
        programs: GM programs of the new parts, highest part first (default: the lead style's parts).
        melody_track: index of the melody (default: :func:`find_melody`).
        progress: show a tqdm bar over the bars.
        on_bar: called with ``(bars_done, total_bars)`` as the bars are written
            (:func:`~symbolic.jobs.plan.generate_planned`).
        replace_accompaniment: keep only the melody, and the drums and bass as ``keep`` says (the rule of
            :func:`convert`: drums stay when ``keep`` holds ``"drums"`` or the style has drums, the bass when
            it holds ``"bass"``); every other track (harmony, counter-melody) is left out and the new parts
            are written in its place.
        keep: roles kept as they are when the accompaniment is replaced (:data:`KEEPABLE`).

    Returns:
        The input tracks, unchanged and in order (with ``replace_accompaniment``: the melody and the kept
        drums and bass, in input order), then the new tracks.  When the melody was extracted from a
        polyphonic track (:func:`find_melody`), that track is replaced by the extracted melody (note for
        note) and the rest of it is left out: the new parts are its accompaniment.  The decisions say which
        track is the melody, what was kept and what was left out.

    Raises:
        ConfigError: empty ``programs``; ``keep`` without ``replace_accompaniment`` or with an unknown role.
    """
    check_accompany_keep(keep, replace_accompaniment)
    check_playable(score)
    check_mix(weights, tokenizer.vocab.styles, "the style")
    choice = find_melody(score, melody_track)
    work, melody = choice.score, choice.melody_track
    if programs is None:
        texture = texture_of(lead_style(weights))
        programs = list(texture.part_programs)
    if not programs:
        raise ConfigError("ask for at least one accompanying part (programs is empty)")
    decisions = _timing_decisions(score) + [choice.decision]
    rows = [i for i in range(len(work.tracks)) if i != choice.rest_track]
    if choice.rest_track is not None:
        decisions.append(f"rewritten: the rest of {_labels(choice, [choice.rest_track])} (the new parts replace it)")
    if replace_accompaniment:
        drums, kept_drums, bass, dropped = _kept_roles(choice, keep, lead_style(weights))
        decisions += dropped
        replaced = [i for i in rows if i != melody and work.tracks[i].notes and i not in drums + bass]
        if replaced:
            decisions.append(f"rewritten: {_labels(choice, replaced)} (the new parts replace the accompaniment)")
        rows = [i for i in rows if i == melody or i in kept_drums + bass]
    others = [i for i in rows if i != melody and work.tracks[i].notes]
    if others:
        decisions.append(f"kept as they are: {_labels(choice, others)}")
    pitched = _pitched_high_to_low(work, melody)  # every pitched part beside the melody: kept, replaced or the rest
    given = [melody] + [i for i in pitched if i in rows]
    chords_from = "given with the input"
    if pitched:
        work, chords_from = _with_heard_chords(work, [melody] + pitched)
    parts, notes_decisions = _write_parts(model, tokenizer, work, given, list(programs), weights, config, progress,
                                          on_bar, [i for i in rows if work.tracks[i].is_drum], chords_from)
    tracks = [_copy_track(work.tracks[i]) for i in rows]
    tracks += [Track(program=p, name=f"accompaniment {k + 1}", notes=notes)
               for k, (p, notes) in enumerate(zip(programs, parts))]
    decisions.append(_new_parts_line(programs, parts))
    decisions += notes_decisions
    n = len(rows)
    return JobResult(_frame(score, tracks), rows.index(melody), tuple(range(n)), tuple(range(n, len(tracks))),
                     tuple(decisions))


def convert(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
            config: JobConfig = JobConfig(), strength: float = 1.0, melody_track: int | None = None,
            parts: int | None = None, keep: tuple[str, ...] = (), progress: bool = False,
            on_bar: Callable[[int, int], None] | None = None) -> JobResult:
    """Rewrite ``score`` in another style, keeping its melody note for note and its bars.

    The melody comes from :func:`find_melody` (a track, or the line extracted from a polyphonic track;
    the rest of that track is accompaniment to rewrite).  Drums are kept as they are when ``keep``
    holds ``"drums"`` or the target style's texture has drums, else dropped; ``"bass"`` in ``keep``
    keeps the bass tracks as they are.  ``strength`` in [0, 1] is the share of the other pitched
    tracks rewritten, rounded up, from the highest down, so the bass is the last to go; tracks not
    rewritten stay as they are.  Any ``strength > 0`` writes new parts in the target style: as many as
    the style's texture has (``parts`` overrides) less the kept pitched tracks, at least one.  The
    melody moves to the style's lead instrument; in a solo-tune style (no accompanying parts) it is
    also moved by octaves into that instrument's range when needed, and nothing else is written.
    ``strength = 0`` returns the input unchanged.

    Returns:
        The melody first, then the new parts, then the kept parts, then kept drums; the input's
        tempo map, meters and length.

    Raises:
        ConfigError: ``strength`` outside 0..1, ``parts`` below 0, an unknown role in ``keep``.
    """
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength={strength} must be between 0 (keep everything) and 1 (rewrite all but "
                          "the melody)")
    if parts is not None and parts < 0:
        raise ConfigError(f"parts={parts} must be >= 0")
    check_keep(keep)
    check_playable(score)
    check_mix(weights, tokenizer.vocab.styles, "the target style")
    choice = find_melody(score, melody_track)
    work, melody = choice.score, choice.melody_track
    if strength == 0.0:
        tracks = [_copy_track(t) for t in score.tracks]
        return JobResult(_frame(score, tracks), choice.source[melody], tuple(range(len(tracks))), (),
                         (choice.decision, "strength 0: the input unchanged"))
    style = lead_style(weights)
    texture = texture_of(style)
    drums, kept_drums, bass, dropped = _kept_roles(choice, keep, style)
    decisions = _timing_decisions(score) + [choice.decision] + dropped
    rest = [choice.rest_track] if choice.rest_track is not None else []  # rewritten first
    order = rest + [i for i in _pitched_high_to_low(work, melody) if i not in rest + drums + bass]
    n_rewrite = math.ceil(strength * len(order) - 1e-9)
    rewritten, kept_pitched = order[:n_rewrite], order[n_rewrite:] + bass
    kept_pitched.sort(key=lambda i: -_mean_pitch(work.tracks[i]))
    style_parts = texture.convert_parts if parts is None else parts
    n_new = max(style_parts - len(kept_pitched), 1 if style_parts else 0)
    shift = 0
    if style_parts == 0:
        shift = _octave_shift(work.tracks[melody], texture.lead_program)
        moved = f", moved {abs(shift) // 12} octave{'s' if abs(shift) > 12 else ''} " \
                f"{'up' if shift > 0 else 'down'} into its range" if shift else ""
        from symbolic.jobs.rules import playable_range

        low, high = playable_range(texture.lead_program)
        outside = [n.pitch + shift for n in work.tracks[melody].notes if not low <= n.pitch + shift <= high]
        if outside:  # kept note for note: an octave move cannot bring a tune wider than the instrument inside it
            moved += (f"; {len(outside)} of its notes {'still lies' if len(outside) == 1 else 'still lie'} outside "
                      f"the instrument's MIDI {low}-{high} (MIDI {', '.join(map(str, sorted(set(outside))))}): the "
                      "melody is kept note for note")
        what = f"{style} is a solo tune" if texture.convert_parts == 0 else "no new part asked for"
        decisions.append(f"{what}: the melody alone on program {texture.lead_program}{moved}")
        if rewritten:
            decisions.append(f"dropped: {_labels(choice, rewritten)} ({what}, so no accompaniment)")
    else:
        if rewritten:
            decisions.append(f"rewritten: {_labels(choice, rewritten)}")
        if work.tracks[melody].program != texture.lead_program:
            decisions.append(f"the melody moves from program {work.tracks[melody].program} to {texture.lead_program}, "
                             f"the {style} lead's instrument")
    if kept_pitched or kept_drums:
        decisions.append(f"kept as they are: {_labels(choice, kept_pitched + kept_drums)}")
    new_programs = [texture.part_program(k) for k in range(n_new)]
    chords_from = "given with the input"
    if n_new and rewritten:
        work, chords_from = _with_heard_chords(work, [melody] + rewritten + kept_pitched)
    new_notes, notes_decisions = _write_parts(model, tokenizer, work, [melody] + kept_pitched, new_programs,
                                              weights, config, progress, on_bar, kept_drums,
                                              chords_from) if n_new else ([], [])
    if n_new:
        decisions.append(_new_parts_line(new_programs, new_notes))
        decisions += notes_decisions
    tracks = [_copy_track(work.tracks[melody], texture.lead_program, shift)]
    tracks += [Track(program=texture.part_program(k), name=f"new part {k + 1}", notes=notes)
               for k, notes in enumerate(new_notes)]
    tracks += [_copy_track(work.tracks[i]) for i in kept_pitched + kept_drums]
    # a melody moved by octaves is still the melody (note_roles) but not the input's notes unchanged
    kept_rows = ((0,) if shift == 0 else ()) + tuple(range(1 + n_new, len(tracks)))
    return JobResult(_frame(score, tracks), 0, kept_rows, tuple(range(1, 1 + n_new)), tuple(decisions))


def continue_score(model, tokenizer: EventTokenizer, score: Score, weights: dict[str, float],
                   config: JobConfig = CONTINUE_DEFAULTS, n_bars: int = CONTINUE_BARS, progress: bool = False,
                   on_bar: Callable[[int, int], None] | None = None) -> JobResult:
    """``score`` followed by ``n_bars`` new bars for its tracks; the input's notes stay as they are.

    The new bars start after the bar in which the input's last note stops (a silence after it, such
    as a late End of Track, is not kept); each track's new notes lie in its instrument's range
    (:func:`~symbolic.jobs.rules.playable_range`, a hard mask; drums on the GM drum map).  The
    model hears the whole input (by windows when it is longer than the context).  Every track that
    plays in the input's last two bars with notes plays in every new bar, with at least half the median
    of its onsets a beat in the input's last four bars, spread through the bar
    (:class:`~symbolic.jobs.rules.KeepPlaying`); the
    model decides whether the other tracks come back.  The default sampling is :data:`CONTINUE_DEFAULTS
    <symbolic.jobs.config.CONTINUE_DEFAULTS>` (guidance 3: the piece goes on in its own style).
    """
    from symbolic.jobs.plan import BarPlan, Plan, generate_planned
    from symbolic.jobs.rules import KeepPlaying, NoRestrike, PitchRange, playable_range
    from symbolic.sampling.session import style_weights
    from symbolic.tokenization.vocab import TokenType

    if n_bars < 1:
        raise ConfigError(f"n_bars={n_bars} must be at least 1")
    check_mix(weights, tokenizer.vocab.styles, "the style")
    check_playable(score)
    lead = lead_style(weights)
    from dataclasses import replace

    score = replace(score, end_of_track_ticks=0)  # a trailing silence is not played: go on after the music
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style=lead))
    given_bars = [BarPlan(tuple(opening), tuple(sorted((s, tuple(ids)) for s, ids in parts.items())))
                  for opening, parts in bars]
    starts = tokenizer.bar_starts_steps(score, cover_sounding=True)
    rest_bars = [BarPlan((tokenizer.vocab.bar_id,), ())] * (len(starts) - 1 - len(given_bars))  # last notes ring on
    slots = tuple((s, None) for s in range(len(score.tracks)))
    new_bars = [BarPlan((tokenizer.vocab.bar_id,), slots)] * n_bars
    playing = frozenset(slot for bar in given_bars[-2:] for slot, _ in bar.parts)  # the parts playing at the end
    plan = Plan(tuple(header), tuple(given_bars + rest_bars + new_bars), optional_free=True, required_slots=playing)
    # each track's new notes stay in its instrument's range (drums: the GM drum map), a hard mask
    ranges = {slot: playable_range(t.program, t.is_drum) for slot, t in enumerate(score.tracks)}
    # every part playing at the end keeps at least half its recent onsets a beat (KeepPlaying)
    last = range(max(0, len(given_bars) - 4), len(given_bars))
    minimums = KeepPlaying.minimums(tokenizer.vocab, [given_bars[i] for i in last],
                                    [starts[i + 1] - starts[i] for i in last])
    minimums = {slot: rate for slot, rate in minimums.items() if slot in playing}
    keep_playing = KeepPlaying.for_vocab(tokenizer.vocab, minimums)
    new_bar_steps = starts[-1] - starts[-2] if len(starts) > 1 else tokenizer.vocab.max_bar_steps
    rules = [PitchRange(tokenizer.vocab.offsets[TokenType.PITCH], keep_register=False, ranges=ranges),
             NoRestrike(tokenizer.vocab, tokenizer.vocab.offsets[TokenType.PITCH]),
             keep_playing]
    ids = generate_planned(model, tokenizer, plan, config.generation(), rules,
                           style_weights=style_weights(tokenizer.vocab.styles, weights),
                           max_part_tokens=config.max_part_tokens, progress=progress, on_bar=on_bar)
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
    out.sort().set_end(0)
    return JobResult(out, None, (), (), (*_timing_decisions(score),
                                         f"added {n_bars} bars after the bar of the input's last note, every "
                                         "track's new notes inside its instrument's range",
                                         f"continued in every new bar: tracks {', '.join(map(str, sorted(playing)))} "
                                         "(playing at the end of the input), each with at least "
                                         + ", ".join(str(keep_playing.floor(slot, new_bar_steps))
                                                     for slot in sorted(minimums))
                                         + " onsets a bar (half its onsets a beat in the input's last 4 bars)"))


def _check_track(score: Score, index: int) -> int:
    if not 0 <= index < len(score.tracks):
        raise ConfigError(f"melody track {index} does not exist; the score has tracks 0..{len(score.tracks) - 1}")
    track = score.tracks[index]
    if track.is_drum or not track.notes:
        raise ConfigError(f"track {index} is {'a drum track' if track.is_drum else 'empty'}; "
                          "name a pitched track with notes as the melody")
    return index
