"""Decoders, sampling, checkpoints, training: causality, cache equivalence, exact resume, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symbolic.errors import ConfigError, DataError, StyleError, TokenizationError
from symbolic.generation import generate_scores, parse_style_mix
from symbolic.models import GPT, GPTConfig, LSTMConfig, LSTMDecoder, GenerationConfig, generate
from symbolic.models.checkpoint import build_model, load_checkpoint, save_checkpoint
from symbolic.models.sampling import GrammarMask, Guidance, StepContext, Temperature, TopK, TopP, compose
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
def test_kv_cache_sampling_equals_no_cache_sampling(kind):
    model = make(kind)
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id("irish")]
    common = dict(max_new_tokens=120, min_new_tokens=110, seed=7, temperature=1.3)  # slides past the context
    with_cache = generate(model, TOK, prompt, GenerationConfig(**common), batch_size=3,
                          style_ids=torch.tensor([4, 4, 4]))
    without = generate(model, TOK, prompt, GenerationConfig(use_cache=False, **common), batch_size=3,
                       style_ids=torch.tensor([4, 4, 4]))
    assert with_cache == without
    assert max(len(s) for s in with_cache) > SIZE["context_length"]
    again = generate(model, TOK, prompt, GenerationConfig(**common), batch_size=3, style_ids=torch.tensor([4, 4, 4]))
    assert again == with_cache  # seeded: reproducible


@pytest.mark.parametrize("kind", KINDS)
def test_grammar_mask_only_lets_decodable_sequences_through(kind):
    model = make(kind, seed=3)
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id("chorale")]
    constrained = generate(model, TOK, prompt, GenerationConfig(max_new_tokens=200, seed=1, temperature=2.0),
                           batch_size=8)
    for seq in constrained:
        GrammarState(TOK.vocab).advance_all(seq)  # raises on any invalid succession
        n_written = sum(TOK.vocab.types[t] == TokenType.DURATION for t in seq)
        assert TOK.decode(seq).n_notes == n_written
    free = generate(model, TOK, prompt, GenerationConfig(max_new_tokens=200, seed=1, temperature=2.0,
                                                         constrain=False), batch_size=8)
    broken = 0
    for seq in free:
        try:
            GrammarState(TOK.vocab).advance_all(seq)
        except TokenizationError:
            broken += 1
    assert broken > 0  # an untrained model breaks the grammar without the mask


def test_bar_bound_and_style_mix():
    model = make("gpt")
    prompt = [TOK.vocab.bos_id, TOK.vocab.style_id(None)]
    seqs = generate(model, TOK, prompt, GenerationConfig(max_new_tokens=300, max_bars=2, seed=0), batch_size=4)
    for seq in seqs:
        assert sum(TOK.vocab.types[t] == TokenType.BAR for t in seq) <= 2
    one_hot = torch.zeros(2, SIZE["n_styles"])
    one_hot[:, 3] = 1.0
    by_weights, _ = model(torch.tensor([[1, 2, 3]] * 2), style_weights=one_hot)
    by_ids, _ = model(torch.tensor([[1, 2, 3]] * 2), torch.tensor([3, 3]))
    assert torch.allclose(by_weights, by_ids, atol=1e-6)
    mixed, _ = model(torch.tensor([[1, 2, 3]] * 2), style_weights=torch.full((2, SIZE["n_styles"]), 1 / 6))
    assert not torch.allclose(mixed, by_ids, atol=1e-4)


def test_processors_are_pure_and_correct():
    logits = torch.tensor([[3.0, 1.0, 0.5, -1.0, 2.0]])
    original = logits.clone()
    assert torch.isinf(TopK(2)(logits, StepContext())).sum() == 3
    kept = TopP(0.7)(logits, StepContext())
    probs = torch.softmax(logits, -1)[0]
    assert set(torch.nonzero(~torch.isinf(kept[0])).flatten().tolist()) == {0, 4}  # 0.60 + 0.22 >= 0.7
    assert probs[0] < 0.7
    assert torch.allclose(Temperature(2.0)(logits, StepContext()), logits / 2)
    uncond = torch.zeros_like(logits)
    assert torch.allclose(Guidance(3.0)(logits, StepContext(uncond_logits=uncond)), 3 * logits)
    state = GrammarState(TOK.vocab)
    masked = GrammarMask()(torch.zeros(1, TOK.vocab_size), StepContext(grammar_states=[state]))
    assert torch.isfinite(masked).sum() == 1 and torch.isfinite(masked[0, TOK.vocab.bos_id])
    chain = compose([Temperature(0.5), TopK(1)])
    assert torch.isinf(chain(logits, StepContext())).sum() == 4
    assert torch.equal(logits, original)  # nothing changed in place
    with pytest.raises(ConfigError):
        Temperature(0)
    with pytest.raises(ConfigError):
        TopP(1.5)


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
    assert "--prompt-bars" in capsys.readouterr().err
    assert main(["generate", "--checkpoint", str(ck), "--style", "chorale", "--prompt", str(long_prompt),
                 "--prompt-bars", "1", "--bars", "1", "--out", str(out)]) == 0
    assert main(["train", "--data", str(tmp_path), "--out", str(ck)]) == 2


def test_style_mix_parsing():
    styles = TOK.vocab.styles
    assert parse_style_mix("irish", styles) == {"irish": 1.0}
    assert parse_style_mix("irish:3,chorale:1", styles) == {"irish": 0.75, "chorale": 0.25}
    assert parse_style_mix(None, styles) == {"none": 1.0}
    for bad in ("polka", "irish:x", "irish:-1"):
        with pytest.raises(StyleError):
            parse_style_mix(bad, styles)


def test_generate_scores_returns_scores():
    model = make("gpt")
    scores = generate_scores(model, TOK, GenerationConfig(max_new_tokens=50, seed=2), style="irish", n_samples=2)
    assert len(scores) == 2 and all(s.ticks_per_beat == 480 for s in scores)


def test_style_from_words():
    from symbolic.generation import resolve_style
    from symbolic.styles import describe_mix, style_from_text

    styles = TOK.vocab.styles
    assert style_from_text("a lively irish jig", styles) == {"irish": 1.0}
    assert list(style_from_text("four-part church hymn", styles)) == ["chorale"]
    mix = style_from_text("a fiddle reel with a Bach chorale harmony", styles)
    assert set(mix) == {"irish", "chorale"} and abs(sum(mix.values()) - 1) < 1e-9
    assert describe_mix({"irish": 0.7, "chorale": 0.3}) == "irish 70%, chorale 30%"
    assert resolve_style("irish:0.7,chorale:0.3", styles) == ({"irish": 0.7, "chorale": 0.3}, False)
    assert resolve_style("Mozart string quartet minuet", styles) == ({"classical": 1.0}, True)
    for bad in ("", "   ", "heavy metal with blast beats"):
        with pytest.raises(StyleError):
            style_from_text(bad, styles)
        with pytest.raises(StyleError):
            resolve_style(bad, styles)
    assert resolve_style(None, styles) == ({"none": 1.0}, False)


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
