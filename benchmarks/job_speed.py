"""How long a user waits for ``symbolic convert`` and ``accompany``: two source trees side by side
(docs/results/job-speed.md).

    python benchmarks/job_speed.py SONG.mid --base /tmp/base-tree --rounds 2 --out docs/results/job-speed.md
    python benchmarks/job_speed.py SONG.mid --base /tmp/base-tree --threads 1,2 --jobs convert

Each round runs every job once with each tree, interleaved (base, this tree, base, ...), each as its own
``python -m symbolic`` process with ``PYTHONPATH`` set to the tree and ``OMP_NUM_THREADS=1``; the base
with ``--threads 1``, this tree once per count of ``--threads`` (with 2, a long song's segments decode
side by side: ``JobConfig.segment_bars``); it records
the wall time and the process's CPU time (user + system, from ``resource.getrusage(RUSAGE_CHILDREN)``),
which a busy machine disturbs much less than the wall time.  A first untimed run of each job with each
tree (``--warmup``, a short file) fills the compile caches (numba's reader, Python's bytecode).  The
report gives the best of the rounds, the ratio, and whether the two trees wrote the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

JOBS = {
    "convert": ["convert", "{song}", "--to", "chorale", "--seed", "1", "--out", "{out}"],
    "accompany": ["accompany", "{song}", "--style", "chorale", "--seed", "2", "--out", "{out}"],
    "accompany-pop": ["accompany", "{song}", "--style", "pop", "--seed", "2", "--out", "{out}"],
}


def run(tree: Path, job: str, song: Path, out: Path, threads: int = 1) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one job run with the code of ``tree`` and ``--threads threads``."""
    args = [a.format(song=song, out=out) for a in JOBS[job]] + ["--threads", str(threads)]
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symbolic", *args], env=env, check=True, cwd=tree,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare with (e.g. main's release)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=Path, help="a short MIDI file run once untimed per job and tree")
    parser.add_argument("--out", type=Path, help="append the report here (markdown)")
    parser.add_argument("--threads", default="1", help="comma-separated --threads counts for this tree's runs")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, of {', '.join(JOBS)}")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    jobs = args.jobs.split(",")
    # name -> (tree, threads); the base on one thread as it always decoded
    trees = {"base": (args.base.resolve(), 1)}
    trees.update({f"this-t{n}": (here, int(n)) for n in args.threads.split(",")})
    folder = Path(tempfile.mkdtemp(prefix="job-speed-"))
    if args.warmup:
        for job in jobs:
            for name, (tree, threads) in trees.items():
                run(tree, job, args.warmup, folder / f"warm-{job}-{name}.mid", threads)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in range(args.rounds):
        for job in jobs:
            for name, (tree, threads) in trees.items():
                wall, cpu = run(tree, job, args.song, folder / f"{job}-{name}.mid", threads)
                times.setdefault((job, name), []).append((wall, cpu))
                print(f"round {r + 1} {job} {name}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
    load = os.getloadavg()
    lines = [f"- `python benchmarks/job_speed.py {args.song.name} --base BASE --rounds {args.rounds}`, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()}-core "
             f"{platform.machine()}, load average at the end {load[0]:.1f}; best of {args.rounds} rounds", "",
             "| job | run | wall s | CPU s | wall ratio to base | same bytes as |",
             "| --- | --- | --- | --- | --- | --- |"]

    def digest(job: str, name: str) -> str:
        return hashlib.sha256((folder / f"{job}-{name}.mid").read_bytes()).hexdigest()

    for job in jobs:
        base_wall = min(w for w, _ in times[(job, "base")])
        for name in trees:
            wall, cpu = (min(x) for x in zip(*times[(job, name)]))
            same = ", ".join(n for n in trees if n != name and digest(job, n) == digest(job, name)) or "-"
            lines.append(f"| {job} | {name} | {wall:.1f} | {cpu:.1f} | {base_wall / wall:.2f}x | {same} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write(report + "\n")


if __name__ == "__main__":
    main()
