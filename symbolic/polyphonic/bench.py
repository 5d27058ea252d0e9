"""The polyphonic benchmark protocol: frame NLL and accuracy, training with a time budget, checkpoints.

Protocol (``shared/data/README.md``): the negative log-likelihood of frame ``t + 1``
given frames ``<= t``, summed over the 88 binary units, in nats, averaged over
every predicted frame of the split (``T - 1`` per piece); frame accuracy
``ACC = TP / (TP + FP + FN)`` over the split, each frame predicted from the true
history (MADE: greedy, pitch by pitch).

A piece is either the benchmark's frames as they are (bool ``(T, 88)``, column ``k`` =
MIDI ``21 + k``, from :func:`symbolic.polyphonic.data.load_polyphonic_frames`) or a
78-pitch :class:`NoteRoll` (MIDI 24..101).  It is placed on the model's units
(``lowest_pitch``, ``n_pitches``); a model gives probability 0 to the units it lacks,
so a piece sounding one costs infinite NLL and is counted in ``violations``.  The
benchmark trains 88-unit models, which cover every file of the format.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from symbolic.polyphonic.data import BENCHMARK_LOWEST_PITCH, place_frames
from symbolic.errors import DataError
from symbolic.polyphonic.roll import RollModel, RollModelConfig
from symbolic.threads import compute_threads
from symbolic.tokenization.roll import LOWEST_PITCH, NoteRoll
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["frame_nll", "evaluate_rolls", "train_roll_model", "save_roll_model", "load_roll_model",
           "piece_units"]

Piece = NoteRoll | np.ndarray


def piece_units(piece: Piece, config: RollModelConfig) -> tuple[torch.Tensor, int]:
    """A piece on a model's units: float32 ``(T, config.n_pitches)`` and the number of sounding
    cells the units miss (with a roll's own ``n_out_of_range``).

    ``piece``: a :class:`NoteRoll` (MIDI 24..101) or the benchmark's bool ``(T, 88)`` frames
    (MIDI 21..108).
    """
    if isinstance(piece, NoteRoll):
        play, lowest, lost = piece.play, LOWEST_PITCH, piece.n_out_of_range
    else:
        play, lowest, lost = piece, BENCHMARK_LOWEST_PITCH, 0
    units, outside = place_frames(play, lowest, config.lowest_pitch, config.n_pitches)
    return torch.from_numpy(units.astype(np.float32)), outside + lost


@torch.no_grad()
def frame_nll(model: RollModel, roll: Piece) -> tuple[float, int]:
    """``(summed NLL in nats, predicted frames)`` of one piece; a piece of < 2 frames predicts none.

    A piece sounding a pitch outside the model's units costs ``inf``.
    """
    return _frame_nll(model, *piece_units(roll, model.config))


def _frame_nll(model: RollModel, x: torch.Tensor, outside: int) -> tuple[float, int]:
    if len(x) < 2:
        return 0.0, 0
    x = x[None]
    logits = model(x[:, :-1], targets=x[:, 1:])
    nll = F.binary_cross_entropy_with_logits(logits, x[:, 1:], reduction="sum").item()
    if outside:  # sounding units the model gives probability 0
        nll = math.inf
    return nll, x.shape[1] - 1


@torch.no_grad()
def evaluate_rolls(model: RollModel, rolls: list[Piece], accuracy: bool = True) -> dict[str, float]:
    """``{"nll": nats per predicted frame, "acc": TP/(TP+FP+FN), "frames": n, "violations": n}``.

    ``rolls``: pieces as :func:`piece_units` reads them.  ``violations`` counts pieces sounding a
    pitch outside the model's units (their NLL is infinite).  Empty input gives NaN NLL and
    accuracy and 0 frames.
    """
    return _evaluate(model, [piece_units(roll, model.config) for roll in rolls], accuracy)


@torch.no_grad()
def _evaluate(model: RollModel, pieces: list[tuple[torch.Tensor, int]], accuracy: bool) -> dict[str, float]:
    model.eval()
    total, frames, violations = 0.0, 0, 0
    contexts, currents, targets = [], [], []
    for x, outside in pieces:
        nll, n = _frame_nll(model, x, outside)
        if math.isinf(nll):
            violations += 1
        total += nll
        frames += n
        if accuracy and n:
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


def _batches(pieces: list[torch.Tensor], reach: list[tuple[int, int]], batch_size: int, rng: random.Random,
             max_frames: int):
    """``(x (B, L, n), mask (B, L - 1), shift (B,))`` batches of one epoch; ``reach[i]`` bounds the
    semitones piece ``i`` may move down and up."""
    order = [i for i in range(len(pieces)) if len(pieces[i]) >= 2]
    rng.shuffle(order)
    for i in range(0, len(order), batch_size):
        chosen = order[i:i + batch_size]
        length = min(max_frames, max(len(pieces[j]) for j in chosen))
        x = torch.zeros(len(chosen), length, pieces[chosen[0]].shape[1])
        mask = torch.zeros(len(chosen), length - 1)
        shift = torch.zeros(len(chosen), dtype=torch.long)
        for row, j in enumerate(chosen):
            n = len(pieces[j])
            start = rng.randrange(0, n - length + 1) if n > length else 0
            piece = pieces[j][start:start + length]
            shift[row] = rng.randint(-reach[j][0], reach[j][1])
            x[row, :len(piece)] = _shift(piece, int(shift[row]))
            mask[row, :len(piece) - 1] = 1
        yield x, mask, shift


def _reach(x: torch.Tensor, transpose: int) -> tuple[int, int]:
    """Semitones ``(down, up)``, at most ``transpose``, that keep every note of ``x`` on the units."""
    on = torch.nonzero(x.any(0)).flatten()
    if not len(on):
        return transpose, transpose
    return min(transpose, int(on[0])), min(transpose, x.shape[1] - 1 - int(on[-1]))


def train_roll_model(model: RollModel, train: list[Piece], valid: list[Piece], minutes: float,
                     learning_rate: float = 1e-3, batch_size: int = 16, max_frames: int = 256, seed: int = 0,
                     patience: int = 20, threads: int = 0, transpose: int = 0, max_epochs: int | None = None,
                     progress: bool = True, on_best: Callable[[dict], None] | None = None) -> dict:
    """Train for ``minutes`` of process CPU time (or until ``patience`` epochs without a better
    validation NLL), keeping the weights of the best validation NLL.

    ``train``, ``valid``: pieces as :func:`piece_units` reads them.  ``threads`` sets torch's threads
    (0: :func:`symbolic.threads.compute_threads` decides; the CPU time counts every thread).
    ``transpose`` moves each training piece, at each epoch, by a random number of semitones in
    ``[-transpose, transpose]``, never moving a note off the units; a model with ``transpositions``
    is told the number (validation is never transposed).  ``max_epochs`` bounds the epochs as well as the time.
    ``on_best(run)`` is called with the run so far (the dict returned below) each time the validation
    NLL improves, while the model holds those weights: a caller saves them there, so a run killed
    later keeps its best weights.  ``KeyboardInterrupt`` (Ctrl-C) during training ends it early,
    as the budget does (``"interrupted": True`` in the result).

    Returns ``{"best_valid_nll", "curve": [[cpu_seconds, epoch, valid_nll, wall_seconds], ...],
    "epochs", "seconds" (wall), "cpu_seconds", "interrupted"}``; the model holds the best weights at the end.

    Raises:
        DataError: no training piece of two frames or more, no validation frame, or a piece sounding
            a pitch outside the model's units.
    """
    from tqdm import tqdm

    config = model.config
    train_units, valid_units = [[piece_units(p, config) for p in split] for split in (train, valid)]
    outside = sum(n > 0 for _, n in train_units + valid_units)
    if outside:
        raise DataError(f"{outside} training or validation pieces sound outside the model's units MIDI "
                        f"{config.lowest_pitch}..{config.lowest_pitch + config.n_pitches - 1}; "
                        "use a model whose units cover them")
    if not any(len(x) >= 2 for x, _ in train_units) or not any(len(x) >= 2 for x, _ in valid_units):
        raise DataError("training needs a training piece and a validation piece of at least two frames")
    if transpose and config.transpositions and transpose > config.transpositions:
        raise DataError(f"transpose={transpose} exceeds the model's transpositions={config.transpositions}")
    pieces = [x for x, _ in train_units]
    reach = [_reach(x, transpose) for x in pieces]
    torch.manual_seed(seed)
    torch.set_num_threads(compute_threads(threads))
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    wall, cpu = time.perf_counter(), time.process_time()

    def out_of_time() -> bool:
        return time.process_time() - cpu >= 60 * minutes

    best, best_state, stale, curve, epoch, interrupted = math.inf, None, 0, [], 0, False

    def result() -> dict:
        return {"best_valid_nll": best, "curve": curve, "epochs": epoch, "interrupted": interrupted,
                "seconds": round(time.perf_counter() - wall, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1)}

    bar = tqdm(desc="training", unit="epoch", disable=not progress)
    try:
        while not out_of_time() and stale < patience and (max_epochs is None or epoch < max_epochs):
            epoch += 1
            model.train()
            for x, mask, shift in _batches(pieces, reach, batch_size, rng, max_frames):
                logits = model(x[:, :-1], targets=x[:, 1:], shift=shift if config.transpositions else None)
                loss = (F.binary_cross_entropy_with_logits(logits, x[:, 1:], reduction="none").sum(-1) * mask).sum()
                loss = loss / mask.sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                if out_of_time():
                    break
            valid_nll = _evaluate(model, valid_units, accuracy=False)["nll"]
            curve.append([round(time.process_time() - cpu, 1), epoch, round(valid_nll, 4),
                          round(time.perf_counter() - wall, 1)])
            if valid_nll < best - 1e-4:
                best, stale = valid_nll, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if on_best is not None:
                    model.eval()
                    on_best(result())
            else:
                stale += 1
            bar.update(1)
            bar.set_postfix(valid_nll=f"{valid_nll:.3f}", best=f"{best:.3f}")
    except KeyboardInterrupt:
        interrupted = True
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return result()


def _shift(x: torch.Tensor, semitones: int) -> torch.Tensor:
    """Frames ``(..., n)`` shifted up (positive) or down by ``semitones`` along the last axis,
    zero-filled (notes moved past an edge are lost)."""
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
        raise DataError(f"{path}: not a roll-model checkpoint (no meta.json); give the "
                        "folder a polyphonic benchmark training wrote")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != "symbolic.roll-model/1":
        raise DataError(f"{path}: not a roll-model checkpoint (format {meta.get('format')!r})")
    model = RollModel(RollModelConfig(**meta["config"]))
    model.load_state_dict(load((path / "model.safetensors").read_bytes()))
    return model.eval(), meta


def sample_scores(model: RollModel, n: int, frames_per_beat: int = 1, seed: int = 0,
                  n_frames: int = 64) -> list:
    """``n`` pieces of ``n_frames`` frames sampled from a roll model (seeds ``seed``, ``seed + 1``, ...), as scores."""
    from symbolic.polyphonic.data import frames_to_roll
    from symbolic.tokenization.roll import NoteRollConfig, from_note_roll

    return [from_note_roll(frames_to_roll(model.sample(n_frames, seed=seed + i), frames_per_beat,
                                          model.config.lowest_pitch),
                           NoteRollConfig(frames_per_beat=frames_per_beat)) for i in range(n)]
