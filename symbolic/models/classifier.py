"""A style classifier: a small CNN over note-roll windows, averaged over a piece.

Input: the note roll at 4 frames per beat (``play`` and ``articulate`` planes),
cut into windows of ``window_frames`` frames.  Output: style logits.  A piece's
style probabilities are the mean of its windows' softmax.  It is the judge of
style conversion, so it sees only notes (no instrument, no tempo, no title).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symbolic.errors import ConfigError, DataError
from symbolic.score import Score
from symbolic.tokenization.roll import NoteRollConfig, to_note_roll
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["ClassifierConfig", "StyleClassifier", "piece_windows", "train_classifier", "classify_scores",
           "piece_accuracy", "dataset_pieces", "save_classifier", "load_classifier"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Size of a :class:`StyleClassifier`.

    Attributes:
        styles: style names, in output order.
        window_frames: frames per window (4 frames a beat: 64 = 16 beats).
        channels: convolution channels.
        dropout: dropout before the output layer.
    """

    styles: tuple[str, ...]
    window_frames: int = 64
    channels: int = 64
    dropout: float = 0.3

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        if len(self.styles) < 2:
            raise ConfigError("a style classifier needs at least two styles")
        if self.window_frames < 8 or self.channels < 4 or not 0 <= self.dropout < 1:
            raise ConfigError("window_frames >= 8, channels >= 4 and dropout in [0, 1)")


class StyleClassifier(nn.Module):
    """``forward(windows)``: float ``(B, 2, frames, 78)`` -> logits ``(B, n_styles)``."""

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(2, c, (4, 12), padding=(0, 6)), nn.ReLU(), nn.MaxPool2d((2, 2)),
            nn.Conv2d(c, c, (4, 6), padding=(0, 3)), nn.ReLU(), nn.MaxPool2d((2, 2)),
            nn.Conv2d(c, c, (4, 4), padding=(0, 2)), nn.ReLU(),
        )
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(2 * c, len(config.styles))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        h = self.features(windows)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)  # transposition-tolerant pooling
        return self.out(self.drop(pooled))


