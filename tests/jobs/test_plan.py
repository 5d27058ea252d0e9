"""The plan loop: given parts come out as given, free parts are closed, rules are told where they are."""

from __future__ import annotations

import os
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


def test_a_repeated_bar_is_fed_the_earlier_bar_s_free_part_and_the_rules_hear_it(tokenizer):
    vocab = tokenizer.vocab
    plan = plan_of(tokenizer, quartet(), free={1})
    model = tiny_gpt(tokenizer)
    recorder = Recorder()
    ids = generate_planned(model, tokenizer, plan, CONFIG, rules=[recorder], max_part_tokens=8, repeats={2: 0, 3: 1})
    _, bars = split_bars(vocab, ids)
    assert bars[2][1][1] == bars[0][1][1] and bars[3][1][1] == bars[1][1][1]  # fed, not sampled
    assert bars[0][1][1] != bars[1][1][1]  # the bars sampled differ (else the test shows nothing)
    for k, (_, parts) in enumerate(bars):
        assert parts[0] == list(plan.bars[k].parts[0][1])  # the given parts as planned
    notes = sum(vocab.types[t] == TokenType.DURATION for _, parts in bars for t in parts[1])
    assert recorder.events.count(("note", 1)) == notes and recorder.events.count(("end", 1)) == 4
    free = generate_planned(model, tokenizer, plan, CONFIG, max_part_tokens=8)
    assert split_bars(vocab, free)[1][2][1][1] != bars[0][1][1]  # without repeats bar 2 is sampled


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


# ---------------------------------------------------------------- segments (a long plan decoded in pieces)

def long_score(n_bars: int, tpb: int = 96, rest_bar: int | None = None, tempo_bar: int | None = None,
               rests: range = range(0), bass: bool = True) -> Score:
    """A melody of one note a beat (a rest through bar ``rest_bar`` and the bars of ``rests``) and a bass a bar
    (none without ``bass``), ``n_bars`` bars of 4/4, a tempo change at ``tempo_bar``."""
    from symbolic.score import TempoChange

    bar = 4 * tpb
    melody = [Note(b * bar + k * tpb, tpb, 67 + (b + k) % 5, 80) for b in range(n_bars) for k in range(4)
              if b != rest_bar and b not in rests]
    bass = [Note(b * bar, bar, 43 + b % 3, 70) for b in range(n_bars)] if bass else []
    tempos = [TempoChange(0, 500_000)] + ([TempoChange(tempo_bar * bar, 400_000)] if tempo_bar else [])
    return Score(ticks_per_beat=tpb, tracks=[Track(0, notes=melody), Track(0, notes=[]), Track(32, notes=bass)],
                 time_signatures=[TimeSignature(0, 4, 4)], tempos=tempos)


def long_plan(tokenizer, n_bars: int, **kwargs) -> Plan:
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(long_score(n_bars, **kwargs), style="chorale"))
    return Plan(tuple(header), tuple(BarPlan(tuple(o), tuple(sorted([(s, tuple(p)) for s, p in parts.items()]
                                                                      + [(1, None)])))
                                     for o, parts in bars))


