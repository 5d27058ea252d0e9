"""What reduced-precision weights cost in model quality: validation loss and next-token agreement of a
decoder sampled with ``weights_dtype`` float32, bfloat16 and int8 (docs/results/job-speed.md).

    python benchmarks/precision_quality.py --model default --data data/m21-300 --windows 12
    python benchmarks/precision_quality.py --model /work/runs/pop6-snap --data /work/runs/pop6/data

The windows (``--windows``, spread evenly over the data set's ``valid`` split, each the model's context
long; when the data set was built with another tokenizer than the model's, the first window of pieces spread
evenly over the split, decoded with the data set's tokenizer and encoded with the model's) are read the way the jobs decode: one token at a time through the KV cache's one-token step, two
rows per pass (the window's style and the unconditional "none" row, as classifier-free guidance runs),
teacher-forced.  For each precision: the mean negative log-likelihood of the conditional row's next
tokens (nats per token), its difference from float32, and how often the most likely next token (argmax)
is float32's.  One thread, CPU time per pass.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from symbolic.data.dataset import TokenDataset
from symbolic.sampling.precision import with_weights_dtype
from symbolic.models.pretrained import load_decoder
from symbolic.sampling.config import WEIGHTS_DTYPES
from symbolic.tokenization.events import EventTokenizer


def reencoded_pieces(data_dir: str, data_tokenizer, tokenizer, context: int) -> list[dict]:
    """The first ``context`` tokens of every ``valid`` piece of ``data_dir`` in ``tokenizer``'s ids."""
    split = np.load(Path(data_dir) / "valid.npz")
    tokens, offsets, styles = split["tokens"], split["offsets"], split["styles"]
    pieces = []
    for i in range(len(styles)):
        score = data_tokenizer.decode(tokens[offsets[i]:offsets[i + 1]].tolist())
        style = data_tokenizer.vocab.styles[int(styles[i])]
        ids = tokenizer.encode(score, style=style)[:context]
        pieces.append({"input_ids": torch.tensor(ids), "style_id": tokenizer.vocab.styles.index(style)})
    return pieces


@torch.inference_mode()
def read_window(model, ids: torch.Tensor, style_id: int) -> tuple[torch.Tensor, float]:
    """Log-probabilities ``(T - 1, vocab)`` of the conditional row after each of ``ids[:-1]``, and the CPU
    seconds per one-token pass."""
    cache = model.new_cache(2)
    styles = torch.tensor([style_id, 0])
    out = []
    start = time.process_time()
    for t in range(len(ids) - 1):
        token = ids[t].view(1, 1).expand(2, 1)
        logits, _ = model(token, styles, cache=cache)
        out.append(torch.log_softmax(logits[0, -1].float(), dim=-1))
    return torch.stack(out), (time.process_time() - start) / max(1, len(ids) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="a shipped model's name or a checkpoint folder")
    parser.add_argument("--data", required=True, help="a data set built with the model's tokenizer")
    parser.add_argument("--windows", type=int, default=12)
    parser.add_argument("--dtypes", nargs="+", default=list(WEIGHTS_DTYPES), choices=WEIGHTS_DTYPES)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, tokenizer, _ = load_decoder(args.model)
    context = model.config.context_length
    valid = TokenDataset(args.data, "valid", context_length=context)
    data_tokenizer = EventTokenizer.from_spec(Path(args.data) / "tokenizer.json")
    if data_tokenizer.vocab.config != tokenizer.vocab.config:
        valid = reencoded_pieces(args.data, data_tokenizer, tokenizer, context)
    picks = np.linspace(0, len(valid) - 1, min(args.windows, len(valid))).round().astype(int).tolist()
    models = {name: with_weights_dtype(model, name) for name in args.dtypes}
    nll = {name: 0.0 for name in models}
    agree = {name: 0 for name in models}
    seconds = {name: [] for name in models}
    count = 0
    for i in picks:
        item = valid[i]
        ids = item["input_ids"]
        targets = ids[1:]
        reference = None
        for name, m in models.items():
            logp, per_pass = read_window(m, ids, item["style_id"])
            seconds[name].append(per_pass)
            nll[name] += float(-logp.gather(1, targets[:, None]).sum())
            top = logp.argmax(dim=-1)
            reference = top if reference is None else reference
            agree[name] += int((top == reference).sum())
        count += len(targets)
        print(f"window {i}: {len(targets)} tokens; " + ", ".join(f"{n} {nll[n] / count:.4f}" for n in models),
              flush=True)
    first = next(iter(models))
    print(f"\nmodel {args.model}, {len(picks)} windows of the valid split of {args.data}, {count} tokens")
    print(f"| weights | NLL nats/token | minus {first} | top-1 agreement with {first} | CPU ms per pass (2 rows) |")
    print("| --- | --- | --- | --- | --- |")
    for name in models:
        print(f"| {name} | {nll[name] / count:.4f} | {(nll[name] - nll[first]) / count:+.4f} | "
              f"{agree[name] / count:.2%} | {1e3 * float(np.median(seconds[name])):.2f} |")


if __name__ == "__main__":
    main()
