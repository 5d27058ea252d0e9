"""Each part rule on its own: the tokens it forbids or lowers, and the state it keeps between steps."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from symbolic.errors import ConfigError
from symbolic.jobs.plan import Plan
from symbolic.jobs.rules import (BASS_ROOT_PENALTY, GIVEN_CHORD_PENALTY, ChordBias, DoublingLimit, KeepPlaying, LineState, NoRestrike, PitchRange, RhythmGrid, ScaleBias, SingleLine, part_rules,
                                  straight_grid)
from symbolic.sampling.processors import StepContext
from symbolic.score import Note, Score, TimeSignature, Track
from symbolic.styles.registry import texture_of
from symbolic.styles.texture import PartRange
from symbolic.tokenization.grammar import GrammarState, Phase
from symbolic.tokenization.stream import NoteSpan, split_bars
from symbolic.tokenization.vocab import TokenType


def at(note_pos: int = 0, chunk: int = 48, phase=None) -> StepContext:
    """A step context whose grammar state is at ``note_pos`` of a bar of ``chunk`` steps."""
    return StepContext([SimpleNamespace(note_pos=note_pos, chunk=chunk, phase=phase)])


def one_bar_tune() -> Score:
    return Score(ticks_per_beat=480, tracks=[Track(0, notes=[Note(k * 480, 480, 60 + k, 80) for k in range(4)])],
                 time_signatures=[TimeSignature(0, 4, 4)])


def allowed_pitches(out: torch.Tensor, offset: int) -> list[int]:
    return torch.isfinite(out[0, offset:offset + 128]).nonzero().flatten().tolist()


def test_rhythm_grid_forbids_off_grid_onsets_and_short_durations(tokenizer):
    vocab = tokenizer.vocab
    grid = RhythmGrid.for_vocab(vocab, onset_grid_steps=6, min_duration_steps=6)
    logits = torch.zeros(2, len(vocab))
    only_short = torch.full((len(vocab),), float("-inf"))
    only_short[vocab.id_of(TokenType.DURATION, 0)] = 0.0  # the shortest duration alone
    logits[1] = only_short
    out = grid(logits, StepContext())
    position = vocab.offsets[TokenType.POSITION]
    allowed = [step for step in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + step])]
    assert allowed == list(range(0, vocab.max_bar_steps, 6))
    duration = vocab.offsets[TokenType.DURATION]
    kept = [steps for k, steps in enumerate(vocab.duration_steps) if torch.isfinite(out[0, duration + k])]
    assert kept == [steps for steps in vocab.duration_steps if steps >= 6 and steps % 6 == 0]
    assert 6 in kept and 12 in kept and 9 not in kept  # a whole number of grid steps, at least the minimum
    pitch = vocab.offsets[TokenType.PITCH]
    assert torch.isfinite(out[0, pitch:pitch + 128]).all()  # other types untouched
    assert torch.equal(out[1], only_short)  # nothing would remain: the row is left as it was
    assert torch.equal(logits[0], torch.zeros(len(vocab)))  # the input is not changed
    with pytest.raises(ConfigError, match="must be >= 1"):
        RhythmGrid.for_vocab(vocab, 0, 6)


def test_pitch_range_keeps_a_part_inside_its_instrument_range():
    offset = 10
    rule = PitchRange(offset, keep_register=False, ranges={1: PartRange(40, 60)})
    logits = torch.zeros(2, offset + 128)
    logits[1, :offset + 100] = float("-inf")  # row 1 allows only pitches 100..127
    rule.start_bar(0, {})
    assert torch.equal(rule(logits, at()), logits)  # no part open: nothing to do
    rule.start_part(1, 48)
    out = rule(logits, at())
    assert allowed_pitches(out, offset) == list(range(40, 61)) and torch.isfinite(out[0, :offset]).all()
    assert torch.equal(out[1], logits[1])  # nothing would remain: the row is left as it was
    assert torch.equal(logits[0], torch.zeros(offset + 128))  # the input is not changed
    rule.end_part()
    rule.start_part(2, 48)  # a slot with no range and no register rule
    assert torch.equal(rule(logits, at()), logits)


def test_register_keeps_a_new_part_under_the_parts_above_and_over_the_given_parts_below():
    offset = 0
    rule = PitchRange(offset)
    given = {0: [NoteSpan(0, 12, 72), NoteSpan(12, 24, 67)],  # the melody, slot 0
             3: [NoteSpan(0, 24, 48)]}  # a given bass, slot 3
    rule.start_bar(0, given)
    rule.start_part(1, 48)
    # under the melody (unison allowed), over the bass (not in unison with it: that would double it)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=4)), offset) == list(range(49, 73))
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=14)), offset) == list(range(49, 68))
    assert torch.equal(rule(torch.zeros(1, 128), at(note_pos=-1)), torch.zeros(1, 128))  # before a position
    rule.wrote(NoteSpan(0, 24, 60))  # part 1's note sounds over the bar's first half
    rule.end_part()
    rule.start_part(2, 48)  # part 2 keeps under part 1 (written above it) and over the given bass below
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=4)), offset) == list(range(49, 61))
    rule.end_part()
    rule.start_bar(1, {0: [NoteSpan(0, 48, 74)]})  # a new bar forgets the last bar's notes ...
    rule.start_part(2, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=4)), offset) == list(range(49, 75))
    rule.end_part()  # ... but the bass, resting through this bar, holds its last pitch (48)
    rule.start_bar(2, {})  # the melody rests too: a part under it stays under its last note (74)
    rule.start_part(1, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=30)), offset) == list(range(49, 75))


def test_register_holds_the_melodys_first_pitch_in_an_introduction(tokenizer):
    from symbolic.jobs.plan import BarPlan

    vocab = tokenizer.vocab
    pitch = vocab.offsets[TokenType.PITCH]
    rule = PitchRange(pitch)
    melody = (vocab.id_of(TokenType.TRACK, 0), vocab.offsets[TokenType.POSITION], pitch + 64)  # enters in bar 2
    rule.start(Plan((), (BarPlan((), ((1, None),)), BarPlan((), ((0, melody), (1, None))))))
    rule.start_bar(0, {})  # the introduction: the melody has not come in yet
    rule.start_part(1, 48)
    allowed = allowed_pitches(rule(torch.zeros(1, len(vocab)), at(note_pos=0)), pitch)
    assert allowed == list(range(0, 65))


def test_register_and_instrument_range_that_do_not_meet_give_the_range():
    rule = PitchRange(0, keep_register=True, ranges={1: PartRange(28, 55)})
    rule.start_bar(0, {0: [NoteSpan(0, 48, 60)], 2: [NoteSpan(0, 48, 45)]})
    rule.start_part(1, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=0)), 0) == list(range(46, 56))  # they meet
    rule.start_bar(0, {0: [NoteSpan(0, 48, 20)]})  # a melody under the bass's whole range
    rule.start_part(1, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=0)), 0) == list(range(28, 56))


def test_a_given_part_close_under_the_melody_is_no_floor():
    rule = PitchRange(0, keep_register=True)
    # the kept chords' top (67) a fifth under the melody (74): the parts may go under the chords
    rule.start_bar(0, {0: [NoteSpan(0, 48, 74)], 2: [NoteSpan(0, 48, 67)]})
    rule.start_part(1, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=0)), 0) == list(range(0, 75))
    rule.wrote(NoteSpan(0, 48, 64))
    rule.end_part()
    # an octave or more under the melody the floor holds, also for a part under a new part close above it
    rule.start_bar(1, {0: [NoteSpan(0, 48, 74)], 3: [NoteSpan(0, 48, 60)]})
    rule.start_part(1, 48)
    rule.wrote(NoteSpan(0, 48, 64))
    rule.end_part()
    rule.start_part(2, 48)
    assert allowed_pitches(rule(torch.zeros(1, 128), at(note_pos=0)), 0) == list(range(61, 65))


def test_scale_bias_lowers_only_pitches_outside_the_bars_key():
    offset = 5
    c_major = frozenset({0, 2, 4, 5, 7, 9, 11})
    rule = ScaleBias(offset, 1.5, (c_major, None))
    logits = torch.zeros(2, offset + 128 + 3)
    rule.start_bar(0, {})
    assert torch.equal(rule(logits, at()), logits)  # no part open
    rule.start_part(1, 48)
    out = rule(logits, at())
    lowered = [p for p in range(128) if out[0, offset + p] < 0]
    assert lowered == [p for p in range(128) if p % 12 in (1, 3, 6, 8, 10)]
    assert torch.allclose(out[0, offset + 61], torch.tensor(-1.5)) and torch.equal(out[1], out[0])
    assert torch.equal(out[0, :offset], torch.zeros(offset)) and torch.equal(out[0, offset + 128:], torch.zeros(3))
    assert torch.equal(logits, torch.zeros_like(logits))  # the input is not changed
    rule.start_bar(1, {})  # a bar with no key
    assert torch.equal(rule(logits, at()), logits)
    with pytest.raises(ConfigError, match="penalty"):
        ScaleBias(offset, -1.0, ())
    with pytest.raises(ConfigError, match="2 bar scales for 0 bars"):
        rule.start(Plan((), ()))


def test_single_line_forbids_early_onsets_chords_and_rests(tokenizer):
    vocab = tokenizer.vocab
    position, pitch = vocab.offsets[TokenType.POSITION], vocab.offsets[TokenType.PITCH]
    ids = tokenizer.encode(one_bar_tune())
    first_duration = next(i for i, t in enumerate(ids) if vocab.types[t] == TokenType.DURATION)
    after_duration = GrammarState(vocab).advance_all(ids[:first_duration + 1])
    assert after_duration.phase == Phase.NOTE_DURATION
    context = StepContext([after_duration])
    logits = torch.zeros(1, len(vocab))

    line = SingleLine.for_vocab(vocab, chords=False)
    assert line.line is None and torch.equal(line(logits, context), logits)  # no part open
    line.start_part(1, 48)
    line.wrote(NoteSpan(0, 30, 60))
    assert line.line == LineState(30, False, None)
    out = line(logits, context)
    positions = [step for step in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + step])]
    assert positions == list(range(30, vocab.max_bar_steps))
    assert not torch.isfinite(out[0, pitch:pitch + 128]).any()  # no chord
    assert torch.isfinite(out[0, vocab.bar_id]) and torch.isfinite(out[0, vocab.eos_id])  # the part may close

    chords = SingleLine.for_vocab(vocab, chords=True)
    chords.start_part(1, 48)
    chords.wrote(NoteSpan(0, 30, 60))
    assert torch.isfinite(chords(logits, context)[0, pitch:pitch + 128]).all()  # a double stop is allowed

    legato = SingleLine.for_vocab(vocab, chords=False, legato=True)
    legato.start_part(1, 48)
    legato.wrote(NoteSpan(0, 30, 60))
    out = legato(logits, context)
    positions = [step for step in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + step])]
    assert positions == [30] and not torch.isfinite(out[0, legato.closing]).any()  # no rest, no closing
    legato.wrote(NoteSpan(30, 48, 62))
    assert torch.isfinite(legato(logits, context)[0, vocab.bar_id])  # the bar is full: the part closes
    only_early = torch.full((1, len(vocab)), float("-inf"))
    only_early[0, position + 3] = 0.0
    assert torch.equal(line(only_early, context), only_early)  # nothing would remain: left as it was
    assert torch.equal(logits, torch.zeros(1, len(vocab)))


def test_single_line_carries_a_held_note_over_the_bar_line(tokenizer):
    line = SingleLine.for_vocab(tokenizer.vocab)
    assert not line.skip_part(1, 48)
    line.start_part(1, 48)
    line.wrote(NoteSpan(24, 48 + 48 + 12, 60))  # a note tied over the next bar and a quarter into the one after
    line.end_part()
    assert line.skip_part(1, 48)  # the next bar is held through: the part writes nothing there
    assert not line.skip_part(1, 48)
    line.start_part(1, 48)
    assert line.line.earliest == 12  # the bar after starts where the note ends
    line.end_part()
    assert not line.skip_part(2, 48)  # another part is not held
    with pytest.raises(ConfigError, match="optional_free"):
        line.start(Plan((), (), optional_free=True))


def test_part_rules_follow_the_texture_and_can_be_switched_off(tokenizer):
    vocab = tokenizer.vocab
    chorale = texture_of("chorale")
    ranges = {1: PartRange(53, 74)}
    kinds = [type(rule) for rule in part_rules(vocab, chorale, ranges, (frozenset({0}),))]
    assert kinds == [RhythmGrid, PitchRange, NoRestrike, ScaleBias, SingleLine]
    rules = part_rules(vocab, chorale, ranges, (frozenset({0}),))
    assert rules[4].legato and not rules[4].chords and rules[3].penalty == chorale.off_scale_penalty
    assert [type(r) for r in part_rules(vocab, chorale, ranges, (frozenset({0}),), style_rules=False)] == \
        [PitchRange, NoRestrike]
    assert part_rules(vocab, chorale, ranges, (None,), off_scale_penalty=3.0)[3].penalty == 3.0
    assert [type(r) for r in part_rules(vocab, chorale, ranges, (None,), off_scale_penalty=0.0)] == \
        [RhythmGrid, PitchRange, NoRestrike, SingleLine]
    assert [type(r) for r in part_rules(vocab, texture_of("irish"), {}, (None,))] == [PitchRange, NoRestrike]


def test_the_pop_onset_grid_is_a_rule_for_new_parts_with_free_durations(tokenizer):
    # StyleTexture.part_onsets (pop: sixteenths) is read as part_rhythm is: an onset grid, durations left free
    vocab = tokenizer.vocab
    pop = texture_of("pop")
    rules = part_rules(vocab, pop, {1: PartRange(36, 78)}, (frozenset({0}),))
    assert [type(rule) for rule in rules] == [RhythmGrid, PitchRange, NoRestrike, ScaleBias, ChordBias]
    out = rules[0](torch.zeros(1, len(vocab)), StepContext())
    position = vocab.offsets[TokenType.POSITION]
    allowed = [step for step in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + step])]
    assert allowed == list(range(0, vocab.max_bar_steps, 3))  # 12 steps a beat: every sixteenth, nothing else
    duration = vocab.offsets[TokenType.DURATION]
    kept = [steps for k, steps in enumerate(vocab.duration_steps) if torch.isfinite(out[0, duration + k])]
    # any duration up to the style's longest note (pop: 2.5 beats), on the grid or not
    assert kept == [steps for steps in vocab.duration_steps if steps <= 2.5 * 12] and 4 in kept
    assert [type(r) for r in part_rules(vocab, pop, {}, (None,), style_rules=False)] == [PitchRange, NoRestrike]


def test_the_longest_note_of_a_style_is_a_duration_limit(tokenizer):
    vocab = tokenizer.vocab
    spb = vocab.config.steps_per_beat
    classical = texture_of("classical")  # no rhythm grid: the limit alone
    rules = part_rules(vocab, classical, {1: PartRange(36, 78)}, (None,))
    grid = [r for r in rules if isinstance(r, RhythmGrid)]
    assert len(grid) == 1
    out = grid[0](torch.zeros(1, len(vocab)), StepContext())
    duration, position = vocab.offsets[TokenType.DURATION], vocab.offsets[TokenType.POSITION]
    kept = [steps for k, steps in enumerate(vocab.duration_steps) if torch.isfinite(out[0, duration + k])]
    assert kept == [s for s in vocab.duration_steps if s <= classical.part_longest_beats * spb]
    assert max(vocab.duration_steps) > 5 * spb  # the vocabulary has longer notes, which the limit takes away
    assert torch.isfinite(out[0, position:position + vocab.max_bar_steps]).all()  # any onset
    with pytest.raises(ConfigError):
        RhythmGrid.for_vocab(vocab, 1, 4, max_duration_steps=3)


def test_an_onset_grid_alone_keeps_the_minimum_duration(tokenizer):
    vocab = tokenizer.vocab
    grid = RhythmGrid.for_vocab(vocab, onset_grid_steps=3, min_duration_steps=2, durations_on_grid=False)
    out = grid(torch.zeros(1, len(vocab)), StepContext())
    duration = vocab.offsets[TokenType.DURATION]
    kept = [steps for k, steps in enumerate(vocab.duration_steps) if torch.isfinite(out[0, duration + k])]
    assert kept == [steps for steps in vocab.duration_steps if steps >= 2] and 4 in kept  # 4 is off the grid


def step_plan(tokenizer, tracks: list[list[Note]], free: set[int]) -> Plan:
    """A 4/4 plan whose given parts are ``tracks`` (notes in steps: 12 ticks a beat) and whose ``free``
    slots (empty tracks) the model writes in every bar."""
    from symbolic.jobs.plan import BarPlan

    score = Score(ticks_per_beat=tokenizer.config.steps_per_beat, time_signatures=[TimeSignature(0, 4, 4)],
                  tracks=[Track(0, notes=notes) for notes in tracks])
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(score, style="classical"))
    return Plan(tuple(header), tuple(
        BarPlan(tuple(o), tuple(sorted([(s, tuple(p)) for s, p in parts.items() if s not in free]
                                       + [(s, None) for s in free])))
        for o, parts in bars))


def duration_step(note_pos: int, pitch: int) -> StepContext:
    """A step context right before a note's Duration: its pitch is chosen."""
    return StepContext([SimpleNamespace(note_pos=note_pos, chunk=48, phase=Phase.NOTE_VELOCITY, last_pitch=pitch)])


