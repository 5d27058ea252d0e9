"""Chord and key labels in Harte notation, and how much of a part sits on the annotated chords.

Harte, Sandler, Abdallah and Gomez (ISMIR 2005), "Symbolic representation of musical
chords": ``root:shorthand(degrees)/bass``, e.g. ``C:maj``, ``F#:min7``, ``Eb:min/b3``,
``A:sus4(b7)``, ``N`` for no chord.  Key labels use the same root spelling: ``Gb:maj``,
``C#:min``.
"""

from __future__ import annotations

import re

from symbolic.errors import DataError
from symbolic.score import Annotations, ChordSpan, Score

__all__ = ["parse_root", "chord_pitch_classes", "parse_key", "chord_tone_ratio", "harte_label", "parse_chord_chart",
           "read_chords",
           "chord_rows_text"]

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


# ------------------------------------------------------------------------------------ chord charts
# Lead-sheet chord symbols: the suffix after the root, as pop and jazz charts write it -> Harte's shorthand
# (or its degree list), after the chord-symbol conventions music21's ChordSymbol also reads.
_CHART_SUFFIXES = {
    "": "maj", "M": "maj", "maj": "maj", "m": "min", "min": "min", "-": "min", "dim": "dim", "o": "dim",
    "aug": "aug", "+": "aug", "7": "7", "dom7": "7", "maj7": "maj7", "M7": "maj7", "ma7": "maj7", "m7": "min7",
    "min7": "min7", "-7": "min7", "dim7": "dim7", "o7": "dim7", "m7b5": "hdim7", "ø": "hdim7", "ø7": "hdim7",
    "mmaj7": "minmaj7", "mM7": "minmaj7", "6": "maj6", "m6": "min6", "9": "9", "maj9": "maj9", "M9": "maj9",
    "m9": "min9", "11": "11", "m11": "min11", "13": "13", "maj13": "maj13", "m13": "min13", "sus2": "sus2",
    "sus4": "sus4", "sus": "sus4", "7sus4": "sus4(b7)", "7sus": "sus4(b7)", "add9": "maj(9)", "madd9": "min(9)",
    "add2": "maj(2)", "5": "(1,5)", "7b9": "7(b9)", "7#9": "7(#9)", "7b5": "(1,3,b5,b7)", "aug7": "(1,3,#5,b7)",
    "+7": "(1,3,#5,b7)",
}
_CHART_SYMBOL = re.compile(r"^([A-G][#b]?)([^/]*)(?:/([A-G][#b]?))?$")
# Harte's name of each interval above the root (a slash chord's bass as a degree)
_INTERVAL_DEGREES = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")


def harte_label(symbol: str) -> str:
    """The Harte label of a lead-sheet chord symbol: ``"Am7"`` -> ``"A:min7"``, ``"C/E"`` -> ``"C:maj/3"``,
    ``"Bb"`` -> ``"Bb:maj"``, ``"F#m7b5"`` -> ``"F#:hdim7"``, ``"N"`` (no chord) stays ``"N"``.  A Harte label
    (``"A:min7"``) is returned as it is.

    Raises:
        DataError: neither a chord symbol nor a Harte label (the message quotes it).
    """
    text = symbol.strip()
    if text in ("N", "X", "NC", "N.C."):
        return "N"
    if ":" in text:
        chord_pitch_classes(text)  # raises on a bad label
        return text
    m = _CHART_SYMBOL.match(text)
    if not m or m.group(2) not in _CHART_SUFFIXES:
        raise DataError(f"{symbol!r} is not a chord symbol: write a root A-G (with # or b) and a suffix such as "
                        f"m, 7, maj7, m7, dim, aug, sus4, 6, 9, add9 (e.g. Am7, F#m, Bb, C/E), N for no chord, or "
                        f"a Harte label such as A:min7")
    root, suffix, bass = m.groups()
    label = f"{root}:{_CHART_SUFFIXES[suffix]}"
    if bass is not None:
        label += "/" + _INTERVAL_DEGREES[(parse_root(bass) - parse_root(root)) % 12]
    chord_pitch_classes(label)
    return label


