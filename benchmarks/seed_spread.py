"""How much the conversion figures of ``style_jobs.py`` move with the sampling seed.

Reads the ``results.json`` of several ``style_jobs.py`` runs that differ only in
``--seed`` and prints, for each run and as mean and standard deviation over the
runs: transfer strength (five-way and pairwise judge), the classifier's accuracy
on the targets, the share of melodies kept note for note and the chroma
similarity.

    for s in 1 2 3 4; do python benchmarks/style_jobs.py --data data/m21-300 --per-style 10 --bars 16 \\
        --seed $s --skip accompaniment --no-audio --out benchmarks/out/style-jobs-seed$s; done
    python benchmarks/seed_spread.py benchmarks/out/style-jobs/results.json benchmarks/out/style-jobs-seed*/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

FIELDS = (("transfer_strength", "five-way"), ("transfer_strength_pairwise", "pairwise"),
          ("accuracy", "accuracy"), ("melody_kept", "melody kept"), ("chroma_similarity", "chroma"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+", help="results.json files of style_jobs.py runs")
    args = parser.parse_args()
    rows = []
    for path in args.results:
        summary = json.loads(path.read_text())["conversion"]["summary"]
        rows.append([float(summary[key]) for key, _ in FIELDS])
        print(f"{str(path):60s} " + "  ".join(f"{name} {value:.3f}" for (_, name), value in zip(FIELDS, rows[-1])))
    table = np.array(rows)
    mean, std = table.mean(axis=0), table.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(FIELDS))
    print(f"{'mean ± sd over ' + str(len(rows)) + ' runs':60s} "
          + "  ".join(f"{name} {m:.3f} ± {s:.3f}" for (_, name), m, s in zip(FIELDS, mean, std)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
