"""Data builds under stress: locking, mixed shards, broken cache, leftovers, Ctrl-C, killed parents,
empty files, small-folder splits and honest counts (issue 13 items 12-13, issue 16 item 3)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.data.build import (EMPTY_PIECE_REASON, SPLIT_NAMES, BuildConfig, assign_splits, build_dataset,
                                 split_of)
from symbolic.data.corpus import list_midi_dir_pieces, list_music21_pieces
from symbolic.errors import DataError
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig
from symbolic.utils import folder_lock

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent


def _midi_folder(root: Path, per_style: dict[str, int]) -> Path:
    for k, (style, n) in enumerate(per_style.items()):
        for i in range(n):
            write_midi(random_score(100 * k + i, n_tracks=2, n_notes=20), root / style / f"{i:02d}.mid")
    return root


def _tokenizer(*styles: str) -> EventTokenizer:
    return EventTokenizer(EventTokenizerConfig(styles=styles))


def _build(src: Path, out: Path, **config):
    pieces = list_midi_dir_pieces(src)
    styles = tuple(dict.fromkeys(p.style for p in pieces))
    return build_dataset(pieces, out, _tokenizer(*styles), BuildConfig(workers=1, **config), progress=False)


# --- splits and summaries (issue 16 item 3) ---------------------------------------------------------------

def test_every_style_with_three_pieces_is_in_valid_and_test():
    config = BuildConfig(valid_percent=10, test_percent=10)
    pieces = [(f"pop/{i}.mid", "pop") for i in range(15)] + [(f"piano/{i}.mid", "piano") for i in range(15)]
    pieces += [(f"trio/{i}.mid", "trio") for i in range(3)] + [(f"duo/{i}.mid", "duo") for i in range(2)]
    # The plain hash split leaves some style out of validation here: the case the floor is for.
    hashed = {pid: split_of(pid, config) for pid, _ in pieces}
    assert any(not any(hashed[p] == "valid" for p, s in pieces if s == style) for style in ("pop", "piano", "trio"))
    splits, moved = assign_splits(pieces, config)
    for style in ("pop", "piano", "trio"):
        got = [splits[p] for p, s in pieces if s == style]
        assert all(got.count(split) >= 1 for split in SPLIT_NAMES), (style, got)
    assert "train" in [splits[p] for p, s in pieces if s == "duo"]  # too small to hold out, but trains
    assert moved and all(hashed[m["id"]] == m["from"] and splits[m["id"]] == m["to"] for m in moved)
    assert assign_splits(list(reversed(pieces)), config) == (splits, moved)  # the input's order does not matter


def test_large_styles_keep_the_hash_split():
    config = BuildConfig()
    pieces = [(f"a/{i}", "a") for i in range(500)] + [(f"b/{i}", "b") for i in range(500)]
    splits, moved = assign_splits(pieces, config)
    assert moved == [] and all(splits[p] == split_of(p, config) for p, _ in pieces)


def test_midi_folder_build_counts_reads_and_skips_empty_files(tmp_path, capsys):
    from symbolic.cli.data import print_build_summary

    src = _midi_folder(tmp_path / "midi", {"pop": 8, "piano": 8})
    shutil.copy(DATA / "no_notes.mid", src / "pop" / "silence.mid")
    result = _build(src, tmp_path / "out")
    assert (result.converted, result.cached, result.midi_files) == (0, 0, 17)
    assert result.failures == [{"id": "pop/silence.mid", "reason": EMPTY_PIECE_REASON}]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert "pop/silence.mid" not in {p["id"] for p in manifest["pieces"]}
    assert min(p["notes"] for p in manifest["pieces"]) > 0
    for style in ("pop", "piano"):
        assert {p["split"] for p in manifest["pieces"] if p["style"] == style} == set(SPLIT_NAMES)
        assert all(result.split_counts[style][s] >= 1 for s in SPLIT_NAMES)
    print_build_summary(result)
    out = capsys.readouterr().out
    assert "read 17 MIDI files" in out and "from the cache" not in out
    assert "pop/silence.mid: no notes" in out and "pop: " in out and "piano: " in out


# --- locking and belonging together (issue 13 item 12) ----------------------------------------------------

def test_a_second_build_into_a_locked_folder_is_refused(tmp_path):
    src = _midi_folder(tmp_path / "midi", {"pop": 3})
    with folder_lock(tmp_path / "out", "a data-set build"):
        with pytest.raises(DataError, match=rf"already running.*process {os.getpid()}"):
            _build(src, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()
    assert _build(src, tmp_path / "out").n_pieces["train"] >= 1  # the lock is gone with its holder


def test_shards_from_another_build_are_never_reused(tmp_path):
    src = _midi_folder(tmp_path / "midi", {"pop": 6, "piano": 6})
    out = tmp_path / "out"
    _build(src, out, limit_per_style=5)
    foreign = (out / "train.npz").read_bytes()
    first = _build(src, out, limit_per_style=3)
    assert not first.reused
    (out / "train.npz").write_bytes(foreign)  # the mix a race between two builds left behind
    again = _build(src, out, limit_per_style=3)
    assert not again.reused and again.n_tokens == first.n_tokens
    build_id = json.loads((out / "manifest.json").read_text())["build_id"]
    for split in SPLIT_NAMES:
        with np.load(out / f"{split}.npz") as shard:
            assert str(shard["build_id"]) == build_id
    assert _build(src, out, limit_per_style=3).reused  # a consistent set is reused


# --- leftovers (issue 13 item 13) -------------------------------------------------------------------------

def test_a_broken_cache_entry_is_converted_again(tiny_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    victim = sorted((copy / "cache").glob("*.mid"))[0]
    victim.write_bytes(victim.read_bytes()[:40])  # truncated, as a kill of an old non-atomic writer leaves it
    (copy / "manifest.json").unlink()
    (copy / "cache" / ".stale.mid.x1y2.tmp").write_bytes(b"0" * 100)
    (copy / ".train.npz.a1b2.tmp").write_bytes(b"0" * 100)
    pieces = list_music21_pieces(["chorale", "irish"])
    config = BuildConfig(workers=2, limit_per_style=3, valid_percent=30, test_percent=30)
    result = build_dataset(pieces, copy, EventTokenizer(), config, progress=False)
    assert result.failures == [] and result.rebuilt == 1
    assert result.n_tokens == json.loads((tiny_dataset / "manifest.json").read_text())["n_tokens"]
    assert not list(copy.rglob("*.tmp"))


# One quick chorale, then three movements that take seconds each to convert: when the chorale's cache
# entry appears, both workers are in the middle of a long conversion.
CHILD = """
import sys
from symbolic.data.build import BuildConfig, build_dataset
from symbolic.data.corpus import list_music21_pieces
from symbolic.tokenization import EventTokenizer
from symbolic.errors import SymbolicError
pieces = {p.id: p for p in list_music21_pieces(["chorale", "classical"])}
chosen = [pieces[i] for i in ("bach/bwv66.6.mxl", "haydn/opus74no1/movement1.mxl", "mozart/k155/movement1.mxl",
                              "mozart/k80/movement1.mxl")]
