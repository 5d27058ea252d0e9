"""Shipped decoders by name, checkpoint folders, and exporting a training run for generation."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_gpt

from symbolic.errors import DataError
from symbolic.models.checkpoint import save_checkpoint
from symbolic.models.pretrained import PRETRAINED_DECODERS, decoder_path, export_decoder, load_decoder


def test_model_names_and_folders(tmp_path):
    assert (decoder_path("default") / "meta.json").is_file() and "default" in PRETRAINED_DECODERS
    with pytest.raises(DataError, match="shipped models: default"):
        load_decoder("no-such-model")
    with pytest.raises(DataError, match="no meta.json"):
        export_decoder(tmp_path, tmp_path / "out")


def test_export_keeps_the_best_weights_and_no_optimizer(tokenizer, tmp_path):
    import torch

    model = tiny_gpt(tokenizer)
    optimizer = torch.optim.AdamW(model.parameters())
    run = save_checkpoint(tmp_path / "run", model, tokenizer, {}, step=7, history=[], best_state=None,
                          optimizer=optimizer)
    assert json.loads((run / "meta.json").read_text())["optimizer"] == "optimizer-7.pt"
    copy = export_decoder(run, tmp_path / "copy")
    meta = json.loads((copy / "meta.json").read_text())
    assert meta["weights"] == "best.safetensors" and meta["optimizer"] is None
    assert sorted(p.name for p in copy.iterdir()) == ["best.safetensors", "meta.json"]
    loaded, loaded_tokenizer, _ = load_decoder(copy)
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(loaded(ids)[0], model(ids)[0]) and loaded_tokenizer.vocab.styles == tokenizer.vocab.styles