def test_a_long_plan_is_cut_at_phrase_boundaries_with_a_warm_up_and_seeds_of_its_own(tokenizer):
    from symbolic.jobs.plan import plan_segments, segment_seed

    vocab = tokenizer.vocab
    plan = long_plan(tokenizer, 70)
    assert len(plan.bars) == 70
    one, = plan_segments(vocab, plan, 0, 4, seed=5)  # 0: never cut
    assert (one.warmup_bar, one.start_bar, one.stop_bar, one.seed) == (0, 0, 70, 5)
    assert len(plan_segments(vocab, plan, 36, 4, seed=5)) == 1  # 70 bars hold no two segments of 36
    first, second = plan_segments(vocab, plan, 32, 4, seed=5)
    # the even split: each decodes 37 bars, the second's 4 bars of warm-up included
    assert (first.warmup_bar, first.start_bar, first.stop_bar, first.seed) == (0, 0, 37, 5)
    assert (second.warmup_bar, second.start_bar, second.stop_bar) == (33, 37, 70)
    assert second.seed == segment_seed(5, 1) not in (5, 6) and segment_seed(6, 1) != second.seed
    # the melody's rest (bar 33 silent: the line before bar 34 has the longest rest) and, stronger, a tempo change
    assert plan_segments(vocab, long_plan(tokenizer, 70, rest_bar=33), 32, 4, 5)[1].start_bar in (33, 34)
    assert plan_segments(vocab, long_plan(tokenizer, 70, rest_bar=33, tempo_bar=39), 32, 4, 5)[1].start_bar == 39
    assert plan_segments(vocab, long_plan(tokenizer, 70, tempo_bar=42), 32, 4, 5)[1].start_bar == 37  # too far
    four = plan_segments(vocab, long_plan(tokenizer, 140), 32, 4, seed=5)
    assert [s.start_bar for s in four] == [0, 38, 72, 106] and [s.stop_bar for s in four][-1] == 140
    assert len({s.seed for s in four}) == 4


def test_a_warm_up_reaches_back_to_bars_where_the_melody_plays(tokenizer):
    from symbolic.jobs.plan import plan_segments

    vocab = tokenizer.vocab
    # the melody alone is given and rests through bars 26-45, around the even split (37): every cut near it
    # would start after 4 silent bars, where a segment hears nothing of the song (a ballad's interlude)
    plan = long_plan(tokenizer, 70, rests=range(26, 46), bass=False)
    heard = [any(ids is not None and len(ids) > 1 for _, ids in bar.parts) for bar in plan.bars]
    assert not any(heard[26:46]) and all(heard[:26])
    first, second = plan_segments(vocab, plan, 32, 4, seed=5)
    assert first.stop_bar == second.start_bar and 33 <= second.start_bar <= 41  # still near the even split
    # the warm-up starts early enough to hear 4 bars of the melody, and no earlier than it must
    assert sum(heard[second.warmup_bar:second.start_bar]) == 4 and heard[second.warmup_bar]
    assert second.start_bar - 16 <= second.warmup_bar < second.start_bar - 4
    # where the melody plays up to the cut, the warm-up keeps its 4 bars
    with_bass = plan_segments(vocab, long_plan(tokenizer, 70, rests=range(26, 46)), 32, 4, seed=5)[1]
    assert with_bass.start_bar - with_bass.warmup_bar == 4

    # a drum part playing through the melody's rests does not count as heard (it tells no key)
    from symbolic.jobs.plan import _pitched_bars

    score = long_score(70, rests=range(26, 46), bass=False)
    score.tracks.append(Track(0, is_drum=True, notes=[Note(b * 384, 96, 36, 90) for b in range(70)]))
    header, bars = split_bars(vocab, tokenizer.encode(score, style="chorale"))
    with_drums = Plan(tuple(header), tuple(BarPlan(tuple(o), tuple(sorted((s, tuple(p)) for s, p in parts.items())))
                                           for o, parts in bars))
    assert _pitched_bars(vocab, with_drums) == heard


def test_each_segment_keeps_the_songs_key_bar_by_bar(tokenizer, monkeypatch):
    from symbolic.jobs.rules import ScaleBias

    vocab = tokenizer.vocab
    plan = long_plan(tokenizer, 70, rests=range(30, 44), bass=False)
    c_major, f_sharp_major = frozenset({0, 2, 4, 5, 7, 9, 11}), frozenset({1, 3, 5, 6, 8, 10, 11})
    # the key of each bar, changing at irregular bars: a segment reading another bar's key, or a key of its
    # own, writes pitches out of the bar's key
    scales = tuple(c_major if (b * 7) % 11 < 5 else f_sharp_major for b in range(70))
    pitch = vocab.offsets[TokenType.PITCH]
    for workers in (1, 2):
        ids = _segmented(tokenizer, plan, workers, monkeypatch, rules=[ScaleBias(pitch, 1e4, scales)])
        _, bars = split_bars(vocab, ids)
        written = [[t - pitch for t in parts[1] if vocab.types[t] == TokenType.PITCH] for _, parts in bars]
        assert sum(map(len, written)) > 100
        assert all(p % 12 in scales[b] for b, pitches in enumerate(written) for p in pitches)


