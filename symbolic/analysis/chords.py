"""Chord and key labels in Harte notation, and how much of a part sits on the annotated chords.

Harte, Sandler, Abdallah and Gomez (ISMIR 2005), "Symbolic representation of musical
chords": ``root:shorthand(degrees)/bass``, e.g. ``C:maj``, ``F#:min7``, ``Eb:min/b3``,
``A:sus4(b7)``, ``N`` for no chord.  Key labels use the same root spelling: ``Gb:maj``,
``C#:min``.
"""

from __future__ import annotations

import re

from symbolic.errors import DataError
from symbolic.score import HARTE_DEGREE_NAMES, Annotations, ChordSpan, Score

__all__ = ["parse_root", "chord_pitch_classes", "parse_key", "chord_tone_ratio", "harte_label", "parse_chord_chart",
           "read_chords",
           "chord_rows_text", "parse_chord_rows", "music_start_bar", "chord_bass"]

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


def chord_bass(label: str) -> int | None:
    """Pitch class of a Harte chord label's bass: a slash chord's bass (``"C:maj/3"`` -> 4), else its root
    (``"A:min7"`` -> 9); ``None`` for ``N`` or ``X``.

    Raises:
        DataError: a label that is not Harte notation.
    """
    if chord_pitch_classes(label) is None:
        return None
    root_text, _, rest = label.strip().partition(":")
    root = parse_root(root_text)
    _, slash, bass = rest.rpartition("/") if "/" in rest else ("", "", "")
    return (root + _degree(bass)) % 12 if slash else root


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
# Lead-sheet chord symbols: the suffix after the root, as pop, jazz and Real Book charts write it -> Harte's
# shorthand (or its degree list), after the chord-symbol conventions music21's ChordSymbol also reads.
# Parentheses are read away first ("Am(add9)" is "Amadd9", "C7(b9)" is "C7b9").
_CHART_SUFFIXES = {
    "": "maj", "M": "maj", "maj": "maj", "ma": "maj", "m": "min", "mi": "min", "min": "min", "-": "min",
    "dim": "dim", "o": "dim", "°": "dim", "aug": "aug", "+": "aug", "7": "7", "dom7": "7",
    "maj7": "maj7", "M7": "maj7", "ma7": "maj7", "Maj7": "maj7", "MA7": "maj7", "Δ": "maj7", "Δ7": "maj7",
    "m7": "min7", "mi7": "min7", "min7": "min7", "-7": "min7", "dim7": "dim7", "o7": "dim7", "°7": "dim7",
    "m7b5": "hdim7", "m7-5": "hdim7", "mi7b5": "hdim7", "-7b5": "hdim7", "ø": "hdim7", "ø7": "hdim7",
    "mmaj7": "minmaj7", "mM7": "minmaj7", "mMaj7": "minmaj7", "-maj7": "minmaj7",
    "6": "maj6", "m6": "min6", "mi6": "min6", "69": "maj6(9)", "6/9": "maj6(9)", "m69": "min6(9)",
    "9": "9", "maj9": "maj9", "M9": "maj9", "Maj9": "maj9", "m9": "min9", "mi9": "min9", "11": "11", "m11": "min11",
    "13": "13", "maj13": "maj13", "m13": "min13", "sus2": "sus2", "2": "maj(2)", "sus4": "sus4", "sus": "sus4",
    "7sus4": "sus4(b7)", "7sus": "sus4(b7)", "9sus4": "sus4(b7,9)", "9sus": "sus4(b7,9)",
    "add9": "maj(9)", "add2": "maj(2)", "add11": "maj(11)", "madd9": "min(9)", "madd11": "min(11)",
    "5": "(1,5)", "7b9": "7(b9)", "7-9": "7(b9)", "7#9": "7(#9)", "7+9": "7(#9)", "7b5": "(1,3,b5,b7)",
    "7-5": "(1,3,b5,b7)", "7#5": "(1,3,#5,b7)", "7+5": "(1,3,#5,b7)", "aug7": "(1,3,#5,b7)", "+7": "(1,3,#5,b7)",
    "7#11": "7(#11)", "maj7#11": "maj7(#11)", "M7#11": "maj7(#11)", "7b13": "7(b13)",
}
_NO_CHORD = ("N", "X", "NC", "N.C.", "N.C", "n.c.", "n.c", "nc")
_CHART_SYMBOL = re.compile(r"^([A-G][#b]?)(.*?)(?:/([A-G][#b]?))?$")


