"""Check that the jobs write the same bytes before and after a refactor.

Runs ``symbolic convert``, ``accompany``, ``continue``, ``generate`` and ``demo``
(with ``--no-audio``) through the command line, with fixed seeds and the shipped
default model, on a handful of inputs: three held-out corpus tunes (irish,
german-folk, chorale), cropped to 8 bars, and one whole chorale.  The inputs are
written with ``symbolic.data.corpus`` and ``symbolic.outputs.midi`` (the
foundation, which a refactor of the jobs leaves alone); their hashes are in the
JSON too, so two runs compare only if they started from the same bytes.

    PYTHONPATH=$PWD python benchmarks/byte_identical.py --out /tmp/bytes-branch.json
    python benchmarks/byte_identical.py --compare /tmp/bytes-base.json /tmp/bytes-branch.json

Each command runs in a subprocess of the ``symbolic`` command that the current
``PYTHONPATH`` selects, with ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (name, corpus piece id, bars kept; None = whole piece)
INPUTS = (
    ("irish", "irish", 8),
    ("german-folk", "german-folk", 8),
    ("chorale", "chorale", 8),
    ("chorale-whole", "chorale", None),
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_inputs(folder: Path) -> dict[str, Path]:
    from symbolic.data.build import BuildConfig, split_of
    from symbolic.data.corpus import list_music21_pieces, load_piece
    from symbolic.evaluation.jobs import crop_bars
    from symbolic.outputs.midi import write_midi
    from symbolic.tokenization.events import EventTokenizer

    tokenizer = EventTokenizer()
    config = BuildConfig(limit_per_style=300)
    out = {}
    for name, style, bars in INPUTS:
        held_out = [p for p in list_music21_pieces([style]) if split_of(p.id, config) == "test"]
        piece = held_out[1 if bars is None else 0]
        score = load_piece(piece)
        if bars is not None:
            score = crop_bars(score, bars, tokenizer)
        out[name] = write_midi(score, folder / f"{name}.mid")
    return out


def _commands(inputs: dict[str, Path], out: Path) -> list[tuple[str, list[str]]]:
    jobs = []
    for name, path in inputs.items():
        target = "classical" if name.startswith("chorale") else "chorale"
        own = "chorale" if name.startswith("chorale") else name
        jobs.append((f"convert-{name}-{target}", ["convert", str(path), "--to", target, "--seed", "1"]))
        jobs.append((f"convert-{name}-half", ["convert", str(path), "--to", "renaissance", "--strength", "0.5",
                                              "--seed", "2"]))
        jobs.append((f"accompany-{name}", ["accompany", str(path), "--style", own, "--seed", "3"]))
        jobs.append((f"accompany-{name}-tracks", ["accompany", str(path), "--style", "irish:0.6,classical:0.4",
                                                  "--tracks", "piano,bass", "--seed", "4"]))
        jobs.append((f"continue-{name}", ["continue", str(path), "--style", own, "--bars", "4", "--seed", "5"]))
    jobs.append(("generate-irish", ["generate", "--style", "irish", "--bars", "8", "--seed", "6"]))
    jobs.append(("generate-mix-guided", ["generate", "--style", "chorale:0.5,german-folk:0.5", "--bars", "4",
                                         "--guidance", "3", "--temperature", "0.9", "--top-p", "0.95",
                                         "--seed", "7"]))
    jobs.append(("generate-prompt", ["generate", "--style", "german-folk", "--prompt", str(inputs["german-folk"]),
                                     "--prompt-bars", "4", "--bars", "4", "--num-samples", "2", "--seed", "8"]))
    for name, argv in jobs:
        argv += ["--out", str(out / f"{name}.mid")]
    jobs.append(("demo", ["demo", "--no-audio", "--bars", "8", "--continue-bars", "4", "--seed", "9",
                          "--out", str(out / "demo")]))
    return jobs


def run(out_json: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.platform(),
                    "cpus": os.cpu_count(), "python": sys.version.split()[0], "inputs": {}, "outputs": {},
                    "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "in").mkdir()
        inputs = _write_inputs(tmp_path / "in")
        result["inputs"] = {name: _sha(path) for name, path in inputs.items()}
        for name, argv in _commands(inputs, tmp_path):
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "symbolic", *argv], env=env, capture_output=True, text=True)
            result["seconds"][name] = round(time.perf_counter() - start, 1)
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed ({proc.returncode}):\n{proc.stderr}")
            print(f"{name}: {result['seconds'][name]} s", flush=True)
        for path in sorted(tmp_path.rglob("*.mid")):
            if path.parent.name != "in":
                result["outputs"][str(path.relative_to(tmp_path))] = _sha(path)
    out_json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def compare(a: Path, b: Path) -> int:
    left, right = (json.loads(p.read_text(encoding="utf-8")) for p in (a, b))
    bad = 0
    for section in ("inputs", "outputs"):
        names = sorted(set(left[section]) | set(right[section]))
        for name in names:
            same = left[section].get(name) == right[section].get(name)
            bad += not same
            print(f"{section}/{name}: {'same' if same else 'DIFFERENT'}")
    n = len(left["outputs"])
    print(f"{n - bad} of {n} output files byte-identical" if not bad else f"{bad} files differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the hashes here")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"),
                        help="compare two runs' hashes")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give --out FILE or --compare A.json B.json")
    run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
