"""Decoders, checkpoints, training: causality, cache equivalence, exact resume, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symbolic.errors import ConfigError, DataError, StyleError, TokenizationError
from symbolic.models import GPT, GPTConfig, LSTMConfig, LSTMDecoder
from symbolic.models.checkpoint import build_model, load_checkpoint, save_checkpoint
from symbolic.models.training import TrainConfig, train
from symbolic.tokenization import EventTokenizer, GrammarState, TokenType

TOK = EventTokenizer()
SIZE = {"vocab_size": TOK.vocab_size, "n_styles": len(TOK.vocab.styles), "context_length": 48, "n_layer": 2,
        "n_head": 2, "n_embd": 32}


def make(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(**SIZE)) if kind == "gpt" else LSTMDecoder(LSTMConfig(**SIZE))
    return model.eval()


KINDS = ["gpt", "lstm"]


@pytest.mark.parametrize("kind", KINDS)
def test_causal_mask(kind):
    model = make(kind)
    x = torch.randint(0, TOK.vocab_size, (3, 30), generator=torch.Generator().manual_seed(1))
    styles = torch.tensor([1, 2, 3])
    before, _ = model(x, styles)
    changed = x.clone()
    changed[:, 17] = (changed[:, 17] + 5) % TOK.vocab_size
    after, _ = model(changed, styles)
    assert torch.allclose(before[:, :17], after[:, :17], atol=1e-6)
    assert not torch.allclose(before[:, 17:], after[:, 17:], atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_cache_gives_the_same_logits(kind):
    model = make(kind)
    x = torch.randint(0, TOK.vocab_size, (2, 24), generator=torch.Generator().manual_seed(2))
    full, _ = model(x, torch.tensor([1, 4]))
    cache = model.new_cache(2)
    parts = [model(x[:, a:b], torch.tensor([1, 4]), cache=cache)[0] for a, b in ((0, 10), (10, 11), (11, 24))]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)
    with pytest.raises(ConfigError, match="context_length"):
        model(torch.zeros((2, 30), dtype=torch.long), cache=cache)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_gives_identical_logits(kind, tmp_path):
    model = make(kind, seed=5)
    save_checkpoint(tmp_path / "ck", model, TOK, {"note": "test"}, step=0, history=[], best_state=None)
    loaded, tokenizer, meta = load_checkpoint(tmp_path / "ck")
    x = torch.randint(0, TOK.vocab_size, (2, 20), generator=torch.Generator().manual_seed(0))
    assert torch.equal(model(x, torch.tensor([1, 2]))[0], loaded(x, torch.tensor([1, 2]))[0])
    assert meta["model"] == kind and tokenizer.vocab.names == TOK.vocab.names
    assert loaded.head.weight.data_ptr() == loaded.tok_emb.weight.data_ptr()  # still tied


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError, match="not a checkpoint"):
        load_checkpoint(tmp_path)
    model = make("gpt")
    save_checkpoint(tmp_path / "ck", model, TOK, {}, step=0, history=[], best_state=None)
    meta_path = tmp_path / "ck" / "meta.json"
    import json

    meta = json.loads(meta_path.read_text())
    meta["tokenizer"]["config"]["steps_per_beat"] = 8
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="retrain"):
        load_checkpoint(tmp_path / "ck")
    with pytest.raises(ConfigError, match="n_layers"):
        build_model("gpt", {**SIZE, "n_layers": 3})
    with pytest.raises(ConfigError, match="multiple"):
        GPTConfig(**{**SIZE, "n_embd": 33})


def _train(data, out, kind="gpt", **overrides):
    settings = dict(batch_size=4, learning_rate=3e-3, min_learning_rate=3e-4, warmup_steps=3, max_steps=16,
                    eval_every=4, eval_batches=2, patience=0, seed=3, num_threads=1)
    settings.update({k: v for k, v in overrides.items() if k != "stop_after_steps" and k != "resume"})
    model = build_model(kind, {**SIZE, "context_length": 64, "dropout": 0.1})
    return train(model, TOK, data, out, TrainConfig(**settings), resume=overrides.get("resume", False),
                 progress=False, stop_after_steps=overrides.get("stop_after_steps"))


@pytest.mark.parametrize("kind", KINDS)
def test_resume_equals_uninterrupted_training(kind, tiny_dataset, tmp_path):
    torch.manual_seed(0)
    whole = _train(tiny_dataset, tmp_path / "whole", kind)
    torch.manual_seed(0)
    first = _train(tiny_dataset, tmp_path / "split", kind, stop_after_steps=6)
    assert first.stopped == "interrupted" and first.step == 6
    torch.manual_seed(123)  # a different fresh init: resume must overwrite it
    second = _train(tiny_dataset, tmp_path / "split", kind, resume=True)
    assert second.step == 16
    assert [r["loss"] for r in second.history] == [r["loss"] for r in whole.history]
    assert [r.get("valid_loss") for r in second.history] == [r.get("valid_loss") for r in whole.history]
    assert whole.history[-1]["loss"] < whole.history[0]["loss"]


def test_ddp_two_processes(tiny_dataset, tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists():
        pytest.skip("torchrun not installed beside this python")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    result = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", "29531",
         "-m", "symbolic", "train", "--data", str(tiny_dataset), "--model", "gpt", "--out", str(tmp_path / "ddp"),
         "--preset", "tiny", "--max-steps", "4", "--eval-every", "2", "--batch-size", "4", "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stopped at step 4" in result.stdout
    model, _, meta = load_checkpoint(tmp_path / "ddp")
    assert meta["step"] == 4 and len(meta["history"]) == 4


def test_train_and_generate_from_the_command_line(tiny_dataset, tmp_path, capsys):
    from symbolic.cli import main
    from symbolic.inputs.midi import read_midi

    ck = tmp_path / "ck"
    assert main(["train", "--data", str(tiny_dataset), "--model", "lstm", "--out", str(ck), "--preset", "tiny",
                 "--max-steps", "6", "--eval-every", "3", "--no-progress"]) == 0
    assert "unigram baseline" in capsys.readouterr().out
    out = tmp_path / "gen.mid"
    assert main(["generate", "--checkpoint", str(ck), "--style", "irish:0.7,chorale:0.3", "--bars", "2",
                 "--num-samples", "2", "--top-k", "20", "--top-p", "0.95", "--guidance", "1.5", "--seed", "1",
                 "--out", str(out)]) == 0
    for i in (1, 2):
        read_midi(tmp_path / f"gen-{i}.mid")  # decodes and is valid MIDI
    assert main(["generate", "--checkpoint", str(ck), "--style", "dubstep", "--out", str(out)]) == 2
    assert "nothing in 'dubstep' points to a style" in capsys.readouterr().err
    long_prompt = sorted((tiny_dataset / "cache").glob("*.mid"))[0]
    assert main(["generate", "--checkpoint", str(ck), "--style", "chorale", "--prompt", str(long_prompt),
                 "--out", str(out)]) == 2
    assert "keep fewer of its bars (prompt_bars)" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(ck), "--style", "chorale", "--prompt", str(long_prompt),
                 "--prompt-bars", "1", "--bars", "1", "--out", str(out)]) == 0
    assert main(["train", "--data", str(tmp_path), "--out", str(ck)]) == 2


def test_generate_with_a_description(tiny_dataset, tmp_path, capsys):
    from symbolic.cli import main

    ck = tmp_path / "ck"
    assert main(["train", "--data", str(tiny_dataset), "--model", "gpt", "--out", str(ck), "--preset", "tiny",
                 "--max-steps", "2", "--eval-every", "2", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(ck), "--style", "a lively irish jig", "--bars", "1",
                 "--out", str(tmp_path / "g.mid")]) == 0
    assert "style from the description 'a lively irish jig': irish 100%" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(ck), "--style", "  ", "--out", str(tmp_path / "g.mid")]) == 2
    assert "description is empty" in capsys.readouterr().err


@pytest.mark.parametrize("weights", ["ids", "mix"])
def test_gpt_one_token_step_gives_the_numbers_of_the_general_path(weights):
    """Inference on one new token per row takes GPT._step (2-D activations): over the modules' weights it must
    compute the logits of the general path (which training mode takes) bit for bit, at every position of a
    cached sequence; over the cache's transposed weights, the same numbers up to the order of the sums."""
    torch.manual_seed(3)
    model = GPT(GPTConfig(**{**SIZE, "dropout": 0.0, "style_dropout": 0.0}))
    x = torch.randint(0, TOK.vocab_size, (2, 12), generator=torch.Generator().manual_seed(4))
    styles = dict(style_ids=torch.tensor([1, 0])) if weights == "ids" else \
        dict(style_weights=torch.tensor([[0.0, 0.3, 0.7, 0, 0, 0], [1.0, 0, 0, 0, 0, 0]])[:, :SIZE["n_styles"]])
    out = {}
    with torch.no_grad():
        for mode, transposed in (("train", False), ("eval", False), ("eval", True)):  # train: the general path
            getattr(model, mode)()
            cache = model.new_cache(2, transposed=transposed)
            steps = [model(x[:, :4], cache=cache, **styles)[0][:, -1]]
            steps += [model(x[:, i:i + 1], cache=cache, **styles)[0][:, -1] for i in range(4, 12)]
            out[mode, transposed] = torch.stack(steps)
    general = out["train", False]
    assert torch.equal(general, out["eval", False])
    assert torch.allclose(general, out["eval", True], rtol=0, atol=2e-6)
    assert out["eval", True].abs().max() > 0.1  # logits of a size where a fault would show over 2e-6


