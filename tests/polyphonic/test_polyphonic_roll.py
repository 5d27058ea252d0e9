"""Note-roll models and the polyphonic benchmark protocol: NLL and accuracy on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from symbolic.polyphonic.roll import RollModel, RollModelConfig
from symbolic.polyphonic.bench import evaluate_rolls, frame_nll, load_roll_model, save_roll_model, \
    train_roll_model
from symbolic.tokenization.roll import NoteRoll

SMALL = dict(hidden=16, n_layer=1, made_hidden=32, made_layers=1, dropout=0.0)


def roll_of(cells: list[list[int]]) -> NoteRoll:
    """A roll from lists of sounding pitch indices (0..77), one list per frame."""
    play = np.zeros((len(cells), 78), dtype=bool)
    for t, ks in enumerate(cells):
        play[t, ks] = True
    previous = np.zeros_like(play)
    previous[1:] = play[:-1]
    return NoteRoll(play, play & ~previous, 1)


def fixed_probability_model(p: np.ndarray) -> RollModel:
    """An independent-output model whose every prediction is the per-pitch probability ``p`` (78,)."""
    model = RollModel(RollModelConfig(time_axis="lstm", pitch_head="independent", **SMALL))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.from_numpy(np.log(p / (1 - p))).float())
    return model.eval()


def test_nll_of_a_coin_flip_model_is_78_ln2_per_frame():
    rolls = [roll_of([[0], [1, 2], [], [5]]), roll_of([[3], [3]]), roll_of([[7]])]  # 3 + 1 + 0 predicted frames
    result = evaluate_rolls(fixed_probability_model(np.full(78, 0.5)), rolls)
    assert result["frames"] == 4
    assert result["nll"] == pytest.approx(78 * math.log(2), rel=1e-6)


def test_nll_with_fixed_probabilities_matches_a_hand_computation():
    p = np.full(78, 0.1)
    p[0], p[1] = 0.8, 0.3
    roll = roll_of([[0], [0, 1], [2]])
    targets = roll.play[1:]
    expected = -np.sum(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    nll, frames = frame_nll(fixed_probability_model(p), roll)
    assert frames == 2 and nll == pytest.approx(expected, rel=1e-5)


def test_accuracy_counts_true_and_false_positives():
    p = np.full(78, 0.01)
    p[[0, 1]] = 0.99  # always predicts pitches 0 and 1 on
    roll = roll_of([[0], [0, 1], [0, 2], [5]])
    # frame 1: TP 2; frame 2: TP 1 (0), FP 1 (1), FN 1 (2); frame 3: FP 2, FN 1  -> 3 / (3 + 3 + 2)
    assert evaluate_rolls(fixed_probability_model(p), [roll])["acc"] == pytest.approx(3 / 8)


def test_units_outside_the_range_are_counted():
    roll = roll_of([[0], [1]])
    roll.n_out_of_range = 1
    result = evaluate_rolls(fixed_probability_model(np.full(78, 0.5)), [roll])
    assert math.isinf(result["nll"]) and result["violations"] == 1
    empty = evaluate_rolls(fixed_probability_model(np.full(78, 0.5)), [])
    assert math.isnan(empty["nll"]) and empty["frames"] == 0


@pytest.mark.parametrize("time_axis", ["lstm", "gpt"])
def test_time_axis_is_causal_and_made_is_autoregressive(time_axis):
    torch.manual_seed(0)
    model = RollModel(RollModelConfig(time_axis=time_axis, pitch_head="made", **SMALL)).eval()
    x = (torch.rand(1, 12, 78) < 0.2).float()
    logits = model(x[:, :-1], targets=x[:, 1:])
    changed = x.clone()
    changed[0, 6] = 1 - changed[0, 6]
    after = model(changed[:, :-1], targets=changed[:, 1:])
    assert torch.allclose(logits[:, :5], after[:, :5], atol=1e-6)  # positions before frame 6 see nothing new
    # Inside a frame, pitch k sees only the pitches below it.
    target = x[:, 1:].clone()
    target[0, 3, 40] = 1 - target[0, 3, 40]
    moved = model(x[:, :-1], targets=target)
    assert torch.allclose(moved[0, 3, :41], logits[0, 3, :41], atol=1e-6)
    assert not torch.allclose(moved[0, 3, 41:], logits[0, 3, 41:], atol=1e-6)


def test_training_learns_a_pattern_and_save_load_keeps_it(tmp_path):
    rng = np.random.default_rng(0)
    pieces = []
    for _ in range(12):  # an alternating two-chord pattern with a random start
        start = int(rng.integers(0, 2))
        pieces.append(roll_of([[10, 14, 17] if (t + start) % 2 else [12, 15, 19] for t in range(16)]))
    torch.manual_seed(0)
    model = RollModel(RollModelConfig(pitch_head="made", **SMALL))
    before = evaluate_rolls(model, pieces[:4], accuracy=False)["nll"]
    run = train_roll_model(model, pieces, pieces[:4], minutes=10, learning_rate=1e-2, batch_size=4,
                           patience=1000, max_epochs=40, progress=False)
    assert run["epochs"] == 40
    after = evaluate_rolls(model, pieces[:4])
    assert after["nll"] < before / 4 and after["acc"] > 0.9
    assert run["curve"] and run["best_valid_nll"] == pytest.approx(after["nll"], rel=1e-4)
    save_roll_model(tmp_path / "ck", model, {"model": "lstm-made"})
    loaded, meta = load_roll_model(tmp_path / "ck")
    assert evaluate_rolls(loaded, pieces[:4])["nll"] == pytest.approx(after["nll"], rel=1e-6)
    sample = loaded.sample(10, seed=1)
    assert sample.shape == (10, 78) and sample.dtype == bool


def test_training_hands_over_each_best_and_ctrl_c_keeps_the_best(tmp_path):
    """``on_best`` sees every improvement with the model holding those weights (the CLI saves them
    there, so a killed run keeps them); a Ctrl-C ends training as the budget does."""
    rng = np.random.default_rng(0)
    pieces = [roll_of([[10, 14, 17] if (t + int(rng.integers(0, 2))) % 2 else [12, 15, 19] for t in range(16)])
              for _ in range(8)]
    seen = []

    def on_best(run):
        seen.append((run["best_valid_nll"], evaluate_rolls(model, pieces[:4], accuracy=False)["nll"]))
        save_roll_model(tmp_path / "best", model, {"best_valid_nll": run["best_valid_nll"]})
        if len(seen) == 3:
            raise KeyboardInterrupt  # as Ctrl-C during the next epoch would

    torch.manual_seed(0)
    model = RollModel(RollModelConfig(pitch_head="made", **SMALL))
    run = train_roll_model(model, pieces, pieces[:4], minutes=10, learning_rate=1e-2, batch_size=4,
                           patience=1000, max_epochs=40, progress=False, on_best=on_best)
    assert run["interrupted"] and len(seen) == 3 and run["epochs"] < 40
    assert [a for a, _ in seen] == sorted([a for a, _ in seen], reverse=True)  # each call improves
    for best, held in seen:
        assert held == pytest.approx(best, rel=1e-5)  # the model held the weights it was called for
    saved, meta = load_roll_model(tmp_path / "best")
    assert evaluate_rolls(saved, pieces[:4], accuracy=False)["nll"] == pytest.approx(seen[-1][0], rel=1e-5)
    assert evaluate_rolls(model, pieces[:4], accuracy=False)["nll"] == pytest.approx(run["best_valid_nll"], rel=1e-5)


def test_bench_command_on_a_small_mat_file(tmp_path, capsys):
    from scipy.io import savemat

    from symbolic.cli import main

    rng = np.random.default_rng(1)

    def split(n):
        out = np.empty((1, n), dtype=object)
        for i in range(n):
            piece = np.zeros((int(rng.integers(8, 20)), 88), dtype=np.uint8)
            piece[np.arange(len(piece)), rng.integers(30, 60, len(piece))] = 1
            out[0, i] = piece
        return out

    mat = tmp_path / "tiny.mat"
    savemat(mat, {"traindata": split(6), "validdata": split(3), "testdata": split(3)})
    args = ["bench", "polyphonic", "--data", str(mat), "--model", "lstm-independent", "--train-minutes", "0.05",
            "--hidden", "16", "--layers", "1", "--threads", "1", "--out", str(tmp_path / "run"), "--samples", "1",
            "--no-progress"]
    assert main(args) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("test nll=") and last.endswith("%")
    assert (tmp_path / "run" / "nll_curve.png").is_file() and (tmp_path / "run" / "sample-1.mid").is_file()
    assert main(["bench", "polyphonic", "--data", str(mat), "--checkpoint", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == last  # re-evaluation gives the same figures
    # training on from the saved weights starts where they are and records where it came from
    assert main(["bench", "polyphonic", "--data", str(mat), "--init-checkpoint", str(tmp_path / "run"),
                 "--train-cpu-minutes", "0.02", "--learning-rate", "1e-4", "--threads", "1", "--no-progress",
                 "--out", str(tmp_path / "run2")]) == 0
    _, meta = load_roll_model(tmp_path / "run2")
    init_best = load_roll_model(tmp_path / "run")[1]["best_valid_nll"]
    assert meta["init_checkpoint"] == str(tmp_path / "run") and meta["complete"] and meta["model"] == "lstm-independent"
    assert abs(meta["curve"][0][2] - init_best) < 1.0  # a fresh model's first epoch is tens of nats away


@pytest.mark.parametrize("name, data_file, frames_per_beat, published", [
    ("jsb-lstm-made", "JSB_Chorales.mat", 1, 5.56),  # RNN-NADE (Boulanger-Lewandowski et al. 2012)
    ("nottingham-lstm-made", "Nottingham.mat", 2, 2.31),  # RNN-NADE
    ("jsb-lstm-independent", "JSB_Chorales.mat", 1, 8.45),  # LSTM (Bai et al. 2018)
])
def test_shipped_checkpoints_reproduce_their_figures(name, data_file, frames_per_beat, published):
    from symbolic.polyphonic.data import load_polyphonic
    from symbolic.resources import project_root, shared_data_dir

    checkpoint = project_root() / "benchmarks" / "checkpoints" / name
    data = shared_data_dir() / "polyphonic" / data_file
    if not (checkpoint / "meta.json").is_file() or not data.is_file():
        pytest.skip("shipped checkpoint or shared benchmark data not present")
    model, meta = load_roll_model(checkpoint)
    result = evaluate_rolls(model, load_polyphonic(data, frames_per_beat)["testdata"], accuracy=False)
    assert result["nll"] == pytest.approx(meta["test"]["nll"], abs=1e-3)
    if published is not None:
        assert result["nll"] < published


def test_transposition_shift():
    from symbolic.polyphonic.bench import _shift

    x = torch.zeros(1, 2, 78)
    x[0, 0, 0] = x[0, 1, 77] = x[0, 1, 40] = 1
    up = _shift(x, 2)
    assert up[0, 0, 2] == 1 and up[0, 1, 42] == 1 and up.sum() == 2  # the top note falls off, nothing wraps
    assert torch.equal(_shift(x, 0), x)
    down = _shift(x, -1)
    assert down[0, 1, 76] == 1 and down[0, 1, 39] == 1 and down.sum() == 2


def test_fast_greedy_decoding_equals_the_plain_pitch_by_pitch_loop():
    torch.manual_seed(3)
    model = RollModel(RollModelConfig(pitch_head="made", **SMALL)).eval()
    with torch.no_grad():
        model.head.context_out.bias.fill_(-1.0)  # about a quarter of the pitches on, as in real frames
        ctx = torch.randn(40, 16)
        fast = model.predict_frame(ctx, sample=False)
        plain = torch.zeros(40, 78)
        for k in range(78):
            plain[:, k] = (torch.sigmoid(model.head(plain, ctx)[:, k]) > 0.5).float()
        assert torch.equal(fast, plain) and 0 < fast.sum() < fast.numel()
        a = model.predict_frame(ctx, sample=True, generator=torch.Generator().manual_seed(1))
        b = torch.zeros(40, 78)
        g = torch.Generator().manual_seed(1)
        for k in range(78):
            p = torch.sigmoid(model.head(b, ctx)[:, k])
            b[:, k] = (torch.rand(p.shape, generator=g) < p).float()
        assert torch.equal(a, b)


def _mat_split(rng: np.random.Generator, n: int, low: int = 0, high: int = 88) -> np.ndarray:
    """``n`` pieces of 8..19 frames, each frame two keys in columns ``low..high - 1``; every piece
    sounds its lowest and highest allowed key once."""
    out = np.empty((1, n), dtype=object)
    for i in range(n):
        piece = np.zeros((int(rng.integers(8, 20)), 88), dtype=np.uint8)
        piece[np.arange(len(piece)), rng.integers(low, high, len(piece))] = 1
        piece[0, low] = piece[-1, high - 1] = 1
        out[0, i] = piece
    return out


@pytest.mark.parametrize("model, extra, told", [("lstm-made", [], 0), ("gpt-made", ["--transpose", "2"], 2)])
def test_bench_on_a_file_using_the_whole_piano(tmp_path, capsys, model, extra, told):
    """Pieces spanning MIDI 21..108 (every column of the format): validation is finite from the first
    epoch, training selects weights and the test NLL is finite; also with the GPT time axis told the
    transposition (the pieces touch both edges, so they may not move: no note is lost)."""
    import json

    from scipy.io import savemat

    from symbolic.cli import main

    rng = np.random.default_rng(2)
    mat = tmp_path / "piano.mat"
    savemat(mat, {"traindata": _mat_split(rng, 6), "validdata": _mat_split(rng, 3), "testdata": _mat_split(rng, 3)})
    args = ["bench", "polyphonic", "--data", str(mat), "--model", model, "--train-cpu-minutes", "0.05",
            "--hidden", "16", "--layers", "1", "--made-hidden", "32", "--threads", "1",
            "--out", str(tmp_path / "run"), "--no-progress", *extra]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "warning" not in out and "inf" not in out
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["config"]["lowest_pitch"] == 21 and meta["config"]["n_pitches"] == 88
    assert meta["config"]["time_axis"] == model.split("-")[0] and meta["config"]["transpositions"] == told
    assert all(math.isfinite(nll) for _, _, nll, _ in meta["curve"])
    assert meta["best_valid_nll"] == pytest.approx(meta["valid"]["nll"], rel=1e-5)  # the selected weights
    assert math.isfinite(meta["test"]["nll"]) and meta["test"]["violations"] == 0


def test_a_model_lacking_units_is_refused_for_training_and_scored_infinite():
    from symbolic.polyphonic.data import frames_to_roll

    piece = np.zeros((4, 88), dtype=bool)
    piece[:, [0, 40, 87]] = True  # MIDI 21, 61, 108
    narrow = RollModel(RollModelConfig(pitch_head="made", **SMALL))  # MIDI 24..101
    wide = RollModel(RollModelConfig(pitch_head="made", lowest_pitch=21, n_pitches=88, **SMALL))
    assert evaluate_rolls(narrow, [piece])["violations"] == 1
    assert frames_to_roll(piece, 1).n_out_of_range == 8  # MIDI 21 and 108 in each of 4 frames
    result = evaluate_rolls(wide, [piece])
    assert result["violations"] == 0 and math.isfinite(result["nll"]) and result["frames"] == 3
    from symbolic.errors import DataError

    with pytest.raises(DataError, match="outside the model's units MIDI 24..101"):
        train_roll_model(narrow, [piece], [piece], minutes=1, max_epochs=1, progress=False)


def test_transposition_keeps_every_note_and_is_told_to_the_model():
    import random

    from symbolic.polyphonic.bench import _batches, _reach

    torch.manual_seed(0)
    pieces = [torch.zeros(6, 88) for _ in range(3)]
    pieces[0][:, [1, 50]] = 1  # room: 1 down, 37 up
    pieces[1][:, [40, 86]] = 1  # room: 40 down, 1 up
    pieces[2][:, 44] = 1
    reach = [_reach(x, 6) for x in pieces]
    assert reach == [(1, 6), (6, 1), (6, 6)]
    shifts = set()
    for x, mask, shift in _batches(pieces, reach, 3, random.Random(0), 16):
        for row in range(len(x)):
            assert x[row].sum() == pieces[0].sum() or x[row].sum() == pieces[2].sum()  # nothing fell off
            shifts.add(int(shift[row]))
    assert shifts - {0}
    told = RollModel(RollModelConfig(pitch_head="made", lowest_pitch=21, n_pitches=88, transpositions=6,
                                     **SMALL)).eval()
    x = pieces[2][None]
    up = told(x[:, :-1], targets=x[:, 1:], shift=torch.tensor([3]))
    assert not torch.allclose(up, told(x[:, :-1], targets=x[:, 1:]))  # the shift is an input
    assert torch.equal(told(x[:, :-1], targets=x[:, 1:]), told(x[:, :-1], targets=x[:, 1:], shift=torch.tensor([0])))