def pitch_step(note_pos: int) -> StepContext:
    return StepContext([SimpleNamespace(note_pos=note_pos, chunk=48, phase=Phase.NOTE_POSITION, last_pitch=-1)])


def allowed_durations(out: torch.Tensor, vocab) -> list[int]:
    offset = vocab.offsets[TokenType.DURATION]
    return [d for k, d in enumerate(vocab.duration_steps) if torch.isfinite(out[0, offset + k])]


def test_a_note_may_not_be_held_over_a_lower_melody_note_that_starts_while_it_sounds(tokenizer):
    vocab = tokenizer.vocab
    # the melody rests for two beats, then sings 60 (beat 3) and, in the next bar, 58 on beat 1
    melody = [Note(24, 24, 60, 80), Note(48, 12, 58, 80), Note(60, 36, 65, 80)]
    rule = PitchRange(vocab.offsets[TokenType.PITCH], vocab=vocab)
    rule.start(step_plan(tokenizer, [melody, []], free={1}))
    rule.start_bar(0, {0: [NoteSpan(24, 48, 60)]})
    rule.start_part(1, 48)
    logits = torch.zeros(1, len(vocab))
    # a 64 from the bar line, before the phrase: it must stop by step 24, where the melody's 60 comes in
    assert max(allowed_durations(rule(logits, duration_step(0, 64)), vocab)) == 24
    # a 59 under the 60 may ring on to the next bar's 58 (step 48), not over it
    assert max(allowed_durations(rule(logits, duration_step(0, 59)), vocab)) == 48
    # at or under every melody note it meets: any length
    assert allowed_durations(rule(logits, duration_step(0, 58)), vocab) == list(vocab.duration_steps)
    assert allowed_durations(rule(logits, duration_step(0, 60)), vocab)[-1] == 48  # unison with the 60, not over 58
    # the pitch rule is unchanged: before the phrase the melody's first pitch is the ceiling
    pitch = vocab.offsets[TokenType.PITCH]
    assert allowed_pitches(rule(logits, pitch_step(0)), pitch)[-1] == 60
    # only a part above counts, and without the vocabulary the rule is the onset rule it was
    rule.end_part()
    plain = PitchRange(vocab.offsets[TokenType.PITCH])
    plain.start(step_plan(tokenizer, [melody, []], free={1}))
    plain.start_bar(0, {0: [NoteSpan(24, 48, 60)]})
    plain.start_part(1, 48)
    assert torch.equal(plain(logits, duration_step(0, 64)), logits)


