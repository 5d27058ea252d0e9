"""Chord and key labels in Harte notation, and how much of a part sits on the annotated chords.

Harte, Sandler, Abdallah and Gomez (ISMIR 2005), "Symbolic representation of musical
chords": ``root:shorthand(degrees)/bass``, e.g. ``C:maj``, ``F#:min7``, ``Eb:min/b3``,
``A:sus4(b7)``, ``N`` for no chord.  Key labels use the same root spelling: ``Gb:maj``,
``C#:min``.
"""

from __future__ import annotations

import re

from symbolic.errors import DataError
from symbolic.score import Annotations, Score

__all__ = ["parse_root", "chord_pitch_classes", "parse_key", "chord_tone_ratio"]

_NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Semitones above the root of each scale degree (Harte's degree names).
_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 14, "11": 17, "13": 21}
_SHORTHANDS = {
    "maj": "1,3,5", "min": "1,b3,5", "dim": "1,b3,b5", "aug": "1,3,#5", "maj7": "1,3,5,7",
    "min7": "1,b3,5,b7", "7": "1,3,5,b7", "dim7": "1,b3,b5,bb7", "hdim7": "1,b3,b5,b7",
    "minmaj7": "1,b3,5,7", "maj6": "1,3,5,6", "min6": "1,b3,5,6", "9": "1,3,5,b7,9",
    "maj9": "1,3,5,7,9", "min9": "1,b3,5,b7,9", "sus2": "1,2,5", "sus4": "1,4,5",
    "11": "1,3,5,b7,9,11", "min11": "1,b3,5,b7,9,11", "13": "1,3,5,b7,9,11,13",
    "maj13": "1,3,5,7,9,11,13", "min13": "1,b3,5,b7,9,11,13",
}
_LABEL = re.compile(r"^([A-G][#b]*)(?::([a-z0-9]*)(?:\(([^)]*)\))?)?(?:/([#b]*\d+))?$")


def parse_root(text: str) -> int:
    """Pitch class (0 = C) of a note name such as ``"F#"``, ``"Bb"``, ``"Cbb"``.

    Raises:
        DataError: not a note name.
    """
    if not text or text[0] not in _NATURALS or any(c not in "#b" for c in text[1:]):
        raise DataError(f"{text!r} is not a note name (A-G followed by # or b)")
    return (_NATURALS[text[0]] + text.count("#") - text.count("b")) % 12


def _degree(text: str) -> int:
    name = text.lstrip("#b")
    if name not in _DEGREES:
        raise DataError(f"{text!r} is not a chord degree (1-7, 9, 11, 13 with # or b)")
    return _DEGREES[name] + text.count("#") - text.count("b")


def chord_pitch_classes(label: str) -> frozenset[int] | None:
    """Pitch classes of a Harte chord label (the bass included); ``None`` for ``N`` or ``X`` (no chord).

    Raises:
        DataError: a label that is not Harte notation (the message quotes it).
    """
    label = label.strip()
    if label in ("N", "X"):
        return None
    m = _LABEL.match(label)
    if not m:
        raise DataError(f"chord label {label!r} is not in Harte notation (e.g. C:maj, F#:min7, Eb:min/b3)")
    root_text, shorthand, degrees, bass = m.groups()
    root = parse_root(root_text)
    if shorthand is None or (shorthand == "" and degrees is None):
        shorthand = "maj"
    if shorthand and shorthand not in _SHORTHANDS:
        raise DataError(f"chord label {label!r}: unknown shorthand {shorthand!r}; known: {', '.join(_SHORTHANDS)}")
    intervals = {_degree(d) for d in _SHORTHANDS[shorthand].split(",")} if shorthand else set()
    for item in (degrees or "").split(","):
        item = item.strip()
        if item.startswith("*"):
            intervals.discard(_degree(item[1:]))
        elif item:
            intervals.add(_degree(item))
    if bass:
        intervals.add(_degree(bass))
    return frozenset((root + i) % 12 for i in intervals)


def parse_key(label: str) -> tuple[int, bool]:
    """``(tonic pitch class, minor)`` of a key label such as ``"Gb:maj"`` or ``"C#:min"``.

    Raises:
        DataError: a label that is not ``root:maj`` or ``root:min``.
    """
    root, _, mode = label.strip().partition(":")
    if mode not in ("maj", "min"):
        raise DataError(f"key label {label!r} is not root:maj or root:min (e.g. Gb:maj)")
    return parse_root(root), mode == "min"


def chord_tone_ratio(score: Score, track_index: int, annotations: Annotations | None = None) -> float | None:
    """Share of a track's note time (duration-weighted, in ticks) that sounds a tone of the annotated chord.

    Each note is cut at the chord boundaries; time under ``N`` or outside every chord span does
    not count.  ``None`` when no note time falls under a chord (an empty track, no annotations).
    """
    annotations = annotations if annotations is not None else score.annotations
    chords = [(c.start_ticks, c.end_ticks, chord_pitch_classes(c.label)) for c in annotations.chords]
    chords = [c for c in chords if c[2] is not None and c[1] > c[0]]
    if not chords:
        return None
    import bisect

    starts = [c[0] for c in chords]
    on = total = 0
    for note in score.tracks[track_index].notes:
        k = max(0, bisect.bisect_right(starts, note.onset_ticks) - 1)
        while k < len(chords) and chords[k][0] < note.offset_ticks:
            start, end, tones = chords[k]
            overlap = min(end, note.offset_ticks) - max(start, note.onset_ticks)
            if overlap > 0:
                total += overlap
                on += overlap if note.pitch % 12 in tones else 0
            k += 1
    return on / total if total else None
