"""The style classifier: windows, training on separable styles, save/load, the classify command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symbolic import Note, Score, Track, write_midi
from symbolic.errors import ConfigError, DataError
from symbolic.models.classifier import ClassifierConfig, StyleClassifier, classify_scores, load_classifier, \
    piece_accuracy, piece_windows, save_classifier, train_classifier


def chorale_like(seed: int) -> Score:
    rng = np.random.default_rng(seed)
    notes = []
    for beat in range(40):
        root = int(rng.integers(48, 60))
        notes += [Note(beat * 480, 480, root + k, 80) for k in (0, 4, 7, 12)]
    return Score(tracks=[Track(notes=notes)])


def reel_like(seed: int) -> Score:
    rng = np.random.default_rng(seed)
    return Score(tracks=[Track(notes=[Note(i * 240, 240, int(rng.integers(62, 84)), 80) for i in range(80)])])


def test_windows_shapes():
    windows = piece_windows(reel_like(0), 64)
    assert windows.dtype == np.float32 and windows.shape[1:] == (2, 64, 78) and len(windows) >= 2
    assert piece_windows(Score(), 64).shape == (0, 2, 64, 78)
    short = Score(tracks=[Track(notes=[Note(0, 480, 60, 80)])])
    assert piece_windows(short, 64).shape == (1, 2, 64, 78)  # padded


def test_learns_separable_styles_and_round_trips(tmp_path, capsys):
    torch.manual_seed(0)
    model = StyleClassifier(ClassifierConfig(styles=("chorale", "irish"), channels=8))
    train = [(chorale_like(i), 0) for i in range(6)] + [(reel_like(i), 1) for i in range(6)]
    held_out = [(chorale_like(100 + i), 0) for i in range(4)] + [(reel_like(100 + i), 1) for i in range(4)]
    run = train_classifier(model, train, held_out, minutes=10, batch_size=16, max_epochs=40, progress=False)
    assert run["epochs"] == 40 and piece_accuracy(model, held_out) == 1.0
    probs = classify_scores(model, [chorale_like(7), Score()])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1) and probs[1].tolist() == [0.5, 0.5]
    save_classifier(tmp_path / "clf", model, {"test_accuracy": 1.0})
    loaded, meta = load_classifier(tmp_path / "clf")
    assert np.allclose(classify_scores(loaded, [reel_like(3)]), classify_scores(model, [reel_like(3)]))
    from symbolic.cli import main

    write_midi(reel_like(5), tmp_path / "tune.mid")
    assert main(["classify", str(tmp_path / "tune.mid"), "--classifier", str(tmp_path / "clf")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'tune.mid'}: irish")


def test_the_time_budget_stops_training_inside_an_epoch(monkeypatch):
    # POP909 songs make an epoch long: the budget must hold at every step, not only between epochs
    from types import SimpleNamespace

    import symbolic.models.classifier as module

    clock = iter(range(1000))  # one second passes at every look at the clock
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: float(next(clock))))
    torch.manual_seed(0)
    model = StyleClassifier(ClassifierConfig(styles=("chorale", "irish"), channels=8))
    train = [(chorale_like(i), 0) for i in range(20)] + [(reel_like(i), 1) for i in range(20)]
    held_out = [(chorale_like(100), 0), (reel_like(100), 1)]
    run = train_classifier(model, train, held_out, minutes=5 / 60, batch_size=2, progress=False)
    # 5 s: the loop starts at 1 s, the first step is free, steps 2-4 look at 2, 3, 4 s, the 5th stops
    assert run["steps"] == 4 and run["epochs"] == 1  # far short of an epoch (over 100 steps of 2 windows)
    assert len(run["curve"]) == 1 and run["curve"][0][3] == 4 and 0 <= run["best_valid_accuracy"] <= 1
    monkeypatch.undo()
    whole = train_classifier(model, train, held_out, minutes=10, batch_size=16, max_epochs=2, progress=False)
    assert whole["epochs"] == 2 and whole["steps"] == 2 * whole["curve"][0][3]


def test_errors():
    with pytest.raises(ConfigError):
        ClassifierConfig(styles=("one",))
    with pytest.raises(DataError):
        load_classifier("/nonexistent")


def test_shipped_classifier_on_held_out_corpus_pieces():
    from symbolic.data.build import BuildConfig, split_of
    from symbolic.data.corpus import list_music21_pieces, load_piece
    from symbolic.resources import asset_path

    model, meta = load_classifier(asset_path("style-classifier"))
    assert meta["test_accuracy"] > 0.9
    config = BuildConfig()
    pieces = []
    for style in ("chorale", "irish"):
        held_out = [p for p in list_music21_pieces([style]) if split_of(p.id, config) == "test"][:10]
        pieces += [(load_piece(p), model.config.styles.index(style)) for p in held_out]
    assert piece_accuracy(model, pieces) >= 0.8  # 92.8% over the whole held-out split


def test_loading_a_folder_without_a_classifier_names_the_real_command(tmp_path):
    from symbolic.cli import build_parser
    from symbolic.errors import DataError
    from symbolic.models.classifier import load_classifier

    with pytest.raises(DataError, match="the 'symbolic classifier train' command") as info:
        load_classifier(tmp_path)
    assert "--" not in str(info.value)  # no command-line flag in a library error
    args = build_parser().parse_args(["classifier", "train", "--data", "x", "--out", "y"])  # the command exists
    assert callable(args.handler)
