"""Logits processors: pure, composable, each doing what its name says."""

from __future__ import annotations

import pytest
import torch

from symbolic.errors import ConfigError
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.processors import (GrammarMask, Guidance, MinNewTokens, ProcessorChain, StepContext, Temperature,
                                          TopK, TopP, compose, forbid_unless_empty, keep_block_mass)
from symbolic.tokenization import EventTokenizer, GrammarState
from symbolic.tokenization.vocab import TokenType

TOK = EventTokenizer()


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


def test_min_new_tokens_forbids_eos_until_enough_were_sampled():
    logits = torch.zeros(1, 5)
    early = MinNewTokens(3, eos_id=2)(logits, StepContext(n_generated=2))
    assert torch.isinf(early[0, 2]) and torch.isfinite(early[0, [0, 1, 3, 4]]).all()
    assert torch.equal(MinNewTokens(3, eos_id=2)(logits, StepContext(n_generated=3)), logits)


def test_forbid_unless_empty_leaves_a_row_it_would_empty():
    logits = torch.tensor([[0.0, 1.0, 2.0], [float("-inf"), float("-inf"), 2.0]])
    out = forbid_unless_empty(logits, torch.tensor([False, False, True]))
    assert torch.equal(out[0], torch.tensor([0.0, 1.0, float("-inf")])) and torch.equal(out[1], logits[1])
    with pytest.raises(ConfigError, match="grammar states"):
        GrammarMask()(logits, StepContext())
    with pytest.raises(ConfigError, match="unconditional"):
        Guidance(2.0)(logits, StepContext())


def test_keep_block_mass_reorders_a_block_without_moving_mass_in_or_out():
    torch.manual_seed(0)
    logits = torch.randn(2, 10)
    block = slice(3, 8)
    bias = torch.zeros(2, 10)
    bias[:, 3:5] = -2.0  # a soft penalty on two ids of the block
    bias[1, 9] = float("-inf")  # a hard mask outside it
    out = keep_block_mass(logits, logits + bias, block)
    hard = torch.where(torch.isinf(bias), bias, torch.zeros_like(bias))
    before = torch.softmax(logits + hard, -1)[:, block].sum(-1)
    assert torch.allclose(torch.softmax(out, -1)[:, block].sum(-1), before, atol=1e-6)
    plain = torch.softmax(logits + bias, -1)[:, block].sum(-1)
    assert (plain < before - 1e-3).all()  # the plain sum hands the penalty's mass to the other ids
    probs = torch.softmax(out, -1)
    assert (probs[:, 3:5] < torch.softmax(logits + hard, -1)[:, 3:5]).all()  # penalised ids still lose
    assert torch.equal(out[:, :3], (logits + bias)[:, :3]) and torch.isinf(out[1, 9])  # outside: untouched
    dead = torch.full((1, 10), float("-inf"))
    dead[0, 0] = 1.0
    assert torch.equal(keep_block_mass(dead, dead, block), dead)  # an all -inf block stays so


def test_chain_keeps_the_pitch_mass_the_same_way_with_or_without_the_probe():
    class PitchPenalty:  # a soft bias on a few Pitch ids, as a part rule gives
        def __call__(self, logits, context):
            bias = torch.zeros(logits.size(-1))
            bias[TOK.vocab.offsets[TokenType.PITCH] + 60:TOK.vocab.offsets[TokenType.PITCH] + 66] = -3.0
            return logits + bias

    state = GrammarState(TOK.vocab)
    state.advance_all(TOK.encode(_one_note_score())[:-1])  # just after a note's Duration: Pitch competes
    pitches = slice(TOK.vocab.offsets[TokenType.PITCH], TOK.vocab.offsets[TokenType.PITCH] + 128)
    config = GenerationConfig(guidance_scale=2.0, temperature=1.0, constrain=True)
    torch.manual_seed(1)
    cond, uncond = torch.randn(1, TOK.vocab_size), torch.randn(1, TOK.vocab_size)
    context = StepContext(grammar_states=[state], uncond_logits=uncond)
    kept = ProcessorChain(config, TOK.vocab.eos_id, [PitchPenalty()], keep_mass=pitches)
    plain = ProcessorChain(config, TOK.vocab.eos_id, [PitchPenalty()])
    via_probe = kept.finish(cond, kept.mask(torch.zeros_like(cond), context), context)
    assert torch.equal(kept(cond, context), via_probe)
    unbiased = ProcessorChain(config, TOK.vocab.eos_id)(cond, context)
    mass = {name: torch.softmax(out, -1)[0, pitches].sum().item()
            for name, out in (("kept", via_probe), ("plain", plain(cond, context)), ("none", unbiased))}
    assert 0.01 < mass["none"] < 0.99
    assert mass["kept"] == pytest.approx(mass["none"], abs=1e-5) and mass["plain"] < mass["none"] - 1e-4
    with pytest.raises(ConfigError, match="guidance_scale"):
        ProcessorChain(GenerationConfig(guidance_scale=0.0), TOK.vocab.eos_id, keep_mass=pitches)


def _one_note_score():
    from symbolic.score import Note, Score, Track

    return Score(ticks_per_beat=480, tracks=[Track(program=0, notes=[Note(0, 480, 60, 80), Note(480, 480, 64, 80)])])
