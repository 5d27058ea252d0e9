"""Choose the conversion's sampling settings on the VALIDATION split (never the test split).

For each ``temperature:guidance`` setting, the first 16 bars of ``--per-style``
validation pieces per style are converted into every other style and back.
Printed per setting: the mean transfer strength over the 20 directions (five-way
judge and pairwise judge, as in ``style_jobs.py``), the classifier's accuracy on
the targets, and with ``--directions`` each direction's figures.  So that the
choice weighs the music and not only the judge, it also prints, for the
conversions into chorale, renaissance and classical: the mean overlap of the ten
symbolic metrics with the validation pieces of the target style (as
``style_jobs.py`` does against test pieces), and the mean scale consistency of the
converted pieces.

``--no-style-rules`` writes the new parts without their style's part rules (the
part rhythm, voice ranges, single lines, legato and key penalty of
``StyleTexture``), to measure what those rules do.

    python benchmarks/guidance_sweep.py --settings 0.9:2,0.9:3,0.9:4,0.9:6
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

from symbolic.jobs.arrange import convert  # noqa: E402
from symbolic.jobs.config import JobConfig  # noqa: E402
from symbolic.evaluation.compare import overlapping_area  # noqa: E402
from symbolic.evaluation.jobs import pairwise_probability, transfer_strength  # noqa: E402
from symbolic.evaluation.metrics import METRIC_NAMES, all_metrics  # noqa: E402
from symbolic.models.classifier import classify_scores, load_classifier  # noqa: E402
from symbolic.models.pretrained import load_decoder  # noqa: E402
from symbolic.resources import asset_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/m21-300"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--settings", default="0.9:3", help="temperature:guidance,...")
    parser.add_argument("--per-style", type=int, default=6, help="validation pieces per style")
    parser.add_argument("--no-style-rules", action="store_true",
                        help="write new parts without their style's part rhythm, voice ranges, single lines, "
                             "legato and key penalty")
    parser.add_argument("--directions", action="store_true", help="print every direction's figures")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, tokenizer, _ = load_decoder(args.model)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    pieces = test_pieces(args.data, args.per_style, 16, tokenizer, split="valid")
    index = {s: classifier.config.styles.index(s) for s in STYLES}
    print("validation pieces:", {s: len(v) for s, v in pieces.items()})
    targets = ("chorale", "renaissance", "classical")
    real = {b: [all_metrics(x) for _, x in pieces[b]] for b in targets}  # the same for every setting
    real_scale = float(np.mean([m["scale_consistency"] for b in targets for m in real[b]]))
    for setting in args.settings.split(","):
        temperature, guidance = (float(v) for v in setting.split(":"))
        config = JobConfig(temperature=temperature, top_p=0.95, guidance_scale=guidance, seed=0,
                           style_rules=not args.no_style_rules)
        start, rows, converted = time.perf_counter(), {}, {b: [] for b in targets}
        for a in STYLES:
            for b in STYLES:
                if a == b:
                    continue
                five, pair, hits = [], [], []
                for _, x in pieces[a]:
                    there = convert(model, tokenizer, x, {b: 1.0}, config)
                    back = convert(model, tokenizer, there.score, {a: 1.0}, config, melody_track=there.melody_track)
                    probs = classify_scores(classifier, [x, there.score, back.score])
                    if b in converted:
                        converted[b].append(all_metrics(there.score))
                    five.append(transfer_strength(*(float(p[index[a]]) for p in probs)))
                    pair.append(transfer_strength(*(pairwise_probability(p, index[a], index[b]) for p in probs)))
                    hits.append(int(np.argmax(probs[1])) == index[b])
                rows[f"{a}->{b}"] = (np.mean(five), np.mean(pair), np.mean(hits))
                if args.directions:
                    print(f"  {a + '->' + b:26s} TS {rows[f'{a}->{b}'][0]:.3f}  pairwise {rows[f'{a}->{b}'][1]:.3f}  "
                          f"accuracy {rows[f'{a}->{b}'][2]:.2f}", flush=True)
        five_mean, pair_mean, accuracy = (float(np.mean([r[k] for r in rows.values()])) for k in range(3))
        overlap, scale = {}, {}
        for b, metrics in converted.items():
            overlap[b] = float(np.nanmean([overlapping_area([m[name] for m in metrics],
                                                            [m[name] for m in real[b]])["overlap"]
                                           for name in METRIC_NAMES]))
            scale[b] = float(np.mean([m["scale_consistency"] for m in metrics]))
        print(f"temperature {temperature} guidance {guidance}: transfer strength {five_mean:.3f} "
              f"(pairwise {pair_mean:.3f}), accuracy on the targets {accuracy:.3f}; into chorale, renaissance, "
              f"classical: metric overlap with real pieces {' '.join(f'{v:.3f}' for v in overlap.values())}, "
              f"scale consistency {' '.join(f'{v:.3f}' for v in scale.values())} (real {real_scale:.3f}) "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
