"""Training on CPU: AdamW, warm-up and cosine decay, clipping, validation, early stopping, resume, DDP.

Determinism: the batch of step ``s`` and the dropout noise of step ``s`` come
from generators seeded by ``(seed, s)``, so a run resumed from a checkpoint
takes exactly the steps an uninterrupted run takes.  Under ``torchrun``
(``WORLD_SIZE`` > 1) the model is wrapped in DistributedDataParallel over the
gloo backend and each process takes its share of every global batch.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from symbolic.data.dataset import TokenDataset
from symbolic.errors import ConfigError, DataError
from symbolic.models.base import IGNORE_INDEX
from symbolic.models.checkpoint import _safetensors_bytes, load_weights, read_meta, save_checkpoint
from symbolic.threads import compute_threads
from symbolic.tokenization.events import EventTokenizer
from symbolic.utils import remove_stale_temporaries

__all__ = ["TrainConfig", "TrainResult", "train", "unigram_baseline", "make_batch"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        batch_size: windows per step (the global batch under DDP).
        learning_rate, min_learning_rate: peak and final rate of the cosine schedule.
        warmup_steps: linear warm-up from 0 to the peak.
        max_steps: optimisation steps in all.
        weight_decay, beta1, beta2: AdamW settings (no decay on biases, norms, embeddings).
        grad_clip: global gradient-norm bound (0 disables).
        eval_every: steps between validation runs (and checkpoints).
        eval_batches: validation batches per run (fixed windows, spread over the split).
        patience: stop after this many validation runs without improvement (0: never stop early).
        max_minutes: stop and checkpoint after this much training time (``None``: no bound).
        seed: seeds batches, dropout and initialisation.
        num_threads: torch threads per process (0: :func:`symbolic.threads.compute_threads` decides: the
            free cores or the user's limit, divided among the DDP processes).
        bf16: run forward passes under bfloat16 autocast (about 1.25 times faster on CPUs with
            AVX512-BF16 or AMX; slower on CPUs without them).
    """

    batch_size: int = 16
    learning_rate: float = 6e-4
    min_learning_rate: float = 6e-5
    warmup_steps: int = 100
    max_steps: int = 2000
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    patience: int = 5
    max_minutes: float | None = None
    seed: int = 0
    num_threads: int = 0
    bf16: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_steps < 1 or self.eval_every < 1 or self.eval_batches < 1:
            raise ConfigError("batch_size, max_steps, eval_every and eval_batches must be >= 1")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise ConfigError("need 0 < min_learning_rate <= learning_rate")
        if self.warmup_steps < 0 or self.patience < 0 or self.grad_clip < 0 or self.num_threads < 0:
            raise ConfigError("warmup_steps, patience, grad_clip and num_threads must be >= 0")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError("max_minutes must be > 0")

    def learning_rate_at(self, step: int) -> float:
        """Learning rate of optimisation step ``step`` (1-based)."""
        if step <= self.warmup_steps:
            return self.learning_rate * step / max(1, self.warmup_steps)
        progress = (step - self.warmup_steps) / max(1, self.max_steps - self.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return self.min_learning_rate + (self.learning_rate - self.min_learning_rate) * cosine


@dataclass
class TrainResult:
    """What a training call did."""

    checkpoint: Path
    step: int
    best_valid_loss: float
    unigram_loss: float
    history: list[dict]
    stopped: str
    seconds: float


def make_batch(dataset: TokenDataset, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs ``(B, L)``, targets ``(B, L)`` (``-100`` past each window) and style ids ``(B,)``, int64."""
    items = [dataset[i] for i in indices]
    length = max(len(item["input_ids"]) for item in items) - 1
    inputs = torch.zeros((len(items), length), dtype=torch.long)
    targets = torch.full((len(items), length), IGNORE_INDEX, dtype=torch.long)
    for row, item in enumerate(items):
        ids = item["input_ids"]
        inputs[row, :len(ids) - 1] = ids[:-1]
        targets[row, :len(ids) - 1] = ids[1:]
    styles = torch.tensor([item["style_id"] for item in items], dtype=torch.long)
    return inputs, targets, styles


def unigram_baseline(train: TokenDataset, valid: TokenDataset, indices: list[int]) -> float:
    """Cross-entropy (nats per token) of the add-one unigram model of the training tokens on the validation targets."""
    counts = np.bincount(train.tokens, minlength=train.tokenizer.vocab_size).astype(np.float64) + 1.0
    log_probs = np.log(counts / counts.sum())
    _, targets, _ = make_batch(valid, indices)
    kept = targets[targets != IGNORE_INDEX].numpy()
    return float(-log_probs[kept].mean())


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (decay if param.dim() >= 2 and "emb" not in name else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2))


@torch.no_grad()
def _evaluate(model: torch.nn.Module, valid: TokenDataset, batches: list[list[int]], bf16: bool) -> float:
    model.eval()
    total = count = 0.0
    for indices in batches:
        inputs, targets, styles = make_batch(valid, indices)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(inputs, styles)
        logits = logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                                                 ignore_index=IGNORE_INDEX, reduction="sum")
        total += float(loss)
        count += int((targets != IGNORE_INDEX).sum())
    model.train()
    return total / max(1.0, count)


class _StopAtStepBoundary:
    """Between ``install()`` and ``restore()``, the first SIGINT (Ctrl-C) or SIGTERM only sets ``requested``;
    the training loop stops at the next step boundary and checkpoints.

    A second signal raises ``KeyboardInterrupt`` at once, as Python does by default.  Outside the main
    thread (where signal handlers cannot be set) this does nothing.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> "_StopAtStepBoundary":
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name)
                if signal.getsignal(number) is not signal.SIG_IGN:  # a signal ignored by the caller stays ignored
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def restore(self) -> None:
        import signal

        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _stop_requested(local: bool, world: int) -> bool:
    """Whether any process asked to stop (under DDP every process must stop at the same step)."""
    if world == 1:
        return local
    flag = torch.tensor([1 if local else 0])
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


def train(model: torch.nn.Module, tokenizer: EventTokenizer, data_dir: str | os.PathLike[str],
          out_dir: str | os.PathLike[str], config: TrainConfig, resume: bool = False,
          progress: bool = True, stop_after_steps: int | None = None) -> TrainResult:
    """Train ``model`` on the data set in ``data_dir``; checkpoints go to ``out_dir``.

    Args:
        model: a fresh decoder (with ``resume``, its weights are replaced by the checkpoint's).
        tokenizer: the data set's tokenizer (its spec is saved in the checkpoint).
        config: optimisation settings.
        resume: continue the run checkpointed in ``out_dir``.
        progress: show a tqdm bar with loss and tokens per second.
        stop_after_steps: stop after this many steps of this call, as an interruption
            would, checkpointing first (used to test resume).

    Returns:
        A :class:`TrainResult`; the checkpoint holds the best weights too.

    Raises:
        ConfigError: ``out_dir`` already holds a checkpoint and ``resume`` is False (a new run would
            overwrite it), or ``resume`` is True and the checkpoint's model or vocabulary differs from this
            run's, or a file of the checkpoint is missing.
        DataError: the data set was built with another tokenizer, or a split is empty.
    """
    from tqdm import tqdm

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    torch.set_num_threads(compute_threads(config.num_threads, workers=world))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    out = Path(out_dir)
    if not resume and (out / "meta.json").is_file():
        try:
            at = f" at step {read_meta(out).get('step', '?')}"
        except (DataError, OSError, ValueError):  # another format, or a broken meta.json: refused all the same
            at = ""
        raise ConfigError(f"{out} already holds a training checkpoint{at}; resume that run, or train into "
                          "an empty or new folder (training again here would overwrite it)")
    if rank == 0:
        remove_stale_temporaries(out)  # left by a run killed while writing its checkpoint
    context = model.config.context_length
    train_set = TokenDataset(data_dir, "train", context_length=context + 1, overlap=context // 4)
    valid_set = TokenDataset(data_dir, "valid", context_length=context + 1)
    if train_set.tokenizer.vocab.names != tokenizer.vocab.names:
        raise DataError(f"{data_dir}: the data set was built with another tokenizer than the model's")
    if len(train_set) == 0 or len(valid_set) == 0:
        raise DataError(f"{data_dir}: the train or valid split is empty; build it with more pieces per style")
    n_eval = min(len(valid_set), config.eval_batches * config.batch_size)
    eval_indices = np.linspace(0, len(valid_set) - 1, n_eval).round().astype(int).tolist()
    eval_batches = [eval_indices[i:i + config.batch_size] for i in range(0, n_eval, config.batch_size)]
    unigram = unigram_baseline(train_set, valid_set, eval_indices)

    optimizer = _optimizer(model, config)
    step, history, best_loss, best_state, stale = 0, [], float("inf"), None, 0
    if resume:
        meta = read_meta(out)
        if meta["model_config"] != {k: v for k, v in model.config.__dict__.items()}:
            raise ConfigError(f"{out}: the checkpoint's model config differs from this run's; resume with the "
                              "same model kind and size it was started with")
        if meta["tokenizer"]["vocabulary"] != tokenizer.vocab.names:
            raise ConfigError(f"{out}: the checkpoint was trained on a data set with another vocabulary (its styles: "
                              f"{', '.join(meta.get('styles', []))}; this data set's: "
                              f"{', '.join(tokenizer.vocab.styles)}); resume it on the data set it was started on")
        missing = [name for name in (meta["weights"], meta["optimizer"], "best.safetensors") if not (out / name).is_file()]
        if missing:
            raise ConfigError(f"{out}: the checkpoint is incomplete ({', '.join(missing)} missing), so it cannot be "
                              "resumed; train into a new folder")
        load_weights(model, (out / meta["weights"]).read_bytes())
        optimizer.load_state_dict(torch.load(out / meta["optimizer"], weights_only=True))
        step, history = meta["step"], meta["history"]
        best_loss, stale = meta.get("best_valid_loss", float("inf")), meta.get("stale_evals", 0)
        best_state = (out / "best.safetensors").read_bytes()
    ddp_model = model
    if world > 1:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model)

    def checkpoint() -> None:
        if rank == 0:
            save_checkpoint(out, model, tokenizer, asdict(config), step, history, best_state, optimizer,
                            extra={"best_valid_loss": best_loss, "stale_evals": stale, "unigram_loss": unigram})

    model.train()
    start_time = time.perf_counter()
    bar = tqdm(total=config.max_steps, initial=step, desc="training", unit="step", disable=not progress or rank)
    stopped, steps_this_call, tokens_seen = "max_steps", 0, 0
    stop_request = _StopAtStepBoundary().install()
    try:
        while step < config.max_steps:
            if _stop_requested(stop_request.requested, world):  # Ctrl-C: stop here, between two steps
                stopped = "interrupted"
                break
            step += 1
            steps_this_call += 1
            generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
            indices = torch.randint(len(train_set), (config.batch_size,), generator=generator).tolist()
            inputs, targets, styles = make_batch(train_set, indices[rank::world])
            torch.manual_seed(config.seed * 7_000_003 + step * world + rank)  # dropout noise of this step
            for group in optimizer.param_groups:
                group["lr"] = config.learning_rate_at(step)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                _, loss = ddp_model(inputs, styles, targets=targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            tokens_seen += int((targets != IGNORE_INDEX).sum()) * world
            elapsed = time.perf_counter() - start_time
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", tok_s=f"{tokens_seen / max(elapsed, 1e-9):.0f}")
            record = {"step": step, "loss": round(loss.item(), 6), "lr": config.learning_rate_at(step)}
            if step % config.eval_every == 0 or step == config.max_steps:
                valid_loss = _evaluate(model, valid_set, eval_batches, config.bf16)
                record["valid_loss"] = round(valid_loss, 6)
                if valid_loss < best_loss - 1e-4:
                    best_loss, stale, best_state = valid_loss, 0, _safetensors_bytes(model)
                else:
                    stale += 1
                history.append(record)
                checkpoint()
                if config.patience and stale >= config.patience:
                    stopped = "early_stopping"
                    break
            else:
                history.append(record)
            if config.max_minutes is not None and elapsed > 60 * config.max_minutes:
                stopped = "max_minutes"
                break
            if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                stopped = "interrupted"
                break
    finally:  # a second Ctrl-C raises KeyboardInterrupt inside a step: that half-done step is not checkpointed
        stop_request.restore()
        bar.close()
    if not history or "valid_loss" not in history[-1] or stopped == "interrupted":
        checkpoint()
    return TrainResult(out, step, best_loss, unigram, history, stopped, time.perf_counter() - start_time)