def test_gpt_caches_keep_the_transposed_copies_until_a_weight_changes():
    """A new cache reuses the model's transposed copies; an optimizer step or a load (in place) or a new
    parameter gives new copies, so a cache never computes with weights the model no longer has."""
    torch.manual_seed(3)
    model = GPT(GPTConfig(**{**SIZE, "dropout": 0.0, "style_dropout": 0.0})).eval()
    first = model.new_cache(1).step_weights
    assert model.new_cache(2).step_weights is first  # no copy for an unchanged model
    with torch.no_grad():
        model.blocks[0].mlp[0].weight.add_(1.0)  # in place, as an optimizer step
    second = model.new_cache(1).step_weights
    assert second is not first and torch.equal(second[0][0][2], model.blocks[0].mlp[0].weight.t())
    model.load_state_dict(GPT(GPTConfig(**{**SIZE, "dropout": 0.0})).state_dict())
    third = model.new_cache(1).step_weights
    assert third is not second and torch.equal(third[1], model.head.weight.t())
    model.head.weight = torch.nn.Parameter(torch.zeros_like(model.head.weight))  # a new tensor
    assert torch.equal(model.new_cache(1).step_weights[1], torch.zeros_like(model.head.weight.t()))
    with torch.inference_mode():  # a copy made in inference mode (the jobs' int8 copy is) tracks no versions
        import copy

        inferred = copy.deepcopy(model)
        assert torch.equal(inferred.new_cache(1).step_weights[1], model.head.weight.t())


