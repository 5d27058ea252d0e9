"""Why blind transposition hurts on the polyphonic benchmark: the key profile of the files.

The benchmark files are transposed to C major or C minor, so pitch classes are very
unequal (in JSB Chorales C and G each take a fifth of the sounding notes, C# and F#
one percent).  A model trained on pieces moved by up to ``k`` semitones, without being
told by how many, learns the mixture of those keys.  This script measures the cost on
the simplest model that shows it: one Bernoulli per key (its frequency over the
training frames), scored on the test frames in nats per frame (summed over the 88
units, the benchmark's measure), with the frequencies as they are and averaged over
the transpositions ``-k..k``.

    python benchmarks/polyphonic_keys.py --data ../shared/data/polyphonic/JSB_Chorales.mat
"""

from __future__ import annotations

import argparse

import numpy as np

from symbolic.polyphonic.data import BENCHMARK_LOWEST_PITCH, load_polyphonic_frames


def unit_nll(frequency: np.ndarray, frames: np.ndarray) -> float:
    """Mean NLL per frame (nats) of bool ``frames (N, 88)`` under independent units with ``frequency (88,)``."""
    p = np.clip(frequency, 1e-6, 1 - 1e-6)
    return float(-(frames * np.log(p) + (1 - frames) * np.log(1 - p)).sum(1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a benchmark .mat file")
    parser.add_argument("--max-transpose", type=int, default=6)
    args = parser.parse_args()
    data = load_polyphonic_frames(args.data)
    train = np.concatenate(data["traindata"]).astype(float)
    test = np.concatenate([f[1:] for f in data["testdata"]]).astype(float)  # the predicted frames
    classes = np.zeros(12)
    for k, count in enumerate(train.sum(0)):
        classes[(BENCHMARK_LOWEST_PITCH + k) % 12] += count
    names = "C C# D Eb E F F# G Ab A Bb B".split()
    print("training pitch classes:", ", ".join(f"{n} {c:.3f}" for n, c in zip(names, classes / classes.sum())))
    frequency = train.mean(0)
    print(f"one Bernoulli per key, keys as they are: {unit_nll(frequency, test):.3f} nats/frame on testdata")
    for k in range(1, args.max_transpose + 1):
        mixed = np.mean([np.roll(frequency, s) for s in range(-k, k + 1)], axis=0)  # no JSB note reaches an edge
        print(f"  trained on pieces moved by -{k}..{k} semitones, not told: {unit_nll(mixed, test):.3f}")


if __name__ == "__main__":
    main()
