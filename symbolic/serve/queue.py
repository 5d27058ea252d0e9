"""The seam between the app and its workers.

:class:`JobQueue` is all the app needs: ``submit`` a job id, ``shutdown``.  The default, :class:`PoolQueue`,
runs jobs in a pool of local worker processes (``spawn``: each starts clean and loads the model once).  A
queue across machines (Redis with RQ, say) is another class with the same two methods whose workers call
:func:`symbolic.serve.worker.run_job` with the same arguments; the store would then have to be shared too.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Protocol

from symbolic.serve.store import JobStore
from symbolic.serve.worker import run_job

__all__ = ["JobQueue", "PoolQueue"]


class JobQueue(Protocol):
    """Runs the jobs of one store somewhere; the store holds their state."""

    def submit(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


class PoolQueue:
    """``workers`` local processes, each running :func:`~symbolic.serve.worker.run_job` for one job at a time."""

    def __init__(self, data_dir: str, model: str, workers: int, timeout_seconds: float) -> None:
        self.data_dir, self.model, self.timeout_seconds, self.workers = str(data_dir), model, timeout_seconds, workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        self.futures: dict[str, Future] = {}
        self.stopping = False

    def submit(self, job_id: str) -> None:
        self.futures = {k: f for k, f in self.futures.items() if not f.done()}
        if getattr(self.pool, "_broken", False):  # a worker died: start a fresh pool
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        future = self.pool.submit(run_job, self.data_dir, self.model, job_id, self.timeout_seconds)
        future.add_done_callback(partial(self._finished, job_id))
        self.futures[job_id] = future

    def _finished(self, job_id: str, future: Future) -> None:
        """A job whose worker process died (crashed, killed for memory) is failed, not left running."""
        if self.stopping or future.cancelled() or future.exception() is None:
            return  # stopping: the next start marks the job interrupted
        JobStore(self.data_dir).finish(job_id, "failed", f"the worker process running this job died "
                                                         f"({future.exception()}); submit it again")

    def shutdown(self) -> None:
        """Stop now: queued jobs are dropped and running ones killed (the next start marks them failed)."""
        self.stopping = True
        for process in list(getattr(self.pool, "_processes", {}).values()):
            process.kill()
        self.pool.shutdown(wait=False, cancel_futures=True)
