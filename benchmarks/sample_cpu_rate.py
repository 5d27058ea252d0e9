"""Batch-1 sampling in tokens per CPU second, one process per figure (docs/results/model-speed.md).

    PYTHONPATH=TREE python benchmarks/sample_cpu_rate.py gpt|lstm|hf

``gpt``/``lstm``: the ``small`` preset's shape, untrained, 256 new tokens from a 2-token prompt with ``generate``
(grammar mask off); ``hf``: HF ``GPT2LMHeadModel.generate`` of the same shape.  One thread each.  CPU time
(``time.process_time``) is what a loaded machine disturbs least; run trees side by side with ``PYTHONPATH``.
Works with the package layouts before and after the re-cut (``symbolic.models.sampling`` then).
"""

from __future__ import annotations

import json
import sys
import time

import torch


def main() -> None:
    kind = sys.argv[1]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if kind == "hf":
        from transformers import GPT2Config, GPT2LMHeadModel

        model = GPT2LMHeadModel(GPT2Config(vocab_size=842, n_positions=512, n_embd=256, n_layer=4, n_head=4,
                                           bos_token_id=1, eos_token_id=2, pad_token_id=0)).eval()
        ids = torch.tensor([[1, 5]])
        model.generate(ids, do_sample=True, max_new_tokens=8, min_new_tokens=8, top_k=0)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        model.generate(ids, do_sample=True, max_new_tokens=256, min_new_tokens=256, top_k=0, use_cache=True,
                       attention_mask=torch.ones_like(ids))
        produced = 256
    else:
        from symbolic.models.checkpoint import build_model
        from symbolic.models.presets import PRESETS
        from symbolic.tokenization import EventTokenizer
        try:
            from symbolic.sampling.config import GenerationConfig
            from symbolic.sampling.generate import generate
        except ImportError:  # the layout before the re-cut of issue 12
            from symbolic.models.sampling import GenerationConfig, generate
        tokenizer = EventTokenizer()
        preset = PRESETS["small"]
        settings = getattr(preset, kind).settings() if hasattr(preset, kind) else preset[kind]
        model = build_model(kind, {**settings, "vocab_size": tokenizer.vocab_size,
                                   "n_styles": len(tokenizer.vocab.styles)}).eval()
        prompt = [tokenizer.vocab.bos_id, tokenizer.vocab.style_id("irish")]
        generate(model, tokenizer, prompt, GenerationConfig(max_new_tokens=8, constrain=False), 1)  # warm-up
        cpu, wall = time.process_time(), time.perf_counter()
        out = generate(model, tokenizer, prompt, GenerationConfig(max_new_tokens=256, min_new_tokens=256,
                                                                  constrain=False, seed=0), batch_size=1)
        produced = len(out[0]) - len(prompt)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"kind": kind, "tokens_per_cpu_s": round(produced / cpu, 1),
                      "tokens_per_s": round(produced / wall, 1)}))


if __name__ == "__main__":
    main()