def harte_label(symbol: str) -> str:
    """The Harte label of a lead-sheet chord symbol: ``"Am7"`` -> ``"A:min7"``, ``"C/E"`` -> ``"C:maj/3"``,
    ``"Bb"`` -> ``"Bb:maj"``, ``"F#m7b5"`` -> ``"F#:hdim7"``, ``"Cmi7"`` -> ``"C:min7"``, ``"Am(add9)"`` ->
    ``"A:min(9)"``, ``"C6/9"`` -> ``"C:maj6(9)"``; ``"N"``, ``"N.C."``, ``"NC"`` (no chord) give ``"N"``.  ``♯``
    and ``♭`` count as ``#`` and ``b``.  A Harte label (``"A:min7"``) is returned as it is.

    Raises:
        DataError: neither a chord symbol nor a Harte label (the message quotes it).
    """
    text = symbol.strip().replace("♯", "#").replace("♭", "b")
    if text in _NO_CHORD:
        return "N"
    if ":" in text:
        chord_pitch_classes(text)  # raises on a bad label
        return text
    plain = text.replace("(", "").replace(")", "").replace(",", "")
    m = _CHART_SYMBOL.match(plain)
    if m and m.group(2) not in _CHART_SUFFIXES and m.group(3) is not None:  # "6/9": a suffix, not a bass
        m = re.match(r"^([A-G][#b]?)(.*)()$", plain)
    if not m or m.group(2) not in _CHART_SUFFIXES:
        raise DataError(f"{symbol!r} is not a chord symbol: write a root A-G (with # or b) and a suffix such as "
                        f"m, 7, maj7, m7, dim, aug, sus4, 6, 9, add9 (e.g. Am7, F#m, Bb, C/E), N for no chord, or "
                        f"a Harte label such as A:min7")
    root, suffix, bass = m.groups()
    label = f"{root}:{_CHART_SUFFIXES[suffix]}"
    if bass:
        label += "/" + HARTE_DEGREE_NAMES[(parse_root(bass) - parse_root(root)) % 12]
    chord_pitch_classes(label)
    return label


def _chart_bars(text: str) -> list[list[str] | None]:
    """The bars of a chart, each its symbols; ``None`` for an empty bar (the chord before goes on)."""
    if re.search(r"\|:|:\|", text):
        raise DataError("the chord chart has repeat signs (|: :|), which are not expanded: write the bars out "
                        "(% repeats the bar before)")
    bars: list[list[str] | None] = []
    for line in text.replace("\ufeff", "").splitlines():  # a line break ends a bar too
        if "|" not in line:
            bars += [[symbol] for symbol in line.split()]  # no bar lines: a symbol a bar
            continue
        segments = re.split(r"\|\|?", line.strip())  # "||" is a double bar line, not an empty bar
        if segments and not segments[0].strip():
            segments = segments[1:]
        if segments and not segments[-1].strip():
            segments = segments[:-1]
        bars += [segment.split() or None for segment in segments]
    return bars


def _beats_of(score: Score, bar_start: int) -> int:
    """Beats of the bar starting at ``bar_start``: its meter's numerator, or the dotted beats of 6/8, 9/8, 12/8."""
    held = [ts for ts in score.time_signatures if ts.time_ticks <= bar_start]
    numerator, denominator = (held[-1].numerator, held[-1].denominator) if held else (4, 4)
    return numerator // 3 if denominator == 8 and numerator % 3 == 0 and numerator > 3 else numerator


