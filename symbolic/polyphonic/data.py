"""Load the standard polyphonic benchmark (``JSB_Chorales.mat``, ``Nottingham.mat``, ...).

Each split of such a MATLAB file is a ``(1, N)`` object array of ``(T, 88)``
binary arrays, column ``k`` = MIDI pitch ``21 + k``.  We map them onto the
78-pitch note roll (MIDI 24..101).  The files carry no articulation, so a note
starts wherever a pitch turns on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from symbolic.errors import DataError
from symbolic.tokenization.roll import LOWEST_PITCH, N_PITCHES, NoteRoll

__all__ = ["load_polyphonic", "roll_from_frames", "SPLITS", "BENCHMARK_LOWEST_PITCH"]

SPLITS = ("traindata", "validdata", "testdata")
BENCHMARK_LOWEST_PITCH = 21  # column 0 of the 88-column files


def load_polyphonic(path: str | os.PathLike[str], frames_per_beat: int = 1) -> dict[str, list[NoteRoll]]:
    """Read a benchmark ``.mat`` file into note rolls, one list per split.

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
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: benchmark file not found (see ../shared/data/README.md for the files)")
    try:
        from scipy.io import loadmat

        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises many types for a bad file
        raise DataError(f"{path}: not a readable MATLAB 5 file ({type(exc).__name__}: {exc})") from None
    lo = LOWEST_PITCH - BENCHMARK_LOWEST_PITCH
    out: dict[str, list[NoteRoll]] = {}
    for split in SPLITS:
        if split not in mat:
            raise DataError(f"{path}: no '{split}' array; a benchmark file holds {', '.join(SPLITS)}")
        pieces = np.asarray(mat[split]).reshape(-1)
        rolls = []
        for i, piece in enumerate(pieces):
            piece = np.asarray(piece)
            if piece.ndim != 2 or piece.shape[1] != 88:
                raise DataError(f"{path}: {split}[{i}] has shape {piece.shape}; expected (T, 88)")
            full = piece > 0
            play = full[:, lo:lo + N_PITCHES]
            outside = int(full.sum() - play.sum())
            rolls.append(roll_from_frames(play, frames_per_beat, n_out_of_range=outside))
        out[split] = rolls
    return out


def roll_from_frames(play: np.ndarray, frames_per_beat: int = 1, n_out_of_range: int = 0) -> NoteRoll:
    """A :class:`NoteRoll` from bool ``(T, 78)`` sounding frames, as the benchmark files give them: a note
    starts where its pitch sounds and did not in the frame before (the files have no repeated-note marks)."""
    play = np.ascontiguousarray(play)
    previous = np.zeros_like(play)
    previous[1:] = play[:-1]
    return NoteRoll(play, play & ~previous, frames_per_beat, n_out_of_range=n_out_of_range)