def test_held_notes_count_the_free_parts_above_and_the_shortest_note(tokenizer):
    vocab = tokenizer.vocab
    melody = [Note(0, 48, 72, 80)]
    rule = PitchRange(vocab.offsets[TokenType.PITCH], min_duration_steps=6, vocab=vocab)
    rule.start(step_plan(tokenizer, [melody, [], []], free={1, 2}))
    rule.start_bar(0, {0: [NoteSpan(0, 48, 72)]})
    rule.start_part(1, 48)
    rule.wrote(NoteSpan(0, 12, 67))
    rule.wrote(NoteSpan(12, 48, 62))  # part 1 falls to 62 on beat 2
    rule.end_part()
    rule.start_part(2, 48)  # part 2 under part 1: a 65 from the bar line must stop when part 1 falls to 62
    logits = torch.zeros(1, len(vocab))
    assert max(allowed_durations(rule(logits, duration_step(0, 65)), vocab)) == 12
    # the pitch rule reads the notes above that start within the shortest note (6 steps): at step 8, 62
    pitch = vocab.offsets[TokenType.PITCH]
    assert allowed_pitches(rule(logits, pitch_step(8)), pitch)[-1] == 62
    assert allowed_pitches(rule(logits, pitch_step(4)), pitch)[-1] == 67
    with pytest.raises(ConfigError, match="min_duration_steps"):
        PitchRange(0, min_duration_steps=0)