def _bar_lines(score: Score, at_least: int) -> list[int]:
    """The score's bar lines in ticks (:func:`~symbolic.analysis.beats.bar_lines_ticks`), at least ``at_least``
    of them: past the end, bars of the last meter (4/4 before the first)."""
    from symbolic.analysis.beats import bar_lines_ticks

    lines = bar_lines_ticks(score, until_ticks=score.end_ticks)
    meters = sorted(score.time_signatures, key=lambda ts: ts.time_ticks)
    step = meters[-1].bar_ticks(score.ticks_per_beat) if meters else 4 * score.ticks_per_beat
    while len(lines) < at_least or lines[-1] < score.end_ticks:
        lines.append(lines[-1] + max(1, step) if lines else 0)
    return lines


def music_start_bar(score: Score) -> int:
    """Index (0 = the file's first bar) of the bar where the music starts: the bar of the first note, or the next
    one when that note comes in the bar's second half (a pickup) or the bar is shorter than the next (a pickup
    written as a bar of its own meter); empty bars before it (a count-in) are passed over.  0 for an empty
    score.  A chord chart's bar 1 is this bar unless told otherwise: charts are written from the tune's first
    bar, not from a count-in or a pickup."""
    onsets = [n.onset_ticks for t in score.tracks if not t.is_drum for n in t.notes]
    if not onsets:
        return 0
    first = min(onsets)
    lines = _bar_lines(score, 3)
    index = max(i for i, tick in enumerate(lines) if tick <= first)
    if len(lines) < index + 3:
        lines = _bar_lines(score, index + 3)
    length = lines[index + 1] - lines[index]
    if 2 * (first - lines[index]) >= length or length < lines[index + 2] - lines[index + 1]:
        index += 1
    return index


