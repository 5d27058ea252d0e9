"""Choose the jobs' sampling settings on the VALIDATION split (never the test split).

For each ``temperature:guidance`` setting, the first 16 bars of 3 validation pieces
per style are converted into chorale, renaissance and classical (the styles with
accompanying parts) and back; printed: the style classifier's mean probability of
the target, and the mean transfer strength.

    python benchmarks/guidance_sweep.py --settings 0.9:1,0.9:2,0.9:3,0.9:4,0.9:6
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from style_jobs import STYLES, test_pieces  # noqa: E402

from symbolic.arrangement import convert  # noqa: E402
from symbolic.evaluation.jobs import transfer_strength  # noqa: E402
from symbolic.models.classifier import classify_scores, load_classifier  # noqa: E402
from symbolic.models.sampling import GenerationConfig  # noqa: E402
from symbolic.pretrained import load_decoder  # noqa: E402
from symbolic.resources import asset_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/m21-300"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--settings", default="0.9:1,0.9:2,0.9:3,0.9:4,0.9:6", help="temperature:guidance,...")
    parser.add_argument("--per-style", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, tokenizer, _ = load_decoder(args.model)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    pieces = test_pieces(args.data, args.per_style, 16, tokenizer, split="valid")
    index = {s: classifier.config.styles.index(s) for s in STYLES}
    for setting in args.settings.split(","):
        temperature, guidance = (float(v) for v in setting.split(":"))
        config = GenerationConfig(temperature=temperature, top_p=0.95, guidance_scale=guidance, seed=0)
        start, p_target, strengths = time.perf_counter(), {}, []
        for a in STYLES:
            for _, x in pieces[a]:
                for b in ("chorale", "renaissance", "classical"):
                    if a == b:
                        continue
                    there = convert(model, tokenizer, x, {b: 1.0}, config)
                    back = convert(model, tokenizer, there.score, {a: 1.0}, config, melody_track=there.melody_track)
                    probs = classify_scores(classifier, [x, there.score, back.score])
                    p_target.setdefault(b, []).append(probs[1][index[b]])
                    strengths.append(transfer_strength(*(p[index[a]] for p in probs)))
        means = {b: round(float(np.mean(v)), 3) for b, v in p_target.items()}
        print(f"temperature {temperature} guidance {guidance}: mean P(target) {means}, "
              f"transfer strength {np.mean(strengths):.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
