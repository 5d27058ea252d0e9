"""Note rolls from the benchmark's frames, and sampled pieces as scores."""

from __future__ import annotations

import numpy as np
import torch

from symbolic.polyphonic.bench import sample_scores
from symbolic.polyphonic.data import roll_from_frames
from symbolic.polyphonic.roll import RollModel, RollModelConfig
from symbolic.tokenization.roll import N_PITCHES


def test_a_note_starts_where_its_pitch_starts_sounding():
    play = np.zeros((6, N_PITCHES), dtype=bool)
    play[0:3, 10] = True  # one note over three frames
    play[4:6, 10] = True  # the same pitch again after a silent frame
    play[2:6, 20] = True
    roll = roll_from_frames(play, frames_per_beat=2, n_out_of_range=3)
    assert roll.articulate[:, 10].nonzero()[0].tolist() == [0, 4] and roll.articulate[:, 20].nonzero()[0].tolist() == [2]
    assert roll.frames_per_beat == 2 and roll.n_out_of_range == 3 and np.array_equal(roll.play, play)


def test_sampled_pieces_come_back_as_seeded_scores():
    torch.manual_seed(0)
    model = RollModel(RollModelConfig(time_axis="lstm", pitch_head="independent", hidden=16, n_layer=1)).eval()
    first = sample_scores(model, 2, frames_per_beat=1, seed=5, n_frames=16)
    again = sample_scores(model, 2, frames_per_beat=1, seed=5, n_frames=16)
    assert len(first) == 2 and [s.tracks for s in first] == [s.tracks for s in again]
    assert first[0].tracks != first[1].tracks  # seeds 5 and 6


def test_a_file_not_in_the_benchmark_format_is_refused_with_what_to_do(tmp_path):
    import pytest
    from scipy.io import savemat

    from symbolic.errors import DataError
    from symbolic.polyphonic.data import load_polyphonic_frames

    def cells(*pieces):
        out = np.empty((1, len(pieces)), dtype=object)
        for i, piece in enumerate(pieces):
            out[0, i] = piece
        return out

    good = np.zeros((4, 88), dtype=np.uint8)
    good[:, 40] = 1
    savemat(tmp_path / "ok.mat", {s: cells(good, good) for s in ("traindata", "validdata", "testdata")})
    assert [len(v) for v in load_polyphonic_frames(tmp_path / "ok.mat").values()] == [2, 2, 2]

    floats = good * 0.5  # probabilities, not a 0/1 roll: every nonzero value used to count as sounding
    savemat(tmp_path / "floats.mat", {s: cells(good, floats) for s in ("traindata", "validdata", "testdata")})
    with pytest.raises(DataError, match=r"floats.mat: traindata\[1\] holds the value 0.5; a piece is a piano roll"):
        load_polyphonic_frames(tmp_path / "floats.mat")

    savemat(tmp_path / "plain.mat", {s: good for s in ("traindata", "validdata", "testdata")})
    with pytest.raises(DataError, match=r"plain.mat: 'traindata' is one uint8 array of shape \(4, 88\), not a cell"):
        load_polyphonic_frames(tmp_path / "plain.mat")
