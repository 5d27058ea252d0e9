"""symbolic/utils.py: reading a JSON file of a declared format gives one clear DataError per fault."""

from __future__ import annotations

import pytest

from symbolic.errors import DataError
from symbolic.utils import atomic_write_json, read_format_json


def test_read_format_json(tmp_path):
    good = tmp_path / "good.json"
    atomic_write_json(good, {"format": "x/1", "a": 1})
    assert read_format_json(good, "x/1", "x file") == {"format": "x/1", "a": 1}
    with pytest.raises(DataError, match=r"missing\.json: x file not found"):
        read_format_json(tmp_path / "missing.json", "x/1", "x file")
    with pytest.raises(DataError, match="^nothing here$"):
        read_format_json(tmp_path / "missing.json", "x/1", "x file", missing="nothing here")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json: not a x file \("):
        read_format_json(tmp_path / "bad.json", "x/1", "x file")
    for other in ({"format": "y/1"}, [1, 2]):
        atomic_write_json(tmp_path / "other.json", other)
        with pytest.raises(DataError, match=r"other\.json: not a x file \(expected format 'x/1'\)"):
            read_format_json(tmp_path / "other.json", "x/1", "x file")


def test_pool_workers_started_from_a_passing_thread_end_with_their_parent(tmp_path):
    # The parent starts a pool whose worker is spawned from a thread that then ends (as a web server's request
    # thread does), prints the worker's pid, and is killed with SIGKILL: the worker must end too, and must not
    # have ended with the thread.
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing, os, sys, threading, time
        from concurrent.futures import ProcessPoolExecutor
        from symbolic.utils import die_with_parent
        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=die_with_parent, initargs=(os.getpid(), False))
            box = []
            thread = threading.Thread(target=lambda: box.append(pool.submit(os.getpid).result()))
            thread.start(); thread.join()
            time.sleep(1.5)  # the thread that started the worker is gone
            print(box[0], pool.submit(os.getpid).result(), flush=True)
            time.sleep(60)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    first, second = map(int, parent.stdout.readline().split())
    assert first == second  # the worker outlived the thread that started it
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(first, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(first, signal.SIGKILL)
        raise AssertionError("the pool worker outlived its killed parent")