def test_gpt_step_over_int8_layers_matches_their_general_path():
    """The quantized copy's linear layers are not plain nn.Linear: the step calls their int8 operator on
    their packed weights, the numbers of the modules' own path."""
    from symbolic.sampling.precision import quantize_int8

    torch.manual_seed(3)
    model = quantize_int8(GPT(GPTConfig(**{**SIZE, "dropout": 0.0, "style_dropout": 0.0})))
    head = model.new_cache(1).step_weights[1]
    assert head is not None and not isinstance(head, torch.Tensor)  # the head's packed int8 weights
    x = torch.randint(0, TOK.vocab_size, (1, 8), generator=torch.Generator().manual_seed(5))
    out = {}
    with torch.no_grad():
        for mode in ("train", "eval"):  # train: the general path (no dropout here); eval: the step
            getattr(model, mode)()
            cache = model.new_cache(1)
            model(x[:, :7], cache=cache)
            out[mode] = model(x[:, 7:], cache=cache)[0][:, -1]
    assert torch.allclose(out["train"], out["eval"], rtol=0, atol=1e-6)


def test_gpt_step_follows_a_new_style_tensor_within_one_cache():
    """The one-token step keeps the style vectors of the style tensors it was last given (one cache, one
    generation); other tensors, even in the same cache, must give their own style."""
    torch.manual_seed(3)
    model = GPT(GPTConfig(**{**SIZE, "dropout": 0.0, "style_dropout": 0.0})).eval()
    x = torch.randint(0, TOK.vocab_size, (1, 6), generator=torch.Generator().manual_seed(4))
    a, b = torch.tensor([1]), torch.tensor([2])
    out = {}
    with torch.no_grad():
        for name, last_style, general in (("step", b, False), ("general", b, True), ("stuck", a, False)):
            model.eval()
            cache = model.new_cache(1, transposed=False)
            model(x[:, :4], style_ids=a, cache=cache)
            model(x[:, 4:5], style_ids=a, cache=cache)  # a one-token step with style a
            if general:
                model.train()  # the general path (no dropout here) computes the style afresh
            out[name] = model(x[:, 5:6], style_ids=last_style, cache=cache)[0][:, -1]
    model.eval()
    assert torch.equal(out["step"], out["general"])
    assert not torch.allclose(out["step"], out["stuck"], atol=1e-4)  # the style changes the logits
