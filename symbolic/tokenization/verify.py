"""Compare two scores note for note, for round-trip verification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symbolic.score import SUSTAIN_PEDAL, Score, seconds_of_ticks

__all__ = ["score_differences", "verify_events", "check_events", "EventsCheck", "verify_roll", "roll_merge_count"]


def score_differences(expected: Score, actual: Score, check_maps: bool = True, limit: int = 5) -> list[str]:
    """Human-readable differences between two scores (empty list: identical).

    Compares, track by track in order, program, drum flag and the sorted notes
    (onset, duration, pitch, velocity, in ticks; both scores must use the same
    ``ticks_per_beat``), then the tempo and time-signature maps when ``check_maps``.
    At most ``limit`` differences are listed.
    """
    out: list[str] = []
    if expected.ticks_per_beat != actual.ticks_per_beat:
        return [f"ticks_per_beat {expected.ticks_per_beat} != {actual.ticks_per_beat}"]
    if len(expected.tracks) != len(actual.tracks):
        out.append(f"{len(expected.tracks)} tracks expected, {len(actual.tracks)} decoded")
    for i, (a, b) in enumerate(zip(expected.tracks, actual.tracks)):
        if (a.program, a.is_drum) != (b.program, b.is_drum):
            out.append(f"track {i}: program/drum {(a.program, a.is_drum)} != {(b.program, b.is_drum)}")
        notes_a, notes_b = sorted(a.notes), sorted(b.notes)
        if notes_a != notes_b:
            missing = sorted(set(notes_a) - set(notes_b))
            extra = sorted(set(notes_b) - set(notes_a))
            out.append(f"track {i}: {len(notes_a)} notes expected, {len(notes_b)} decoded; "
                       f"first missing {missing[:2]}, first extra {extra[:2]}")
    if check_maps:
        if expected.tempos != actual.tempos:
            out.append(f"tempo map differs: {expected.tempos[:3]} vs {actual.tempos[:3]}")
        if expected.time_signatures != actual.time_signatures:
            out.append(f"time signatures differ: {expected.time_signatures[:3]} vs {actual.time_signatures[:3]}")
        if expected.end_of_track_ticks != actual.end_of_track_ticks:
            out.append(f"end of track {expected.end_of_track_ticks} != {actual.end_of_track_ticks} ticks")
    return out[:limit]


def verify_events(score: Score, tokenizer) -> list[str]:
    """Differences between ``decode(encode(score))`` and the grid projection (empty: exact).

    A score the tokenization cannot hold (too many tracks, an unsupported meter,
    too long) is reported as a difference, never raised.
    """
    from symbolic.errors import TokenizationError

    try:
        decoded = tokenizer.decode(tokenizer.encode(score))
    except TokenizationError as exc:
        return [str(exc)]
    return score_differences(tokenizer.quantize(score), decoded)


@dataclass(frozen=True)
class EventsCheck:
    """What an event-token round trip keeps and loses of one score.

    Attributes:
        problems: differences between ``decode(encode(score))`` and the grid projection (notes, programs,
            maps, length); empty when the round trip is exact.
        dropped_controls: control changes the tokenization does not hold (with ``fold_sustain`` the sustain
            pedal is folded into durations and not counted).
        dropped_pitch_bends: pitch bends (the tokenization holds none).
        max_drift_seconds: largest distance in seconds between a note onset, or the piece's end, in the
            original and in the decoded score, each timed by its own tempo map: grid and tempo rounding
            together (0.0 for a score with nothing in time).
    """

    problems: list[str]
    dropped_controls: int
    dropped_pitch_bends: int
    max_drift_seconds: float


def check_events(score: Score, tokenizer) -> EventsCheck:
    """Round-trip ``score`` through ``tokenizer`` and report what is kept and lost (see :class:`EventsCheck`)."""
    from symbolic.errors import TokenizationError

    folded = tokenizer.config.fold_sustain
    controls = sum(1 for t in score.tracks for c in t.controls if not (folded and c.number == SUSTAIN_PEDAL))
    bends = sum(len(t.pitch_bends) for t in score.tracks)
    try:
        decoded = tokenizer.decode(tokenizer.encode(score))
    except TokenizationError as exc:
        return EventsCheck([str(exc)], controls, bends, 0.0)
    problems = score_differences(tokenizer.quantize(score), decoded)
    # Each onset's grid position, timed by the decoded tempo map, against its time in the original.
    tpb, spb = score.ticks_per_beat, tokenizer.config.steps_per_beat
    onsets = np.array([n.onset_ticks for t in score.tracks for n in t.notes] + [score.end_ticks], dtype=np.int64)
    steps = (2 * onsets * spb + tpb) // (2 * tpb)
    if score.end_of_track_ticks == 0:  # the piece ends with its last event: compare ends only as onsets
        onsets, steps = onsets[:-1], steps[:-1]
    drift = np.abs(seconds_of_ticks(score, onsets)
                   - seconds_of_ticks(decoded, steps * (decoded.ticks_per_beat // spb)))
    return EventsCheck(problems, controls, bends, float(drift.max()) if drift.size else 0.0)


def verify_roll(score: Score, config=None) -> list[str]:
    """Differences between ``from_note_roll(to_note_roll(score))`` and the roll's grid projection.

    Notes the roll cannot hold (outside MIDI 24..101, drums) are reported as
    differences.  Same-pitch overlaps merged by the keyboard reduction are part
    of the projection, not differences: :func:`roll_merge_count` counts them.
    """
    import warnings

    from symbolic.errors import TokenizationError
    from symbolic.tokenization.roll import NoteRollConfig, from_note_roll, quantize_for_roll, to_note_roll

    config = config or NoteRollConfig()
    expected, out_of_range, drums = quantize_for_roll(score, config)
    problems = []
    if out_of_range:
        problems.append(f"{out_of_range} pitched notes outside MIDI 24..101")
    if drums:
        problems.append(f"{drums} drum notes (the roll holds pitched notes only)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            roll = to_note_roll(score, config)
    except TokenizationError as exc:
        return problems + [str(exc)]
    decoded = from_note_roll(roll, config)
    ticks = config.decode_ticks_per_beat // config.frames_per_beat
    got = sorted((n.onset_ticks // ticks, n.duration_ticks // ticks, n.pitch) for t in decoded.tracks for n in t.notes)
    if got != expected:
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        problems.append(f"decoded notes differ from the projection: missing {missing[:2]}, extra {extra[:2]}")
    return problems


def roll_merge_count(score: Score, config=None) -> int:
    """How many in-range pitched notes the roll's keyboard reduction reshapes (unisons, same-pitch overlaps)."""
    from symbolic.tokenization.roll import NoteRollConfig, _frame_spans, quantize_for_roll

    config = config or NoteRollConfig()
    spans, _, _ = _frame_spans(score, config)
    kept = set(quantize_for_roll(score, config)[0])
    return sum((on, off - on, pitch) not in kept for on, off, pitch in spans)
