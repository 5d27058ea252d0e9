"""The RQ backend against a real ``redis-server`` (Debian's, started here on a free loopback port) and a
real ``symbolic serve --worker`` process, with a tiny model; and the queue chosen by the settings."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from symbolic.errors import ConfigError
from symbolic.inputs.midi import parse_midi_bytes
from symbolic.serve.app import create_app
from symbolic.serve.config import ServeConfig

from .conftest import wait
from .test_app import submit

pytest.importorskip("rq", reason="pip install rq redis (the serve extra)")
REDIS_SERVER = shutil.which("redis-server")
if REDIS_SERVER is None:
    pytest.skip("Debian's redis-server is not installed (make setup installs it)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of our own on loopback, in a temporary folder, nothing saved to disk."""
    from redis import Redis

    folder, port = tmp_path_factory.mktemp("redis"), free_port()
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    end = time.monotonic() + 20
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            if time.monotonic() > end or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def rq_worker(redis_url, tiny_model):
    """One ``symbolic serve --worker`` process serving the queue, as on another machine."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "symbolic", "serve", "--worker", "--model", tiny_model,
                               "--redis-url", redis_url], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    yield worker
    worker.terminate()
    worker.wait(timeout=20)


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_model, redis_url) -> ServeConfig:
    return ServeConfig(data_dir=tmp_path_factory.mktemp("rq"), model=tiny_model, queue_backend="rq",
                       redis_url=redis_url, max_queued_per_client=10, max_new_bars=400)


@pytest.fixture(scope="module")
def client(config, rq_worker):
    with TestClient(create_app(config)) as client:
        yield client


def test_a_job_runs_end_to_end_through_redis(client, config, tune_bytes):
    assert client.get("/api/health").json()["queue"] == "rq"
    response = submit(client, tune_bytes, {"job": "accompany", "style": "chorale", "voices": 2, "seed": 1})
    assert response.status_code == 202, response.text
    job = wait(client, response.json()["id"], timeout=120)
    assert job["state"] == "done", job["message"]
    assert job["progress"]["bars_done"] == job["progress"]["bars_total"] > 0  # progress came back from the worker
    assert job["message"].startswith("melody: track 0; 2 new tracks")
    result = parse_midi_bytes(client.get(job["files"]["result.mid"]).content)
    assert result.tracks[0].notes[:16] == parse_midi_bytes(tune_bytes).tracks[0].notes
    assert client.get(job["files"]["result.ogg"]).content[:4] == b"OggS"
    assert client.get(job["files"]["report.json"]).json()["message"] == job["message"]
    # the result files were sent back through Redis into the app's data folder
    assert (config.data_dir / "jobs" / job["id"] / "roll.png").stat().st_size > 1000


def test_a_running_job_is_cancelled_at_its_next_bar(client, tune_bytes):
    job_id = submit(client, tune_bytes, {"job": "continue", "style": "chorale", "bars": 400}).json()["id"]
    running = wait(client, job_id, states=("running",), timeout=120)
    assert client.delete(f"/api/jobs/{job_id}").status_code == 200
    job = wait(client, job_id, timeout=120)
    assert job["state"] == "cancelled" and job["message"] == "cancelled", job
    assert running["started"] is not None and job["progress"]["bars_done"] < job["progress"]["bars_total"]
    assert client.get(f"/api/jobs/{job_id}/result.mid").status_code == 404


@pytest.mark.parametrize("limit, settings, reason", [
    ({"job_timeout_seconds": 0.5}, {"job": "continue", "style": "chorale", "bars": 400}, "time limit of 0.5 s"),
    ({"job_memory_bytes": 50_000_000}, {"job": "accompany", "style": "chorale", "voices": 1},
     "limit of 50 MB per job"),  # the sound font's samples do not fit
])
def test_a_job_over_a_limit_fails_with_the_reason(config, rq_worker, tune_bytes, limit, settings, reason):
    with TestClient(create_app(ServeConfig(**{**config.__dict__, **limit}))) as client:
        job = wait(client, submit(client, tune_bytes, settings).json()["id"], timeout=120)
    assert job["state"] == "failed" and reason in job["message"], job


def test_an_unreachable_redis_is_one_clear_error(tmp_path, tiny_model):
    config = ServeConfig(data_dir=tmp_path, model=tiny_model, queue_backend="rq",
                         redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(ConfigError, match="cannot reach the Redis server at redis://127.0.0.1"):
        create_app(config)


def test_the_settings_choose_the_queue(tmp_path):
    with pytest.raises(ConfigError, match="queue backend 'celery' is not one of pool, rq"):
        ServeConfig(data_dir=tmp_path, queue_backend="celery")
    with pytest.raises(ConfigError, match="must start with redis://"):
        ServeConfig(data_dir=tmp_path, queue_backend="rq", redis_url="127.0.0.1:6379")


def test_the_cli_names_an_unreachable_redis_in_one_line(tmp_path, tiny_model, capsys):
    from symbolic.cli import main

    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["serve", "--queue", "rq", "--redis-url", url, "--data-dir", str(tmp_path / "d"),
                 "--model", tiny_model]) == 2
    assert main(["serve", "--worker", "--redis-url", url, "--model", tiny_model, "--burst"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(f"cannot reach the Redis server at {url}" in line for line in err), err
