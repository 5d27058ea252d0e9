"""Wall time of ``symbolic generate`` and ``symbolic convert`` with the other core idle or busy.

Usage (2-core machine)::

    python benchmarks/threads_speed.py --code /work/main --label before --out /tmp/threads/before.json
    python benchmarks/threads_speed.py --code . --label after --out /tmp/threads/after.json

``--code`` is the repository whose ``symbolic`` package runs (put first on ``PYTHONPATH``).  Each
command runs in three settings: as the user would (no thread setting), with a CPU burner
(``python -c "while True: pass"``) beside it, and with the burner and one thread (``--threads 1`` when
the code has it, else ``OMP_NUM_THREADS=1``).  The 1-minute load average before each run is recorded:
the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _input(folder: Path, code: str) -> Path:
    """A held-out irish corpus tune, 8 bars, written as MIDI (the same file for every code version)."""
    path = folder / "irish.mid"
    if not path.exists():
        script = (
            "import sys; from pathlib import Path\n"
            "from symbolic.data.build import BuildConfig, split_of\n"
            "from symbolic.data.corpus import list_music21_pieces, load_piece\n"
            "from symbolic.evaluation.jobs import crop_bars\n"
            "from symbolic.outputs.midi import write_midi\n"
            "from symbolic.tokenization.events import EventTokenizer\n"
            "c = BuildConfig(limit_per_style=300)\n"
            "p = [p for p in list_music21_pieces(['irish']) if split_of(p.id, c) == 'test'][0]\n"
            "write_midi(crop_bars(load_piece(p), 8, EventTokenizer()), Path(sys.argv[1]))\n")
        subprocess.run([sys.executable, "-c", script, str(path)], check=True,
                       env={**os.environ, "PYTHONPATH": code, "OMP_NUM_THREADS": "1"})
    return path


def _has_threads(code: str, command: str) -> bool:
    out = subprocess.run([sys.executable, "-m", "symbolic", command, "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": code})
    return "--threads" in out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=".", help="repository root whose symbolic package runs")
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the timings")
    parser.add_argument("--work", type=Path, default=Path("/tmp/threads-bench"))
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the three settings")
    parser.add_argument("--only", choices=("generate", "convert"), help="time one command only")
    args = parser.parse_args()
    code = str(Path(args.code).resolve())
    args.work.mkdir(parents=True, exist_ok=True)
    tune = _input(args.work, code)
    commands = {
        "generate --num-samples 8 --bars 8": ["generate", "--style", "irish", "--num-samples", "8", "--bars", "8",
                                              "--seed", "6", "--out", str(args.work / "gen.mid")],
        "convert irish.mid --to chorale": ["convert", str(tune), "--to", "chorale", "--seed", "1",
                                           "--out", str(args.work / "conv.mid")],
    }
    base_env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    base_env["PYTHONPATH"] = code
    rows = []
    for name, argv in commands.items():
        if args.only and not name.startswith(args.only):
            continue
        one = (argv + ["--threads", "1"], base_env) if _has_threads(code, argv[0]) else \
            (argv, {**base_env, "OMP_NUM_THREADS": "1"})
        settings = [("other core idle", argv, base_env, False), ("other core busy", argv, base_env, True),
                    ("busy, one thread", one[0], one[1], True)]
        for round_index, (setting, run_argv, env, busy) in enumerate(settings * args.rounds):
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                time.sleep(0.5)
                load = os.getloadavg()[0]
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "symbolic", *run_argv], check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                seconds = time.perf_counter() - start
            finally:
                if burner is not None:
                    burner.kill()
                    burner.wait()
            row = {"label": args.label, "round": round_index // len(settings), "command": name, "setting": setting, "seconds": round(seconds, 2),
                   "load1": round(load, 2), "one_thread_by": "--threads 1" if one[1] is base_env else
                   "OMP_NUM_THREADS=1"}
            print(json.dumps(row), flush=True)
            rows.append(row)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
