"""Repeated passages: which bars repeat which, and the new parts copied there (symbolic/jobs/repeats.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import tiny_gpt

from symbolic.jobs.arrange import accompany
from symbolic.jobs.config import JobConfig
from symbolic.jobs.plan import BarPlan, Plan
from symbolic.jobs.repeats import (bar_overlap, copy_repeats, cut_restrikes, describe_repeats, plan_repeat_sources,
                                   repeat_sources)
from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.styles.registry import STYLE_NAMES
from symbolic.tokenization.events import EventTokenizer, EventTokenizerConfig
from symbolic.tokenization.stream import split_bars

A = frozenset({(0, 60), (12, 62), (24, 64), (36, 65)})
B = frozenset({(0, 67), (24, 65), (36, 64)})
C = frozenset({(0, 72), (12, 71)})
D = frozenset({(0, 55), (24, 57)})
BAR = (48, ())  # a 4/4 bar's kind: 48 steps, no chords


def test_a_passage_of_two_bars_repeats_and_the_earliest_source_is_taken():
    assert repeat_sources([A, B, C, A, B, D, A, B], [BAR] * 8) == {3: 0, 4: 1, 6: 0, 7: 1}
    assert repeat_sources([], []) == {}


def test_a_lone_bar_a_different_kind_or_silence_does_not_repeat():
    assert repeat_sources([A, B, C, A, D], [BAR] * 5) == {}  # A alone: its neighbours differ
    assert repeat_sources([A, B, A, B], [BAR, BAR, (36, ()), BAR]) == {}  # a 3/4 bar is not a 4/4 one
    assert repeat_sources([A, B, A, B], [BAR, BAR, None, BAR]) == {}  # a chunk of a long bar takes no part
    chords = [(48, ((0, 48, (0, 4, 7), 0),)), (48, ((0, 48, (2, 5, 9), 2),))]
    assert repeat_sources([A, B, A, B], [chords[0], BAR, chords[1], BAR]) == {}  # other chords under it
    empty = frozenset()
    assert repeat_sources([empty, empty, empty, empty], [BAR] * 4) == {}  # rests repeat nothing


def test_the_overlap_is_jaccard_and_bounded():
    near = A - {(36, 65)} | {(36, 67)}  # one note of four changed: 3 / 5 shared
    assert bar_overlap(A, near) == pytest.approx(0.6) and bar_overlap(frozenset(), frozenset()) == 0.0
    assert repeat_sources([A, B, near, B], [BAR] * 4) == {}  # B's repeat stands next to a bar under 0.8
    assert repeat_sources([A, B, near, B], [BAR] * 4, min_overlap=0.6) == {2: 0, 3: 1}
    with pytest.raises(ValueError, match="min_overlap"):
        repeat_sources([A], [BAR], min_overlap=0)
    with pytest.raises(ValueError, match="kinds"):
        repeat_sources([A, B], [BAR])


def test_describe_repeats_names_runs():
    assert describe_repeats({3: 0, 4: 1, 6: 0, 7: 1, 9: 5}) == "4-5 from 1-2, 7-8 from 1-2, 10 from 6"
    assert describe_repeats({}) == ""
    scattered = {b: b - 20 for b in range(20, 60, 2)}  # 20 one-bar runs
    assert describe_repeats(scattered, max_runs=3) == "21 from 1, 23 from 3, 25 from 5 and 17 more runs"
    assert len(describe_repeats(scattered)) < 150


def song(tpb: int = 480, phrase=(60, 62, 64, 65, 67, 65, 64, 62), other=(72, 71, 69, 67, 65, 64, 62, 60)) -> Score:
    """A melody of 8 bars of 4/4: phrase (2 bars), other (2 bars), phrase, phrase."""
    notes, bar = [], 0
    for line in (phrase, other, phrase, phrase):
        for k, pitch in enumerate(line):
            notes.append(Note(bar * 4 * tpb + k * tpb, tpb, pitch, 80))
        bar += 2
    return Score(ticks_per_beat=tpb, tracks=[Track(program=53, notes=notes)],
                 time_signatures=[TimeSignature(0, 4, 4)])


def plan_of(tokenizer, score: Score, free: int = 1) -> Plan:
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style="pop"))
    return Plan(tuple(header), tuple(BarPlan(tuple(o), tuple(sorted([(s, tuple(ids)) for s, ids in p.items()]
                                                                    + [(free, None)])))
                                    for o, p in bars))


def test_the_plan_s_given_melody_decides_the_repeats(tokenizer):
    assert plan_repeat_sources(tokenizer.vocab, plan_of(tokenizer, song())) == {4: 0, 5: 1, 6: 0, 7: 1}
    # given chords that differ under the third phrase: only the last phrase repeats the first
    chords = ((0, 96, frozenset({0, 4, 7}), 0), (192, 288, frozenset({2, 5, 9}), 2), (288, 384, frozenset({0, 4, 7}), 0))
    assert plan_repeat_sources(tokenizer.vocab, plan_of(tokenizer, song()), chords) == {6: 0, 7: 1}


def test_copy_repeats_puts_the_source_bar_s_parts_in_the_repeating_bar(tokenizer):
    vocab = tokenizer.vocab
    melody = song().tracks[0]
    piano = Track(program=0, notes=[Note(b * 1920 + k * 480, 240, 48 + b + k, 70) for b in range(8) for k in range(4)])
    score = Score(ticks_per_beat=480, tracks=[melody, piano], time_signatures=[TimeSignature(0, 4, 4)])
    ids = tokenizer.encode(score, style="pop")
    out = copy_repeats(vocab, ids, {4: 0, 5: 1, 7: 4}, [1])
    assert out[-1] == ids[-1] == vocab.eos_id and ids == tokenizer.encode(score, style="pop")  # input unchanged
    decoded = tokenizer.decode(out)

    def bar(track: Track, b: int) -> list[tuple[int, int, int]]:
        return [(n.onset_ticks - b * 1920, n.duration_ticks, n.pitch) for n in track.notes
                if b * 1920 <= n.onset_ticks < (b + 1) * 1920]

    assert decoded.tracks[0].notes == tokenizer.decode(ids).tracks[0].notes  # the melody as it was
    for b, source in ((0, 0), (4, 0), (5, 1), (6, 6), (7, 0)):  # bar 7 from 4, itself a copy of 0
        assert bar(decoded.tracks[1], b) == bar(piano, source)


@pytest.fixture(scope="module")
def tokenizer():
    return EventTokenizer(EventTokenizerConfig(styles=STYLE_NAMES))  # the six styles, pop among them


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_gpt(tokenizer)


def test_accompany_in_pop_repeats_the_piano_where_the_melody_repeats(model, tokenizer):
    config = JobConfig(temperature=1.0, top_p=None, guidance_scale=1.0, seed=3, weights_dtype="float32")
    result = accompany(model, tokenizer, song(), {"pop": 1.0}, config)
    piano = result.score.tracks[result.new_tracks[0]]

    def bar(b: int) -> list[tuple[int, int]]:
        return [(n.onset_ticks - b * 1920, n.pitch) for n in piano.notes if b * 1920 <= n.onset_ticks < (b + 1) * 1920]

    assert bar(0) and bar(4) == bar(0) and bar(5) == bar(1) and bar(6) == bar(0) and bar(7) == bar(1)
    assert cut_restrikes(piano.notes) == sorted(piano.notes, key=lambda n: (n.onset_ticks, n.pitch))  # no key struck twice
    assert any(line.startswith("repeats: 4 of ") and "bars 5-6 from 1-2, 7-8 from 1-2" in line
               for line in result.decisions)
    off = accompany(model, tokenizer, song(), {"pop": 1.0}, replace(config, repeat_parts=False))
    piano = off.score.tracks[off.new_tracks[0]]
    assert bar(4) != bar(0) and not any(line.startswith("repeats") for line in off.decisions)
    chorale = accompany(model, tokenizer, song(), {"chorale": 1.0}, config)  # a style that does not repeat
    assert not any(line.startswith("repeats") for line in chorale.decisions)


def test_repeat_parts_must_be_a_bool():
    with pytest.raises(Exception, match="repeat_parts"):
        JobConfig(repeat_parts=1)


def test_cut_restrikes_ends_a_held_note_where_its_key_is_struck_again():
    held, again, other = Note(0, 960, 50, 70), Note(480, 240, 50, 80), Note(240, 960, 55, 70)
    assert cut_restrikes([again, other, held]) == [Note(0, 480, 50, 70), other, again]
    assert cut_restrikes([Note(0, 240, 50, 70), Note(0, 480, 50, 60)]) == [Note(0, 480, 50, 60)]
    apart = [Note(0, 480, 50, 70), Note(480, 480, 50, 70)]  # legato, not overlapping: unchanged
    assert cut_restrikes(apart) == apart and cut_restrikes([]) == []


def test_a_copied_bar_does_not_strike_a_key_the_bar_before_holds(model, tokenizer):
    # a model that wants one long C in every bar: a copy can strike it while the sampled bar before holds it
    from conftest import RecordingDecoder

    from symbolic.tokenization.vocab import TokenType

    vocab = tokenizer.vocab
    stubborn = RecordingDecoder(model, {vocab.offsets[TokenType.PITCH] + 48: 10.0,
                                        vocab.id_of(TokenType.DURATION, len(vocab.duration_steps) - 1): 10.0})
    config = JobConfig(temperature=1.0, top_p=None, guidance_scale=1.0, seed=0, weights_dtype="float32")
    result = accompany(stubborn, tokenizer, song(), {"pop": 1.0}, config)
    assert any(line.startswith("repeats: 4 of ") for line in result.decisions)
    notes = sorted(result.score.tracks[result.new_tracks[0]].notes)
    assert sum(n.pitch == 48 for n in notes) > 8  # the model got its C, bar after bar
    for a in notes:
        for later in notes:
            if later.pitch == a.pitch and a.onset_ticks < later.onset_ticks:
                assert a.onset_ticks + a.duration_ticks <= later.onset_ticks, (a, later)
                break
