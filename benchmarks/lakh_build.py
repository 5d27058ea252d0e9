"""A Lakh-sized folder build: files per second with 1 and 2 workers, peak memory, and SIGKILL-and-resume checks.

    python benchmarks/lakh_build.py --midi-dir /work/runs/lakh/midi30k --work /work/runs/lakh/bench \
        --json docs/results/lakh-build.json

Runs ``symbolic data build --midi-dir DIR`` in a subprocess (``OMP_NUM_THREADS=1``) for each worker count,
sampling the resident memory of the whole process tree (the build and its workers, read from ``/proc``)
every 0.2 s; CPU time is the user + system time of the build and its reaped workers (``os.wait4``).  Then
an interrupted build: SIGKILL of the whole process group once the piece log holds each of ``--kill-at``
pieces, a resume to the end, and a comparison of every split (ids, styles, offsets, tokens) and the
manifest's piece list with the uninterrupted build.  Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21]) * PAGE
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        total += rss.get(pid, 0)
        frontier += [child for child, parent in parents.items() if parent == pid]
    return total


def _command(midi_dir: Path, out: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "symbolic", "data", "build", "--midi-dir", str(midi_dir), "--out", str(out),
            "--workers", str(workers), "--no-progress"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "OMP_NUM_THREADS": "1"}


def run_build(midi_dir: Path, out: Path, workers: int, kill_when_logged: int | None = None) -> dict:
    """One build in a subprocess; with ``kill_when_logged``, SIGKILL its process group at that many logged pieces."""
    start = time.perf_counter()
    # cwd: ``python -m`` puts the working folder first on the path, so it decides which checkout runs.
    child = subprocess.Popen(_command(midi_dir.resolve(), out.resolve(), workers), env=_env(), cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    peak = 0
    log = out / "pieces" / "pieces.jsonl"
    killed_at = None
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss(child.pid))
        if kill_when_logged is not None and log.is_file():
            with open(log, "rb") as handle:
                logged = handle.read().count(b"\n")
            if logged >= kill_when_logged:
                os.killpg(child.pid, signal.SIGKILL)
                killed_at = logged
                pid, status, usage = os.wait4(child.pid, 0)
                break
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
    child.stdout.close()
    child.stderr.close()
    if killed_at is None and os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"build failed:\n{stderr[-3000:]}")
    # A killed build's workers are reaped by init, not by the build, so its CPU time is not known: None.
    cpu = None if killed_at is not None else round(usage.ru_utime + usage.ru_stime, 1)
    return {"workers": workers, "seconds": round(seconds, 1), "cpu_seconds": cpu,
            "peak_tree_rss_mib": round(peak / 2**20, 1), "killed_at_logged": killed_at,
            "summary": stdout.strip().splitlines()[:4]}


def compare(a: Path, b: Path) -> dict:
    """Whether two data sets hold the same pieces in the same splits with the same tokens."""
    same = {}
    for split in ("train", "valid", "test"):
        with np.load(a / f"{split}.npz") as x, np.load(b / f"{split}.npz") as y:
            same[split] = all(np.array_equal(x[k], y[k]) for k in ("ids", "styles", "offsets", "tokens"))
    pieces = [json.loads((d / "manifest.json").read_text())["pieces"] for d in (a, b)]
    same["manifest pieces"] = pieces[0] == pieces[1]
    return same


def main() -> None:
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--midi-dir", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="scratch folder for the builds (emptied)")
    parser.add_argument("--workers", default="1,2", help="worker counts to time (comma-separated)")
    parser.add_argument("--kill-at", default="10000,20000",
                        help="logged pieces at which to SIGKILL the build ('' for no interrupted build)")
    parser.add_argument("--code-root", type=Path, default=ROOT,
                        help="the checkout whose symbolic runs (e.g. the release in /work/main, to compare)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    ROOT = args.code_root
    n_files = sum(1 for p in args.midi_dir.rglob("*.mid"))
    results = {"midi_dir": str(args.midi_dir), "files": n_files, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "cores": os.cpu_count(), "load_average_at_start": os.getloadavg(), "builds": [], "resume": {}}
    outs = {}
    for workers in (int(w) for w in args.workers.split(",")):
        out = args.work / f"w{workers}"
        shutil.rmtree(out, ignore_errors=True)
        row = run_build(args.midi_dir, out, workers)
        row["files_per_second"] = round(n_files / row["seconds"], 1)
        row["cpu_ms_per_file"] = round(1000 * row["cpu_seconds"] / n_files, 2)
        results["builds"].append(row)
        outs[workers] = out
        print(json.dumps(row), flush=True)
    if len(outs) > 1:
        results["same_1_and_2_workers"] = compare(outs[min(outs)], outs[max(outs)])
    if not args.kill_at:
        _finish(results, args.json)
        return
    reference = outs[min(outs)]
    out = args.work / "killed"
    shutil.rmtree(out, ignore_errors=True)
    kills = []
    workers = max(outs)
    for at in (int(k) for k in args.kill_at.split(",")):
        row = run_build(args.midi_dir, out, workers, kill_when_logged=at)
        row["logged_after_kill"] = _logged(out)  # lines on disk when it died (a few after the count was read)
        kills.append(row)
        print(json.dumps(row), flush=True)
    final = run_build(args.midi_dir, out, workers)
    results["resume"] = {"kills": kills, "final": final, "same_as_uninterrupted": compare(reference, out)}
    print(json.dumps(results["resume"], indent=1))
    _finish(results, args.json)


def _finish(results: dict, path: Path | None) -> None:
    results["load_average_at_end"] = os.getloadavg()
    if path:
        path.write_text(json.dumps(results, indent=1) + "\n")


def _logged(out: Path) -> int:
    log = out / "pieces" / "pieces.jsonl"
    return log.read_bytes().count(b"\n") if log.is_file() else 0


if __name__ == "__main__":
    main()