def parse_chord_chart(text: str, score: Score, start_bar_number: int | None = None) -> list[ChordSpan]:
    """Chord spans, in ``score``'s ticks, of a chord chart: bars separated by ``|`` or a line break, the chord
    symbols of a bar sharing its beats (``"C | G | Am F | F G7 |"``: C for bar 1, A minor then F for half of
    bar 3 each; two chords in a 3/4 bar get 2 beats and 1).  ``%`` repeats the bar before; an empty bar
    (``| |``) holds the chord before; ``||`` is a double bar line; ``N`` is no chord; symbols are lead-sheet
    symbols or Harte labels (:func:`harte_label`).  A chart with no ``|`` gives each symbol a bar.

    The chart's bar 1 falls on the score's bar ``start_bar_number`` (bars numbered from 1, the file's first
    bar; ``None``: where the music starts, :func:`music_start_bar`, past a count-in or a pickup).  Repeat
    signs are not expanded: write the bars out (``%`` repeats one).  Bars follow the score's time signatures
    (4/4 before the first); a chart longer than the score goes on in its last meter.  Labels in the spans
    are Harte.

    Raises:
        DataError: an empty chart; a symbol that is not a chord (the message quotes it and its bar); ``%`` or
            an empty bar first; repeat signs; ``start_bar_number`` below 1.
    """
    bars = _chart_bars(text)
    if not bars:
        raise DataError("the chord chart is empty: give chords such as 'C | Am F | Dm7 G7 | C', or none to have "
                        "them guessed from the melody")
    labels: list[list[str]] = []
    for number, symbols in enumerate(bars, 1):
        if symbols is None or symbols == ["%"]:
            if not labels:
                raise DataError(f"the chord chart's first bar is {'%' if symbols else 'empty'}: there is no chord "
                                "before it to go on")
            labels.append(labels[-1] if symbols else labels[-1][-1:])
            continue
        try:
            labels.append([harte_label(s) for s in symbols])
        except DataError as exc:
            raise DataError(f"chord chart, bar {number}: {exc}") from None
    if start_bar_number is not None and start_bar_number < 1:
        raise DataError(f"start bar {start_bar_number}: bars are numbered from 1 (the file's first bar)")
    offset = music_start_bar(score) if start_bar_number is None else start_bar_number - 1
    lines = _bar_lines(score, offset + len(labels) + 1)
    spans = []
    for k, bar in enumerate(labels):
        start, end = lines[offset + k], lines[offset + k + 1]
        beats = _beats_of(score, start)
        if beats >= len(bar):  # whole beats a chord, the first chords longer: 2 + 1 in 3/4
            shares = [beats // len(bar) + (j < beats % len(bar)) for j in range(len(bar))]
        else:
            shares = [1] * len(bar)
        edges = [start + (end - start) * sum(shares[:j]) // sum(shares) for j in range(len(bar) + 1)]
        spans += [ChordSpan(a, b, label) for a, b, label in zip(edges, edges[1:], bar)]
    return spans


def read_chords(source: str, score: Score, start_bar_number: int | None = None) -> list[ChordSpan]:
    """Chord spans, in ``score``'s ticks, from ``source``: a chord chart (:func:`parse_chord_chart`, with
    ``start_bar_number``), or the path of a file holding one or holding POP909-style rows
    ``start_seconds end_seconds Harte_label`` (its ``chord_midi.txt``), placed in time by ``score``'s tempo map
    (``start_bar_number`` then does not apply).

    Raises:
        DataError: an unreadable file, a malformed row (naming its line), or a symbol that is not a chord.
    """
    from pathlib import Path

    path = Path(source)
    try:
        is_file = "|" not in source and "\n" not in source and path.is_file()
    except (OSError, ValueError):  # a long chart is no file name
        is_file = False
    if not is_file:
        try:
            return parse_chord_chart(source, score, start_bar_number)
        except DataError as exc:
            if len(source.split()) == 1 and re.search(r"[/\\]|\.[A-Za-z]{2,4}$", source):
                raise DataError(f"{source}: no such chord file (and not a chord chart: {exc})") from None
            raise
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a chord file ({exc})") from None
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if lines and len(lines[0][1]) == 3 and _is_number(lines[0][1][0]) and _is_number(lines[0][1][1]):
        return _chord_rows(path, lines, score)
    try:
        return parse_chord_chart(text, score, start_bar_number)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


def parse_chord_rows(where: str, lines: list[tuple[int, list[str]]]) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, label)`` of POP909-style rows (``start_seconds end_seconds label``, its
    ``chord_midi.txt``), each row checked; ``lines`` are ``(line number, fields)``, ``where`` names the file
    in errors.  A zero-length row (POP909 has some) holds no chord and is dropped.

    Raises:
        DataError: a malformed row, times that are not finite, start before 0 s, end before they start or
            overlap the row before, or a label that is not a chord, naming ``where`` and the line."""
    import math

    rows, last_end = [], 0.0
    for number, fields in lines:
        at = f"{where}, line {number}"
        if len(fields) != 3 or not (_is_number(fields[0]) and _is_number(fields[1])):
            raise DataError(f"{at}: {' '.join(fields)!r} is not a row 'start_seconds end_seconds label'")
        start, end = float(fields[0]), float(fields[1])
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
            raise DataError(f"{at}: times {fields[0]} to {fields[1]} s must be finite, from 0 s, and not end "
                            "before they start")
        if start < last_end - 1e-6:
            raise DataError(f"{at}: the chord starts at {start} s, before the last one ended ({last_end} s)")
        try:
            chord_pitch_classes(fields[2])
        except DataError as exc:
            raise DataError(f"{at}: {exc}") from None
        if end > start:
            rows.append((start, end, fields[2]))
            last_end = end
    return rows


def _chord_rows(path, lines, score: Score) -> list[ChordSpan]:
    """POP909-style rows (seconds) as chord spans; each row checked, its line named."""
    from symbolic.score import ticks_of_seconds

    rows = parse_chord_rows(str(path), lines)
    if not rows:
        return []
    ticks = ticks_of_seconds(score, [x for r in rows for x in r[:2]]).reshape(-1, 2)
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
