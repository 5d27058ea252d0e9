"""Load the standard polyphonic benchmark (``JSB_Chorales.mat``, ``Nottingham.mat``, ...).

Each split of such a MATLAB file is a ``(1, N)`` object array of ``(T, 88)``
binary arrays, column ``k`` = MIDI pitch ``21 + k``.
:func:`load_polyphonic_frames` gives them as they are (what the benchmark models);
:func:`load_polyphonic` maps them onto the 78-pitch note roll of scores (MIDI
24..101, for decoding to MIDI).  The files carry no articulation, so a note starts
wherever a pitch turns on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from symbolic.errors import DataError
from symbolic.tokenization.roll import LOWEST_PITCH, N_PITCHES, NoteRoll

__all__ = ["load_polyphonic", "load_polyphonic_frames", "frames_to_roll", "roll_from_frames", "place_frames",
           "SPLITS", "BENCHMARK_LOWEST_PITCH", "BENCHMARK_PITCHES"]

SPLITS = ("traindata", "validdata", "testdata")
BENCHMARK_LOWEST_PITCH = 21  # column 0 of the 88-column files
BENCHMARK_PITCHES = 88  # MIDI 21..108, the piano


def load_polyphonic_frames(path: str | os.PathLike[str]) -> dict[str, list[np.ndarray]]:
    """Read a benchmark ``.mat`` file as it is: bool ``(T, 88)`` frames per piece, column ``k`` =
    MIDI ``21 + k``, one list per split.

    Args:
        path: a MATLAB 5 file holding ``traindata``, ``validdata`` and ``testdata``.

    Returns:
        ``{"traindata": [...], "validdata": [...], "testdata": [...]}``.

    Raises:
        DataError: missing file, not a MATLAB file, a split that is not a cell array of pieces, a piece of
            the wrong shape, or a value other than 0 and 1.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: benchmark file not found (see ../shared/data/README.md for the files)")
    try:
        from scipy.io import loadmat

        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises many types for a bad file
        raise DataError(f"{path}: not a readable MATLAB 5 file ({type(exc).__name__}: {exc})") from None
    out: dict[str, list[np.ndarray]] = {}
    for split in SPLITS:
        if split not in mat:
            raise DataError(f"{path}: no '{split}' array; a benchmark file holds {', '.join(SPLITS)}")
        pieces = np.asarray(mat[split])
        if pieces.dtype != object:
            raise DataError(f"{path}: '{split}' is one {pieces.dtype} array of shape {pieces.shape}, not a cell "
                            f"array of pieces; store each piece as its own (T, {BENCHMARK_PITCHES}) 0/1 array in "
                            "a (1, N) cell array, as the benchmark files do")
        frames = []
        for i, piece in enumerate(pieces.reshape(-1)):
            piece = np.asarray(piece)
            if piece.ndim != 2 or piece.shape[1] != BENCHMARK_PITCHES:
                raise DataError(f"{path}: {split}[{i}] has shape {piece.shape}; expected (T, {BENCHMARK_PITCHES})")
            if piece.size and not np.isin(piece, (0, 1)).all():
                bad = piece[~np.isin(piece, (0, 1))].flat[0].item()
                raise DataError(f"{path}: {split}[{i}] holds the value {bad!r}; a piece is a piano roll of 0 "
                                "(silent) and 1 (sounding): threshold probabilities or velocities first")
            frames.append(piece > 0)
        out[split] = frames
    return out


def frames_to_roll(frames: np.ndarray, frames_per_beat: int, lowest_pitch: int = BENCHMARK_LOWEST_PITCH) -> NoteRoll:
    """Bool frames ``(T, n)`` of MIDI ``lowest_pitch + k`` as a 78-pitch :class:`NoteRoll` (MIDI 24..101).

    A note starts wherever a pitch turns on; ``n_out_of_range`` counts the sounding cells the roll
    cannot hold.
    """
    play, lost = place_frames(frames, lowest_pitch, LOWEST_PITCH, N_PITCHES)
    return roll_from_frames(play, frames_per_beat, n_out_of_range=lost)


def roll_from_frames(play: np.ndarray, frames_per_beat: int = 1, n_out_of_range: int = 0) -> NoteRoll:
    """A :class:`NoteRoll` from bool ``(T, 78)`` sounding frames, as the benchmark files give them: a note
    starts where its pitch sounds and did not in the frame before (the files have no repeated-note marks)."""
    play = np.ascontiguousarray(play)
    previous = np.zeros_like(play)
    previous[1:] = play[:-1]
    return NoteRoll(play, play & ~previous, frames_per_beat, n_out_of_range=n_out_of_range)


def place_frames(frames: np.ndarray, lowest_pitch: int, units_lowest_pitch: int, n_units: int) -> tuple[np.ndarray, int]:
    """Frames ``(T, n)`` of MIDI ``lowest_pitch + k`` moved onto ``n_units`` units from MIDI
    ``units_lowest_pitch``: bool ``(T, n_units)`` and the number of sounding cells that fall outside.
    """
    full = np.asarray(frames) > 0
    out = np.zeros((len(full), n_units), dtype=bool)
    offset = lowest_pitch - units_lowest_pitch  # unit of the frames' column 0
    first, last = max(0, offset), min(n_units, offset + full.shape[1])
    if first < last:
        out[:, first:last] = full[:, first - offset:last - offset]
    return out, int(full.sum() - out.sum())


def load_polyphonic(path: str | os.PathLike[str], frames_per_beat: int = 1) -> dict[str, list[NoteRoll]]:
    """Read a benchmark ``.mat`` file into 78-pitch note rolls, one list per split.

    Args:
        path: a MATLAB 5 file holding ``traindata``, ``validdata`` and ``testdata``.
        frames_per_beat: what a frame of the file means, for decoding to MIDI
            (JSB Chorales: 1, one frame per quarter note; Nottingham: 2).

    Returns:
        ``{"traindata": [...], "validdata": [...], "testdata": [...]}`` of
        :class:`NoteRoll`; ``n_out_of_range`` counts sounding cells outside 24..101.

    Raises:
        DataError: missing file, not a MATLAB file, or a split of the wrong shape.
    """
    return {split: [frames_to_roll(f, frames_per_beat) for f in frames]
            for split, frames in load_polyphonic_frames(path).items()}
