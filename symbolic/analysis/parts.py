"""How a part sits against other parts: doubling, and the rhythmic feel (straight or swung).

- :func:`doubling_share` -- the share of a part's sounding time in which a kept part sounds the same pitch
  class (unison or octave doubling).
- :func:`triplet_share` -- the share of onsets on triplet positions of the beat; :func:`is_swung` reads a
  feel from it (:data:`SWING_SHARE`).
- :func:`above_share` -- the share of a part's notes that start above the note a line (the melody) sounds
  at that moment: a part written under the melody that crosses it.
- :func:`held_above_share` -- the share of a part's notes held over the start of a lower note of a line: a
  note that starts under (or before) the melody and sounds on above its next note.

Plain Python over :class:`~symbolic.score.Note` lists; no torch.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Sequence

from symbolic.errors import ConfigError
from symbolic.score import Note

__all__ = ["doubled_spans", "doubled_steps", "doubling_share", "above_share", "held_above_share", "triplet_share", "is_swung",
           "SWING_SHARE", "TRIPLET_FRACTIONS"]

# Fractions of a beat (quarter note) that only a triplet reaches: 8th triplets (1/3, 2/3) and 16th
# triplets (1/6, 5/6).  0, 1/4, 1/2 and 3/4 are the straight 16th grid.
TRIPLET_FRACTIONS = (1 / 6, 1 / 3, 2 / 3, 5 / 6)
_GRID = (0.0, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 5 / 6, 1.0)
SWING_SHARE = 0.2  # at least this share of onsets on triplet positions reads as swung or triplet feel


def doubled_spans(start: int, end: int, pitch: int, others: Iterable[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` in which some note of ``others`` (``(start, end, pitch)`` triples, same
    time unit) sounds ``pitch``'s pitch class (unison or any octave): disjoint ``(start, end)`` spans in time
    order; ``[]`` for an empty span."""
    spans = sorted((max(s, start), min(e, end)) for s, e, p in others
                   if p % 12 == pitch % 12 and s < end and e > start)
    merged, reach = [], start
    for s, e in spans:
        if e > reach:
            merged.append((max(s, reach), e))
            reach = e
    return merged


def doubled_steps(start: int, end: int, pitch: int, others: Iterable[tuple[int, int, int]]) -> int:
    """Length of ``[start, end)`` in which some note of ``others`` (``(start, end, pitch)`` triples, same
    time unit) sounds ``pitch``'s pitch class (unison or any octave).  0 for an empty span."""
    return sum(e - s for s, e in doubled_spans(start, end, pitch, others))


def doubling_share(part: Sequence[Note], kept: Sequence[Sequence[Note]]) -> float:
    """Share of ``part``'s sounding time (the sum of its notes' durations, in ticks) in which a note of one
    of the ``kept`` parts sounds the same pitch class at the same time: unison or octave doubling.

    In [0, 1]; 0.0 for an empty ``part`` (or one of zero-length notes) and for no kept notes.  A part that
    plays the chord tones a kept part also plays scores high; 1.0 is a part that only doubles.
    """
    others = [(n.onset_ticks, n.offset_ticks, n.pitch) for notes in kept for n in notes]
    sounding = sum(n.duration_ticks for n in part)
    if not sounding or not others:
        return 0.0
    doubled = sum(doubled_steps(n.onset_ticks, n.offset_ticks, n.pitch, others) for n in part)
    return doubled / sounding


def above_share(part: Sequence[Note], line: Sequence[Note]) -> float:
    """Share of the notes of ``part`` that start while a note of ``line`` sounds and lie above its pitch
    (above every note of ``line`` sounding then, for a line with chords).  Notes that start while ``line``
    is silent count as not above.  In [0, 1]; 0.0 for an empty ``part``."""
    if not part:
        return 0.0
    line = sorted(line)
    onsets = [n.onset_ticks for n in line]
    longest = max((n.duration_ticks for n in line), default=0)
    above = 0
    for note in part:
        k = bisect.bisect_right(onsets, note.onset_ticks)
        sounding = [m.pitch for m in line[bisect.bisect_left(onsets, note.onset_ticks - longest):k]
                    if m.onset_ticks + m.duration_ticks > note.onset_ticks]
        above += bool(sounding) and note.pitch > max(sounding)
    return above / len(part)


def held_above_share(part: Sequence[Note], line: Sequence[Note]) -> float:
    """Share of the notes of ``part`` during which a note of ``line`` starts (after the part's note starts,
    before it ends) with a lower pitch: the part's note, held, sounds above the line's note.  The complement
    of :func:`above_share`, which reads onsets only.  In [0, 1]; 0.0 for an empty ``part``."""
    if not part:
        return 0.0
    line = sorted(line)
    onsets = [n.onset_ticks for n in line]
    held = 0
    for note in part:
        starting = line[bisect.bisect_right(onsets, note.onset_ticks):
                        bisect.bisect_left(onsets, note.onset_ticks + note.duration_ticks)]
        held += any(m.pitch < note.pitch for m in starting)
    return held / len(part)


def triplet_share(parts: Sequence[Sequence[Note]], ticks_per_beat: int) -> float:
    """Share of the distinct onset times of ``parts`` that lie on a triplet position of the beat.

    Each onset is placed at the nearest of the straight 16th positions (0, 1/4, 1/2, 3/4 of a beat) and the
    triplet positions (:data:`TRIPLET_FRACTIONS`); ties go to the straight one.  The beat is the quarter
    note, counted from tick 0.  In [0, 1]; 0.0 when there are no notes (no evidence of swing).

    Raises:
        ConfigError: ``ticks_per_beat`` below 1.
    """
    if ticks_per_beat < 1:
        raise ConfigError(f"ticks_per_beat={ticks_per_beat} must be >= 1")
    onsets = {n.onset_ticks for notes in parts for n in notes}
    if not onsets:
        return 0.0
    triplets = 0
    for onset in onsets:
        fraction = (onset % ticks_per_beat) / ticks_per_beat
        nearest = min(_GRID, key=lambda g: (abs(fraction - g), g not in (0.0, 0.25, 0.5, 0.75, 1.0)))
        triplets += nearest in TRIPLET_FRACTIONS
    return triplets / len(onsets)


def is_swung(parts: Sequence[Sequence[Note]], ticks_per_beat: int, threshold: float = SWING_SHARE) -> bool:
    """Whether ``parts`` play in a swung or triplet feel: :func:`triplet_share` at least ``threshold``.
    No notes read as straight."""
    return triplet_share(parts, ticks_per_beat) >= threshold
