"""Folders the size of Lakh (issue 18 item 3): the piece log survives SIGKILL at any point, a killed build
resumes to exactly the uninterrupted result, and a build sharded over machines merges into the same data set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.data.build import SPLIT_NAMES, BuildConfig, build_dataset, merge_shards, shard_of
from symbolic.data.corpus import list_midi_dir_pieces
from symbolic.data.piecelog import PieceLog
from symbolic.errors import ConfigError, DataError
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent


def _folder(root: Path) -> Path:
    """13 tiny files in two styles, one without notes, and names whose path order differs from their id order."""
    names = {"pop": ["x-1", "x/1", "x/2", "a", "b", "c", "d"], "piano": ["e", "f", "g", "h", "i"]}
    for k, (style, stems) in enumerate(names.items()):
        for i, stem in enumerate(stems):
            write_midi(random_score(50 * k + i, n_tracks=2, n_notes=12 + i), root / style / f"{stem}.mid")
    shutil.copy(DATA / "no_notes.mid", root / "pop" / "silence.mid")
    return root


def _build(src: Path, out: Path, **config):
    pieces = list_midi_dir_pieces(src)
    styles = tuple(dict.fromkeys(p.style for p in pieces))  # as the command line names them
    return build_dataset(pieces, out, EventTokenizer(EventTokenizerConfig(styles=styles)),
                         BuildConfig(workers=1, **config), progress=False)


def _contents(out: Path) -> dict:
    """Everything a data set holds but its build id and the counts of how it was made."""
    arrays = {}
    for split in SPLIT_NAMES:
        with np.load(out / f"{split}.npz") as data:
            arrays[split] = {k: data[k].tolist() for k in ("tokens", "offsets", "styles", "ids")}
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("build_id", "sources", "config"):
        manifest.pop(key)
    return {"arrays": arrays, "manifest": manifest, "tokenizer": (out / "tokenizer.json").read_text()}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("lakh")
    src = _folder(root / "midi")
    _build(src, root / "whole")
    return src, _contents(root / "whole")


def test_the_reference_build_keeps_the_listing_order_and_the_empty_file_out(folder):
    src, whole = folder
    ids = [p.id for p in list_midi_dir_pieces(src)]
    assert ids.index("pop/x/1.mid") < ids.index("pop/x-1.mid")  # path order, not string order
    in_data = [i for split in SPLIT_NAMES for i in whole["arrays"][split]["ids"]]
    assert sorted(in_data) == sorted(i for i in ids if i != "pop/silence.mid")
    for split in SPLIT_NAMES:
        got = whole["arrays"][split]["ids"]
        assert got == sorted(got, key=ids.index)
    assert [f["id"] for f in whole["manifest"]["failures"]] == ["pop/silence.mid"]


# --- the piece log ----------------------------------------------------------------------------------------

def test_the_piece_log_cuts_a_half_written_piece_and_continues_after_the_last_whole_one(tmp_path):
    meta = {"fingerprint": "f1"}
    with PieceLog(tmp_path / "log", meta) as log:
        log.append({"id": "a", "order": 0}, np.arange(5))
        log.append({"id": "b", "order": 1, "failure": "no notes"})
        log.append({"id": "c", "order": 2}, np.arange(100, 103))
    with open(tmp_path / "log" / "tokens.i32", "ab") as handle:  # a kill after the tokens, before the line
        handle.write(np.arange(7, dtype="<i4").tobytes())
    with open(tmp_path / "log" / "pieces.jsonl", "ab") as handle:  # or in the middle of the line
        handle.write(b'{"id": "d", "ord')
    with PieceLog(tmp_path / "log", meta) as log:
        assert [r["id"] for r in log.records] == ["a", "b", "c"] and "d" not in log and "c" in log
        log.append({"id": "d", "order": 3}, np.arange(200, 204))
        log.append({"id": "a", "order": 0}, np.arange(9))  # already in: ignored, never twice
    with PieceLog(tmp_path / "log", meta) as log:
        assert [r["id"] for r in log.records] == ["a", "b", "c", "d"]
        assert [log.tokens(r).tolist() for r in log.records if "failure" not in r] == \
               [list(range(5)), [100, 101, 102], [200, 201, 202, 203]]
    assert (tmp_path / "log" / "tokens.i32").stat().st_size == 4 * 12
    with PieceLog(tmp_path / "log", {"fingerprint": "other"}) as log:  # another selection starts afresh
        assert len(log) == 0


# --- SIGKILL at any point, then resume ----------------------------------------------------------------------

KILLER = """
import os, signal, shutil, sys
import symbolic.data.build as build
from symbolic.data.piecelog import PieceLog
from symbolic.data.corpus import list_midi_dir_pieces
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig
where, n = sys.argv[3], int(sys.argv[4])
calls = {"n": 0}
def due():
    calls["n"] += 1
    return calls["n"] == n
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if where == "line":  # half of the n-th piece's line is on disk, its tokens in full
    original = PieceLog._write_line
    def write_line(self, line):
        if due():
            original(self, line[:len(line) // 2])
            die()
        original(self, line)
    PieceLog._write_line = write_line
elif where == "split":  # in the middle of streaming the n-th token array into a split file
    original = PieceLog.tokens
    def tokens(self, record):
        if due():
            die()
        return original(self, record)
    PieceLog.tokens = tokens
elif where == "cleanup":  # the manifest is written, the log not yet removed
    original = shutil.rmtree
    def rmtree(path, *a, **k):
        if str(path).endswith("pieces"):
            die()
        original(path, *a, **k)
    shutil.rmtree = rmtree
build.build_dataset(list_midi_dir_pieces(sys.argv[1]), sys.argv[2],
                    EventTokenizer(EventTokenizerConfig(styles=("piano", "pop"))),
                    build.BuildConfig(workers=int(sys.argv[5])), progress=False)
"""


def _killed_build(src: Path, out: Path, where: str, n: int, workers: int = 1) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", KILLER, str(src), str(out), where, str(n), str(workers)],
                           env=env, capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr[-2000:]  # it really was killed where asked


@pytest.mark.parametrize("kills", [[("line", 1), ("line", 13)], [("line", 5), ("line", 4)], [("split", 3)],
                                   [("line", 7), ("split", 11)], [("cleanup", 1)]])
def test_a_build_killed_anywhere_resumes_to_the_uninterrupted_result(folder, tmp_path, kills):
    src, whole = folder
    out = tmp_path / "out"
    for where, n in kills:
        _killed_build(src, out, where, n)
    assert not (out / "manifest.json").exists() or kills[-1][0] == "cleanup"
    if kills[-1][0] == "line":  # the half-written piece is not in the log, the ones before it are
        assert len(PieceLog(out / "pieces", PieceLog.read_meta(out / "pieces"))) == sum(n - 1 for _, n in kills)
    result = _build(src, out)
    assert _contents(out) == whole
    assert not list(out.rglob("*.tmp")) and not (out / "pieces").exists()
    if kills[-1][0] != "cleanup":
        assert not result.reused and result.midi_files == 13
    else:
        assert result.reused


def test_a_killed_build_with_two_workers_resumes_too(folder, tmp_path):
    src, whole = folder
    _killed_build(src, tmp_path / "out", "line", 6, workers=2)
    _build(src, tmp_path / "out")
    assert _contents(tmp_path / "out") == whole


# --- shards across machines -------------------------------------------------------------------------------

def test_shards_merge_into_the_same_data_set_as_one_machine(folder, tmp_path, capsys):
    from symbolic.cli import main

    src, whole = folder
    ids = [p.id for p in list_midi_dir_pieces(src)]
    for count in (3,):
        shards = [tmp_path / f"of{count}" / f"shard{i}" for i in range(count)]
        logged = []
        for i, shard in enumerate(shards):
            result = _build(src, shard, shard_index=i, shard_count=count)
            assert result.shard == (i, count) and not (shard / "train.npz").exists()
            meta = PieceLog.read_meta(shard / "pieces")
            with PieceLog(shard / "pieces", meta) as log:
                mine = [r["id"] for r in log.records]
            assert sorted(mine) == sorted(p for p in ids if shard_of(p, count) == i)
            logged += mine
        assert sorted(logged) == sorted(ids)  # every piece in exactly one shard
        merged = tmp_path / f"of{count}" / "merged"
        merge_shards(list(reversed(shards)), merged)  # the order shards are named in does not matter
        assert _contents(merged) == whole
    # The command line: two shards, then the merge, against a whole build by the command line.
    cli = tmp_path / "cli"
    build = ["data", "build", "--midi-dir", str(src), "--workers", "1", "--no-progress", "--out"]
    for i in range(2):
        assert main([*build, str(cli / f"s{i}"), "--shard-index", str(i), "--shard-count", "2"]) == 0
    assert "shard 1 of 2" in capsys.readouterr().out
    assert main(["data", "merge", str(cli / "s0"), str(cli / "s1"), "--out", str(cli / "merged")]) == 0
    assert main([*build, str(cli / "whole")]) == 0
    assert _contents(cli / "merged") == _contents(cli / "whole")
    capsys.readouterr()
    # The merged set is what a whole build of the folder writes, so such a build reuses it.
    assert main([*build, str(cli / "merged")]) == 0 and "reused the existing build" in capsys.readouterr().out


def test_bad_shards_are_refused_with_their_folder_named(folder, tmp_path, capsys):
    from symbolic.cli import main

    src, _ = folder
    shards = [tmp_path / f"s{i}" for i in range(3)]
    for i, shard in enumerate(shards):
        _build(src, shard, shard_index=i, shard_count=3)
    with pytest.raises(DataError, match=r"shards given are \[0, 2\] of 3: missing \[1\]"):
        merge_shards([shards[0], shards[2]], tmp_path / "m")
    with pytest.raises(DataError, match=r"repeated \[2\]"):
        merge_shards([shards[0], shards[1], shards[2], shards[2]], tmp_path / "m")
    with pytest.raises(DataError, match="needs its own folder"):
        merge_shards(shards, shards[0])
    other = tmp_path / "other"
    shutil.copytree(src, other)
    write_midi(random_score(999, n_tracks=1, n_notes=9), other / "pop" / "new.mid")
    _build(other, tmp_path / "t1", shard_index=1, shard_count=3)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 't1'} and {shards[0]} were built with different pieces")):
        merge_shards([shards[0], tmp_path / "t1", shards[2]], tmp_path / "m")
    _build(src, tmp_path / "v1", shard_index=1, shard_count=3, valid_percent=30)
    with pytest.raises(DataError, match="different pieces|different split shares"):
        merge_shards([shards[0], tmp_path / "v1", shards[2]], tmp_path / "m")
    meta = json.loads((shards[1] / "pieces" / "log.json").read_text())
    (shards[1] / "pieces" / "log.json").write_text(json.dumps({**meta, "complete": False}))
    with pytest.raises(DataError, match=re.escape(f"{shards[1]}: shard 1 of 3 is not finished")):
        merge_shards(shards, tmp_path / "m")
    with pytest.raises(DataError, match="no piece log"):
        merge_shards([src], tmp_path / "m")
    assert not (tmp_path / "m" / "manifest.json").exists()
    with pytest.raises(ConfigError, match="shard 3 of 3"):
        BuildConfig(shard_index=3, shard_count=3)
    assert main(["data", "build", "--midi-dir", str(src), "--out", str(tmp_path / "x"), "--shard-index", "2",
                 "--shard-count", "2"]) == 2
    assert "shard 2 of 2: the count must be at least 1" in capsys.readouterr().err
