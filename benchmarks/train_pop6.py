"""The six-style model (five music21 corpus styles + pop from POP909): data, measurements, training command.

    python benchmarks/train_pop6.py measure --data /work/runs/pop6/data     # tokens per bar per style
    python benchmarks/train_pop6.py command                                  # print the build / train commands
    python benchmarks/train_pop6.py valid --model CKPT --data /work/runs/pop6/data   # loss per style

The training itself runs in the background with the ``symbolic`` CLI (one thread, outside git), and is
resumed with the same command plus ``--resume``; see docs/results/pop6-model.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RUN = Path("/work/runs/pop6")
BUILD = ("symbolic data build --corpus music21 --limit 300 --pop909 ../shared/data/pop909 --workers 1 "
         f"--out {RUN}/data")
# As /work/runs/pop6/run.sh runs it after the build (started 2026-11-30 03:07 UTC; see docs/results/pop6-model.md).
TRAIN = (f"OMP_NUM_THREADS=1 nohup symbolic train --data {RUN}/data --preset pop6 --threads 1 --check-samples 0 "
         f"--no-progress --out {RUN}/ckpt >> {RUN}/train.log 2>&1 &")
RESUME = TRAIN.replace("--no-progress", "--no-progress --resume")


def tokens_per_bar(data_dir: Path, split: str = "train") -> dict[str, dict[str, float]]:
    """Per style: pieces, tokens, bars, mean tokens a bar, and the 50th / 90th / 99th percentile of bar length
    (tokens between two ``Bar`` tokens, the bar's own ``Bar`` included) over the split's bars."""
    from symbolic.tokenization.events import EventTokenizer

    tokenizer = EventTokenizer.from_spec(data_dir / "tokenizer.json")
    bar_id = tokenizer.vocab.bar_id
    shard = np.load(data_dir / f"{split}.npz")
    tokens, offsets, styles = shard["tokens"], shard["offsets"], shard["styles"]
    lengths: dict[str, list[np.ndarray]] = {}
    counts: dict[str, list[int]] = {}
    for k, style_id in enumerate(styles):
        piece = tokens[offsets[k]:offsets[k + 1]]
        bars = np.flatnonzero(piece == bar_id)
        name = tokenizer.vocab.styles[int(style_id)]
        if len(bars):
            lengths.setdefault(name, []).append(np.diff(np.append(bars, len(piece))))
        c = counts.setdefault(name, [0, 0, 0])
        c[0], c[1], c[2] = c[0] + 1, c[1] + len(piece), c[2] + len(bars)
    out = {}
    for name, (n_pieces, n_tokens, n_bars) in counts.items():
        bar_lengths = np.concatenate(lengths.get(name, [np.zeros(0)]))
        p50, p90, p99 = (np.percentile(bar_lengths, q) if len(bar_lengths) else 0.0 for q in (50, 90, 99))
        out[name] = {"pieces": n_pieces, "tokens": n_tokens, "bars": n_bars,
                     "tokens_per_bar": n_tokens / max(n_bars, 1), "p50": float(p50), "p90": float(p90),
                     "p99": float(p99)}
    return out


def loss_per_style(model_dir: Path, data_dir: Path, split: str = "valid", max_tokens: int = 100_000) -> dict:
    """Nats per token of the model on each style's pieces of ``split`` (whole pieces, each conditioned on
    its own style, scored by ``symbolic.models.scoring.sequence_nll``: windows of the model's context that
    overlap by half), in id order until ``max_tokens`` tokens of the style; ``{style: {...}}``."""
    import time

    import torch

    from symbolic.data.dataset import load_split
    from symbolic.models.pretrained import load_decoder
    from symbolic.models.scoring import sequence_nll
    from symbolic.sampling.session import style_weights

    torch.set_num_threads(1)
    model, tokenizer, meta = load_decoder(model_dir)
    data = load_split(data_dir, split)
    styles = tokenizer.vocab.styles
    out: dict = {}
    start = time.process_time()
    with torch.inference_mode():
        for k, (a, b) in sorted(enumerate(zip(data["offsets"][:-1], data["offsets"][1:])),
                                key=lambda item: str(data["ids"][item[0]])):
            style = styles[int(data["styles"][k])]
            row = out.setdefault(style, {"pieces": 0, "tokens": 0, "nats": 0.0})
            if row["tokens"] >= max_tokens:
                continue
            ids = [int(t) for t in data["tokens"][a:b]]
            nll = sequence_nll(model, ids, style_weights(styles, {style: 1.0}))
            row["pieces"] += 1
            row["tokens"] += len(nll)
            row["nats"] += float(nll.sum())
    for row in out.values():
        row["nats_per_token"] = row["nats"] / row["tokens"] if row["tokens"] else None
    total = sum(r["tokens"] for r in out.values())
    out["all"] = {"pieces": sum(r["pieces"] for r in out.values()), "tokens": total,
                  "nats_per_token": sum(r["nats"] for r in out.values()) / total if total else None,
                  "step": meta.get("step"), "cpu_seconds": round(time.process_time() - start, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    m = sub.add_parser("measure", help="tokens per bar per style of a built data set")
    m.add_argument("--data", type=Path, default=RUN / "data")
    m.add_argument("--split", default="train")
    sub.add_parser("command", help="print the build, train and resume commands")
    v = sub.add_parser("valid", help="loss per style of a checkpoint on a split, whole pieces")
    v.add_argument("--model", type=Path, required=True)
    v.add_argument("--data", type=Path, default=RUN / "data")
    v.add_argument("--split", default="valid")
    v.add_argument("--max-tokens", type=int, default=100_000, help="tokens scored per style at most")
    args = parser.parse_args()
    if args.action == "command":
        print(BUILD, TRAIN, RESUME, sep="\n")
        return
    if args.action == "valid":
        table = loss_per_style(args.model, args.data, args.split, args.max_tokens)
        print("| style | pieces | tokens | nats a token |\n| --- | ---: | ---: | ---: |")
        for name, row in table.items():
            print(f"| {name} | {row['pieces']} | {row['tokens']:,} | {row['nats_per_token']:.3f} |")
        print(json.dumps(table))
        return
    table = tokens_per_bar(args.data, args.split)
    print(f"| style | pieces | tokens | bars | tokens a bar | bar length p50 / p90 / p99 | bars in 512 | in 1024 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in table.items():
        print(f"| {name} | {row['pieces']} | {row['tokens']:,} | {row['bars']:,} | {row['tokens_per_bar']:.1f} | "
              f"{row['p50']:.0f} / {row['p90']:.0f} / {row['p99']:.0f} | {512 / row['tokens_per_bar']:.1f} | "
              f"{1024 / row['tokens_per_bar']:.1f} |")
    print(json.dumps(table))


if __name__ == "__main__":
    main()
