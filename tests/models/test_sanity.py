"""The end-of-training sample check and ``generate``'s empty-output warning (issue 16 item 2)."""

from __future__ import annotations

import torch

from symbolic.models import GPT, GPTConfig
from symbolic.models.checkpoint import save_checkpoint
from symbolic.models.sanity import SampleCheckConfig, check_samples, grammar_mass
from symbolic.tokenization import EventTokenizer, EventTokenizerConfig

TOK = EventTokenizer(EventTokenizerConfig(styles=("pop", "piano")))


def eager_to_end(eos_logit: float = 30.0) -> GPT:
    """A GPT whose every prediction is EOS by ``eos_logit`` nats (an undertrained model on long songs)."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=TOK.vocab_size, n_styles=len(TOK.vocab.styles), context_length=64,
                          n_layer=1, n_head=2, n_embd=32, dropout=0.0))
    with torch.no_grad():
        model.ln_f.weight.zero_()
        model.ln_f.bias.zero_()
        model.ln_f.bias[0] = 1.0
        model.tok_emb.weight[:, 0] = 0.0  # tied: the head reads column 0 of the embedding
        model.tok_emb.weight[TOK.vocab.eos_id, 0] = eos_logit
    return model.eval()


def test_a_model_that_writes_nothing_is_flagged():
    check = check_samples(eager_to_end(), TOK, SampleCheckConfig(samples_per_style=2, bars=2))
    assert [(s.style, s.samples, s.empty, s.declared_tracks) for s in check.styles] == \
        [("pop", 2, 2, 1.0), ("piano", 2, 2, 1.0)]  # the mask declares a track; no note follows
    assert check.empty_share == 1.0 and check.mostly_empty
    assert check.lines()[-1].startswith("WARNING: 100% of the samples hold no note")


def test_grammar_mass_counts_the_probability_outside_the_grammar():
    v = TOK.vocab
    model = eager_to_end(eos_logit=0.0)  # uniform over the vocabulary
    seq = [v.bos_id, v.style_id("pop"), v.bar_id, v.eos_id]
    # After BOS Style_pop Bar... : allowed next after Style is {Track_0, Bar, EOS}; after Bar, the
    # bar-start set.  A uniform model puts (V - allowed) / V outside at each sampled step.
    from symbolic.tokenization.grammar import GrammarState

    state = GrammarState(v).advance_all(seq[:2])
    expected = 0.0
    for token in seq[2:]:
        expected += 1 - state.allowed().sum() / len(v)
        state.advance(token)
    assert abs(grammar_mass(model, [seq], 2, 1, v) - expected) < 1e-4
    assert grammar_mass(model, [seq[:2]], 2, 1, v) == 0.0  # nothing sampled


def test_generate_warns_on_an_empty_sample_and_strict_fails(tmp_path, capsys):
    from symbolic.cli import main

    save_checkpoint(tmp_path / "eager", eager_to_end(), TOK, {}, step=0, history=[], best_state=None)
    out = tmp_path / "g.mid"
    args = ["generate", "--checkpoint", str(tmp_path / "eager"), "--style", "pop", "--bars", "2", "--out", str(out)]
    assert main(args + ["--min-bars", "0"]) == 0
    assert "holds no note" in capsys.readouterr().err
    assert main(args + ["--min-bars", "0", "--strict"]) == 1
    assert main(args + ["--min-bars", "3"]) == 2
    assert "min_bars=3" in capsys.readouterr().err


def test_generate_says_when_the_token_budget_cut_a_sample_short(tmp_path, capsys):
    from symbolic.cli import main

    save_checkpoint(tmp_path / "eager", eager_to_end(), TOK, {}, step=0, history=[], best_state=None)
    args = ["generate", "--checkpoint", str(tmp_path / "eager"), "--style", "pop", "--bars", "4",
            "--out", str(tmp_path / "g.mid")]
    assert main(args) == 0  # min_bars 4: EOS masked until bar 4, and 1024 tokens are plenty
    assert "token budget" not in capsys.readouterr().err
    assert main(args + ["--max-new-tokens", "12"]) == 0  # the header, then empty bars: cut short in bar 2..3
    err = capsys.readouterr().err
    assert "sample 1 stopped at the token budget (max_new_tokens=12) in bar" in err
    assert "of the 4 asked for; raise max_new_tokens (about" in err
    assert main(args + ["--max-new-tokens", "12", "--strict"]) == 1
    assert main(args + ["--max-new-tokens", "1"]) == 0  # a header token only: no bar, no note
    err = capsys.readouterr().err
    assert "stopped at the token budget (max_new_tokens=1) before its first bar" in err
    assert "holds no note (cut short by --max-new-tokens, above)" in err and "another --seed" not in err


def test_train_reports_the_sample_check(multitrack_dataset, tmp_path, capsys):
    from symbolic.cli import main

    args = ["train", "--data", str(multitrack_dataset), "--out", str(tmp_path / "ck"), "--preset", "tiny",
            "--max-steps", "2", "--eval-every", "2", "--threads", "1", "--no-progress"]
    assert main(args + ["--check-samples", "-1"]) == 2  # refused before training
    assert "samples_per_style" in capsys.readouterr().err and not (tmp_path / "ck").exists()
    assert main(args + ["--check-samples", "1"]) == 0
    out = capsys.readouterr().out
    assert "sample check (1 pieces of 4 bars per style):" in out
    assert "  pop: " in out and "  piano: " in out and "grammar skips" in out