def test_segmenting_settings_are_checked(tokenizer):
    from symbolic.jobs.config import JobConfig

    assert JobConfig().segment_bars > JobConfig().warmup_bars >= 1  # on by default
    for bad in ({"segment_bars": 4, "warmup_bars": 4}, {"segment_bars": -1}, {"warmup_bars": -2}):
        with pytest.raises(ConfigError, match="segment_bars"):
            JobConfig(**bad)
    with pytest.raises(ConfigError, match="warmup_bars"):
        generate_planned(tiny_gpt(tokenizer), tokenizer, long_plan(tokenizer, 8), CONFIG, segment_bars=2,
                         warmup_bars=3)


def test_a_session_starting_mid_song_hears_the_meter_and_the_tempo(tokenizer):
    from symbolic.jobs.plan import _state_opening

    vocab = tokenizer.vocab
    plan = long_plan(tokenizer, 70, tempo_bar=20)
    names = [vocab.names[t] for t in _state_opening(vocab, plan, 40)]
    assert names[0].startswith("Bar") and any(n.startswith("TimeSig") for n in names)
    tempos = [n for n in names if n.startswith("Tempo")]
    assert tempos == [vocab.names[t] for t in plan.bars[20].opening if vocab.names[t].startswith("Tempo")]


class SharedRecorder(PartRuleBase):
    """Writes the bars it is told about into one list that its deep copies share (serial decoding only)."""

    log: list = []

    def __deepcopy__(self, memo):
        return SharedRecorder()

    def start(self, plan) -> None:
        SharedRecorder.log.append(("start",))

    def start_bar(self, index, given) -> None:
        SharedRecorder.log.append(("bar", index))

    def __call__(self, logits, context):
        return logits


def _segmented(tokenizer, plan, workers, monkeypatch, warmup_bars=4, rules=()):
    import symbolic.threads

    monkeypatch.setattr(symbolic.threads, "side_by_side", lambda tasks: min(tasks, workers))
    config = GenerationConfig(seed=3, guidance_scale=2.0, temperature=1.0)
    return generate_planned(tiny_gpt(tokenizer), tokenizer, plan, config, rules=list(rules), max_part_tokens=8,
                            segment_bars=16, warmup_bars=warmup_bars)


def test_segments_write_the_same_bytes_with_one_or_two_cores(tokenizer, monkeypatch):
    import symbolic.jobs.plan as plan_module

    plan = long_plan(tokenizer, 70)  # 4 segments of 16+ bars
    forked = []
    side_by_side = plan_module._run_side_by_side
    monkeypatch.setattr(plan_module, "_run_side_by_side", lambda *a: forked.append(a[2]) or side_by_side(*a))
    serial = _segmented(tokenizer, plan, 1, monkeypatch)
    parallel = _segmented(tokenizer, plan, 2, monkeypatch)
    assert forked == [2]  # the second run decoded in two processes
    assert serial == parallel
    assert _segmented(tokenizer, plan, 3, monkeypatch) == serial
    # every bar once, given parts as planned, and the free part written in every bar
    vocab = tokenizer.vocab
    _, bars = split_bars(vocab, serial)
    assert len(bars) == 70 and serial[-1] == vocab.eos_id
    for (opening, parts), planned in zip(bars, plan.bars):
        assert tuple(opening) == planned.opening
        assert all(tuple(parts[s]) == ids for s, ids in planned.parts if ids is not None)
        assert any(vocab.types[t] == TokenType.DURATION for t in parts[1])


