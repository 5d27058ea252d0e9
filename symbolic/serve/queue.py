"""The seam between the app and its workers.

:class:`JobQueue` is all the app needs: ``submit`` a job id, ``shutdown``.  Two queues stand behind it,
chosen by :attr:`ServeConfig.queue_backend <symbolic.serve.config.ServeConfig>` (:func:`make_queue`):

- :class:`PoolQueue` (``"pool"``, the default): a pool of local worker processes (``spawn``: each
  starts clean and loads the model once);
- :class:`RqQueue` (``"rq"``): a Redis queue run by `RQ <https://python-rq.org>`_, whose workers
  (:func:`run_rq_worker`, ``symbolic serve --worker``) may be on other machines.  A worker gets the job's
  input files and settings through Redis and sends back its state, progress and result files; the job
  store (SQLite) and the result files stay with the app, so the machines share nothing but Redis.

Both run :func:`symbolic.serve.worker.execute`, so a job gives the same results, messages and limits
(time, memory) on either.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from symbolic.serve.config import ServeConfig
from symbolic.serve.store import JobStore
from symbolic.serve.worker import RESULT_FILES, TIME_LIMIT_MESSAGE, JobStopped, execute, run_job
from symbolic.utils import atomic_write_bytes, die_with_parent

__all__ = ["JobQueue", "PoolQueue", "RqQueue", "make_queue", "run_rq_worker", "run_rq_job", "check_redis"]

log = logging.getLogger(__name__)

INPUT_FILES = ("input.mid", "reference.mid", "chords.txt")  # what a job folder holds before it runs
RQ_GRACE_SECONDS = 30  # RQ kills a worker's job this long after the job's own time limit (a backstop)
RQ_RESULT_TTL_SECONDS = 3600  # Redis keeps a result this long if no app collects it
POLL_SECONDS = 0.2  # how often the app reads the RQ jobs' state and progress


class JobQueue(Protocol):
    """Runs the jobs of one store somewhere; the store holds their state."""

    def submit(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


def make_queue(config: ServeConfig) -> JobQueue:
    """The queue ``config.queue_backend`` names, for the store in ``config.data_dir``."""
    if config.queue_backend == "rq":
        return RqQueue(config)
    return PoolQueue(config.data_dir, config.model, config.workers, config.job_timeout_seconds,
                     config.job_memory_bytes)


class PoolQueue:
    """``workers`` local processes, each running :func:`~symbolic.serve.worker.run_job` for one job at a time."""

    def __init__(self, data_dir: str, model: str, workers: int, timeout_seconds: float,
                 memory_bytes: int | None = None) -> None:
        self.data_dir, self.model, self.timeout_seconds, self.workers = str(data_dir), model, timeout_seconds, workers
        self.memory_bytes = memory_bytes
        self.pool = self._new_pool()
        self.futures: dict[str, Future] = {}
        self.stopping = False

    def _new_pool(self) -> ProcessPoolExecutor:
        """Spawned workers that end with this server however it ends (a ``kill -9`` included), so none
        finishes a job the restarted server has already failed; they watch the server's pid because
        they may be started from a request thread (:func:`~symbolic.utils.die_with_parent`)."""
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent, initargs=(os.getpid(), False))

    def submit(self, job_id: str) -> None:
        self.futures = {k: f for k, f in self.futures.items() if not f.done()}
        if getattr(self.pool, "_broken", False):  # a worker died: start a fresh pool
            self.pool = self._new_pool()
        future = self.pool.submit(run_job, self.data_dir, self.model, job_id, self.timeout_seconds,
                                  self.memory_bytes)
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
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):  # None once shut down
            process.kill()
        self.pool.shutdown(wait=False, cancel_futures=True)


def _cancel_key(job_id: str) -> str:
    return f"symbolic:cancel:{job_id}"


def run_rq_job(model_name: str, settings: dict[str, Any], inputs: dict[str, bytes], timeout_seconds: float,
               memory_bytes: int | None) -> dict[str, Any]:
    """What an RQ worker runs for one job (enqueued by :class:`RqQueue`): the job in a temporary folder.

    Args:
        model_name: a shipped model name or a checkpoint folder on the worker's machine.
        settings: the job's settings (:class:`~symbolic.serve.config.JobSettings` as a dict).
        inputs: file name (:data:`INPUT_FILES`) -> bytes.
        timeout_seconds, memory_bytes: the job's limits (:func:`~symbolic.serve.worker.execute`).

    Returns:
        ``{"state", "message", "summary", "files": {name: bytes}}``; progress goes to the RQ job's
        ``meta["progress"]`` as ``[bars_done, bars_total]``, and the job stops at its next bar once the
        app has set its cancel key in Redis.
    """
    import tempfile

    from rq import get_current_job

    job = get_current_job()
    deadline = time.monotonic() + timeout_seconds

    def on_bar(done: int, total: int) -> None:
        job.meta["progress"] = [done, total]
        job.save_meta()
        if job.connection.exists(_cancel_key(job.id)):
            raise JobStopped("cancelled")
        if time.monotonic() > deadline:
            raise JobStopped(TIME_LIMIT_MESSAGE.format(seconds=timeout_seconds))

    with tempfile.TemporaryDirectory(prefix="symbolic-job-") as tmp:
        folder = Path(tmp)
        for name, data in inputs.items():
            if name in INPUT_FILES:  # never a path from elsewhere
                (folder / name).write_bytes(data)
        state, message, summary = execute(folder, settings, model_name, on_bar, timeout_seconds, memory_bytes)
        files = {name: (folder / name).read_bytes() for name in RESULT_FILES if (folder / name).is_file()}
    return {"state": state, "message": message, "summary": summary, "files": files if state == "done" else {}}


def check_redis(redis_url: str):
    """A connection to the Redis server at ``redis_url``, checked with a ping.

    Raises:
        ConfigError: when it cannot be reached (with the address and what to do).
    """
    from redis import Redis

    from symbolic.errors import ConfigError

    connection = Redis.from_url(redis_url)
    try:
        connection.ping()
    except Exception as exc:  # redis' ConnectionError, TimeoutError, AuthenticationError ...
        raise ConfigError(f"cannot reach the Redis server at {redis_url} ({exc}); start redis-server or give "
                          "the address of a running one") from None
    return connection


class RqQueue:
    """Jobs go to the RQ queue ``config.rq_queue_name`` on ``config.redis_url``; a thread of the app
    follows them (every :data:`POLL_SECONDS`) and copies their progress, state and result files into the
    store.  Cancelling sets a key the worker reads at every bar.

    Raises:
        ConfigError: when Redis cannot be reached.
    """

    def __init__(self, config: ServeConfig) -> None:
        from rq import Queue

        self.config = config
        self.store = JobStore(config.data_dir)
        self.connection = check_redis(config.redis_url)
        self.queue = Queue(config.rq_queue_name, connection=self.connection)
        self.following: set[str] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="rq-follow", daemon=True)
        self.thread.start()

    def submit(self, job_id: str) -> None:
        folder = self.store.folder(job_id)
        inputs = {name: (folder / name).read_bytes() for name in INPUT_FILES if (folder / name).is_file()}
        self.queue.enqueue(run_rq_job, self.config.model, self.store.get(job_id)["settings"], inputs,
                           self.config.job_timeout_seconds, self.config.job_memory_bytes, job_id=job_id,
                           job_timeout=int(self.config.job_timeout_seconds) + RQ_GRACE_SECONDS,
                           result_ttl=RQ_RESULT_TTL_SECONDS, failure_ttl=RQ_RESULT_TTL_SECONDS)
        with self.lock:
            self.following.add(job_id)

    def _follow(self) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            with self.lock:
                job_ids = sorted(self.following)
            for job_id in job_ids:
                try:
                    if self._update(job_id):
                        with self.lock:
                            self.following.discard(job_id)
                except Exception:  # Redis away for a moment: try again at the next poll
                    log.warning("following RQ job %s failed", job_id, exc_info=True)

    def _update(self, job_id: str) -> bool:
        """Copy one RQ job's state into the store; returns whether the job has ended."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        ours = self.store.get(job_id)
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            self.store.finish(job_id, "failed", "the job was lost from the Redis queue; submit it again")
            return True
        status = job.get_status()
        if ours is None or ours["state"] == "cancelled":  # removed, or cancelled before it started
            if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
                job.cancel()
            elif status == JobStatus.STARTED:
                self.connection.set(_cancel_key(job_id), 1, ex=RQ_RESULT_TTL_SECONDS)
                return False
            job.delete()
            return True
        if ours["cancel_requested"]:
            self.connection.set(_cancel_key(job_id), 1, ex=RQ_RESULT_TTL_SECONDS)
        if status == JobStatus.STARTED:
            self.store.start(job_id)
            done, total = job.get_meta(refresh=True).get("progress", (0, 0))
            self.store.progress(job_id, done, total)
            return False
        if status == JobStatus.FINISHED:
            self.store.start(job_id)  # a job may start and end between two polls
            result = job.return_value()
            folder = self.store.folder(job_id)
            for name, data in result["files"].items():
                if name in RESULT_FILES:
                    atomic_write_bytes(folder / name, data)
            progress = job.get_meta(refresh=True).get("progress")
            if progress:
                self.store.progress(job_id, *progress)
            self.store.finish(job_id, result["state"], result["message"], result["summary"])
        elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            self.store.finish(job_id, "failed", self._failure(job))
        else:
            return False  # queued, deferred, scheduled
        job.delete()
        self.connection.delete(_cancel_key(job_id))
        return True

    def _failure(self, job) -> str:
        result = job.latest_result()
        text = (result.exc_string or "") if result is not None else ""
        if "JobTimeoutException" in text:
            return TIME_LIMIT_MESSAGE.format(seconds=self.config.job_timeout_seconds)
        last = text.strip().splitlines()[-1] if text.strip() else "no reason given"
        return f"the worker running this job stopped ({last}); submit it again"

    def shutdown(self) -> None:
        """Stop following: queued jobs are taken off the queue, running ones asked to stop (the next start
        of the app marks both failed)."""
        self.stopping.set()
        self.thread.join(timeout=5)
        from rq.job import Job

        with self.lock:
            job_ids = sorted(self.following)
        for job_id in job_ids:
            try:
                self.connection.set(_cancel_key(job_id), 1, ex=RQ_RESULT_TTL_SECONDS)
                Job.fetch(job_id, connection=self.connection).cancel()
            except Exception:  # already ended, or Redis gone
                pass


def run_rq_worker(config: ServeConfig, burst: bool = False) -> None:
    """Serve the RQ queue of ``config`` in this process until stopped (``burst``: until it is empty).

    The model ``config.model`` and the job code are loaded here once (:func:`~symbolic.serve.worker.warm_up`),
    before RQ forks a process for each job, so the jobs share them (copy-on-write) instead of each loading them.

    Raises:
        ConfigError: when Redis cannot be reached or the model cannot be loaded.
    """
    from rq import Queue, Worker

    from symbolic.serve.worker import warm_up

    connection = check_redis(config.redis_url)
    warm_up(config.model)
    Worker([Queue(config.rq_queue_name, connection=connection)], connection=connection).work(
        burst=burst, with_scheduler=False)
