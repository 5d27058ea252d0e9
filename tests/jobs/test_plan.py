"""The plan loop: given parts come out as given, free parts are closed, rules are told where they are."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_gpt

from symbolic.errors import ConfigError, TokenizationError
from symbolic.jobs.plan import BarPlan, Plan, generate_planned
from symbolic.jobs.rules import PartRuleBase
from symbolic.sampling.config import GenerationConfig
from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.tokenization.stream import NOTE_TYPES, split_bars
from symbolic.tokenization.vocab import TokenType

CONFIG = GenerationConfig(seed=0)


def quartet(tpb: int = 480) -> Score:
    def line(base: int) -> list[Note]:
        return [Note(k * tpb, tpb, base + (k % 5), 70) for k in range(16)]
    return Score(ticks_per_beat=tpb, tracks=[Track(0, notes=line(70)), Track(0, notes=line(62)),
                                             Track(32, notes=line(40))], time_signatures=[TimeSignature(0, 4, 4)])


def plan_of(tokenizer, score: Score, free: set[int] = frozenset()) -> Plan:
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style="chorale"))
    return Plan(tuple(header), tuple(
        BarPlan(tuple(o), tuple((s, None if s in free else tuple(p)) for s, p in sorted(parts.items())))
        for o, parts in bars))


class Recorder(PartRuleBase):
    """A rule that changes nothing and writes down what the loop tells it."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, plan) -> None:
        self.events.append(("start", len(plan.bars)))

    def start_bar(self, index, given) -> None:
        self.events.append(("bar", index, tuple(sorted(given))))

    def start_part(self, slot, chunk) -> None:
        super().start_part(slot, chunk)
        self.events.append(("part", slot, chunk))

    def wrote(self, note) -> None:
        self.events.append(("note", self.slot))

    def end_part(self) -> None:
        self.events.append(("end", self.slot))
        super().end_part()

    def __call__(self, logits, context):
        return logits


def test_a_fully_given_plan_reproduces_the_encoding(tokenizer):
    score = quartet()
    assert generate_planned(tiny_gpt(tokenizer), tokenizer, plan_of(tokenizer, score), CONFIG) == \
        tokenizer.encode(score, style="chorale")


def test_free_parts_are_written_and_rules_follow_the_loop(tokenizer):
    vocab = tokenizer.vocab
    score = quartet()
    plan = plan_of(tokenizer, score, free={1})
    recorder = Recorder()
    ids = generate_planned(tiny_gpt(tokenizer), tokenizer, plan, CONFIG, rules=[recorder], max_part_tokens=8)
    _, bars = split_bars(vocab, ids)
    given = split_bars(vocab, tokenizer.encode(score, style="chorale"))[1]
    assert len(bars) == 4 and ids[-1] == vocab.eos_id
    for (_, parts), (_, original) in zip(bars, given):
        assert parts[0] == original[0] and parts[2] == original[2]  # the given parts, token for token
        notes = sum(vocab.types[t] == TokenType.DURATION for t in parts[1])
        assert notes >= 1  # at least one note per bar
        assert len(parts[1]) - 1 < 8 + 3  # closed at the first note's end from 8 tokens on
    chunk = 4 * vocab.config.steps_per_beat
    assert recorder.events[0] == ("start", 4)
    bar_events = [e for e in recorder.events if e[0] == "bar"]
    assert bar_events == [("bar", k, (0, 2)) for k in range(4)]
    assert [e for e in recorder.events if e[0] == "part"] == [("part", 1, chunk)] * 4
    writes = [e for e in recorder.events if e[0] == "note"]
    assert writes and all(e == ("note", 1) for e in writes)
    assert recorder.events.count(("end", 1)) == 4


def test_plan_settings_are_checked(tokenizer):
    model = tiny_gpt(tokenizer)
    with pytest.raises(ConfigError, match="max_part_tokens"):
        generate_planned(model, tokenizer, plan_of(tokenizer, quartet()), CONFIG, max_part_tokens=3)
    bos, style = tokenizer.vocab.bos_id, tokenizer.vocab.style_id("irish")
    broken = Plan((bos, style), (BarPlan((bos,), ()),))  # a bar that opens with BOS
    with pytest.raises(TokenizationError, match="the plan breaks the token grammar"):
        generate_planned(model, tokenizer, broken, CONFIG)


