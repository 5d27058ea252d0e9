"""How many threads and processes the work gets: the one thread policy of every command.

Verbs: :func:`available_cores`, :func:`free_cores`, :func:`set_thread_limit`, :func:`thread_limit`,
:func:`compute_threads`, :func:`side_by_side`, :func:`worker_processes`, :func:`torch_threads`, :func:`numpy_threads`,
:func:`use_threads`.

The policy:

- **Batch-1 decoding runs on one thread.**  One sequence makes matrix-vector products, which are
  memory-bound; a second thread only adds synchronisation, and when another process holds the
  second core the threads wait for each other at every step (measured in issue 18: 115 s against
  9.2 s on one thread; ``docs/results/threads.md``).
- **Batched work runs on the cores free to this process**: the cores of its affinity mask
  (``os.sched_getaffinity``; a container or ``taskset`` can give fewer than ``os.cpu_count()``),
  less those other processes keep busy (measured once per process from ``/proc/stat`` over
  0.1 s), at least one.  The user's limit (:func:`set_thread_limit`, which the commands' ``--threads``
  sets, else ``OMP_NUM_THREADS``) replaces that measurement, never beyond the affinity mask.
- **Independent sequences of one job decode side by side**, one thread each, as many at once as
  batched work would get threads (:func:`side_by_side`): a long job cut into segments
  (:func:`symbolic.jobs.plan.generate_planned`) uses the free core; what it writes does not depend on it.
- **Small numpy models run on one BLAS thread** (:func:`numpy_threads`): the melody extractor's GRU
  steps and attention blocks are many small products, and numpy's BLAS threads only wait for each other
  (POP909 songs: 0.24-0.30 CPU s a song on one thread, 1.1-1.3 s with BLAS free to use both cores).
- **Worker processes divide the cores among them**: each of ``workers`` processes (data build
  workers, DDP ranks) gets ``cores // workers`` threads, at least one.

``import symbolic.threads`` does not import torch; :func:`torch_threads` imports it when entered.
"""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from typing import Iterator

from symbolic.errors import ConfigError

__all__ = ["available_cores", "free_cores", "set_thread_limit", "thread_limit", "compute_threads",
           "side_by_side", "worker_processes", "torch_threads", "numpy_threads", "use_threads"]

_LIMIT: int = 0  # the user's limit for this process (0: none; see set_thread_limit)


