"""CPU cost of a training step of a model preset, on one thread: what a full run would take.

Times ``--steps`` optimisation steps (AdamW, the preset's batch and context, windows
of a built data set) of the preset's decoder and prints the CPU seconds per step
(``time.process_time``, so other jobs on the machine do not count), training tokens
per CPU second, and the CPU hours the preset's ``max_steps`` would take.  Used for
``docs/results/own-data.md`` when the ``small`` preset was too long to run::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/preset_step_cost.py --data DATA_DIR --preset small
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a data folder `symbolic data build` wrote")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--model", default="gpt")
    parser.add_argument("--steps", type=int, default=4, help="timed steps (after one untimed warm-up step)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from symbolic.data.dataset import TokenDataset
    from symbolic.models.checkpoint import build_model
    from symbolic.models.presets import preset

    size, train = preset(args.preset, args.model)
    data = TokenDataset(args.data, "train", context_length=size.context_length + 1)
    vocab = data.tokenizer.vocab
    torch.manual_seed(0)
    model = build_model(args.model, {**size.settings(), "vocab_size": len(vocab), "n_styles": len(vocab.styles)})
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.learning_rate)
    batch = train.batch_size
    generator = torch.Generator().manual_seed(0)
    cpu_seconds, tokens = 0.0, 0
    for step in range(args.steps + 1):
        rows = [data[int(i)] for i in torch.randint(len(data), (batch,), generator=generator)]
        length = max(len(r["input_ids"]) for r in rows)
        ids = torch.zeros(batch, length, dtype=torch.long)
        for j, r in enumerate(rows):
            ids[j, :len(r["input_ids"])] = torch.as_tensor(r["input_ids"])
        styles = torch.tensor([r["style_id"] for r in rows])
        start = time.process_time()
        _, loss = model(ids[:, :-1], styles, targets=ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step:  # the first step warms up allocators and is not counted
            cpu_seconds += time.process_time() - start
            tokens += batch * (length - 1)
    per_step = cpu_seconds / args.steps
    report = {"preset": args.preset, "model": args.model, "parameters": sum(p.numel() for p in model.parameters()),
              "cpu_seconds_per_step": round(per_step, 2), "tokens_per_cpu_second": round(tokens / cpu_seconds),
              "max_steps": train.max_steps, "cpu_hours_for_max_steps": round(per_step * train.max_steps / 3600, 2)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
