"""Checkpoints: a folder holding config, tokenizer spec, style vocabulary, weights and optimizer state.

Layout::

    CKPT/meta.json                   format, model kind and config, train config, tokenizer spec,
                                     styles, step, history, which files hold the state
    CKPT/weights-<step>.safetensors  latest weights (resume)
    CKPT/best.safetensors            weights of the best validation loss (generation)
    CKPT/optimizer-<step>.pt         AdamW state (resume)

Every file is written atomically, the step files before ``meta.json``, and
``meta.json`` names the files it belongs to; an interruption at any moment
leaves a checkpoint that loads.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from symbolic.errors import ConfigError, DataError
from symbolic.models.gpt import GPT, GPTConfig
from symbolic.models.lstm import LSTMConfig, LSTMDecoder
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.vocab import spec_dict
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["MODEL_KINDS", "build_model", "model_kind", "save_checkpoint", "load_checkpoint", "load_weights",
           "read_meta", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "symbolic.checkpoint/1"
MODEL_KINDS = {"gpt": (GPT, GPTConfig), "lstm": (LSTMDecoder, LSTMConfig)}


def model_kind(model: torch.nn.Module) -> str:
    """``"gpt"`` or ``"lstm"``."""
    for kind, (cls, _) in MODEL_KINDS.items():
        if isinstance(model, cls):
            return kind
    raise ConfigError(f"{type(model).__name__} is not a symbolic decoder")


def build_model(kind: str, config_dict: dict) -> torch.nn.Module:
    """A fresh model of ``kind`` from its config as a dict (unknown keys are named in the error)."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    cls, config_cls = MODEL_KINDS[kind]
    known = set(config_cls.__dataclass_fields__)
    unknown = sorted(set(config_dict) - known)
    if unknown:
        raise ConfigError(f"unknown {kind} setting(s) {unknown}; known settings are {sorted(known)}")
    return cls(config_cls(**config_dict))


def _safetensors_bytes(model: torch.nn.Module) -> bytes:
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "head.weight"}
    return save(state)  # head.weight is tied to tok_emb.weight


def save_checkpoint(path: str | os.PathLike[str], model: torch.nn.Module, tokenizer: EventTokenizer,
                    train_config: dict, step: int, history: list[dict], best_state: bytes | None,
                    optimizer: torch.optim.Optimizer | None = None, extra: dict | None = None) -> Path:
    """Write a checkpoint folder (see the module doc); returns its path.

    ``best_state`` is the safetensors bytes of the best weights so far (``None``:
    the current weights are the best).  ``extra`` goes into ``meta.json`` as is.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    raw = model.module if hasattr(model, "module") else model  # unwrap DistributedDataParallel
    weights = _safetensors_bytes(raw)
    weights_name, optimizer_name = f"weights-{step}.safetensors", f"optimizer-{step}.pt"
    atomic_write_bytes(path / weights_name, weights)
    atomic_write_bytes(path / "best.safetensors", best_state if best_state is not None else weights)
    if optimizer is not None:
        buffer = io.BytesIO()
        torch.save(optimizer.state_dict(), buffer)
        atomic_write_bytes(path / optimizer_name, buffer.getvalue())
    meta = {
        "format": CHECKPOINT_FORMAT,
        "model": model_kind(raw),
        "model_config": asdict(raw.config),
        "train_config": train_config,
        "tokenizer": spec_dict(tokenizer.config),
        "styles": list(tokenizer.vocab.styles),
        "step": step,
        "weights": weights_name,
        "optimizer": optimizer_name if optimizer is not None else None,
        "history": history,
        **(extra or {}),
    }
    atomic_write_json(path / "meta.json", meta)
    for old in list(path.glob("weights-*.safetensors")) + list(path.glob("optimizer-*.pt")):
        if old.name not in (weights_name, optimizer_name):
            old.unlink(missing_ok=True)
    return path


def load_weights(model: torch.nn.Module, data: bytes) -> None:
    """Load safetensors bytes written by :func:`save_checkpoint` into ``model`` (re-tying the head)."""
    from safetensors.torch import load

    state = load(data)
    state["head.weight"] = state["tok_emb.weight"]  # the head is tied to the embedding; it is not stored
    model.load_state_dict(state)


def read_meta(path: str | os.PathLike[str]) -> dict:
    """The ``meta.json`` of a checkpoint, checked for format."""
    path = Path(path)
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise DataError(f"{path}: not a checkpoint (no meta.json); train one with symbolic.models.training.train "
                        "(the 'symbolic train' command)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path}: checkpoint format {meta.get('format')!r} is not {CHECKPOINT_FORMAT!r}; "
                        "it was written by another version of symbolic: retrain it")
    return meta


def load_checkpoint(path: str | os.PathLike[str], best: bool = True) -> tuple[torch.nn.Module, EventTokenizer, dict]:
    """Load ``(model, tokenizer, meta)``; ``best`` picks the best-validation weights, else the latest.

    The model is in eval mode on the CPU.

    Raises:
        DataError: not a checkpoint, or written for another tokenizer version than this code reads.
    """
    path = Path(path)
    meta = read_meta(path)
    try:
        tokenizer = EventTokenizer.from_spec(meta["tokenizer"])
    except ConfigError as exc:
        raise DataError(f"{path}: the checkpoint's tokenizer does not match this version of symbolic ({exc}); "
                        "retrain the model with this version") from None
    model = build_model(meta["model"], meta["model_config"])
    name = "best.safetensors" if best else meta["weights"]
    load_weights(model, (path / name).read_bytes())
    model.eval()
    return model, tokenizer, meta