def test_given_tokens_wait_for_the_next_sample(tokenizer):
    from conftest import RecordingDecoder

    score = quartet()
    model = RecordingDecoder(tiny_gpt(tokenizer))
    generate_planned(model, tokenizer, plan_of(tokenizer, score), CONFIG)
    assert model.calls == []  # nothing sampled, no forward pass
    plan = plan_of(tokenizer, score, free={1})
    ids = generate_planned(model, tokenizer, plan, CONFIG, max_part_tokens=8)
    # the header, the first bar's opening, the melody and the free part's Track: one pass
    first = list(plan.header) + list(plan.bars[0].opening) + list(plan.bars[0].parts[0][1]) + \
        [tokenizer.vocab.id_of(TokenType.TRACK, 1)]
    assert model.calls[0][0][0].tolist() == first
    samples = sum(1 for t in ids if tokenizer.vocab.types[t] in NOTE_TYPES) + len(plan.bars)  # + the closers
    assert len(model.calls) <= samples


class ValueBlind(PartRuleBase):
    """Wraps a rule and checks, at every call, that the ids it forbids do not depend on the logit values
    (what DecodingSession.sample's shortcut for a known token relies on)."""

    def __init__(self, rule) -> None:
        self.rule, self.checked = rule, 0

    def __getattribute__(self, name):
        if name in ("rule", "checked", "__call__", "__class__"):
            return object.__getattribute__(self, name)
        return getattr(object.__getattribute__(self, "rule"), name)

    def __call__(self, logits, context):
        noise = torch.randn(logits.shape, generator=torch.Generator().manual_seed(self.checked))
        probe = self.rule(torch.zeros_like(logits), context)
        noisy = self.rule(noise * 5, context)
        assert torch.equal(torch.isfinite(probe), torch.isfinite(noisy)), type(self.rule).__name__
        self.checked += 1
        return self.rule(logits, context)


def test_the_part_rules_forbid_ids_whatever_the_logit_values(tokenizer):
    from symbolic.analysis.keys import bar_scales
    from symbolic.jobs.rules import part_rules
    from symbolic.styles.registry import texture_of
    from symbolic.styles.texture import PartRange

    score = quartet()
    plan = plan_of(tokenizer, score, free={1})
    bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style="chorale"))[1]
    for style in ("chorale", "irish"):
        rules = [ValueBlind(r) for r in part_rules(tokenizer.vocab, texture_of(style), {1: PartRange(48, 72)},
                                                     bar_scales(tokenizer.vocab, bars))]
        generate_planned(tiny_gpt(tokenizer), tokenizer, plan, CONFIG, rules=rules, max_part_tokens=8)
        assert all(r.checked > 0 for r in rules)


def test_the_masks_run_once_a_step_with_the_numbers_of_the_whole_chain(tokenizer, monkeypatch):
    """ProcessorChain.finish (guidance + the masks' probe + the cuts) must give the logits of the whole chain
    (which runs the masks on the guided logits) bit for bit, at every step of a plan with every rule."""
    from symbolic.analysis.keys import bar_scales
    from symbolic.jobs.rules import part_rules
    from symbolic.sampling.processors import ProcessorChain
    from symbolic.styles.registry import texture_of
    from symbolic.styles.texture import PartRange

    checked = []
    finish = ProcessorChain.finish

    def checking_finish(self, logits, mask_bias, context):
        out = finish(self, logits, mask_bias, context)
        assert torch.equal(out, self(logits, context))  # the whole chain, masks run again
        checked.append(int(torch.isinf(mask_bias).sum()))
        return out

    monkeypatch.setattr(ProcessorChain, "finish", checking_finish)
    score = quartet()
    plan = plan_of(tokenizer, score, free={1})
    bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style="chorale"))[1]
    config = GenerationConfig(seed=1, guidance_scale=3.0, temperature=0.9, top_p=0.95)
    for style in ("chorale", "pop"):
        rules = part_rules(tokenizer.vocab, texture_of(style), {1: PartRange(48, 72)}, bar_scales(tokenizer.vocab, bars))
        generate_planned(tiny_gpt(tokenizer), tokenizer, plan, config, rules=rules, max_part_tokens=8)
    assert len(checked) > 20 and min(checked) > 0  # every step had masked ids
