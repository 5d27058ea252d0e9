"""Track roles: which track of a score is the melody, the counter-melody, the bass, the harmony, the drums.

:func:`analyze_tracks` reads every signal a musician would: the track name (in the languages MIDI files
use), the General MIDI program family, the register against the other tracks, how often the track sounds
several notes at once, how much of the song it plays, its phrases and rests, and how its line moves (steps
against leaps and repeated notes).  Each signal adds to or takes from a track's melody score, and each
contribution that matters is kept as a reason.  When no track is a melody (a one-track piano arrangement,
a string quartet of chords) :attr:`TrackAnalysis.melody_track` is None and
:attr:`TrackAnalysis.extraction_track` names the polyphonic track to take the melody out of with
:func:`symbolic.analysis.melody.extract_melody`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from symbolic.errors import ConfigError
from symbolic.score import Score, Track, tempo_segments

__all__ = [
    "ROLES",
    "RoleConfig",
    "TrackStats",
    "TrackRole",
    "TrackAnalysis",
    "track_stats",
    "name_hints",
    "program_family",
    "analyze_tracks",
]

ROLES = ("melody", "counter-melody", "bass", "harmony", "drums", "empty")

# Words of track names, lower case; a name token matches when it starts with the word (Latin scripts) or
# contains it (other scripts).  Sources: track names of public pop MIDI files and the GM program names.
MELODY_WORDS = (
    "melod", "mélod", "vocal", "vox", "voice", "voix", "voz", "gesang", "stimme", "canto", "cantante", "chant",
    "lead", "solo", "singer", "sänger", "theme", "thema", "tema", "tune", "main", "lyric", "sing",
    "sopran",  # the top voice of a choir or chorale carries its tune
    "主旋律", "旋律", "人声", "歌", "メロ", "ボーカル", "보컬", "멜로디", "мелод", "вокал", "голос",
)
COUNTER_WORDS = ("counter", "bridge", "second", "2nd", "harmony vocal", "backing", "back", "bg", "bgv",
                 "obbligato", "descant", "fill", "answer", "response", "double", "dbl", "chorus vocal")
BASS_WORDS = ("bass", "bajo", "basso", "basse", "contrabass", "低音", "ベース", "베이스", "бас")
DRUM_WORDS = ("drum", "perc", "kick", "snare", "hat", "hihat", "cymbal", "batería", "bateria", "schlagzeug",
              "batterie", "tom", "conga", "bongo", "shaker", "tamb", "clap", "鼓", "ドラム", "드럼", "удар")
HARMONY_WORDS = ("pad", "string", "str", "chord", "comp", "rhythm", "rhy", "arp", "accomp", "acomp",
                 "begleit", "strum", "backing", "fx", "sfx", "click", "metronome", "和弦", "伴奏")
# Instruments that often accompany but may carry the tune (a piano's right hand, a lead guitar): a weak hint.
INSTRUMENT_WORDS = ("organ", "piano", "keys", "guitar", "gtr", "synth", "brass", "klavier", "pian", "chitarra")
_NON_LATIN = re.compile(r"[^\u0000-\u024f]")
_TOKEN = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)

_FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed",
             "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "sound effects")
# Melody score of a program family; voices (choir aahs, voice oohs, synth voice: 52-54) get their own.
_FAMILY_MELODY = {"piano": 0.0, "chromatic percussion": -0.5, "organ": -0.3, "guitar": -0.3, "bass": -3.0,
                  "strings": 0.3, "ensemble": -0.8, "brass": 0.5, "reed": 1.0, "pipe": 1.0, "synth lead": 1.5,
                  "synth pad": -1.5, "synth effects": -1.5, "ethnic": 0.3, "percussive": -3.0,
                  "sound effects": -3.0}
_VOICE_PROGRAMS = (52, 53, 54)


def program_family(program: int) -> str:
    """General MIDI family of a program 0..127 (``"piano"``, ``"bass"``, ``"synth lead"``...; 16 families)."""
    return _FAMILIES[program // 8]


def name_hints(name: str) -> set[str]:
    """Roles a track name points to: a subset of ``{"melody", "counter-melody", "bass", "drums", "harmony",
    "instrument"}`` (``"instrument"``: an instrument that usually accompanies, a weak hint against melody).

    Matching is on the lower-case words of the name (``"Lead Vocal"`` -> ``{"melody"}``, ``"Guitar chords"``
    -> ``{"harmony", "instrument"}``, ``"Track 3"`` -> empty).  Empty names give an empty set.
    """
    text = name.lower().strip()
    tokens = _TOKEN.findall(text)
    hints: set[str] = set()
    for role, words in (("melody", MELODY_WORDS), ("counter-melody", COUNTER_WORDS), ("bass", BASS_WORDS),
                        ("drums", DRUM_WORDS), ("harmony", HARMONY_WORDS), ("instrument", INSTRUMENT_WORDS)):
        for word in words:
            if " " in word or _NON_LATIN.search(word):
                hit = word in text
            else:
                hit = any(token.startswith(word) for token in tokens)
            if hit:
                hints.add(role)
                break
    if "bass" in hints and "drums" in hints and re.search(r"bass\s*drum|kick", text):
        hints.discard("bass")  # "Bass Drum" is a drum
    return hints


class TrackStats(NamedTuple):
    """What :func:`analyze_tracks` measures of one track (all 0 for a track without notes).

    ``median_pitch`` (MIDI), ``low_pitch``/``high_pitch`` (5th/95th percentile), ``polyphony`` (share of notes that
    start while another note of the track sounds on for more than a 32nd note, 0..1), ``coverage`` (share of
    the song's beats in which the track sounds, 0..1), ``notes_per_beat`` (over the beats it sounds in),
    ``step_share``/``leap_share``/``repeat_share`` (share of moves of the track's top line by 1-2 semitones, by 5 or more, by 0),
    ``rests_per_bar`` (silences of a beat or more, per 4 beats of the song from the track's first to last note).
    """

    n_notes: int
    median_pitch: float
    low_pitch: float
    high_pitch: float
    polyphony: float
    coverage: float
    notes_per_beat: float
    step_share: float
    leap_share: float
    repeat_share: float
    rests_per_bar: float


# A note overlapping the next one by less than this is legato playing, not two voices: a 32nd note at 120 qpm.
LEGATO_SECONDS = 0.0625


def legato_ticks(score: Score) -> int:
    """The legato tolerance of :func:`track_stats` in ``score``'s ticks: a 32nd note, but no longer than
    :data:`LEGATO_SECONDS` at the score's median tempo (tick-weighted), so a slow tempo map (a quantized
    performance's beats) does not turn a piano's overlaps into legato."""
    tpb = score.ticks_per_beat
    start_ticks, _, per_tick = tempo_segments(score)
    lengths = np.diff(np.append(start_ticks, max(float(score.end_ticks), start_ticks[-1] + 1)))
    order = np.argsort(per_tick)
    cumulative = np.cumsum(lengths[order])
    median_seconds_per_beat = per_tick[order][int(np.searchsorted(cumulative, cumulative[-1] / 2))] * tpb
    return max(1, min(tpb // 8, int(round(LEGATO_SECONDS / median_seconds_per_beat * tpb))))


def track_stats(track: Track, ticks_per_beat: int, song_end_ticks: int, legato: int | None = None) -> TrackStats:
    """Measure one track (see :class:`TrackStats`); ``song_end_ticks`` is the score's end, for coverage;
    ``legato``: overlaps shorter than this many ticks are legato, not two voices (``None``: a 32nd note;
    :func:`analyze_tracks` passes :func:`legato_ticks`)."""
    if not track.notes:
        return TrackStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    arr = np.asarray(sorted(track.notes), dtype=np.int64)
    onsets, offsets, pitches = arr[:, 0], arr[:, 0] + np.maximum(arr[:, 1], 1), arr[:, 2]
    reach = np.maximum.accumulate(offsets)
    if legato is None:
        legato = ticks_per_beat // 8
    polyphony = float(np.mean(onsets[1:] + legato < reach[:-1])) if len(arr) > 1 else 0.0
    n_beats = max(1, -(-song_end_ticks // ticks_per_beat))
    sounding = np.zeros(n_beats + 1, dtype=np.int64)
    first = onsets // ticks_per_beat
    last = np.maximum(first, (offsets - 1) // ticks_per_beat)
    np.add.at(sounding, np.minimum(first, n_beats), 1)
    np.add.at(sounding, np.minimum(last + 1, n_beats), -1)
    active_beats = int(np.count_nonzero(np.cumsum(sounding)[:n_beats]))
    # The track's top line: the highest note of each onset.
    times, starts = np.unique(onsets, return_index=True)
    top = np.maximum.reduceat(pitches, starts)
    moves = np.abs(np.diff(top))
    share = (lambda mask: float(np.mean(mask)) if len(moves) else 0.0)  # noqa: E731
    gaps = onsets[1:] - reach[:-1]
    span_beats = max(1.0, (reach[-1] - onsets[0]) / ticks_per_beat)
    return TrackStats(
        n_notes=len(arr), median_pitch=float(np.median(pitches)), low_pitch=float(np.percentile(pitches, 5)),
        high_pitch=float(np.percentile(pitches, 95)), polyphony=polyphony, coverage=active_beats / n_beats,
        notes_per_beat=len(arr) / max(active_beats, 1), step_share=share((moves >= 1) & (moves <= 2)),
        leap_share=share(moves >= 5), repeat_share=share(moves == 0),
        rests_per_bar=float(np.count_nonzero(gaps >= ticks_per_beat)) * 4.0 / span_beats,
    )


@dataclass(frozen=True)
class RoleConfig:
    """Thresholds of :func:`analyze_tracks`.

    ``min_melody_score``: below it no track is called the melody.  ``max_melody_polyphony``: a track that sounds
    several notes at once more often than this is not a melody line (its melody is extracted instead).
    ``bass_median_pitch``: a mostly single-line track whose median pitch lies at or below it (MIDI; 50 = D3)
    is a bass; a chordal track whose median and whose 95th-percentile pitch less an octave both lie at or below
    it carries no melody to extract.  ``counter_min_score``: a single-line track other than the melody with at
    least this melody score is a counter-melody.  ``temperature``: softmax temperature turning melody scores into
    confidences.
    """

    min_melody_score: float = 0.5
    max_melody_polyphony: float = 0.35
    bass_median_pitch: float = 50.0
    counter_min_score: float = 0.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_melody_polyphony <= 1.0:
            raise ConfigError(f"max_melody_polyphony must lie in 0..1, got {self.max_melody_polyphony}")
        if not 0 <= self.bass_median_pitch <= 127:
            raise ConfigError(f"bass_median_pitch must be a MIDI pitch 0..127, got {self.bass_median_pitch}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}")


@dataclass(frozen=True)
class TrackRole:
    """One track's role: ``index`` in ``score.tracks``, its ``name``, ``role`` (one of :data:`ROLES`),
    ``confidence`` 0..1, the ``reasons`` (short phrases) and ``melody_score`` (the summed evidence for melody)."""

    index: int
    name: str
    role: str
    confidence: float
    reasons: tuple[str, ...]
    melody_score: float


@dataclass(frozen=True)
class TrackAnalysis:
    """Roles of every track, in track order.

    ``melody_track``: index of the melody track, or None when no track is a melody line.
    ``extraction_track``: when ``melody_track`` is None, the polyphonic track whose top voice carries the melody
    (take it out with :func:`~symbolic.analysis.melody.extract_melody`); else None.
    """

    tracks: tuple[TrackRole, ...]
    melody_track: int | None
    extraction_track: int | None

    def of_role(self, role: str) -> list[int]:
        """Indices of the tracks with ``role``."""
        return [t.index for t in self.tracks if t.role == role]

    def describe(self) -> str:
        """A few lines a person reads: one per track, then what to do about the melody."""
        lines = []
        for t in self.tracks:
            label = f"{t.index}: {t.name!r}" if t.name else f"{t.index}: (no name)"
            lines.append(f"{label:28s} {t.role:15s} {t.confidence:.2f}  " + "; ".join(t.reasons))
        if self.melody_track is not None:
            lines.append(f"melody: track {self.melody_track}")
        elif self.extraction_track is not None:
            lines.append(f"melody: no track is a melody line; extract it from track {self.extraction_track} "
                         "(the melody extractor's line)")
        elif any(t.role not in ("drums", "empty") for t in self.tracks):
            lines.append("melody: none found (no pitched track reads as a melody line, and none plays chords to "
                         "extract one from)")
        else:
            lines.append("melody: none (no pitched notes)")
        return "\n".join(lines)


def _melody_evidence(track: Track, stats: TrackStats, register_rank: float, relative_notes: float,
                     hints: set[str], config: RoleConfig) -> list[tuple[float, str]]:
    """(score, reason) contributions to a pitched track's melody score."""
    out: list[tuple[float, str]] = []
    if "melody" in hints and "counter-melody" in hints:
        out.append((1.0, f"name {track.name!r} says a second (backing) line"))
    elif "melody" in hints:
        out.append((4.0, f"name {track.name!r} says melody"))
    for role in ("bass", "drums", "harmony"):
        if role in hints and "melody" not in hints:
            out.append((-3.0, f"name {track.name!r} says {role}"))
    if hints == {"instrument"}:
        out.append((-1.0, f"name {track.name!r} is an instrument that often accompanies"))
    if "counter-melody" in hints and "melody" not in hints:
        out.append((-1.5, f"name {track.name!r} says a second line"))
    family = program_family(track.program)
    value = 1.5 if track.program in _VOICE_PROGRAMS else _FAMILY_MELODY[family]
    if value:
        what = "a voice" if track.program in _VOICE_PROGRAMS else family
        out.append((value, f"program {track.program} ({what})"))
    if stats.polyphony > config.max_melody_polyphony:
        out.append((-3.0 * stats.polyphony - 1.0, f"plays chords ({stats.polyphony:.0%} of notes over others)"))
    else:
        out.append((1.0 - 2.0 * stats.polyphony, f"single line ({stats.polyphony:.0%} of notes over others)"))
    if 57 <= stats.median_pitch <= 84:
        out.append((1.0, f"sings in the melody register (median MIDI {stats.median_pitch:.0f})"))
    elif stats.median_pitch < 52:
        out.append((-min(3.0, (52 - stats.median_pitch) / 4 + 1), f"low (median MIDI {stats.median_pitch:.0f})"))
    elif stats.median_pitch > 90:
        out.append((-1.0, f"very high (median MIDI {stats.median_pitch:.0f})"))
    out.append((register_rank - 0.5, f"register rank {register_rank:.2f} among the pitched tracks"))
    out.append((2.0 * relative_notes - 1.0, f"plays {relative_notes:.0%} as much as the fullest single line "
                                            "(notes and time)" if relative_notes
                else "no single line above the bass to compare its notes with"))
    # a sung line moves mostly by step or repeats a pitch (syllables); bass and chord tops leap
    conjunct = stats.step_share + stats.repeat_share
    motion = 3.0 * (min(conjunct, 0.8) - 0.5) - 2.0 * max(0.0, stats.repeat_share - 0.45) \
        - 2.0 * max(0.0, stats.leap_share - 0.3)
    out.append((motion, f"line moves {stats.step_share:.0%} by step, {stats.leap_share:.0%} by leap, "
                        f"{stats.repeat_share:.0%} repeats"))
    if stats.coverage < 0.1:
        out.append((-2.0, f"plays only {stats.coverage:.0%} of the song"))
    elif stats.coverage < 0.25:
        out.append((-0.5, f"plays {stats.coverage:.0%} of the song"))
    if stats.rests_per_bar < 0.01 and stats.n_notes > 64:
        out.append((-0.5, "never rests (a singer breathes)"))
    if stats.notes_per_beat > 6:
        out.append((-1.0, f"dense ({stats.notes_per_beat:.1f} notes a beat)"))
    return out


_STEEL_DRUMS = 114  # the one tuned instrument of the percussive family


def _is_drum(track: Track, hints: set[str]) -> bool:
    """Channel 10, a percussive program (agogo, woodblock, taiko, toms...), or a drum name on a sound effect."""
    family = program_family(track.program)
    return track.is_drum or (family == "percussive" and track.program != _STEEL_DRUMS) or (
        "drums" in hints and family == "sound effects")


def analyze_tracks(score: Score, config: RoleConfig | None = None) -> TrackAnalysis:
    """Each track's role, confidence and reasons (see the module docstring for the signals).

    Tracks without notes get role ``"empty"``; a score without pitched notes has no melody and no
    extraction track.  Deterministic; no model weights.
    """
    config = config or RoleConfig()
    end = score.end_ticks
    tpb = score.ticks_per_beat
    hints = [name_hints(t.name) for t in score.tracks]
    legato = legato_ticks(score)
    stats = [track_stats(t, tpb, end, legato) for t in score.tracks]
    pitched = [i for i, t in enumerate(score.tracks) if t.notes and not _is_drum(t, hints[i])]
    by_register = sorted(pitched, key=lambda i: stats[i].median_pitch)
    rank = {i: (by_register.index(i) / (len(pitched) - 1) if len(pitched) > 1 else 1.0) for i in pitched}
    # the fullest single line above the bass register: a sung melody has more notes than fills and solos
    lines = [i for i in pitched if stats[i].polyphony <= config.max_melody_polyphony
             and stats[i].median_pitch > config.bass_median_pitch]
    most_notes = max((stats[i].n_notes for i in lines), default=0)
    most_coverage = max((stats[i].coverage for i in lines), default=0.0)

    def share(i: int) -> float:  # notes and coverage against the fullest single line, 0..1
        if not most_notes:
            return 0.0
        return min(1.0, 0.5 * stats[i].n_notes / most_notes + 0.5 * stats[i].coverage / max(most_coverage, 1e-9))

    evidence = {i: _melody_evidence(score.tracks[i], stats[i], rank[i], share(i), hints[i], config)
                for i in pitched}
    melody_scores = {i: sum(v for v, _ in evidence[i]) for i in pitched}

    def line(i: int) -> bool:
        return stats[i].polyphony <= config.max_melody_polyphony

    # a single line, or a track whose name says melody and that mostly is one (a lead with double stops)
    candidates = [i for i in pitched if line(i) or ("melody" in hints[i] and "counter-melody" not in hints[i]
                                                    and stats[i].polyphony <= 0.6)]
    melody = max(candidates, key=lambda i: melody_scores[i], default=None)
    if melody is not None and melody_scores[melody] < config.min_melody_score:
        melody = None
    probs: dict[int, float] = {}
    if candidates:
        values = np.array([melody_scores[i] for i in candidates]) / config.temperature
        weights = np.exp(values - values.max())
        probs = dict(zip(candidates, (weights / weights.sum()).tolist()))
    extraction = None
    if melody is None and pitched:
        # a chordal track above the bass, or one whose top reaches an octave above it: a piano whose busy left
        # hand pulls its median down still carries a tune in its right hand
        chordal = [i for i in pitched if not line(i) and "bass" not in hints[i]
                   and max(stats[i].median_pitch, stats[i].high_pitch - 12) > config.bass_median_pitch]
        # the right hand rather than the left: register counts most, then how much of the piece it plays
        extraction = max(chordal, key=lambda i: (melody_scores[i] + 2.0 * stats[i].coverage + 3.0 * rank[i],
                                                 stats[i].high_pitch), default=None)

    roles = []
    for i, track in enumerate(score.tracks):
        s = stats[i]
        if not track.notes:
            roles.append(TrackRole(i, track.name, "empty", 1.0, ("no notes",), 0.0))
            continue
        if i not in rank:
            why = "drum channel (10)" if track.is_drum else f"percussive program {track.program}"
            roles.append(TrackRole(i, track.name, "drums", 1.0, (why,), 0.0))
            continue
        reasons = tuple(r for v, r in sorted(evidence[i], key=lambda e: -abs(e[0])) if abs(v) >= 0.3)[:5]
        if i == melody:
            roles.append(TrackRole(i, track.name, "melody", probs[i], reasons, melody_scores[i]))
            continue
        is_bass = "bass" in hints[i] or program_family(track.program) == "bass" or (
            line(i) and s.median_pitch <= config.bass_median_pitch and by_register[0] == i)
        if is_bass:
            why = []
            if "bass" in hints[i]:
                why.append(f"name {track.name!r} says bass")
            if program_family(track.program) == "bass":
                why.append(f"program {track.program} (bass)")
            why.append(f"median MIDI {s.median_pitch:.0f}" + (", the lowest track" if by_register[0] == i else ""))
            confidence = min(1.0, 0.4 + 0.3 * len(why) - (0.3 if s.polyphony > 0.5 else 0.0))
            roles.append(TrackRole(i, track.name, "bass", confidence, tuple(why), melody_scores[i]))
        elif i == extraction:
            roles.append(TrackRole(i, track.name, "harmony", 1.0 - probs.get(i, 0.0),
                                   ("plays chords; the melody is in them",) + reasons[:3],
                                   melody_scores[i]))
        elif line(i) and ((melody is not None and melody_scores[i] >= config.counter_min_score)
                          or "counter-melody" in hints[i]) and ("harmony" not in hints[i] or "melody" in hints[i]):
            confidence = float(1.0 / (1.0 + np.exp(-(melody_scores[i] - config.counter_min_score))))
            roles.append(TrackRole(i, track.name, "counter-melody", confidence,
                                   ("a single line beside the melody",) + reasons[:4], melody_scores[i]))
        else:
            confidence = float(1.0 / (1.0 + np.exp(melody_scores[i] - config.counter_min_score)))
            if melody is None and line(i):  # no melody for it to counter: a single line that does not score as one
                reasons = ("a single line that does not score as the melody (none found)",) + reasons[:4]
            roles.append(TrackRole(i, track.name, "harmony", confidence, reasons, melody_scores[i]))
    return TrackAnalysis(tuple(roles), melody, extraction)