def available_cores() -> int:
    """Cores this process may run on: the size of its affinity mask (``os.cpu_count()`` where the OS has none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity mask
        return max(1, os.cpu_count() or 1)


def _cpu_times(cpus: set[int]) -> dict[int, tuple[int, int]]:
    """``{cpu: (idle + iowait jiffies, total jiffies)}`` from ``/proc/stat`` for the given CPUs."""
    out = {}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                values = [int(v) for v in fields[:8]]
                out[int(name[3:])] = (values[3] + values[4], sum(values))
    return out


@functools.lru_cache(maxsize=1)
def free_cores(interval_seconds: float = 0.1) -> int:
    """Cores of the affinity mask that other processes leave idle, measured over ``interval_seconds``.

    The idle share of each CPU in the mask (``/proc/stat``'s idle and iowait jiffies over the interval;
    this process sleeps meanwhile, so it does not count itself) is summed and rounded: with two
    cores and a CPU burner on one, 1.  Measured once per process (cached).  Where ``/proc/stat``
    cannot be read, every core of the mask counts as free.

    Returns:
        An int in ``1..available_cores()``.
    """
    try:
        cpus = set(os.sched_getaffinity(0))
        before = _cpu_times(cpus)
        time.sleep(interval_seconds)
        after = _cpu_times(cpus)
    except (AttributeError, OSError, ValueError):
        return available_cores()
    idle = 0.0
    for cpu, (idle_after, total_after) in after.items():
        idle_before, total_before = before.get(cpu, (idle_after, total_after))
        if total_after > total_before:
            idle += (idle_after - idle_before) / (total_after - total_before)
        else:  # no tick in the interval: count the CPU as free
            idle += 1.0
    if not after:
        return available_cores()
    return max(1, min(available_cores(), round(idle)))


def set_thread_limit(threads: int) -> None:
    """Set the user's thread limit for this process (0: none, the policy decides).

    Raises:
        ConfigError: ``threads`` is negative.
    """
    global _LIMIT
    if threads < 0:
        raise ConfigError(f"threads={threads} must be >= 0 (0: chosen from the free cores)")
    _LIMIT = int(threads)


def thread_limit() -> int:
    """The user's limit: :func:`set_thread_limit`'s value, else ``OMP_NUM_THREADS`` (a positive int), else 0."""
    if _LIMIT:
        return _LIMIT
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 0


def compute_threads(threads: int = 0, *, batch_size: int | None = None, workers: int = 1) -> int:
    """Threads for one process's numeric work (torch, FluidSynth).

    Args:
        threads: an explicit count for this call (0: the user's :func:`thread_limit`, else the free cores).
        batch_size: sequences decoded together; 1 gives one thread whatever else is asked (``None``:
            not decoding, e.g. training or rendering).
        workers: processes sharing the cores (data build workers, DDP ranks); each gets its share.

    Returns:
        An int >= 1: 1 for batch-1 decoding; else ``min(limit, cores // workers)`` with a limit, or
        ``free_cores() // workers`` without one, at least 1.

    Raises:
        ConfigError: ``threads`` is negative or ``workers`` / ``batch_size`` is below 1.
    """
    if threads < 0:
        raise ConfigError(f"threads={threads} must be >= 0 (0: chosen from the free cores)")
    if workers < 1 or (batch_size is not None and batch_size < 1):
        raise ConfigError(f"workers={workers} and batch_size={batch_size} must be at least 1")
    if batch_size == 1:
        return 1
    limit = threads or thread_limit()
    share = max(1, available_cores() // workers)
    if limit:
        return min(limit, share)
    return max(1, min(share, free_cores() // workers))


def side_by_side(tasks: int) -> int:
    """How many of ``tasks`` independent batch-1 decodings run at once, one thread each: the threads
    batched work would get (:func:`compute_threads`: the user's limit, else the free cores), at most
    ``tasks``, at least 1.

    Raises:
        ConfigError: ``tasks`` is below 1.
    """
    if tasks < 1:
        raise ConfigError(f"tasks={tasks} must be at least 1")
    return min(tasks, compute_threads())


def worker_processes(workers: int = 0, tasks: int | None = None) -> int:
    """Worker processes for a pool: ``workers`` if given, else one per available core; never more than ``tasks``.

    Processes are time-sliced by the OS (they do not wait for each other as threads of one matrix
    product do), so the default uses the whole affinity mask, not only the free cores.

    Raises:
        ConfigError: ``workers`` is negative.
    """
    if workers < 0:
        raise ConfigError(f"workers={workers} must be >= 0 (0: one per core)")
    n = workers or available_cores()
    return max(1, min(n, tasks)) if tasks is not None else n


@contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run a block with ``torch.set_num_threads(threads)``, restoring the old count after; yields ``threads``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(old)


@contextmanager
def numpy_threads(threads: int = 1) -> Iterator[int]:
    """Run a block with numpy's BLAS limited to ``threads`` threads (threadpoolctl), restoring the old limits
    after; yields ``threads``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield threads


def use_threads(threads: int = 0) -> int:
    """Set the user's limit (:func:`set_thread_limit`) and torch's thread count for batched work; returns it.

    A command calls this once before its work; decoding and training then choose per call
    (:func:`compute_threads`).  Imports torch.
    """
    import torch

    set_thread_limit(threads)
    n = compute_threads()
    torch.set_num_threads(n)
    return n