def test_doubling_limit_counts_a_note_by_its_whole_sounding_time(tokenizer):
    vocab = tokenizer.vocab
    # kept: the melody's C (72) for a bar and a D late in the next, a kept part's G (43) from step 24 to 72
    rule = DoublingLimit(vocab, max_share=0.5, window_steps=96, horizon_steps=12)
    melody = [Note(0, 48, 72, 80), Note(84, 12, 74, 80)]
    rule.start(step_plan(tokenizer, [melody, [], [Note(24, 48, 43, 80)]], free={1}))
    rule.start_bar(0, {})
    rule.start_part(1, 48)
    logits = torch.zeros(1, len(vocab))
    pitch = vocab.offsets[TokenType.PITCH]
    # no budget yet: a pitch the kept parts sound over the next beat is out, any other is free
    allowed = allowed_pitches(rule(logits, pitch_step(0)), pitch)
    assert 60 not in allowed and 48 not in allowed and 62 in allowed and 67 in allowed
    allowed = allowed_pitches(rule(logits, pitch_step(18)), pitch)  # C sounds; G comes in at 24, half the beat
    assert 60 not in allowed and 67 in allowed
    # an E for 24 steps earns 12 steps of budget
    rule.wrote(NoteSpan(0, 24, 64))
    assert rule.budget(1) == 12.0 and rule.share(1) == 0.0
    allowed = allowed_pitches(rule(logits, pitch_step(24)), pitch)
    assert 60 in allowed and 67 in allowed  # a beat of doubling fits in the budget now
    # a G from step 24 doubles the kept G (to step 72): the duration may spend only the budget
    durations = allowed_durations(rule(logits, duration_step(24, 67)), vocab)
    # up to 24 doubled steps = 12 of its own share + 12 budget; or held on long after the kept G stops
    assert [d for d in durations if d < 72] == [d for d in vocab.duration_steps if d <= 24] and 72 in durations
    # counted over the whole note, across the bar line
    rule.wrote(NoteSpan(24, 72, 67))
    assert rule.share(1) == pytest.approx(48 / 72) and rule.budget(1) == 0.0
    rule.end_part()
    assert torch.equal(rule(logits, pitch_step(0)), logits)  # no part open
    rule.start_part(2, 48)
    assert rule.budget(2) == 0.0 and rule.share(2) == 0.0  # each part has its own history
    with pytest.raises(ConfigError, match="max_share"):
        DoublingLimit(vocab, max_share=1.5)


