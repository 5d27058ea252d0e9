"""One data set of the music21 corpus and POP909: ``combine_pieces`` and ``data build --corpus --pop909``."""

from __future__ import annotations

import json

import pytest

from symbolic.cli import main
from symbolic.data.build import combine_pieces
from symbolic.data.piece import CorpusPiece
from symbolic.errors import DataError
from symbolic.resources import shared_data_dir
from symbolic.styles.registry import STYLE_NAMES


def test_combined_pieces_are_sorted_and_ids_unique():
    a = [CorpusPiece("pop909/002", "pop", "x"), CorpusPiece("bach/b.mxl", "chorale", "y")]
    b = [CorpusPiece("airdsAirs/a.abc", "irish", "z", tune=1)]
    assert [p.id for p in combine_pieces(a, b)] == ["airdsAirs/a.abc", "bach/b.mxl", "pop909/002"]
    assert combine_pieces() == []
    with pytest.raises(DataError, match="'bach/b.mxl' is in two"):
        combine_pieces(a, [CorpusPiece("bach/b.mxl", "chorale", "y")])


def test_build_of_the_corpus_and_pop909_has_six_styles_and_takes_pop909_whole(tmp_path, capsys):
    root = tmp_path / "pop909"
    root.mkdir()
    for song in ("001", "002", "003"):
        (root / song).symlink_to(shared_data_dir() / "pop909" / song)
    out = tmp_path / "both"
    assert main(["data", "build", "--corpus", "music21", "--styles", "chorale", "--limit", "2", "--pop909",
                 str(root), "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["styles"] == ["none", *STYLE_NAMES]
    styles = [p["style"] for p in manifest["pieces"]]
    assert styles.count("chorale") == 2 and styles.count("pop") == 3  # --limit holds the corpus, not POP909
    assert json.loads((out / "tokenizer.json").read_text())["config"]["version"] == "events-v2"
    capsys.readouterr()
    assert main(["data", "build", "--midi-dir", str(tmp_path), "--pop909", str(root), "--out",
                 str(tmp_path / "bad")]) == 2
    assert "--pop909 goes with --corpus" in capsys.readouterr().err
