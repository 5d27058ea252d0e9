"""POP909 (Wang et al., ISMIR 2020) as a style-labelled collection: aligned to its annotated beats.

Each song folder ``NNN/`` holds ``NNN.mid`` (three piano tracks ``MELODY``, ``BRIDGE``,
``PIANO`` played along with the recording, its tempo map from the recording),
``beat_midi.txt`` (beat times in the MIDI's seconds with a downbeat flag),
``chord_midi.txt`` (Harte chord spans) and ``key_audio.txt`` (key spans).

:func:`load_pop909_song` reads a song into a :class:`~symbolic.score.Score` whose
bar lines are the annotated downbeats (:func:`symbolic.analysis.beats.retime`: each
annotated beat one quarter note, the pickup its own short bar, tempo changes
followed, every note at the same time in seconds), whose tracks are ``MELODY``,
``BRIDGE``, ``PIANO`` in that order on the programs of :class:`Pop909Config`, and
whose ``annotations`` hold the chords and keys in the new ticks.  Everything odd
found on the way (irregular bars, tempo jumps, notes off the grid) goes into an
:class:`AlignmentReport`; only an unreadable song raises.

A piece id is ``pop909/NNN``; the style is ``pop``.  The data-set build
(:mod:`symbolic.data.build`) converts, caches and splits the songs like the corpus.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symbolic.analysis.beats import BeatGrid, grid_fit, retime
from symbolic.analysis.chords import parse_chord_rows, parse_key
from symbolic.data.piece import CorpusPiece
from symbolic.errors import ConfigError, DataError
from symbolic.inputs.midi import read_midi
from symbolic.score import Annotations, ChordSpan, KeySpan, Score, Track, seconds_of_ticks, ticks_of_seconds

__all__ = [
    "POP909_STYLE",
    "POP909_ROLES",
    "Pop909Config",
    "AlignmentReport",
    "list_pop909_pieces",
    "read_beat_grid",
    "read_chord_labels",
    "read_key_labels",
    "load_pop909_song",
    "load_pop909_score",
    "with_pop_style",
]

POP909_STYLE = "pop"
POP909_ROLES = ("MELODY", "BRIDGE", "PIANO")


@dataclass(frozen=True)
class Pop909Config:
    """How a POP909 song becomes a score.

    Attributes:
        programs: GM programs for ``MELODY``, ``BRIDGE``, ``PIANO`` (the files say 0 for all three):
            the sung melody on Voice Oohs (53), the counter-lines on String Ensemble 1 (48), the
            accompaniment on Acoustic Grand Piano (0).
        ticks_per_beat: resolution of the aligned score; a note moves by at most half a tick.
        beat_tolerance_seconds: how far an annotated beat may sit from the tempo map's beat.
        steps_per_beat: the grid on which onsets are checked (the event tokenizer's 12).
    """

    programs: tuple[int, int, int] = (53, 48, 0)
    ticks_per_beat: int = 1920
    beat_tolerance_seconds: float = 0.0005
    steps_per_beat: int = 12

    def __post_init__(self) -> None:
        if len(self.programs) != 3 or not all(0 <= p <= 127 for p in self.programs):
            raise ConfigError(f"programs={self.programs} must be three GM programs (0..127) for "
                              f"{', '.join(POP909_ROLES)}")
        if not 1 <= self.ticks_per_beat <= 0x7FFF or self.beat_tolerance_seconds < 0 or self.steps_per_beat < 1:
            raise ConfigError("ticks_per_beat must be in 1..32767, beat_tolerance_seconds >= 0, steps_per_beat >= 1")


@dataclass
class AlignmentReport:
    """What aligning one song found.

    Attributes:
        song: the song id (``"001"``).
        problems: one line per oddity (irregular bars, tempo jumps, a missing track or annotation).
        n_notes: notes in the song.
        pickup_beats: beats before the first bar line.
        bar_beats: the most common bar length in beats.
        max_shift_seconds: largest change of a note's onset or offset in seconds by the alignment.
        on_grid_share: share of onsets within a tenth of a step of the ``steps_per_beat`` grid.
        grid_moves_seconds: ``(n_notes,)`` float array, how far the grid projection (nearest step)
            moves each note's onset, in seconds.
    """

    song: str
    problems: list[str] = field(default_factory=list)
    n_notes: int = 0
    pickup_beats: int = 0
    bar_beats: int = 4
    max_shift_seconds: float = 0.0
    on_grid_share: float = 1.0
    grid_moves_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))


def list_pop909_pieces(root: str | os.PathLike[str]) -> list[CorpusPiece]:
    """Every song folder ``root/NNN/`` holding ``NNN.mid``, as pieces ``pop909/NNN`` of style ``pop``.

    Raises:
        DataError: ``root`` is missing or holds no song folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: POP909 folder not found; it holds one folder per song, NNN/NNN.mid")
    pieces = [CorpusPiece(f"pop909/{d.name}", POP909_STYLE, str(d))
              for d in sorted(root.iterdir()) if d.is_dir() and (d / f"{d.name}.mid").is_file()]
    if not pieces:
        raise DataError(f"{root}: no POP909 song folders (NNN/NNN.mid) found")
    return pieces


def _rows(path: Path, n_fields: int) -> list[list[str]]:
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < n_fields:
            raise DataError(f"{path}:{number}: expected {n_fields} fields, got {line!r}")
        rows.append(parts)
    return rows


def read_beat_grid(path: str | os.PathLike[str]) -> BeatGrid:
    """The beats of a ``beat_midi.txt`` file: ``time_s beat13_flag downbeat_flag`` per line.

    Raises:
        DataError: a missing or malformed file, or beats that do not increase.
    """
    path = Path(path)
    try:
        rows = [(float(r[0]), float(r[2]) > 0.5) for r in _rows(path, 3)]
        return BeatGrid(tuple(t for t, _ in rows), tuple(d for _, d in rows))
    except ValueError as exc:  # float() and BeatGrid's ScoreError are both ValueErrors
        raise DataError(f"{path}: {exc}") from None


def read_chord_labels(path: str | os.PathLike[str]) -> list[tuple[float, float, str]]:
    """``(start_s, end_s, Harte label)`` rows of a ``chord_midi.txt`` file, each row checked as
    :func:`~symbolic.analysis.chords.parse_chord_rows` checks a user's chord file (zero-length rows dropped).

    Raises:
        DataError: a missing file, or a malformed or overlapping row or a label that is not Harte notation,
            naming its line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: annotation file not found")
    lines = [(number, line.split()) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if line.strip()]
    return parse_chord_rows(str(path), lines)


def read_key_labels(path: str | os.PathLike[str]) -> list[tuple[float, float, int, bool]]:
    """``(start_s, end_s, tonic pitch class, minor)`` rows of a ``key_audio.txt`` file.

    Raises:
        DataError: a missing or malformed file.
    """
    path = Path(path)
    try:
        return [(float(r[0]), float(r[1]), *parse_key(r[2])) for r in _rows(path, 3)]
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


def _beat_problems(grid: BeatGrid) -> tuple[list[str], int]:
    """Oddities of an annotated grid and its most common bar length."""
    problems = []
    flags = np.asarray(grid.downbeats)
    down = np.flatnonzero(flags)
    if len(down) == 0:
        problems.append("no annotated downbeat: bars of 4 beats counted from the first beat")
        return problems, 4
    bars = np.diff(down)
    bar_beats = Counter(bars.tolist()).most_common(1)[0][0] if len(bars) else 4
    odd = Counter(int(b) for b in bars if b != bar_beats)
    if odd:
        problems.append(f"{sum(odd.values())} of {len(bars)} bars are not {bar_beats} beats long ("
                        + ", ".join(f"{n} of {b}" for b, n in sorted(odd.items())) + "): kept as meter changes")
    ibi = np.diff(np.asarray(grid.beat_seconds))
    ratio = ibi[1:] / ibi[:-1]
    jumps = int(np.sum((ratio > 1.5) | (ratio < 1 / 1.5)))
    if jumps:
        problems.append(f"{jumps} beat-to-beat tempo jumps over 1.5x (beat lengths {ibi.min():.3f}-"
                        f"{ibi.max():.3f} s): followed as tempo changes")
    return problems, int(bar_beats)


def load_pop909_song(folder: str | os.PathLike[str], config: Pop909Config | None = None
                     ) -> tuple[Score, AlignmentReport]:
    """One song, aligned to its annotated beats, with roles, programs and annotations.

    Args:
        folder: the song folder ``.../NNN`` (holding ``NNN.mid`` and the three annotation files).
        config: programs and resolution.

    Returns:
        ``(score, report)``: the aligned score and what the alignment found.

    Raises:
        DataError: the MIDI file or ``beat_midi.txt`` is missing or unreadable.
    """
    config = config or Pop909Config()
    folder = Path(folder)
    song = folder.name
    source = read_midi(folder / f"{song}.mid")
    grid = read_beat_grid(folder / "beat_midi.txt")
    problems, bar_beats = _beat_problems(grid)

    by_name = {t.name.strip().upper(): t for t in source.tracks}
    tracks = []
    for role, program in zip(POP909_ROLES, config.programs):
        track = by_name.get(role)
        if track is None:
            problems.append(f"no {role} track: the slot is left empty")
            track = Track(name=role)
        tracks.append(Track(program=program, is_drum=False, name=role, notes=list(track.notes)))
    others = [t for t in source.tracks if t.name.strip().upper() not in POP909_ROLES and t.notes]
    if others:
        problems.append(f"{len(others)} tracks besides {', '.join(POP909_ROLES)} kept after them")
    source.tracks = tracks + others
    if source.n_notes and source.duration_seconds > grid.beat_seconds[-1] + 4 * (
            grid.beat_seconds[-1] - grid.beat_seconds[-2]):
        problems.append(f"notes go on {source.duration_seconds - grid.beat_seconds[-1]:.1f} s after the last "
                        "annotated beat: the last tempo is carried on")

    result = retime(source, grid, config.ticks_per_beat, config.beat_tolerance_seconds)
    score = result.score
    score.annotations = _annotations(folder, score, problems)
    fit = grid_fit(score, config.steps_per_beat)
    report = AlignmentReport(song, problems, score.n_notes, result.pickup_beats, bar_beats, result.max_shift_seconds,
                             fit.on_grid_share, _grid_moves_seconds(score, config.steps_per_beat))
    return score, report


def _annotations(folder: Path, score: Score, problems: list[str]) -> Annotations:
    """Chord and key spans of a song in ``score``'s ticks; a missing file is a problem, not an error."""
    out = Annotations()
    for name, reader in (("chord_midi.txt", read_chord_labels), ("key_audio.txt", read_key_labels)):
        try:
            rows = reader(folder / name)
        except DataError as exc:
            problems.append(f"annotations not read: {exc}")
            continue
        if not rows:
            continue
        ticks = ticks_of_seconds(score, [x for r in rows for x in r[:2]]).reshape(-1, 2)
        if name == "chord_midi.txt":
            out.chords = [ChordSpan(int(a), int(b), r[2]) for (a, b), r in zip(ticks, rows)]
        else:
            out.keys = [KeySpan(int(a), int(b), r[2], r[3]) for (a, b), r in zip(ticks, rows)]
    return out


def _grid_moves_seconds(score: Score, steps_per_beat: int) -> np.ndarray:
    """How far the nearest-step projection moves each onset, in seconds."""
    onsets = np.asarray([n.onset_ticks for t in score.tracks for n in t.notes], dtype=np.float64)
    if len(onsets) == 0:
        return np.zeros(0)
    tpb = score.ticks_per_beat
    projected = np.floor((2 * onsets * steps_per_beat + tpb) / (2 * tpb)) * tpb / steps_per_beat
    return np.abs(seconds_of_ticks(score, projected) - seconds_of_ticks(score, onsets))


def load_pop909_score(folder: str | os.PathLike[str], config: Pop909Config | None = None) -> Score:
    """The aligned score of one song (:func:`load_pop909_song` without its report)."""
    return load_pop909_song(folder, config)[0]


def with_pop_style(tokenizer):
    """``tokenizer`` itself when it knows the style ``pop``, else a copy whose styles add it at the end."""
    if POP909_STYLE in tokenizer.config.styles:
        return tokenizer
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.vocab import EventTokenizerConfig

    spec = tokenizer.config.to_dict()
    spec["styles"] = list(spec["styles"]) + [POP909_STYLE]
    return EventTokenizer(EventTokenizerConfig.from_dict(spec))
