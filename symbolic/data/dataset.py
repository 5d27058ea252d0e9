"""PyTorch access to a built data set: windows of token ids with their style.

``torch`` is imported here only, so ``import symbolic`` stays light.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from symbolic.errors import ConfigError, DataError
from symbolic.tokenization.events import EventTokenizer

__all__ = ["TokenDataset", "collate_tokens", "load_split"]


def load_split(data_dir: str | os.PathLike[str], split: str) -> dict[str, np.ndarray]:
    """The arrays of one split: ``tokens`` (int32), ``offsets`` (int64), ``styles`` (int64), ``ids`` (str)."""
    data_dir = Path(data_dir)
    if split not in ("train", "valid", "test"):
        raise ConfigError(f"split {split!r} is not one of train, valid, test")
    path = data_dir / f"{split}.npz"
    if not path.is_file():
        raise DataError(f"{path} not found; build the data set first: symbolic data build --out {data_dir} ...")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in ("tokens", "offsets", "styles", "ids")}


class TokenDataset:
    """Fixed windows of at most ``context_length`` tokens over the pieces of a split.

    Each piece is cut into consecutive windows that overlap by ``overlap`` tokens
    (the first window starts at the BOS token).  Item ``i`` is a dict with
    ``input_ids`` (int64 tensor ``(L,)``, ``L <= context_length``) and
    ``style_id`` (int, index into ``tokenizer.vocab.styles``).

    Args:
        data_dir: a folder written by :func:`symbolic.data.build.build_dataset`.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        context_length: window length in tokens (>= 2).
        overlap: tokens shared by consecutive windows of a piece.
    """

    def __init__(self, data_dir: str | os.PathLike[str], split: str, context_length: int, overlap: int = 0) -> None:
        if context_length < 2 or not 0 <= overlap < context_length:
            raise ConfigError(f"context_length={context_length} must be >= 2 and overlap={overlap} in "
                              "0..context_length-1")
        self.data_dir = Path(data_dir)
        self.tokenizer = EventTokenizer.from_spec(self.data_dir / "tokenizer.json")
        arrays = load_split(self.data_dir, split)
        self.tokens, self.styles, self.ids = arrays["tokens"], arrays["styles"], arrays["ids"]
        offsets = arrays["offsets"]
        self.context_length = context_length
        stride = context_length - overlap
        windows = []
        for piece in range(len(offsets) - 1):
            start, end = int(offsets[piece]), int(offsets[piece + 1])
            position = start
            while True:
                windows.append((piece, position, min(position + context_length, end)))
                if position + context_length >= end:
                    break
                position += stride
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        import torch

        piece, start, end = self.windows[index]
        return {"input_ids": torch.from_numpy(self.tokens[start:end].astype(np.int64)),
                "style_id": int(self.styles[piece])}

    @property
    def manifest(self) -> dict:
        """The build manifest (settings, counts, pieces, failures)."""
        return json.loads((self.data_dir / "manifest.json").read_text(encoding="utf-8"))


def collate_tokens(items: list[dict], pad_id: int = 0) -> dict:
    """Pad a list of dataset items into a batch.

    Returns:
        ``input_ids`` int64 ``(B, L)`` padded with ``pad_id``; ``style_ids`` int64
        ``(B,)``; ``attention_mask`` bool ``(B, L)``, true on real tokens.
    """
    import torch

    if not items:
        return {"input_ids": torch.zeros((0, 0), dtype=torch.long), "style_ids": torch.zeros(0, dtype=torch.long),
                "attention_mask": torch.zeros((0, 0), dtype=torch.bool)}
    length = max(len(item["input_ids"]) for item in items)
    input_ids = torch.full((len(items), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), length), dtype=torch.bool)
    for row, item in enumerate(items):
        n = len(item["input_ids"])
        input_ids[row, :n] = item["input_ids"]
        mask[row, :n] = True
    styles = torch.tensor([item["style_id"] for item in items], dtype=torch.long)
    return {"input_ids": input_ids, "style_ids": styles, "attention_mask": mask}
