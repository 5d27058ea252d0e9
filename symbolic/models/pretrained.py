"""Models shipped inside the package, loaded by name; exporting a trained decoder for generation.

``default`` is the GPT decoder trained by ``symbolic train --preset default`` on
the embedded music21 corpus (see MODEL_CARD.md); ``style-classifier`` is the
note-roll CNN that judges style.  Both live in ``symbolic/assets``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from symbolic.errors import DataError
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["PRETRAINED_DECODERS", "decoder_path", "load_decoder", "export_decoder"]

PRETRAINED_DECODERS: dict[str, str] = {"default": "default-model"}


def decoder_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Folder of a decoder: a checkpoint folder on disk, or the name of a shipped one."""
    from symbolic.resources import asset_path

    path = Path(name_or_path)
    if path.is_dir():
        return path
    if str(name_or_path) in PRETRAINED_DECODERS:
        return asset_path(PRETRAINED_DECODERS[str(name_or_path)])
    raise DataError(f"no model {str(name_or_path)!r}: give a checkpoint folder from 'symbolic train' or one of "
                    f"the shipped models: {', '.join(PRETRAINED_DECODERS)}")


def load_decoder(name_or_path: str | os.PathLike[str] = "default"):
    """``(model in eval mode, tokenizer, meta)`` of a shipped decoder (by name) or a checkpoint folder."""
    from symbolic.models.checkpoint import load_checkpoint

    model, tokenizer, meta = load_checkpoint(decoder_path(name_or_path))
    return model.eval(), tokenizer, meta


def export_decoder(checkpoint: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Copy the best weights and ``meta.json`` of a training checkpoint to ``out`` (no optimizer state).

    The copy's ``meta.json`` names ``best.safetensors`` as its weights and no optimizer
    state, so it loads for generation but is not a run to resume.
    """
    checkpoint, out = Path(checkpoint), Path(out)
    for name in ("meta.json", "best.safetensors"):
        if not (checkpoint / name).is_file():
            raise DataError(f"{checkpoint}: no {name}; is it a folder written by 'symbolic train'?")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "best.safetensors", (checkpoint / "best.safetensors").read_bytes())
    meta = json.loads((checkpoint / "meta.json").read_text(encoding="utf-8"))
    meta.update(weights="best.safetensors", optimizer=None)
    atomic_write_json(out / "meta.json", meta)
    return out