def test_doubling_limit_keeps_the_least_doubling_ids_when_every_one_doubles(tokenizer):
    vocab = tokenizer.vocab
    rule = DoublingLimit(vocab, max_share=0.5, kept=frozenset({0}))
    rule.start(step_plan(tokenizer, [[Note(0, 384, 72, 80)], [], [Note(0, 48, 67, 80)]], free={1}))  # 8 bars
    rule.start_bar(0, {})
    rule.start_part(1, 48)
    pitch = vocab.offsets[TokenType.PITCH]
    only_c = torch.full((1, len(vocab)), float("-inf"))
    only_c[0, pitch + 60] = only_c[0, pitch + 48] = 0.0
    assert torch.equal(rule(only_c, pitch_step(0)), only_c)  # nothing else to play: left as it was
    assert 67 in allowed_pitches(rule(torch.zeros(1, len(vocab)), pitch_step(0)), pitch)  # slot 2 is not kept
    # a C doubles as long as it sounds: it must take the shortest note the row allows
    duration = vocab.offsets[TokenType.DURATION]
    long_only = torch.full((1, len(vocab)), float("-inf"))  # the grammar allows durations only ...
    long_only[0, duration + 5:duration + len(vocab.duration_steps)] = 0.0  # ... and another rule none under 6
    assert allowed_durations(rule(long_only, duration_step(0, 60)), vocab) == [6]


