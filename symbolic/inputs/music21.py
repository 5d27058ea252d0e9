"""Convert any music21 stream into a :class:`~symbolic.score.Score`.

Each part becomes a track with the General MIDI program of its instrument (0,
piano, when the instrument names none) and its notes and chords, ties merged.
Offsets in quarter lengths become ticks at ``ticks_per_beat`` (480 by default:
exact for 16ths, 32nds and triplets).  A pickup measure is padded so that bar
lines fall on the bar grid: the first full bar starts one bar after tick 0.
Grace notes (zero duration) and rests carry no sounding note and are skipped.
"""

from __future__ import annotations

from typing import Any

from symbolic.errors import ScoreError
from symbolic.score import KeySignature, Note, Score, TempoChange, TimeSignature, Track

__all__ = ["from_music21", "DEFAULT_VELOCITY"]

DEFAULT_VELOCITY = 80  # used where the score gives no dynamics


def from_music21(stream: Any, ticks_per_beat: int = 480) -> Score:
    """Convert a music21 ``Score``, ``Part`` or other ``Stream`` into a score.

    Args:
        stream: a ``music21.stream.Stream``; an ``Opus`` must be split first
            (``for s in opus.scores``).
        ticks_per_beat: ticks per quarter note of the result.

    Returns:
        A sorted score with one track per part.
    """
    from music21 import key, meter, stream as m21stream, tempo

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
    return score.sort()


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
