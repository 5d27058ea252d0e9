"""What the server reads from an upload before any work: the score, its limits, a description for the page."""

from __future__ import annotations

from typing import Any

from symbolic.errors import ScoreError
from symbolic.score import Score
from symbolic.serve.config import ServeConfig

__all__ = ["read_upload", "describe_score", "parse_upload", "upload_midi_bytes", "MUSICXML_TEXT_FACTOR"]

# An .mxl upload may unpack to at most this many times the upload limit of MusicXML text (music21 reads
# about 0.3 MB a CPU second: 8 MB, the default, in about half a minute).
MUSICXML_TEXT_FACTOR = 4


def parse_upload(data: bytes, what: str, max_musicxml_bytes: int = MUSICXML_TEXT_FACTOR * ServeConfig.max_upload_bytes) -> Score:
    """The score of uploaded bytes: MusicXML (plain or ``.mxl``, at most ``max_musicxml_bytes`` of text)
    when the content is MusicXML, else MIDI.

    Raises:
        MidiError: neither MusicXML nor a readable MIDI file (the MIDI reader's message, naming ``what``).
        ScoreError: MusicXML that music21 cannot read (its message).
    """
    from symbolic.inputs.music21 import parse_score_bytes

    return parse_score_bytes(data, what, max_musicxml_bytes)


def upload_midi_bytes(data: bytes, score: Score) -> bytes:
    """The MIDI file a job works on: the upload itself when it is MIDI, else ``score`` written as MIDI."""
    from symbolic.outputs.midi import midi_bytes

    return data if data[:4] == b"MThd" else midi_bytes(score)


def read_upload(data: bytes, what: str, config: ServeConfig) -> Score:
    """The score of an uploaded MIDI or MusicXML file (:func:`parse_upload`), checked against the server's limits.

    The content decides, never the file name: bytes that are neither get the MIDI reader's own message.

    Raises:
        MidiError: not a MIDI file, or a corrupt one (the reader's message, naming ``what``).
        ScoreError: unreadable MusicXML, or over a limit (notes, seconds, bars), naming the limit and the file's value.
    """
    from symbolic.analysis.beats import count_bars
    from symbolic.jobs.arrange import check_playable

    score = parse_upload(data, what, MUSICXML_TEXT_FACTOR * config.max_upload_bytes)
    check_playable(score, what)
    if score.n_notes > config.max_notes:
        raise ScoreError(f"{what} has {score.n_notes} notes; this server takes at most {config.max_notes}")
    seconds = score.duration_seconds
    if seconds > config.max_seconds:
        raise ScoreError(f"{what} lasts {seconds:.0f} s; this server takes at most {config.max_seconds:.0f} s")
    bars = count_bars(score)
    if bars > config.max_bars:
        raise ScoreError(f"{what} has {bars} bars; this server takes at most {config.max_bars}")
    return score


def describe_score(score: Score) -> dict[str, Any]:
    """What was read, for a person: tracks (instrument, notes, role), the melody track, length, meter, tempo."""
    from symbolic.analysis.beats import count_bars
    from symbolic.analysis.roles import analyze_tracks, program_family

    roles = analyze_tracks(score)
    meter = score.time_signatures[0] if score.time_signatures else None
    tempo = score.tempos[0].qpm if score.tempos else 120.0
    return {
        "tracks": [{"index": i, "name": t.name, "program": t.program, "is_drum": t.is_drum,
                    "instrument": "drums" if t.is_drum else program_family(t.program),
                    "notes": len(t.notes), "role": roles.tracks[i].role}
                   for i, t in enumerate(score.tracks)],
        "melody_track": roles.melody_track,
        "notes": score.n_notes,
        "seconds": round(score.duration_seconds, 2),
        "bars": count_bars(score),
        "meter": f"{meter.numerator}/{meter.denominator}" if meter else "4/4",
        "tempo_qpm": round(tempo, 1),
    }