try:
    build_dataset(chosen, sys.argv[1], EventTokenizer(), BuildConfig(workers=2), progress=False)
except SymbolicError as exc:
    print(exc, flush=True)
    sys.exit(2)
"""


def _start_build(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    while not list((out / "cache").glob("*.mid")):  # the chorale is done
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # its worker has taken the next (long) piece
    return child


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_build_running_in_another_process_holds_its_folder(tmp_path):
    out = tmp_path / "out"
    child = _start_build(out)
    try:
        pieces = list_music21_pieces(["chorale"])[:2]
        with pytest.raises(DataError, match=rf"already running in this folder \(process {child.pid}\)"):
            build_dataset(pieces, out, EventTokenizer(), BuildConfig(workers=1), progress=False)
    finally:
        child.kill()
        child.wait()
    assert not (out / "manifest.json").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    child = _start_build(tmp_path / "out")
    workers = _children_of(child.pid)
    assert workers
    child.kill()
    child.wait()
    deadline = time.monotonic() + 3.0
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, "workers outlived their parent"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_a_build_within_a_second_and_counts_truly(tmp_path):
    out = tmp_path / "out"
    child = _start_build(out)
    workers = _children_of(child.pid)
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    start = time.monotonic()
    try:
        stdout, stderr = child.communicate(timeout=30)
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
    assert time.monotonic() - start < 1.5, "the build kept converting after Ctrl-C"
    assert child.returncode == 2 and "Traceback" not in stderr, stderr[-2000:]
    cached = len(list((out / "cache").glob("*.mid"))) + len(list((out / "cache").glob("*.fail.json")))
    assert f"interrupted: {cached} of 4 pieces were converted" in stdout, stdout
    assert not any(_alive(w) for w in workers)


def test_classifier_training_says_which_styles_validation_cannot_judge(tmp_path, monkeypatch, capsys):
    import symbolic.models.classifier as classifier
    from symbolic.cli import main

    src = _midi_folder(tmp_path / "midi", {"pop": 4, "piano": 2})  # piano: too few pieces to hold one out
    _build(src, tmp_path / "ds")
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda *a, **k: {"best_valid_accuracy": 1.0, "epochs": 1, "seconds": 0.0})
    assert main(["classifier", "train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "cl"),
                 "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "warning: no validation piece of piano" in captured.err and "pop" not in captured.err
    assert "1 validation" in captured.out
