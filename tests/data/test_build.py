"""Data-set builds: caching, resume, reuse, splits, failures, the PyTorch dataset."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.data.build import BuildConfig, build_dataset, select_pieces, split_of
from symbolic.data.corpus import list_midi_dir_pieces, list_music21_pieces
from symbolic.data.dataset import TokenDataset, collate_tokens, load_split
from symbolic.errors import ConfigError, DataError
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig


def test_tiny_build(tiny_dataset):
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    assert sum(manifest["n_pieces"].values()) == 6 and manifest["failures"] == []
    assert {p["style"] for p in manifest["pieces"]} == {"chorale", "irish"}
    tokenizer = EventTokenizer.from_spec(tiny_dataset / "tokenizer.json")
    for split in ("train", "valid", "test"):
        arrays = load_split(tiny_dataset, split)
        offsets = arrays["offsets"]
        assert offsets[-1] == len(arrays["tokens"]) == manifest["n_tokens"][split]
        for i in range(len(offsets) - 1):
            ids = arrays["tokens"][offsets[i]:offsets[i + 1]]
            assert ids[0] == tokenizer.vocab.bos_id and ids[-1] == tokenizer.vocab.eos_id
            style = tokenizer.vocab.styles[arrays["styles"][i]]
            assert tokenizer.decode_style(ids) == style
    assert len(list((tiny_dataset / "cache").glob("*.mid"))) == 6


def test_second_build_only_loads_and_resume_converts_only_missing(tiny_dataset, tmp_path):
    pieces = list_music21_pieces(["chorale", "irish"])
    config = BuildConfig(workers=2, limit_per_style=3, valid_percent=30, test_percent=30)
    again = build_dataset(pieces, tiny_dataset, EventTokenizer(), config, progress=False)
    assert again.reused and again.converted == 0 and again.seconds < 1.0
    # Simulate an interrupted build: one cached piece and the shards are missing.
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    victim = sorted((copy / "cache").glob("*.mid"))[0]
    victim.unlink()
    (copy / "train.npz").unlink()
    resumed = build_dataset(pieces, copy, EventTokenizer(), config, progress=False)
    assert (resumed.converted, resumed.cached, resumed.reused) == (1, 5, False)
    assert victim.is_file()
    assert resumed.n_tokens == json.loads((tiny_dataset / "manifest.json").read_text())["n_tokens"]


def test_split_is_a_pure_function_of_the_id():
    config = BuildConfig()
    ids = [f"piece{i}" for i in range(2000)]
    splits = [split_of(i, config) for i in ids]
    assert splits == [split_of(i, config) for i in reversed(ids)][::-1]
    share = {s: splits.count(s) / len(ids) for s in ("train", "valid", "test")}
    assert 0.75 < share["train"] < 0.85 and 0.07 < share["valid"] < 0.13


def test_selection_spreads_over_collections():
    pieces = list_music21_pieces(["renaissance"])
    chosen = select_pieces(pieces, 30)
    assert len(chosen) == 30
    assert len({p.id.split("/")[0] for p in chosen}) >= 2  # not only Palestrina


def test_midi_dir_build_skips_and_reports_bad_files(tmp_path):
    src = tmp_path / "midi"
    for style in ("jazz", "pop"):
        for i in range(4):
            write_midi(random_score(i + (10 if style == "pop" else 0), n_tracks=2), src / style / f"{i}.mid")
    (src / "pop" / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00")
    pieces = list_midi_dir_pieces(src)
    assert len(pieces) == 9
    tokenizer = EventTokenizer(EventTokenizerConfig(styles=("jazz", "pop")))
    result = build_dataset(pieces, tmp_path / "out", tokenizer, BuildConfig(workers=1), progress=False)
    assert [f["id"] for f in result.failures] == ["pop/broken.mid"]
    assert "truncated" in result.failures[0]["reason"]
    assert sum(result.n_pieces.values()) == 8
    with pytest.raises(DataError, match="subfolder"):
        list_midi_dir_pieces(src / "jazz")


def test_unknown_style_for_tokenizer(tmp_path):
    src = tmp_path / "midi"
    write_midi(random_score(0), src / "polka" / "a.mid")
    with pytest.raises(Exception, match="unknown style 'polka'"):
        build_dataset(list_midi_dir_pieces(src), tmp_path / "out", EventTokenizer(), progress=False)


def test_build_config_errors():
    with pytest.raises(ConfigError):
        BuildConfig(workers=-1)
    assert BuildConfig(workers=0).workers == 0  # 0: symbolic.threads.worker_processes chooses
    with pytest.raises(ConfigError):
        BuildConfig(valid_percent=60, test_percent=40)
    with pytest.raises(ConfigError):
        BuildConfig(limit_per_style=0)


def test_token_dataset_and_collate(tiny_dataset):
    ds = TokenDataset(tiny_dataset, "train", context_length=64, overlap=16)
    arrays = load_split(tiny_dataset, "train")
    assert len(ds) > 0
    item = ds[0]
    assert item["input_ids"].dtype.__str__() == "torch.int64" and len(item["input_ids"]) <= 64
    assert item["input_ids"][0].item() == ds.tokenizer.vocab.bos_id
    # Windows cover every token of every piece.
    covered = np.zeros(len(arrays["tokens"]), dtype=bool)
    for _, _, start, end in ds.windows:
        covered[start:end] = True
    assert covered.all()
    batch = collate_tokens([ds[0], ds[len(ds) - 1]], pad_id=ds.tokenizer.vocab.pad_id)
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert batch["style_ids"].shape == (2,)
    assert batch["attention_mask"].sum().item() == len(ds[0]["input_ids"]) + len(ds[len(ds) - 1]["input_ids"])
    empty = collate_tokens([])
    assert empty["input_ids"].shape == (0, 0)
    with pytest.raises(ConfigError):
        TokenDataset(tiny_dataset, "train", context_length=1)
    with pytest.raises(ConfigError):
        load_split(tiny_dataset, "training")
