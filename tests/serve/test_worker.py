"""The worker: its audio encoding, and every job bounded in time and memory (run in this process)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from symbolic.serve.worker import execute, ogg_bytes


def test_a_long_render_encodes_to_ogg_whole():
    # one write of 60 s of stereo makes libsndfile's Vorbis encoder crash (SIGSEGV, seen here); blocks do not
    audio = np.zeros((44100 * 60, 2), np.float32)
    audio[::100] = 0.5
    data = ogg_bytes(audio, 44100)
    info = soundfile.info(io.BytesIO(data))
    assert data[:4] == b"OggS" and info.channels == 2 and abs(info.duration - 60.0) < 0.01


def test_the_time_limit_stops_a_job_between_bars_and_puts_back_an_earlier_alarm():
    import signal
    import time

    from symbolic.serve.worker import JobStopped, job_time_limit

    start = time.monotonic()
    with pytest.raises(JobStopped, match="time limit of 0.2 s"):
        with job_time_limit(0.2):
            time.sleep(10)  # no bar ends here: only the alarm can stop it
    assert time.monotonic() - start < 5
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # RQ's own alarm, say
        with job_time_limit(30):
            pass
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0.3
        time.sleep(0.7)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_memory_limit_bounds_what_a_job_allocates_and_is_lifted_after():
    from symbolic.serve.worker import job_memory_limit

    with pytest.raises(MemoryError):
        with job_memory_limit(20_000_000):
            bytearray(200_000_000)
    assert len(bytearray(200_000_000)) == 200_000_000
    with job_memory_limit(None):
        assert len(bytearray(200_000_000)) == 200_000_000


@pytest.fixture(scope="module")
def job_folder(tmp_path_factory, tune_bytes):
    def make():
        folder = tmp_path_factory.mktemp("job")
        (folder / "input.mid").write_bytes(tune_bytes)
        return folder
    return make


def test_a_job_within_its_limits_is_done(job_folder, tiny_model):
    folder = job_folder()
    state, message, summary = execute(folder, {"job": "accompany", "style": "chorale", "voices": 1}, tiny_model,
                                      lambda done, total: None, 120, 2_000_000_000)
    assert state == "done" and summary["audio"] and (folder / "result.ogg").is_file(), message


def test_a_job_follows_the_chord_chart_in_its_settings(job_folder, tiny_model):
    state, message, summary = execute(job_folder(), {"job": "accompany", "style": "chorale", "voices": 1,
                                                     "chords": "C | G7 | C"}, tiny_model,
                                      lambda done, total: None, 120, 2_000_000_000)
    assert state == "done", message
    assert [line for line in summary["decisions"] if line.startswith("chords: the 3 chords given with the input")]
    _, _, guessed = execute(job_folder(), {"job": "accompany", "style": "chorale", "voices": 1}, tiny_model,
                            lambda done, total: None, 120, 2_000_000_000)
    assert not [line for line in guessed["decisions"] if line.startswith("chords")]  # chorale guesses none


@pytest.mark.parametrize("memory_bytes", [1_000_000, 50_000_000])  # the sound font's ~150 MB of samples do not fit
def test_a_job_over_its_memory_limit_fails_with_the_reason(job_folder, tiny_model, memory_bytes):
    folder = job_folder()
    state, message, summary = execute(folder, {"job": "accompany", "style": "chorale", "voices": 1}, tiny_model,
                                      lambda done, total: None, 120, memory_bytes)
    assert state == "failed" and summary is None
    assert message.startswith(f"stopped: the job needed more memory than the server's limit of "
                              f"{memory_bytes // 1_000_000} MB per job")
    assert not (folder / "result.mid").exists() or not (folder / "report.json").exists()


def test_a_job_over_its_time_limit_fails_with_the_reason(job_folder, tiny_model):
    state, message, _ = execute(job_folder(), {"job": "continue", "style": "chorale", "bars": 60}, tiny_model,
                                lambda done, total: None, 0.1, None)
    assert (state, message) == ("failed", "stopped: the job ran over the server's time limit of 0.1 s; "
                                          "ask for fewer bars")


def test_a_worker_decodes_a_long_jobs_segments_one_after_the_other(monkeypatch):
    """The pool already runs a worker per core: a job's segments must not fork more decoders beside it."""
    import symbolic.models.pretrained as pretrained
    import symbolic.serve.worker as worker
    from symbolic import threads

    monkeypatch.setattr(threads, "_LIMIT", 0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)  # two idle cores
    monkeypatch.setattr(threads, "free_cores", lambda: 2)
    assert threads.side_by_side(4) == 2
    monkeypatch.setattr(worker, "_MODELS", {})
    monkeypatch.setattr(pretrained, "load_decoder", lambda name: ("model", "tokenizer", {}))
    assert worker._decoder("default") == ("model", "tokenizer", {})
    assert threads.side_by_side(4) == 1