def parse_chord_chart(text: str, score: Score) -> list[ChordSpan]:
    """Chord spans, in ``score``'s ticks, of a chord chart: bars separated by ``|``, the chord symbols of a
    bar sharing it equally (``"C | G | Am F | F G7 |"``: C for bar 1, A minor then F for half of bar 3 each).
    ``%`` repeats the bar before; ``N`` is no chord; symbols are lead-sheet symbols or Harte labels
    (:func:`harte_label`).  A chart with no ``|`` gives each symbol a bar.  Bars follow the score's time
    signatures (4/4 before the first) from tick 0; a chart longer than the score goes on in its last meter.
    Labels in the spans are Harte.  An empty chart gives no spans.

    Raises:
        DataError: a symbol that is not a chord (the message quotes it and its bar), or ``%`` in the first bar.
    """
    from symbolic.analysis.beats import bar_lines_ticks

    if "|" in text:
        bars = [segment.split() for segment in re.split(r"\|+", text) if segment.strip()]
    else:
        bars = [[symbol] for symbol in text.split()]
    if not bars:
        return []
    labels: list[list[str]] = []
    for number, symbols in enumerate(bars, 1):
        if symbols == ["%"]:
            if not labels:
                raise DataError("the chord chart's first bar is '%' (repeat the bar before): there is none")
            labels.append(labels[-1])
            continue
        try:
            labels.append([harte_label(s) for s in symbols])
        except DataError as exc:
            raise DataError(f"chord chart, bar {number}: {exc}") from None
    lines = bar_lines_ticks(score, until_ticks=score.end_ticks)
    if len(lines) < 2:
        lines = [0, score.ticks_per_beat * 4] if not lines else lines + [lines[-1] + score.ticks_per_beat * 4]
    step = lines[-1] - lines[-2]
    while len(lines) < len(labels) + 1:
        lines.append(lines[-1] + step)
    spans = []
    for (start, end), bar in zip(zip(lines, lines[1:]), labels):
        for k, label in enumerate(bar):
            spans.append(ChordSpan(start + (end - start) * k // len(bar), start + (end - start) * (k + 1) // len(bar),
                                   label))
    return spans


def read_chords(source: str, score: Score) -> list[ChordSpan]:
    """Chord spans, in ``score``'s ticks, from ``source``: a chord chart (:func:`parse_chord_chart`), or the path
    of a file holding one or holding POP909-style rows ``start_seconds end_seconds Harte_label`` (its
    ``chord_midi.txt``), placed in time by ``score``'s tempo map.

    Raises:
        DataError: an unreadable file, a malformed row, or a symbol that is not a chord.
    """
    from pathlib import Path

    from symbolic.score import ticks_of_seconds

    path = Path(source)
    if not (len(source) < 4096 and "\n" not in source and path.is_file()):
        return parse_chord_chart(source, score)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a chord file ({exc})") from None
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows or not all(len(r) == 3 and _is_number(r[0]) and _is_number(r[1]) for r in rows):
        try:
            return parse_chord_chart(text, score)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
    for r in rows:
        try:
            chord_pitch_classes(r[2])
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
    ticks = ticks_of_seconds(score, [float(x) for r in rows for x in r[:2]]).reshape(-1, 2)
    return [ChordSpan(int(a), int(b), r[2]) for (a, b), r in zip(ticks, rows) if b > a]


def chord_rows_text(score: Score) -> str:
    """``score``'s chord spans as POP909 ``chord_midi.txt`` rows (``start_s end_s Harte_label``, seconds by its
    tempo map, to the microsecond), which :func:`read_chords` reads back; ``""`` when it has none."""
    from symbolic.score import seconds_of_ticks

    spans = score.annotations.chords
    if not spans:
        return ""
    seconds = seconds_of_ticks(score, [t for s in spans for t in (s.start_ticks, s.end_ticks)])
    return "".join(f"{seconds[2 * i]:.6f} {seconds[2 * i + 1]:.6f} {s.label}\n" for i, s in enumerate(spans))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
