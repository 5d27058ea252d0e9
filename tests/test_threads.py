"""The thread policy (symbolic.threads) and its reach: a command's --threads ends in torch's thread count."""

from __future__ import annotations

import os

import pytest
import torch

from symbolic import threads
from symbolic.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    """No user limit, no OMP_NUM_THREADS, no cached measurement; torch's count restored after."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "_LIMIT", 0)
    threads.free_cores.cache_clear()
    before = torch.get_num_threads()
    yield
    threads.free_cores.cache_clear()
    torch.set_num_threads(before)


def _machine(monkeypatch, cpus: set[int], busy: set[int] = frozenset()):
    """An affinity mask of ``cpus``; the CPUs in ``busy`` fully used by other processes during the measurement."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(cpus))
    samples = iter([{c: (0, 0) for c in cpus}, {c: (0 if c in busy else 100, 100) for c in cpus}])
    monkeypatch.setattr(threads, "_cpu_times", lambda wanted: next(samples))
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)


def test_available_cores_is_the_affinity_mask_not_the_cpu_count(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert threads.available_cores() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert threads.available_cores() == 4


def test_available_cores_falls_back_to_the_cpu_count_without_a_mask(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert threads.available_cores() == 6


@pytest.mark.parametrize("cpus, busy, free", [({0, 1}, set(), 2), ({0, 1}, {1}, 1), ({0, 1}, {0, 1}, 1),
                                              ({0, 1, 2, 3}, {2}, 3), ({5}, set(), 1)])
def test_free_cores_leaves_out_the_cores_others_keep_busy(monkeypatch, cpus, busy, free):
    _machine(monkeypatch, cpus, busy)
    assert threads.free_cores() == free


def test_free_cores_reads_this_machine(monkeypatch):
    assert 1 <= threads.free_cores(0.05) <= threads.available_cores()


def test_batch_one_decoding_gets_one_thread_whatever_is_asked(monkeypatch):
    _machine(monkeypatch, {0, 1, 2, 3})
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    threads.set_thread_limit(4)
    assert threads.compute_threads(4, batch_size=1) == 1
    assert threads.compute_threads(4, batch_size=2) == 4


def test_batched_work_uses_the_free_cores(monkeypatch):
    _machine(monkeypatch, {0, 1}, busy={1})  # a CPU burner on the second core
    assert threads.compute_threads(batch_size=8) == 1
    threads.free_cores.cache_clear()
    _machine(monkeypatch, {0, 1})
    assert threads.compute_threads(batch_size=8) == 2
    assert threads.compute_threads() == 2


def test_the_user_limit_replaces_the_measurement_within_the_mask(monkeypatch):
    _machine(monkeypatch, {0, 1, 2, 3}, busy={1, 2, 3})
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.thread_limit() == 3
    assert threads.compute_threads(batch_size=8) == 3  # the user's word beats the measurement
    threads.set_thread_limit(2)  # --threads beats the environment
    assert threads.compute_threads(batch_size=8) == 2
    assert threads.compute_threads(1, batch_size=8) == 1  # an explicit value beats both
    threads.set_thread_limit(16)
    assert threads.compute_threads() == 4  # never beyond the affinity mask


@pytest.mark.parametrize("value", ["", "0", "abc", "-2", "2.5"])
def test_an_unusable_omp_num_threads_is_no_limit(monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert threads.thread_limit() == 0


def test_worker_processes_divide_the_cores(monkeypatch):
    _machine(monkeypatch, {0, 1, 2, 3})
    assert threads.compute_threads(workers=2) == 2
    assert threads.compute_threads(workers=3) == 1
    assert threads.compute_threads(workers=8) == 1
    threads.set_thread_limit(4)
    assert threads.compute_threads(workers=2) == 2  # the limit is per machine, the share per process
    assert threads.worker_processes() == 4
    assert threads.worker_processes(tasks=2) == 2
    assert threads.worker_processes(3, tasks=10) == 3


def test_bad_values_are_refused_in_the_library_words():
    with pytest.raises(ConfigError, match="threads=-1"):
        threads.set_thread_limit(-1)
    with pytest.raises(ConfigError, match="threads=-2"):
        threads.compute_threads(-2)
    with pytest.raises(ConfigError, match="workers=0"):
        threads.compute_threads(workers=0)
    with pytest.raises(ConfigError, match="workers=-1"):
        threads.worker_processes(-1)


def test_torch_threads_restores_the_count():
    before = torch.get_num_threads()
    with threads.torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_use_threads_sets_torch(monkeypatch):
    _machine(monkeypatch, {0, 1})
    assert threads.use_threads(1) == 1 and torch.get_num_threads() == 1
    assert threads.use_threads(0) == 2 and torch.get_num_threads() == 2


def test_generate_threads_reach_the_decoding_loop(monkeypatch, tmp_path):
    """``symbolic generate --threads N`` samples a batch on N threads; one sample on one thread."""
    from symbolic.cli import main
    from symbolic.sampling.session import DecodingSession

    seen = []
    original = DecodingSession.sample

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DecodingSession, "sample", spy)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    base = ["generate", "--style", "irish", "--bars", "1", "--max-new-tokens", "8", "--min-bars", "0"]
    for argv, expected in ((["--num-samples", "2", "--threads", "2"], 2), (["--num-samples", "2", "--threads", "1"], 1),
                           (["--threads", "2"], 1)):
        seen.clear()
        assert main(base + argv + ["--out", str(tmp_path / "g.mid")]) == 0
        assert seen and set(seen) == {expected}, (argv, seen)


def test_classify_threads_reach_torch(monkeypatch):
    from symbolic.cli import main

    torch.set_num_threads(2)
    path = os.path.join(os.path.dirname(__file__), "data", "running_status.mid")
    main(["classify", path, "--threads", "1"])
    assert torch.get_num_threads() == 1


def test_a_negative_threads_option_is_one_line_and_exit_2(capsys):
    from symbolic.cli import main

    assert main(["classify", "x.mid", "--threads", "-1"]) == 2
    err = capsys.readouterr().err
    assert "threads=-1 must be >= 0" in err and "Traceback" not in err


def test_job_threads_reach_torch_before_the_job_starts(tmp_path):
    """A job sets torch's count from --threads before any work (here it then stops at an unknown style)."""
    from symbolic.cli import main

    torch.set_num_threads(2)
    path = os.path.join(os.path.dirname(__file__), "data", "running_status.mid")
    assert main(["convert", path, "--to", "no-such-style", "--threads", "1", "--out", str(tmp_path / "x.mid")]) == 2
    assert torch.get_num_threads() == 1


def test_segments_of_one_job_run_side_by_side_on_the_free_cores(monkeypatch):
    _machine(monkeypatch, {0, 1}, busy={1})  # the other core busy: one after the other
    assert threads.side_by_side(4) == 1
    threads.free_cores.cache_clear()
    _machine(monkeypatch, {0, 1, 2, 3})
    assert threads.side_by_side(2) == 2  # never more than the segments
    assert threads.side_by_side(8) == 4
    threads.set_thread_limit(1)  # --threads 1 (or OMP_NUM_THREADS=1): one at a time
    assert threads.side_by_side(8) == 1
    with pytest.raises(ConfigError, match="tasks"):
        threads.side_by_side(0)


def test_numpy_threads_keeps_blas_on_one_thread_and_restores_it():
    # the melody extractor's small products ran 4x slower with BLAS free to use both cores of a busy CPU
    import numpy as np
    from threadpoolctl import threadpool_info

    np.ones((4, 4)) @ np.ones((4, 4))  # BLAS loaded

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    before = blas_threads()
    assert before
    with threads.numpy_threads(1) as n:
        assert n == 1 and blas_threads() == [1] * len(before)
    assert blas_threads() == before


def test_the_melody_extractor_runs_numpy_on_one_blas_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    from symbolic.analysis import melody
    from symbolic.score import Note

    seen = []
    real = melody.MelodyExtractor.probabilities

    def spy(self, features):
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return real(self, features)
    monkeypatch.setattr(melody.MelodyExtractor, "probabilities", spy)
    notes = [Note(k * 240, 240, 60 + k % 12, 80) for k in range(24)]
    melody.melody_probabilities(notes, 480)
    assert seen and all(counts and set(counts) == {1} for counts in seen)
