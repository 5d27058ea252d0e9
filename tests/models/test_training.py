"""Ctrl-C during training stops at a step boundary and the checkpoint resumes bit-exactly (issue 13 item 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from symbolic.models.checkpoint import build_model, read_meta
from symbolic.models.training import TrainConfig, train
from symbolic.tokenization import EventTokenizer

ROOT = Path(__file__).resolve().parents[2]
TOK = EventTokenizer()
MODEL = {"vocab_size": TOK.vocab_size, "n_styles": len(TOK.vocab.styles), "context_length": 64, "n_layer": 2,
         "n_head": 2, "n_embd": 32, "dropout": 0.1}
SETTINGS = dict(batch_size=4, learning_rate=3e-3, min_learning_rate=3e-4, warmup_steps=3, max_steps=120,
                eval_every=30, eval_batches=1, patience=0, seed=5, num_threads=1)

CHILD = f"""
import sys, torch
from symbolic.models.checkpoint import build_model
from symbolic.models.training import TrainConfig, train
from symbolic.tokenization import EventTokenizer
torch.manual_seed(0)
model = build_model("gpt", {MODEL!r})
result = train(model, EventTokenizer(), sys.argv[1], sys.argv[2], TrainConfig(**{SETTINGS!r}), progress=False)
print(result.stopped, result.step, flush=True)
"""


def _default_sigint() -> None:
    """A job started in the background of a non-interactive shell inherits an ignored SIGINT; a terminal's
    Ctrl-C reaches a foreground job, whose SIGINT is not ignored: give the child that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(data, out, resume=False):
    torch.manual_seed(0 if not resume else 99)  # resume must overwrite a different fresh init
    model = build_model("gpt", MODEL)
    return train(model, TOK, data, out, TrainConfig(**SETTINGS), resume=resume, progress=False)


def test_sigint_stops_at_a_step_boundary_and_resumes_exactly(tiny_dataset, tmp_path):
    out = tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tiny_dataset), str(out)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while not (out / "meta.json").is_file():  # the first checkpoint (step 30): training is under way
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.01)
    time.sleep(0.15)  # land somewhere inside a later step, not on a checkpoint
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr[-2000:]
    stopped, step = stdout.split()
    assert stopped == "interrupted" and 30 < int(step) < SETTINGS["max_steps"], stdout
    assert read_meta(out)["step"] == int(step)
    assert not list(out.glob(".*.tmp"))

    stale = out / ".weights-7.safetensors.k3j9x.tmp"  # what a kill during a checkpoint write leaves
    stale.write_bytes(b"x" * 1000)
    resumed = _run(tiny_dataset, out, resume=True)
    assert not stale.exists()
    whole = _run(tiny_dataset, tmp_path / "whole")
    assert resumed.step == whole.step == SETTINGS["max_steps"]
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    assert resumed.best_valid_loss == whole.best_valid_loss
    for name in (read_meta(out)["weights"], "best.safetensors"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_the_command_line_says_how_to_resume(tiny_dataset, tmp_path, monkeypatch, capsys):
    import symbolic.models.training as training
    from symbolic.cli import main

    def interrupted(model, tokenizer, data, out, config, resume=False, progress=True):
        return training.TrainResult(Path(out), 7, 3.2, 4.6, [], "interrupted", 1.0)

    monkeypatch.setattr(training, "train", interrupted)
    assert main(["train", "--data", str(tiny_dataset), "--out", str(tmp_path / "ck"), "--no-progress"]) == 130
    out = capsys.readouterr().out
    assert "checkpoint at step 7 saved" in out and "--resume" in out


def test_a_new_run_refuses_a_folder_that_holds_a_checkpoint(tiny_dataset, tmp_path):
    import pytest

    from symbolic.errors import ConfigError

    out = tmp_path / "run"
    small = dict(SETTINGS, max_steps=2, eval_every=1)
    train(build_model("gpt", MODEL), TOK, tiny_dataset, out, TrainConfig(**small), progress=False)
    kept = (out / "best.safetensors").read_bytes()
    with pytest.raises(ConfigError, match=r"already holds a training checkpoint at step 2; resume"):
        train(build_model("gpt", MODEL), TOK, tiny_dataset, out, TrainConfig(**small), progress=False)
    assert (out / "best.safetensors").read_bytes() == kept and read_meta(out)["step"] == 2


def test_resume_refuses_a_checkpoint_of_another_vocabulary_or_with_missing_files(tiny_dataset, tmp_path):
    import json

    import pytest

    from symbolic.errors import ConfigError

    out = tmp_path / "run"
    small = dict(SETTINGS, max_steps=2, eval_every=1)
    train(build_model("gpt", MODEL), TOK, tiny_dataset, out, TrainConfig(**small), progress=False)
    meta = json.loads((out / "meta.json").read_text())
    other = json.loads(json.dumps(meta))  # as if trained on a data set whose first style was 'rock'
    other["tokenizer"]["vocabulary"][other["tokenizer"]["vocabulary"].index(f"Style_{TOK.vocab.styles[1]}")] = "Style_rock"
    (out / "meta.json").write_text(json.dumps(other))
    with pytest.raises(ConfigError, match="trained on a data set with another vocabulary"):
        _run(tiny_dataset, out, resume=True)
    (out / "meta.json").write_text(json.dumps(meta))
    (out / meta["weights"]).unlink()
    with pytest.raises(ConfigError, match=rf"incomplete \({meta['weights']} missing\), so it cannot be resumed"):
        _run(tiny_dataset, out, resume=True)
