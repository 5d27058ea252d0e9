"""``symbolic tokenize`` of a folder (issue 18 item 3): one token file per MIDI file in the folder's own layout,
written atomically, and a run killed at any file resumes to exactly what an uninterrupted run writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import random_score
from symbolic import write_midi
from symbolic.cli import main

ROOT = Path(__file__).resolve().parents[2]

KILLER = """
import os, signal, sys
real_replace = os.replace
calls = {"n": 0}
def replace(src, dst, *a, **k):  # the n-th token file is written to its temporary but never renamed
    if str(dst).endswith(".tokens.json"):
        calls["n"] += 1
        if calls["n"] == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **k)
os.replace = replace
from symbolic.cli import main
main(["tokenize", *sys.argv[2:], "--quiet"])
"""


def _folder(root: Path) -> Path:
    for i, name in enumerate(["a/x.mid", "b/x.mid", "b/deep/y.mid", "z.mid", "w.mid"]):
        write_midi(random_score(i, n_tracks=2, n_notes=10 + i), root / name)
    return root


def _killed(n: int, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.run([sys.executable, "-c", KILLER, str(n), *args], env=env, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -9, child.stderr[-2000:]


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            and p.name != ".lock"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path_factory.mktemp("tok")
    src = _folder(root / "midi")
    assert main(["tokenize", str(src), "--out", str(root / "whole"), "--quiet"]) == 0
    return src, _files(root / "whole")


def test_a_folder_keeps_its_layout_so_same_names_do_not_collide(reference):
    _, files = reference
    assert sorted(files) == [".tokenize.json", "a/x.tokens.json", "b/deep/y.tokens.json", "b/x.tokens.json",
                             "w.tokens.json", "z.tokens.json"]
    assert files["a/x.tokens.json"] != files["b/x.tokens.json"]


@pytest.mark.parametrize("kills", [[1, 4], [3, 2]])
def test_a_killed_run_resumes_to_the_uninterrupted_files(reference, tmp_path, capsys, kills):
    src, whole = reference
    out = tmp_path / "out"
    for n in kills:
        _killed(n, str(src), "--out", str(out))
    assert list(out.rglob("*.tmp"))  # the kill left a temporary behind ...
    assert len(list(out.rglob("*.tokens.json"))) == sum(n - 1 for n in kills)  # ... and no partial token file
    capsys.readouterr()
    assert main(["tokenize", str(src), "--out", str(out), "--quiet"]) == 0
    kept = sum(n - 1 for n in kills)
    assert f"tokenized {5 - kept} files into {out}; kept {kept} written earlier" in capsys.readouterr().out
    assert _files(out) == whole


def test_other_settings_or_a_newer_file_are_tokenized_again(reference, tmp_path, capsys):
    src, whole = reference
    out = tmp_path / "out"
    assert main(["tokenize", str(src), "--out", str(out), "--quiet"]) == 0
    _killed(3, str(src), "--out", str(out), "--style", "irish")  # killed half-way through other settings
    assert main(["tokenize", str(src), "--out", str(out), "--quiet", "--style", "irish"]) == 0
    assert "kept 2 written earlier" in capsys.readouterr().out
    assert {json.loads(p.read_text())["style"] for p in out.rglob("*.tokens.json")} == {"irish"}  # no mix
    assert main(["tokenize", str(src), "--out", str(out), "--quiet"]) == 0  # back: all again
    assert _files(out) == whole
    capsys.readouterr()
    newer = src / "z.mid"
    os.utime(newer, ns=((out / "z.tokens.json").stat().st_mtime_ns + 10**9,) * 2)
    assert main(["tokenize", str(src), "--out", str(out), "--quiet"]) == 0
    assert f"tokenized 1 files into {out}; kept 4 written earlier" in capsys.readouterr().out


def test_two_files_of_one_name_given_by_themselves_are_refused_before_any_work(reference, tmp_path, capsys):
    src, _ = reference
    assert main(["tokenize", str(src / "a" / "x.mid"), str(src / "b" / "x.mid"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{src / 'a' / 'x.mid'} and {src / 'b' / 'x.mid'} would both be written to x.tokens.json" in err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("*.tokens.json"))