def test_straight_grid_keeps_onsets_off_triplet_positions(tokenizer):
    vocab = tokenizer.vocab
    grid = straight_grid(vocab)
    position = vocab.offsets[TokenType.POSITION]
    spb = vocab.config.steps_per_beat
    allowed = [step for step in range(vocab.max_bar_steps) if not grid.forbidden[position + step]]
    assert allowed == list(range(0, vocab.max_bar_steps, spb // 4))
    assert all(grid.forbidden[position + step] for step in (spb // 3, 2 * spb // 3))  # the 8th triplets


def test_keep_playing_holds_a_part_open_until_its_minimum(tokenizer):
    vocab = tokenizer.vocab
    rule = KeepPlaying.for_vocab(vocab, {1: 0.5})  # half an onset a beat: two in a 4-beat bar
    logits = torch.zeros(1, len(vocab))
    assert torch.equal(rule(logits, at(3)), logits)  # between parts: nothing to do
    rule.start_part(1, 48)
    closing = [vocab.bar_id, vocab.eos_id, vocab.id_of(TokenType.TRACK, 2)]
    assert torch.isinf(rule(logits, at(3))[0, closing]).all()  # no note yet: the bar may not close
    assert torch.isfinite(rule(logits, at(47))[0, closing]).all()  # no position left: it may
    rule.wrote(NoteSpan(3, 6, 60))
    rule.wrote(NoteSpan(3, 6, 64))  # a chord: still one onset
    assert torch.isinf(rule(logits, at(6))[0, closing]).all()
    rule.wrote(NoteSpan(6, 9, 62))
    assert torch.equal(rule(logits, at(9)), logits)  # two onsets: the part may close
    rule.start_part(2, 48)
    assert torch.equal(rule(logits, at(0)), logits)  # a slot with no minimum
    assert rule.floor(1, 96) == 4 and rule.floor(1, 6) == 1 and rule.floor(2, 48) == 0


def test_keep_playing_spreads_the_onsets_it_owes_through_the_bar(tokenizer):
    # only closing forbidden, a shy model paid what it owed in the bar's last steps (QA: 21-28% of a pop
    # piano's notes in the last eighth of the bar, against 6-7% in the real pianos)
    vocab = tokenizer.vocab
    position = vocab.offsets[TokenType.POSITION]
    rule = KeepPlaying.for_vocab(vocab, {1: 1.0})  # four onsets in a 4-beat bar of 48 steps
    rule.start_part(1, 48)
    logits = torch.zeros(1, len(vocab))

    def latest() -> int:
        out = rule(logits, at(max(rule._last_onset, 0), 48, Phase.NOTE_DURATION))
        return max(p for p in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + p]))
    assert latest() == 12  # a line: the first of four onsets by 48 // 4 = 12, beat 2
    rule.wrote(NoteSpan(12, 13, 60))
    assert latest() == 24  # three more over the 36 steps left: 12 + 12
    rule.wrote(NoteSpan(14, 15, 60))
    assert latest() == 36  # 14 + 34 // 2 = 31, up to the eighth it falls in
    rule.wrote(NoteSpan(40, 41, 60))
    assert latest() == 47  # 40 + 8 = 48: the bar's last step
    chords = KeepPlaying.for_vocab(vocab, {1: 1.0}, grid_steps=0)  # a chord part leaves a gap before the bar line
    chords.start_part(1, 48)
    assert chords._latest_onset(4, 48) == 12 and chords._latest_onset(1, 48, after=30) == 42  # 30 + 18 // 2 = 39
    rule.wrote(NoteSpan(46, 47, 60))
    assert torch.equal(rule(logits, at(46, 48, Phase.NOTE_DURATION)), logits)  # paid: free


def test_keep_playing_leaves_room_for_the_onsets_still_owed(tokenizer):
    vocab = tokenizer.vocab
    spb, offset = vocab.config.steps_per_beat, vocab.offsets[TokenType.DURATION]
    rule = KeepPlaying.for_vocab(vocab, {1: 1.0})  # a line: four onsets in a 4-beat bar
    rule.start_part(1, 4 * spb)
    logits = torch.zeros(1, len(vocab))

    def longest(pos: int) -> int:
        out = rule(logits, at(pos, 4 * spb, Phase.NOTE_VELOCITY))
        return max(steps for k, steps in enumerate(vocab.duration_steps) if torch.isfinite(out[0, offset + k]))
    assert longest(spb) == spb  # the first note, on beat 2: the next of the three owed after it comes by beat 3
    for k in range(3):
        rule.wrote(NoteSpan(k, k + 1, 60 + k))
    reach = 3 * spb + 4 * spb // 4  # the last note owed rings up to the next bar's first owed onset
    assert longest(spb) == max(d for d in vocab.duration_steps if d <= reach) and max(vocab.duration_steps) > reach
    chords = KeepPlaying.for_vocab(vocab, {1: 1.0}, grid_steps=0)  # later onsets may sound over a note
    chords.start_part(1, 4 * spb)
    assert torch.equal(chords(logits, at(spb, 4 * spb, Phase.NOTE_VELOCITY)), logits)
    with pytest.raises(ConfigError):
        KeepPlaying.for_vocab(vocab, {1: -1.0})


def test_keep_playing_frees_a_pickup_bar_and_the_last(tokenizer):
    from symbolic.jobs.plan import BarPlan

    vocab = tokenizer.vocab
    score = Score(ticks_per_beat=480, tracks=[Track(0, notes=[Note(k * 480, 480, 60, 80) for k in range(9)])],
                  time_signatures=[TimeSignature(0, 1, 4), TimeSignature(480, 4, 4)])
    header, bars = split_bars(vocab, tokenizer.encode(score))
    plan = Plan(tuple(header), tuple(BarPlan(tuple(o), ((0, tuple(p[0])), (1, None))) for o, p in bars))
    assert len(plan.bars) == 3
    rule = KeepPlaying.for_vocab(vocab, {1: 1.0}, free_ends=True, grid_steps=0)
    rule.start(plan)
    floors = []
    for index in range(3):
        rule.start_bar(index, {})
        rule.start_part(1, 48)
        floors.append(rule._floor)
    assert floors == [0, 4, 0]  # the one-beat pickup and the last bar owe nothing


def test_keep_playing_minimums_are_half_the_recent_onsets_a_beat(tokenizer):
    header, bars = split_bars(tokenizer.vocab, tokenizer.encode(one_bar_tune()))
    from symbolic.jobs.plan import BarPlan

    plans = [BarPlan(tuple(opening), tuple(sorted((s, tuple(ids)) for s, ids in parts.items()))) for opening, parts in bars]
    spb = tokenizer.vocab.config.steps_per_beat
    assert KeepPlaying.minimums(tokenizer.vocab, plans, [4 * spb]) == {0: 0.5}  # four onsets in four beats
    assert KeepPlaying.minimums(tokenizer.vocab, plans, [2 * spb]) == {0: 1.0}  # ... in two
    assert KeepPlaying.minimums(tokenizer.vocab, [], []) == {}


def test_the_style_floor_is_a_share_of_the_style_parts_onsets_a_beat(tokenizer):
    vocab = tokenizer.vocab
    pop = texture_of("pop")
    rules = part_rules(vocab, pop, {2: PartRange(36, 78)}, (None,), density_floor=0.5)
    floor = [r for r in rules if isinstance(r, KeepPlaying)]
    assert len(floor) == 1 and floor[0].min_onsets_per_beat == {2: 0.5 * pop.part_onsets_per_beat}
    assert floor[0].free_ends
    assert floor[0].grid_steps == 0  # the piano plays chords
    chorale = [r for r in part_rules(vocab, texture_of("chorale"), {1: PartRange(50, 70)}, (None,), density_floor=0.5)
               if isinstance(r, KeepPlaying)]
    assert chorale[0].grid_steps == vocab.config.steps_per_beat // 2  # a line on eighths
    assert not any(isinstance(r, KeepPlaying) for r in part_rules(vocab, pop, {2: PartRange(36, 78)}, (None,)))
    assert not any(isinstance(r, KeepPlaying) for r in part_rules(vocab, pop, {2: PartRange(36, 78)}, (None,),
                                                                   style_rules=False, density_floor=0.5))


def test_the_key_weighs_more_in_a_bar_where_no_given_part_plays(tokenizer):
    # a tester found a pop piano's intro and a melody-less interlude a semitone off the song's key
    vocab = tokenizer.vocab
    offset = vocab.offsets[TokenType.PITCH]
    c_major = frozenset({0, 2, 4, 5, 7, 9, 11})
    rule = ScaleBias(offset, 0.5, (c_major, c_major), silent_penalty=2.0)
    rule.start(Plan((), (None, None)))
    rule.start_part(1, 48)
    logits = torch.zeros(1, len(vocab))
    rule.start_bar(0, {0: [NoteSpan(0, 12, 72)]})  # the melody plays
    assert rule(logits, at(0))[0, offset + 61].item() == -0.5 and rule(logits, at(0))[0, offset + 60].item() == 0
    rule.start_bar(1, {0: []})  # nothing given starts here
    assert rule(logits, at(0))[0, offset + 61].item() == -2.0 and rule(logits, at(0))[0, offset + 60].item() == 0
    plain = ScaleBias(offset, 0.5, (c_major,))
    plain.start_bar(0, {})
    plain.start_part(1, 48)
    assert plain(logits, at(0))[0, offset + 61].item() == -0.5  # without silent_penalty: the same penalty
    assert [r.silent_penalty for r in part_rules(vocab, texture_of("pop"), {2: PartRange(36, 78)}, (c_major,))
            if isinstance(r, ScaleBias)] == [2.0]


def test_chord_bias_lowers_pitches_outside_the_chord_the_melody_implies(tokenizer):
    vocab = tokenizer.vocab
    offset = vocab.offsets[TokenType.PITCH]
    # bar 1: C E G | F A C (a C chord, then an F chord); bar 2: G B D | G B D (a G chord).  Thirds alone (C E |
    # F A) are as often vi and ii in POP909 as I and IV, and the chord model hears them so
    melody = [Note(8 * k, 8, p, 80) for k, p in enumerate([60, 64, 67, 65, 69, 72, 67, 71, 74, 67, 71, 74])]
    plan = step_plan(tokenizer, [melody, []], {1})
    rule = ChordBias(vocab, 2.5)
    rule.start(plan)
    heard = {}
    for bar, pos in ((0, 0), (0, 30), (1, 6)):
        rule.start_bar(bar, {})
        rule.start_part(1, 48)
        out = rule(torch.zeros(1, len(vocab)), at(pos))
        penalties = out[0, offset:offset + 128]
        assert set(penalties.unique().tolist()) == {0.0, -2.5}
        heard[(bar, pos)] = {p % 12 for p in range(128) if penalties[p] == 0}
        others = torch.cat([out[0, :offset], out[0, offset + 128:]])
        assert torch.equal(others, torch.zeros_like(others))  # only Pitch ids change
        rule.end_part()
    assert heard == {(0, 0): {0, 4, 7}, (0, 30): {5, 9, 0}, (1, 6): {7, 11, 2}}
    assert torch.equal(rule(torch.zeros(1, len(vocab)), at(0)), torch.zeros(1, len(vocab)))  # no free part: as is
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="penalty"):
            ChordBias(vocab, bad)


def test_chord_bias_leaves_half_bars_where_nothing_given_sounds(tokenizer):
    vocab = tokenizer.vocab
    offset = vocab.offsets[TokenType.PITCH]
    # bar 1 rests (an intro), bar 2: C E G C
    melody = [Note(48 + 12 * k, 12, p, 80) for k, p in enumerate([60, 64, 67, 72])]
    rule = ChordBias(vocab, 2.0)
    rule.start(step_plan(tokenizer, [melody, []], {1}))
    rule.start_part(1, 48)
    for bar, pos, biased in ((0, 0, False), (0, 30, False), (1, 0, True)):
        rule.start_bar(bar, {})
        out = rule(torch.zeros(1, len(vocab)), at(pos))
        assert bool((out[0, offset:offset + 128] < 0).any()) == biased
    empty = ChordBias(vocab, 2.0)
    empty.start(step_plan(tokenizer, [[], []], {1}))
    empty.start_part(1, 48)
    empty.start_bar(0, {})
    assert torch.equal(empty(torch.zeros(1, len(vocab)), at(0)), torch.zeros(1, len(vocab)))


def test_pop_follows_the_chords_and_a_job_can_turn_it_off(tokenizer):
    vocab = tokenizer.vocab
    pop = texture_of("pop")
    assert pop.chord_penalty > 0 and texture_of("chorale").chord_penalty == 0
    rules = part_rules(vocab, pop, {1: PartRange(36, 78)}, (frozenset({0}),))
    assert [r.penalty for r in rules if isinstance(r, ChordBias)] == [pop.chord_penalty]
    assert not [r for r in part_rules(vocab, pop, {1: PartRange(36, 78)}, (None,), chord_penalty=0.0)
                if isinstance(r, ChordBias)]
    assert [r.penalty for r in part_rules(vocab, texture_of("chorale"), {1: PartRange(53, 74)}, (None,),
                                          chord_penalty=1.0) if isinstance(r, ChordBias)] == [1.0]


def test_chord_bias_follows_given_chords_everywhere_and_nothing_outside_them(tokenizer):
    vocab = tokenizer.vocab
    offset = vocab.offsets[TokenType.PITCH]
    # the melody plays only in bar 2; the chart gives Am7 for bar 1 (an intro), no chord for half of bar 2, G
    # from step 72 to 84, then nothing
    melody = [Note(48 + 12 * k, 12, p, 80) for k, p in enumerate([60, 64, 67, 72])]
    am7, g = frozenset({9, 0, 4, 7}), frozenset({7, 11, 2})
    rule = ChordBias(vocab, 3.0, given=((0, 48, am7), (48, 72, None), (72, 84, g)))
    rule.start(step_plan(tokenizer, [melody, []], {1}))
    rule.start_part(1, 48)
    allowed = {}
    for bar, pos in ((0, 0), (0, 40), (1, 0), (1, 30), (1, 47)):
        rule.start_bar(bar, {})
        out = rule(torch.zeros(1, len(vocab)), at(pos))[0, offset:offset + 128]
        allowed[(bar, pos)] = {p % 12 for p in range(128) if out[p] == 0} if (out < 0).any() else None
    # the intro follows the chart (a guessed chord would leave it alone); "N" and past the last span: no bias
    assert allowed == {(0, 0): set(am7), (0, 40): set(am7), (1, 0): None, (1, 30): set(g), (1, 47): None}
    gap = ChordBias(vocab, 3.0, given=((0, 12, g), (24, 36, am7)))  # a gap between two spans: no chord there
    gap.start(step_plan(tokenizer, [melody, []], {1}))
    assert [gap.chord_at(step) for step in (0, 12, 23, 24, 36)] == [g, None, None, am7, None]


def test_given_chords_are_followed_in_every_style(tokenizer):
    vocab = tokenizer.vocab
    spans = ((0, 48, frozenset({0, 4, 7})),)
    chorale = [r for r in part_rules(vocab, texture_of("chorale"), {1: PartRange(53, 74)}, (None,), chords=spans)
               if isinstance(r, ChordBias)]
    assert [(r.penalty, r.given) for r in chorale] == [(GIVEN_CHORD_PENALTY, spans)]
    assert not [r for r in part_rules(vocab, texture_of("chorale"), {1: PartRange(53, 74)}, (None,), chords=spans,
                                      chord_penalty=0.0) if isinstance(r, ChordBias)]  # 0 turns it off
    assert not [r for r in part_rules(vocab, texture_of("chorale"), {1: PartRange(53, 74)}, (None,), chords=spans,
                                      style_rules=False) if isinstance(r, ChordBias)]


def test_the_bass_of_a_given_chord_goes_under_its_first_beat(tokenizer):
    vocab = tokenizer.vocab
    offset = vocab.offsets[TokenType.PITCH]
    melody = [Note(12 * k, 12, 76, 80) for k in range(8)]
    c_over_e = (0, 48, frozenset({0, 4, 7}), 4)  # C/E: the bass is E
    rule = ChordBias(vocab, 2.0, given=(c_over_e,), bass_penalty=1.5)
    rule.start(step_plan(tokenizer, [melody, []], {1}))
    rule.start_part(1, 48)
    rule.start_bar(0, {})

    def penalties(pos: int, last_pitch: int) -> torch.Tensor:
        context = StepContext([SimpleNamespace(note_pos=pos, chunk=48, phase=None, last_pitch=last_pitch)])
        return rule(torch.zeros(1, len(vocab)), context)[0, offset:offset + 128]

    first = penalties(0, -1)  # the lowest note of an onset in the chord's first beat
    assert first[52].item() == 0 and first[48].item() == -1.5 and first[43].item() == -1.5  # E; C, G below 55
    assert first[50].item() == -3.5 and first[60].item() == 0 and first[62].item() == -2.0  # above 55: chord only
    assert torch.equal(penalties(0, 52), penalties(20, -1))  # an upper note, or after the first beat: chord only
    assert penalties(20, -1)[48].item() == 0
    with pytest.raises(ConfigError, match="bass_penalty"):
        ChordBias(vocab, 2.0, bass_penalty=float("inf"))
    spans = ((0, 48, frozenset({0, 4, 7}), 0),)
    given = [r for r in part_rules(vocab, texture_of("pop"), {2: PartRange(36, 78)}, (None,), chords=spans)
             if isinstance(r, ChordBias)]
    guessed = [r for r in part_rules(vocab, texture_of("pop"), {2: PartRange(36, 78)}, (None,))
               if isinstance(r, ChordBias)]
    assert [r.bass_penalty for r in given] == [BASS_ROOT_PENALTY] and [r.bass_penalty for r in guessed] == [0.0]