def piece_windows(score: Score, window_frames: int) -> np.ndarray:
    """Float32 ``(n_windows, 2, window_frames, 78)`` of a score (half-overlapping; a short piece is padded).

    A score with no pitched note gives ``(0, 2, window_frames, 78)``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        roll = to_note_roll(score, NoteRollConfig(frames_per_beat=4))
    planes = np.stack([roll.play, roll.articulate]).astype(np.float32)  # (2, T, 78)
    t = planes.shape[1]
    if t == 0:
        return np.zeros((0, 2, window_frames, 78), dtype=np.float32)
    if t < window_frames:
        planes = np.pad(planes, ((0, 0), (0, window_frames - t), (0, 0)))
        t = window_frames
    starts = list(range(0, t - window_frames + 1, window_frames // 2))
    return np.stack([planes[:, s:s + window_frames] for s in starts])


@torch.no_grad()
def classify_scores(model: StyleClassifier, scores: list[Score]) -> np.ndarray:
    """Style probabilities ``(n_scores, n_styles)``; a score with no pitched note gets a uniform row."""
    model.eval()
    out = np.full((len(scores), len(model.config.styles)), 1.0 / len(model.config.styles))
    for i, score in enumerate(scores):
        windows = piece_windows(score, model.config.window_frames)
        if len(windows):
            out[i] = torch.softmax(model(torch.from_numpy(windows)), dim=-1).mean(dim=0).numpy()
    return out


def train_classifier(model: StyleClassifier, train: list[tuple[Score, int]], valid: list[tuple[Score, int]],
                     minutes: float, learning_rate: float = 1e-3, batch_size: int = 64, seed: int = 0,
                     max_epochs: int | None = None, progress: bool = True) -> dict:
    """Train on windows of ``(score, style index)`` pairs; keep the weights of the best validation piece accuracy.

    Styles are balanced by sampling windows per style equally.  Training stops after ``minutes``
    (checked at every step: an epoch cut short is validated like a whole one; the time spent
    cutting the pieces into windows does not count) or ``max_epochs``, whichever comes first.
    Returns ``{"best_valid_accuracy", "epochs", "steps", "seconds", "curve"}`` (``epochs`` counts
    a cut-short epoch).
    """
    from tqdm import tqdm

    torch.manual_seed(seed)
    rng = random.Random(seed)
    by_style: dict[int, list[np.ndarray]] = {}
    for score, label in train:
        windows = piece_windows(score, model.config.window_frames)
        if len(windows):
            by_style.setdefault(label, []).extend(windows)
    if len(by_style) < 2:
        raise DataError("the training pieces cover fewer than two styles")
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-2)
    best, best_state, curve, epoch, steps = -1.0, None, [], 0, 0
    start = time.perf_counter()
    steps_per_epoch = max(1, sum(len(v) for v in by_style.values()) // batch_size)
    bar = tqdm(desc="training classifier", unit="epoch", disable=not progress)
    while time.perf_counter() - start < 60 * minutes and (max_epochs is None or epoch < max_epochs):
        epoch += 1
        model.train()
        for _ in range(steps_per_epoch):
            if steps and time.perf_counter() - start >= 60 * minutes:
                break  # the budget ran out inside the epoch: validate what there is
            steps += 1
            labels = [rng.choice(list(by_style)) for _ in range(batch_size)]
            batch = np.stack([rng.choice(by_style[label]) for label in labels])
            if rng.random() < 0.5:  # transposition by up to a fifth: style is not a key
                batch = np.roll(batch, rng.randint(-7, 7), axis=-1)
            loss = F.cross_entropy(model(torch.from_numpy(batch)), torch.tensor(labels))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        accuracy = piece_accuracy(model, valid)
        curve.append([round(time.perf_counter() - start, 1), epoch, round(accuracy, 4), steps])
        if accuracy > best:
            best, best_state = accuracy, {k: v.detach().clone() for k, v in model.state_dict().items()}
        bar.update(1)
        bar.set_postfix(valid_accuracy=f"{accuracy:.3f}")
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_valid_accuracy": best, "epochs": epoch, "steps": steps,
            "seconds": round(time.perf_counter() - start, 1), "curve": curve}


def piece_accuracy(model: StyleClassifier, pieces: list[tuple[Score, int]]) -> float:
    """Share of pieces whose most probable style is their label; NaN for no pieces."""
    if not pieces:
        return math.nan
    probs = classify_scores(model, [s for s, _ in pieces])
    return float(np.mean(probs.argmax(axis=1) == np.array([label for _, label in pieces])))


def save_classifier(path: str | os.PathLike[str], model: StyleClassifier, meta: dict) -> Path:
    """Write ``classifier.safetensors`` and ``meta.json`` into the folder ``path``."""
    from safetensors.torch import save

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path / "classifier.safetensors", save({k: v.contiguous() for k, v in model.state_dict().items()}))
    atomic_write_json(path / "meta.json", {"format": "symbolic.classifier/1", "config": asdict(model.config), **meta})
    return path


def load_classifier(path: str | os.PathLike[str]) -> tuple[StyleClassifier, dict]:
    """Load a folder written by :func:`save_classifier`."""
    from safetensors.torch import load

    path = Path(path)
    if not (path / "meta.json").is_file():
        raise DataError(f"{path}: not a style classifier (no meta.json); train one with "
                        "symbolic.models.classifier.train_classifier (the 'symbolic classifier train' command)")
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != "symbolic.classifier/1":
        raise DataError(f"{path}: not a style classifier (format {meta.get('format')!r})")
    model = StyleClassifier(ClassifierConfig(**meta["config"]))
    model.load_state_dict(load((path / "classifier.safetensors").read_bytes()))
    return model.eval(), meta


def dataset_pieces(data_dir: str | os.PathLike[str], split: str, styles: tuple[str, ...],
                   limit_per_style: int | None = None) -> list[tuple[Score, int]]:
    """``(score, style index)`` of the pieces of one split of a built data set (see ``manifest.json``)."""
    from symbolic.inputs.midi import read_midi

    manifest_path = Path(data_dir) / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(f"{data_dir}: no manifest.json; build the data set with 'symbolic data build'")
    records = json.loads(manifest_path.read_text(encoding="utf-8"))["pieces"]
    out, counts = [], {}
    for record in records:
        if record["split"] != split or record["style"] not in styles or "midi" not in record:
            continue
        if limit_per_style is not None and counts.get(record["style"], 0) >= limit_per_style:
            continue
        counts[record["style"]] = counts.get(record["style"], 0) + 1
        out.append((read_midi(record["midi"]), styles.index(record["style"])))
    return out
