"""The polyphonic benchmark protocol: frame NLL and accuracy, training with a time budget, checkpoints.

Protocol (``shared/data/README.md``): the negative log-likelihood of frame ``t + 1``
given frames ``<= t``, summed over the 88 binary units, in nats, averaged over
every predicted frame of the split (``T - 1`` per piece); frame accuracy
``ACC = TP / (TP + FP + FN)`` over the split, each frame predicted from the true
history (MADE: greedy, pitch by pitch).  Our models cover MIDI 24..101 and
predict the other 10 units off with certainty: a frame where one of them sounds
would cost infinite NLL and is counted in ``violations`` (none in JSB or Nottingham).
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from symbolic.errors import DataError
from symbolic.polyphonic.roll import RollModel, RollModelConfig
from symbolic.threads import compute_threads
from symbolic.tokenization.roll import NoteRoll
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["frame_nll", "evaluate_rolls", "train_roll_model", "save_roll_model", "load_roll_model"]


def _tensor(roll: NoteRoll) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(roll.play, dtype=np.float32))


@torch.no_grad()
def frame_nll(model: RollModel, roll: NoteRoll) -> tuple[float, int]:
    """``(summed NLL in nats, predicted frames)`` of one piece; a piece of < 2 frames predicts none."""
    if roll.n_frames < 2:
        return 0.0, 0
    x = _tensor(roll)[None]
    logits = model(x[:, :-1], targets=x[:, 1:])
    nll = F.binary_cross_entropy_with_logits(logits, x[:, 1:], reduction="sum").item()
    if roll.n_out_of_range:  # sounding units the model gives probability 0
        nll = math.inf
    return nll, roll.n_frames - 1


@torch.no_grad()
def evaluate_rolls(model: RollModel, rolls: list[NoteRoll], accuracy: bool = True) -> dict[str, float]:
    """``{"nll": nats per predicted frame, "acc": TP/(TP+FP+FN), "frames": n, "violations": n}``.

    Empty input gives NaN NLL and accuracy and 0 frames.
    """
    model.eval()
    total, frames, violations = 0.0, 0, 0
    contexts, currents, targets = [], [], []
    for roll in rolls:
        nll, n = frame_nll(model, roll)
        if math.isinf(nll):
            violations += 1
        total += nll
        frames += n
        if accuracy and n:
            x = _tensor(roll)
            contexts.append(model.context(x[None, :-1])[0])
            currents.append(x[:-1])
            targets.append(x[1:])
    acc = math.nan
    if contexts:  # every frame of the split decoded at once: one batch per pitch step
        pred = model.predict_frame(torch.cat(contexts), sample=False, frames=torch.cat(currents))
        true = torch.cat(targets)
        tp, fp, fn = int((pred * true).sum()), int((pred * (1 - true)).sum()), int(((1 - pred) * true).sum())
        acc = tp / (tp + fp + fn) if tp + fp + fn else math.nan
    return {"nll": total / frames if frames else math.nan, "acc": acc, "frames": frames, "violations": violations}


def _batches(rolls: list[NoteRoll], batch_size: int, rng: random.Random, max_frames: int):
    order = list(range(len(rolls)))
    rng.shuffle(order)
    for i in range(0, len(order), batch_size):
        chosen = [rolls[j] for j in order[i:i + batch_size] if rolls[j].n_frames >= 2]
        if not chosen:
            continue
        length = min(max_frames, max(r.n_frames for r in chosen))
        x = torch.zeros(len(chosen), length, 78)
        mask = torch.zeros(len(chosen), length - 1)
        for row, roll in enumerate(chosen):
            start = rng.randrange(0, roll.n_frames - length + 1) if roll.n_frames > length else 0
            piece = _tensor(roll)[start:start + length]
            x[row, :len(piece)] = piece
            mask[row, :len(piece) - 1] = 1
        yield x, mask


def train_roll_model(model: RollModel, train: list[NoteRoll], valid: list[NoteRoll], minutes: float,
                     learning_rate: float = 1e-3, batch_size: int = 16, max_frames: int = 256, seed: int = 0,
                     patience: int = 20, threads: int = 0, transpose: int = 0, max_epochs: int | None = None,
                     progress: bool = True) -> dict:
    """Train for ``minutes`` (or until ``patience`` epochs without a better validation NLL).

    ``threads`` sets torch's threads (0: :func:`symbolic.threads.compute_threads` decides).  ``transpose`` shifts each training batch by a
    random number of semitones in ``[-transpose, transpose]`` (notes pushed out of the roll are dropped).
    ``max_epochs`` bounds the epochs as well as the time.  Returns ``{"best_valid_nll", "curve":
    [[seconds, epoch, valid_nll], ...], "epochs", "seconds"}``;
    the model holds the best weights at the end.
    """
    from tqdm import tqdm

    torch.manual_seed(seed)
    torch.set_num_threads(compute_threads(threads))
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    start = time.perf_counter()
    best, best_state, stale, curve, epoch = math.inf, None, 0, [], 0
    bar = tqdm(desc="training", unit="epoch", disable=not progress)
    while time.perf_counter() - start < 60 * minutes and stale < patience and (max_epochs is None or epoch < max_epochs):
        epoch += 1
        model.train()
        for x, mask in _batches(train, batch_size, rng, max_frames):
            if transpose:
                x = _shift(x, rng.randint(-transpose, transpose))
            logits = model(x[:, :-1], targets=x[:, 1:])
            loss = (F.binary_cross_entropy_with_logits(logits, x[:, 1:], reduction="none").sum(-1) * mask).sum()
            loss = loss / mask.sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            if time.perf_counter() - start > 60 * minutes:
                break
        valid_nll = evaluate_rolls(model, valid, accuracy=False)["nll"]
        curve.append([round(time.perf_counter() - start, 1), epoch, round(valid_nll, 4)])
        if valid_nll < best - 1e-4:
            best, stale = valid_nll, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        bar.update(1)
        bar.set_postfix(valid_nll=f"{valid_nll:.3f}", best=f"{best:.3f}")
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"best_valid_nll": best, "curve": curve, "epochs": epoch, "seconds": round(time.perf_counter() - start, 1)}


def _shift(x: torch.Tensor, semitones: int) -> torch.Tensor:
    """Frames shifted up (positive) or down by ``semitones``, zero-filled."""
    if semitones == 0:
        return x
    out = torch.zeros_like(x)
    if semitones > 0:
        out[..., semitones:] = x[..., :-semitones]
    else:
        out[..., :semitones] = x[..., -semitones:]
    return out


def save_roll_model(path: str | os.PathLike[str], model: RollModel, meta: dict) -> Path:
    """Write ``model.safetensors`` and ``meta.json`` (config and ``meta``) into the folder ``path``."""
    from safetensors.torch import save

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path / "model.safetensors", save(state))
    atomic_write_json(path / "meta.json", {"format": "symbolic.roll-model/1", "config": asdict(model.config),
                                           **meta})
    return path


def load_roll_model(path: str | os.PathLike[str]) -> tuple[RollModel, dict]:
    """Load a folder written by :func:`save_roll_model`: the model (eval mode) and its meta."""
    from safetensors.torch import load

    path = Path(path)
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise DataError(f"{path}: not a roll-model checkpoint (no meta.json); train one with "
                        "'symbolic bench polyphonic --data FILE.mat --model NAME --out DIR'")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != "symbolic.roll-model/1":
        raise DataError(f"{path}: not a roll-model checkpoint (format {meta.get('format')!r})")
    model = RollModel(RollModelConfig(**meta["config"]))
    model.load_state_dict(load((path / "model.safetensors").read_bytes()))
    return model.eval(), meta


def sample_scores(model: RollModel, n: int, frames_per_beat: int = 1, seed: int = 0,
                  n_frames: int = 64) -> list:
    """``n`` pieces of ``n_frames`` frames sampled from a roll model (seeds ``seed``, ``seed + 1``, ...), as scores."""
    from symbolic.polyphonic.data import roll_from_frames
    from symbolic.tokenization.roll import NoteRollConfig, from_note_roll

    return [from_note_roll(roll_from_frames(model.sample(n_frames, seed=seed + i), frames_per_beat),
                           NoteRollConfig(frames_per_beat=frames_per_beat)) for i in range(n)]
