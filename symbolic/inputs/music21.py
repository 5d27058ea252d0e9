"""Convert any music21 stream into a :class:`~symbolic.score.Score`.

Each part becomes a track with the General MIDI program of its instrument (0,
piano, when the instrument names none) and its notes and chords, ties merged.
Offsets in quarter lengths become ticks at ``ticks_per_beat`` (480 by default:
exact for 16ths, 32nds and triplets).  A pickup measure is padded so that bar
lines fall on the bar grid: the first full bar starts one bar after tick 0.
Grace notes (zero duration) and rests carry no sounding note and are skipped.

:func:`parse_musicxml_bytes` reads MusicXML (``.musicxml``/``.xml``, or compressed ``.mxl``) through
music21; :func:`is_musicxml_bytes` tells it from other bytes by the content, not a file name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from symbolic.errors import ScoreError
from symbolic.score import (HARTE_DEGREE_NAMES, HARTE_ROOT_NAMES, ChordSpan, KeySignature, Note, Score, TempoChange,
                            TimeSignature, Track)

__all__ = ["read_score", "parse_score_bytes", "from_music21", "parse_musicxml_bytes", "is_musicxml_bytes", "DEFAULT_VELOCITY", "MAX_MUSICXML_BYTES"]

DEFAULT_VELOCITY = 80  # used where the score gives no dynamics
MAX_MUSICXML_BYTES = 64 * 1024 * 1024  # largest MusicXML text read (after unzipping an .mxl)
_MUSICXML_ROOTS = (b"<score-partwise", b"<score-timewise")
_ZIP_MAGIC = b"PK\x03\x04"


def is_musicxml_bytes(data: bytes) -> bool:
    """Whether ``data`` looks like MusicXML: an XML text whose root is ``score-partwise`` or
    ``score-timewise`` (within its first 4 KiB), or a zip archive (``.mxl``) with ``META-INF/container.xml``."""
    if data[:4] == _ZIP_MAGIC:
        import io
        import zipfile

        try:
            return "META-INF/container.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and any(root in head for root in _MUSICXML_ROOTS)


def _mxl_root_text(data: bytes, source: str, max_text_bytes: int) -> bytes:
    """The MusicXML text inside an ``.mxl`` archive (the root file its container names), size-checked."""
    import io
    import re
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        container = archive.read("META-INF/container.xml")
        match = re.search(rb'full-path="([^"]+)"', container)
        name = match.group(1).decode("utf-8") if match else None
        info = archive.getinfo(name) if name else None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ScoreError(f"{source}: a broken compressed MusicXML (.mxl) archive ({exc}); export it again, "
                         "uncompressed (.musicxml) or as MIDI") from None
    if info is None:
        raise ScoreError(f"{source}: the .mxl archive names no score file; export it again as .musicxml or MIDI")
    if info.file_size > max_text_bytes:
        raise ScoreError(f"{source}: the .mxl archive unpacks to {info.file_size} bytes of MusicXML, over the "
                         f"{max_text_bytes}-byte limit; send a shorter piece or a MIDI file")
    with archive.open(info) as root:
        return root.read(max_text_bytes + 1)  # the archive's own size field may lie: the check below reads


def parse_musicxml_bytes(data: bytes, source: str = "<bytes>", max_text_bytes: int = MAX_MUSICXML_BYTES) -> Score:
    """The score of MusicXML bytes (plain or ``.mxl``), read by music21 and converted by :func:`from_music21`.

    ``max_text_bytes`` bounds the MusicXML text (after unzipping an ``.mxl``): music21 reads about
    0.3 MB of it per CPU second (measured: 1.4 MB, a Beethoven quartet movement, in 5.2 s).

    Raises:
        ScoreError: the bytes are not MusicXML, the text is over ``max_text_bytes``, or music21 cannot
            read them (its message, naming ``source``).
    """
    if not is_musicxml_bytes(data):
        raise ScoreError(f"{source}: not a MusicXML file (no score-partwise or score-timewise root); "
                         "give a .musicxml, .xml or .mxl file")
    text = _mxl_root_text(data, source, max_text_bytes) if data[:4] == _ZIP_MAGIC else data
    if len(text) > max_text_bytes:
        raise ScoreError(f"{source}: MusicXML of more than {max_text_bytes} bytes, over the limit; send a shorter "
                         "piece or a MIDI file")
    from music21 import converter, stream as m21stream

    try:
        parsed = converter.parse(text, format="musicxml")
    except Exception as exc:  # music21 raises many kinds (its own, XML parse errors, attribute errors)
        raise ScoreError(f"{source}: music21 cannot read this MusicXML ({type(exc).__name__}: {exc}); "
                         "export it again from your notation program, or as MIDI") from None
    if isinstance(parsed, m21stream.Opus):
        if not parsed.scores:
            raise ScoreError(f"{source}: the MusicXML holds no score")
        parsed = parsed.scores[0]
    return from_music21(parsed)


def read_score(path: str | os.PathLike[str]) -> Score:
    """Read a MIDI file or a MusicXML file (plain or ``.mxl``; a lead sheet's chord symbols become
    ``score.annotations.chords``) into a score.  The content decides, never the file name.

    Raises:
        MidiError: neither MusicXML nor a readable MIDI file (the MIDI reader's message, naming the file).
        ScoreError: MusicXML that music21 cannot read, or over :data:`MAX_MUSICXML_BYTES`.
    """
    from symbolic.inputs.midi import MAX_MIDI_BYTES, read_midi

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_MIDI_BYTES:  # over both bounds: refused before it is read
            with path.open("rb") as handle:
                plain_musicxml = is_musicxml_bytes(handle.read(4096))
            if not plain_musicxml:
                return read_midi(path)  # its message: over the MIDI bound
            raise ScoreError(f"{path}: MusicXML of {size} bytes, over the {MAX_MUSICXML_BYTES}-byte limit; send a "
                             "shorter piece or a MIDI file")
        data = path.read_bytes()
    except OSError:
        return read_midi(path)  # its message names the file and the reason
    return parse_score_bytes(data, str(path))


def parse_score_bytes(data: bytes, source: str = "<bytes>", max_text_bytes: int = MAX_MUSICXML_BYTES) -> Score:
    """The score of a file's bytes: MusicXML (plain or ``.mxl``, at most ``max_text_bytes`` of text,
    :func:`parse_musicxml_bytes`) when the content is MusicXML, else MIDI
    (:func:`~symbolic.inputs.midi.parse_midi_bytes`); ``source`` names it in messages.

    Raises:
        MidiError: neither MusicXML nor a readable MIDI file (the MIDI reader's message).
        ScoreError: MusicXML that music21 cannot read, or over ``max_text_bytes``.
    """
    from symbolic.inputs.midi import parse_midi_bytes

    if is_musicxml_bytes(data):
        return parse_musicxml_bytes(data, source=source, max_text_bytes=max_text_bytes)
    return parse_midi_bytes(data, source=source)


def from_music21(stream: Any, ticks_per_beat: int = 480) -> Score:
    """Convert a music21 ``Score``, ``Part`` or other ``Stream`` into a score.

    Args:
        stream: a ``music21.stream.Stream``; an ``Opus`` must be split first
            (``for s in opus.scores``).
        ticks_per_beat: ticks per quarter note of the result.

    Returns:
        A sorted score with one track per part.
    """
    from music21 import harmony, key, meter, stream as m21stream, tempo

    if not isinstance(stream, m21stream.Stream):
        raise ScoreError(f"from_music21 needs a music21 Stream, got {type(stream).__name__}")
    if isinstance(stream, m21stream.Opus):
        raise ScoreError("an Opus holds several scores; convert each one: [from_music21(s) for s in opus.scores]")
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    shift_ql = _pickup_padding(parts[0])
    score = Score(ticks_per_beat=ticks_per_beat)

    def ticks(offset_ql: float) -> int:
        return int(round((float(offset_ql) + shift_ql) * ticks_per_beat))

    for part in parts:
        flat = part.flatten().stripTies()
        track = _track_for(part)
        for element in flat.notes:
            if isinstance(element, harmony.ChordSymbol):
                continue  # a lead sheet's chord symbol: an annotation (_chord_spans), not notes played
            duration = ticks(element.offset + element.duration.quarterLength) - ticks(element.offset)
            if duration <= 0:
                continue  # grace note
            velocity = element.volume.velocity if element.volume.velocity else DEFAULT_VELOCITY
            velocity = max(1, min(127, int(velocity)))
            for pitch in _midi_pitches(element):
                if 0 <= pitch <= 127:
                    track.notes.append(Note(ticks(element.offset), duration, pitch, velocity))
        score.tracks.append(track)

    first = parts[0].flatten()
    seen: set[tuple] = set()  # entries differ in shape per map, so one set serves all three
    for ts in first.getElementsByClass(meter.TimeSignature):
        entry = (ticks(ts.offset) if ts.offset else 0, ts.numerator, ts.denominator)
        if entry not in seen and ts.denominator in (1, 2, 4, 8, 16, 32, 64):
            seen.add(entry)
            score.time_signatures.append(TimeSignature(*entry))
    for ks in first.getElementsByClass(key.KeySignature):
        entry = (ticks(ks.offset) if ks.offset else 0, int(ks.sharps), getattr(ks, "mode", None) == "minor")
        if entry not in seen and -7 <= entry[1] <= 7:
            seen.add(entry)
            score.key_signatures.append(KeySignature(*entry))
    flat_all = stream.flatten()
    for mark in flat_all.getElementsByClass(tempo.MetronomeMark):
        if mark.number is None:
            continue
        qpm = mark.getQuarterBPM()
        if qpm and qpm > 0:
            entry = (ticks(mark.offset) if mark.offset else 0, int(round(60_000_000 / qpm)))
            if entry not in seen:
                seen.add(entry)
                score.tempos.append(TempoChange(*entry))
    score.annotations.chords = _chord_spans(flat_all, ticks, score.end_ticks)
    return score.sort()


def _chord_spans(flat: Any, ticks, end_ticks: int) -> list[ChordSpan]:
    """A lead sheet's chord symbols as chord spans, each lasting to the next symbol (the last to the end);
    ``N`` where the sheet says no chord (N.C.)."""
    from music21 import harmony

    starts: dict[int, str] = {}
    for symbol in flat.getElementsByClass(harmony.ChordSymbol):
        root = symbol.root() if not isinstance(symbol, harmony.NoChord) else None
        intervals = sorted({(p.pitchClass - root.pitchClass) % 12 for p in symbol.pitches}) if root else []
        # Harte's degree-list form, e.g. C7 -> "C:(1,3,5,b7)": the chord's tones above its root
        starts[ticks(symbol.offset)] = (f"{HARTE_ROOT_NAMES[root.pitchClass]}:(" + ",".join(
            HARTE_DEGREE_NAMES[i] for i in intervals) + ")") if intervals and intervals[0] == 0 else "N"
    times = sorted(starts)
    return [ChordSpan(start, end, starts[start]) for start, end in zip(times, times[1:] + [max(end_ticks, 0)])
            if end > start]


def _pickup_padding(part: Any) -> float:
    """Quarter lengths missing from a pickup first measure (0 when there is none)."""
    measures = part.getElementsByClass("Measure")
    if not measures:
        return 0.0
    first = measures[0]
    padding = float(first.paddingLeft or 0.0)
    if padding <= 0 and first.number == 0 and first.timeSignature is not None:
        padding = float(first.timeSignature.barDuration.quarterLength) - float(first.duration.quarterLength)
    return max(0.0, padding)


def _track_for(part: Any) -> Track:
    from music21 import instrument

    inst = part.getInstrument(returnDefault=True)
    is_drum = isinstance(inst, instrument.UnpitchedPercussion) or getattr(inst, "midiChannel", None) == 9
    program = inst.midiProgram if inst.midiProgram is not None else 0
    name = part.partName or inst.partName or inst.instrumentName or ""
    return Track(program=int(program) % 128, is_drum=bool(is_drum), name=str(name).strip())


def _midi_pitches(element: Any) -> list[int]:
    if element.isChord:
        return [p.midi for p in element.pitches]
    if hasattr(element, "pitch"):
        return [element.pitch.midi]
    stored = getattr(element, "storedInstrument", None)  # unpitched percussion
    return [int(getattr(stored, "percMapPitch", None) or 38)]