def test_each_segment_warms_up_over_the_bars_before_it(tokenizer, monkeypatch):
    from symbolic.jobs.plan import plan_segments

    plan = long_plan(tokenizer, 70)
    SharedRecorder.log = []
    warm = _segmented(tokenizer, plan, 1, monkeypatch, rules=[SharedRecorder()])
    starts = [k for k, event in enumerate(SharedRecorder.log) if event == ("start",)]
    assert len(starts) == 4
    runs = [[e[1] for e in SharedRecorder.log[a + 1:b]] for a, b in zip(starts, starts[1:] + [None])]
    segments = plan_segments(tokenizer.vocab, plan, 16, 4, 3)
    assert [s.start_bar for s in segments] == [0, 20, 37, 54]
    # each segment's rules hear its bars, each later segment's from 4 bars before its own
    assert runs == [list(range(s.start_bar - 4 if s.start_bar else 0, s.stop_bar)) for s in segments]
    cold = _segmented(tokenizer, plan, 1, monkeypatch, warmup_bars=0)
    _, warm_bars = split_bars(tokenizer.vocab, warm)
    _, cold_bars = split_bars(tokenizer.vocab, cold)
    # (without warm-up the cuts are at 18, 35 and 52) the first segment has none; the others heard the bars before
    assert warm_bars[:18] == cold_bars[:18]
    for start, stop in zip([20, 37, 54], [37, 54, 70]):
        assert warm_bars[start:stop] != cold_bars[start:stop]
    assert len(cold_bars) == 70 and all(tuple(o) == p.opening for (o, _), p in zip(cold_bars, plan.bars))


def test_a_failing_bar_callback_stops_every_segment(tokenizer, monkeypatch):
    import multiprocessing

    import symbolic.threads

    monkeypatch.setattr(symbolic.threads, "side_by_side", lambda tasks: min(tasks, 2))
    seen = []

    def on_bar(done, total):
        seen.append(done)
        if done == 5:
            raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        generate_planned(tiny_gpt(tokenizer), tokenizer, long_plan(tokenizer, 70), CONFIG, max_part_tokens=8,
                         on_bar=on_bar, segment_bars=16)
    assert seen[-1] == 5 and not multiprocessing.active_children()


def test_segments_are_shared_among_the_workers_by_their_length():
    from symbolic.jobs.plan import _balance

    assert _balance([48, 39, 51, 48], 2) == [[1, 2], [0, 3]]  # 90 and 96 bars, not 99 and 87 by turns
    assert _balance([10, 10, 10], 3) == [[0], [1], [2]]
    assert _balance([5, 7], 1) == [[0, 1]]


def _slow_segments(pid_file: str) -> None:
    """Run two endless-ish segments side by side; the worker writes its pid, then reports a bar every 50 ms."""
    import time

    from symbolic.jobs.plan import _run_side_by_side

    def run(k, before_bar):
        if k == 1:  # the worker's segment
            with open(pid_file, "w") as f:
                f.write(str(os.getpid()))
        for index in range(2000):
            time.sleep(0.05)
            before_bar(index)
        return [k]

    _run_side_by_side(run, [10, 10], 2, lambda: None)


def test_a_worker_stops_when_its_parent_is_killed(tmp_path):
    # a tester killed a convert with SIGTERM and its forked worker decoded on alone for 17 s
    import multiprocessing
    import signal
    import time

    pid_file = tmp_path / "worker.pid"
    parent = multiprocessing.get_context("fork").Process(target=_slow_segments, args=(str(pid_file),))
    parent.start()
    for _ in range(200):
        if pid_file.is_file() and pid_file.read_text():
            break
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.join()

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has stopped
        except FileNotFoundError:
            return False

    deadline = time.time() + 5
    while alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    stopped = not alive(worker)
    if not stopped:  # leave no orphan behind a failing test
        os.kill(worker, signal.SIGKILL)
    assert stopped
