"""A tiny model checkpoint, a melody file and a running app for the serve tests."""

from __future__ import annotations

import time

import pytest

from conftest import tiny_gpt
from symbolic.outputs.midi import midi_bytes
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track


def melody(bars: int = 4) -> Score:
    """A flute tune in 4/4, one quarter-note pitch per beat, ``bars`` bars long."""
    pitches = [67, 69, 71, 72, 74, 72, 71, 69] * bars
    notes = [Note(480 * k, 460, p, 80) for k, p in enumerate(pitches[:4 * bars])]
    return Score(ticks_per_beat=480, tracks=[Track(program=73, name="flute", notes=notes)],
                 tempos=[TempoChange(0, 500_000)], time_signatures=[TimeSignature(0, 4, 4)])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tokenizer):
    """A checkpoint folder of an untrained one-layer GPT (fast: what is tested is the plumbing)."""
    from symbolic.models.checkpoint import save_checkpoint

    path = tmp_path_factory.mktemp("tiny_model")
    save_checkpoint(path, tiny_gpt(tokenizer, context_length=256), tokenizer, {}, 0, [], None)
    return str(path)


@pytest.fixture(scope="session")
def tune_bytes() -> bytes:
    return midi_bytes(melody())


def wait(client, job_id: str, states=("done", "failed", "cancelled"), timeout: float = 240.0) -> dict:
    """Poll a job until it reaches one of ``states``; fails the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")
