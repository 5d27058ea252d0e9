"""Measures of one accompaniment track against a song's annotations and its given melody.

* :func:`key_consistency`: share of a track's note time inside the annotated key's scale
  (the counterpart of :func:`symbolic.analysis.chords.chord_tone_ratio` for keys);
* :func:`kept_note_share`: share of a given melody's notes found unchanged in an output track;
* :func:`semitone_clash_share`: share of a track's sounding time in which two of its own notes clash
  a semitone apart (a minor second, major seventh or minor ninth);
* :func:`track_metrics`: the :mod:`symbolic.evaluation.metrics` of one track alone.

Ticks are the score's own.  Every measure names its value on empty input.
"""

from __future__ import annotations

import math

from symbolic.analysis.keys import scale_pitch_classes
from symbolic.evaluation.metrics import all_metrics
from symbolic.score import Annotations, Note, Score, Track

__all__ = ["key_consistency", "kept_note_share", "semitone_clash_share", "track_metrics"]


def key_consistency(score: Score, track_index: int, annotations: Annotations | None = None) -> float | None:
    """Share (0..1) of a track's note time (duration-weighted, in ticks) inside the annotated key's scale.

    A note counts under the key span holding at its onset (``Annotations.key_at``); a minor key's
    scale includes its raised sixth and seventh (:func:`symbolic.analysis.keys.scale_pitch_classes`).
    Notes starting outside every key span do not count.  ``None`` when no note time falls under a
    key (an empty track, no key annotations), as ``chord_tone_ratio`` gives ``None``.
    """
    annotations = annotations if annotations is not None else score.annotations
    inside = total = 0
    for note in score.tracks[track_index].notes:
        key = annotations.key_at(note.onset_ticks)
        if key is None:
            continue
        total += note.duration_ticks
        inside += note.duration_ticks * (note.pitch % 12 in scale_pitch_classes(key.tonic, key.minor))
    return inside / total if total else None


def kept_note_share(given: Track, output: Track, given_ticks_per_beat: int, output_ticks_per_beat: int) -> float:
    """Share (0..1) of the notes of ``given`` (onset, duration, pitch, velocity) found in ``output``.

    ``given`` is first put on the output's tick grid (rounded); a note counts as often as it occurs
    in both (a multiset match), so 1.0 means the melody was kept note for note (``output`` may hold
    more).  NaN when ``given`` has no notes.
    """
    if not given.notes:
        return math.nan
    from collections import Counter

    scale = output_ticks_per_beat / given_ticks_per_beat
    wanted = Counter(Note(round(n.onset_ticks * scale), round(n.duration_ticks * scale), n.pitch, n.velocity)
                     for n in given.notes)
    found = Counter(output.notes)
    return sum(min(count, found[note]) for note, count in wanted.items()) / len(given.notes)


def semitone_clash_share(track: Track) -> float | None:
    """Share (0..1) of a track's sounding time (ticks in which at least one of its notes sounds) in which two
    of its sounding pitch classes lie a semitone apart (intervals of 1 or 11 semitones, any octave): the
    piano clashing with itself.  ``None`` for a track with no notes.

    Measured on POP909's test split (``docs/results/pop-accompaniment.md``): the real pianos clash in a
    few percent of their time, mostly passing notes against a held chord.
    """
    edges = sorted({t for n in track.notes for t in (n.onset_ticks, n.onset_ticks + n.duration_ticks)})
    if not edges:
        return None
    import bisect

    sounding: list[set[int]] = [set() for _ in edges]
    for note in track.notes:
        for k in range(bisect.bisect_left(edges, note.onset_ticks),
                       bisect.bisect_left(edges, note.onset_ticks + note.duration_ticks)):
            sounding[k].add(note.pitch % 12)
    total = clash = 0
    for k in range(len(edges) - 1):
        classes, length = sounding[k], edges[k + 1] - edges[k]
        if classes:
            total += length
            clash += length * any((c + 1) % 12 in classes for c in classes)
    return clash / total if total else None


def track_metrics(score: Score, track_index: int) -> dict[str, float]:
    """:func:`symbolic.evaluation.metrics.all_metrics` of one track alone, in the score's ticks and bars.

    The values on an empty track are those of a score with no notes (NaN for the ratios, 0 for counts
    and the note density).
    """
    one = Score(ticks_per_beat=score.ticks_per_beat, tracks=[score.tracks[track_index]],
                tempos=list(score.tempos), time_signatures=list(score.time_signatures))
    return all_metrics(one)
