"""Accompaniment, conversion and continuation: what is kept stays exact, plans are followed, windows slide.

These tests use a small untrained GPT, so they check the mechanics whatever the
model writes; tests/test_jobs.py runs the shipped model end to end.
"""

from __future__ import annotations

import pytest
import torch

from symbolic.arrangement import _overlap_ratio, accompany, choose_melody_track, continue_score, convert
from symbolic.errors import ConfigError, ScoreError, StyleError
from symbolic.inputs.midi import parse_midi_bytes
from symbolic.models.constrained import BarPlan, Plan, generate_planned, sequence_nll, split_bars
from symbolic.models.gpt import GPT, GPTConfig
from symbolic.models.sampling import GenerationConfig
from symbolic.outputs.midi import midi_bytes
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track
from symbolic.textures import parse_instruments
from symbolic.tokenization.grammar import Phase
from symbolic.tokenization.vocab import TokenType

CONFIG = GenerationConfig(seed=0)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, n_styles=len(tokenizer.vocab.styles), context_length=96,
                       n_layer=1, n_head=2, n_embd=32)
    return GPT(config).eval()


def melody_score(n_bars: int = 4, tpb: int = 384) -> Score:
    """A one-track tune: quarter notes climbing and falling, 3/4 then 4/4, a tempo change."""
    notes, tick = [], 0
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
    for k in range(n_bars * 4):
        notes.append(Note(tick, tpb - 7, pitches[k % len(pitches)], 80 + k % 20))
        tick += tpb
    score = Score(ticks_per_beat=tpb, tracks=[Track(program=73, notes=notes)],
                  tempos=[TempoChange(0, 600_000), TempoChange(4 * tpb, 500_000)],
                  time_signatures=[TimeSignature(0, 4, 4)])
    return score


def quartet(tpb: int = 480) -> Score:
    """Four single-line parts, soprano to bass, listed in the order bass, alto, soprano, tenor."""
    def line(base: int) -> list[Note]:
        return [Note(k * tpb, tpb, base + (k % 5), 70) for k in range(16)]
    return Score(ticks_per_beat=tpb, tracks=[Track(32, notes=line(40)), Track(0, notes=line(62)),
                                             Track(0, notes=line(70)), Track(0, notes=line(54))],
                 time_signatures=[TimeSignature(0, 4, 4)])


def test_choose_melody_track_prefers_highest_single_line():
    score = quartet()
    assert choose_melody_track(score) == 2
    chords = [Note(k * 480, 480, p, 70) for k in range(16) for p in (80, 84, 87)]
    score.tracks.append(Track(0, notes=chords))  # higher, but chords
    assert choose_melody_track(score) == 2
    score.tracks.append(Track(0, notes=[Note(0, 480, 100, 70)]))  # higher, single line, but one note
    assert choose_melody_track(score) == 2


def test_empty_and_drum_only_inputs_get_clear_errors(model, tokenizer):
    with pytest.raises(ScoreError, match="no notes"):
        choose_melody_track(Score())
    drums = Score(tracks=[Track(0, is_drum=True, notes=[Note(0, 100, 36, 90)])])
    with pytest.raises(ScoreError, match="only drum notes"):
        accompany(model, tokenizer, drums, {"chorale": 1.0}, CONFIG)
    with pytest.raises(ScoreError, match="only drum notes"):
        continue_score(model, tokenizer, drums, {"irish": 1.0}, CONFIG, n_bars=2)


def test_split_bars_and_fully_given_plan_reproduce_the_encoding(model, tokenizer):
    score = quartet()
    ids = tokenizer.encode(score, style="chorale")
    header, bars = split_bars(tokenizer.vocab, ids)
    rebuilt = list(header) + [t for opening, parts in bars for t in opening + sum(parts.values(), [])]
    assert rebuilt + [tokenizer.vocab.eos_id] == ids
    plan = Plan(tuple(header), tuple(BarPlan(tuple(o), tuple((s, tuple(p)) for s, p in sorted(parts.items())))
                                     for o, parts in bars))
    assert generate_planned(model, tokenizer, plan, CONFIG) == ids


@pytest.mark.parametrize("tpb", [384, 480, 96])
def test_accompany_keeps_every_input_note_and_adds_parts(model, tokenizer, tpb):
    score = melody_score(tpb=tpb)
    result = accompany(model, tokenizer, score, {"chorale": 1.0}, CONFIG, programs=[0, 32])
    out = result.score
    assert out.tracks[0].notes == score.tracks[0].notes and out.tracks[0].program == 73
    assert result.new_tracks == (1, 2) and [out.tracks[i].program for i in result.new_tracks] == [0, 32]
    assert out.tempos == score.tempos and out.time_signatures == score.time_signatures
    assert out.ticks_per_beat == tpb
    bar = 4 * tpb
    for i in result.new_tracks:  # every free part sounds in every bar of the melody (a chorale voice may hold a
        # note across a bar line)
        bars_sounding = {b for n in out.tracks[i].notes
                         for b in range(n.onset_ticks // bar, (n.onset_ticks + n.duration_ticks - 1) // bar + 1)}
        assert {n.onset_ticks // bar for n in out.tracks[i].notes} <= set(range(4)) <= bars_sounding
    again = parse_midi_bytes(midi_bytes(out), "accompaniment.mid")
    assert again.tracks[0].notes == score.tracks[0].notes


def test_accompany_a_melody_longer_than_the_context(model, tokenizer):
    score = melody_score(n_bars=24)
    assert len(tokenizer.encode(score)) > 3 * model.config.context_length
    result = accompany(model, tokenizer, score, {"irish": 1.0}, CONFIG, programs=[24])
    new = result.score.tracks[1].notes
    assert {n.onset_ticks // (4 * 384) for n in new} == set(range(24))
    assert result.score.tracks[0].notes == score.tracks[0].notes


def test_convert_strength_zero_half_and_one(model, tokenizer):
    score = quartet()
    same = convert(model, tokenizer, score, {"classical": 1.0}, CONFIG, strength=0.0)
    assert [t.notes for t in same.score.tracks] == [t.notes for t in score.tracks]

    full = convert(model, tokenizer, score, {"classical": 1.0}, CONFIG, strength=1.0)
    out = full.score
    assert full.melody_track == 0 and out.tracks[0].notes == score.tracks[2].notes
    assert out.tracks[0].program == 40 and len(full.new_tracks) == 3 and full.kept_tracks == (0,)
    assert [out.tracks[i].program for i in full.new_tracks] == [40, 41, 42]

    half = convert(model, tokenizer, score, {"chorale": 1.0}, CONFIG, strength=0.5)
    # three other parts, ceil(1.5) = 2 rewritten from the top (alto, tenor): the bass is kept,
    # and two new parts make up the chorale's three
    kept = [half.score.tracks[i].notes for i in half.kept_tracks[1:]]
    assert kept == [score.tracks[0].notes]
    assert len(half.new_tracks) == 2

    solo = convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, strength=1.0)
    assert len(solo.score.tracks) == 1 and solo.score.tracks[0].program == 110


def test_convert_rejects_bad_settings(model, tokenizer):
    score = quartet()
    with pytest.raises(ConfigError, match="strength"):
        convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, strength=1.5)
    with pytest.raises(ConfigError, match="melody-track 9"):
        convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, melody_track=9)
    score.tracks.append(Track(0, is_drum=True, notes=[Note(0, 10, 36, 90)]))
    with pytest.raises(ConfigError, match="drum track"):
        convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, melody_track=4)


def test_continue_adds_exactly_the_bars_asked_for(model, tokenizer):
    score = melody_score(n_bars=3)
    result = continue_score(model, tokenizer, score, {"german-folk": 1.0}, GenerationConfig(seed=3), n_bars=5)
    out = result.score
    old = set(score.tracks[0].notes)
    assert old <= set(out.tracks[0].notes)
    new = [n for n in out.tracks[0].notes if n not in old]
    end = 3 * 4 * 384
    assert all(end <= n.onset_ticks < end + 5 * 4 * 384 for n in new)
    with pytest.raises(ConfigError, match="bars"):
        continue_score(model, tokenizer, score, {"irish": 1.0}, CONFIG, n_bars=0)


def test_sequence_nll_by_windows_matches_one_pass(model, tokenizer):
    ids = tokenizer.encode(melody_score(n_bars=2), style="irish")
    assert len(ids) <= model.config.context_length
    weights = torch.zeros(1, len(tokenizer.vocab.styles))
    weights[0, tokenizer.vocab.styles.index("irish")] = 1
    nll = sequence_nll(model, ids, weights)
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]), style_weights=weights)
    direct = -torch.log_softmax(logits[0, :-1], -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    assert torch.allclose(nll, direct, atol=1e-5)
    long_ids = tokenizer.encode(melody_score(n_bars=20), style="irish")
    long_nll = sequence_nll(model, long_ids, weights)
    assert long_nll.shape == (len(long_ids) - 1,) and bool(torch.all(long_nll > 0))
    assert torch.allclose(long_nll[:model.config.context_length - 1], sequence_nll(
        model, long_ids[:model.config.context_length], weights), atol=1e-5)


def test_parse_instruments_orders_high_to_low():
    assert parse_instruments("bass, flute ,piano") == [("flute", 73), ("piano", 0), ("bass", 32)]
    with pytest.raises(StyleError, match="unknown instrument 'kazoo'"):
        parse_instruments("piano,kazoo")
    with pytest.raises(StyleError, match="empty"):
        parse_instruments(" , ")


def test_bar_starts_steps(tokenizer):
    score = melody_score(n_bars=2)
    score.time_signatures = [TimeSignature(0, 3, 4)]
    starts = tokenizer.bar_starts_steps(score)
    assert starts == [0, 36, 72, 108]  # 8 beats of notes in 3/4: three bars, then the next one
    assert tokenizer.bar_starts_steps(Score()) == [0]
    types = tokenizer.vocab.types
    assert sum(types[t] == TokenType.BAR for t in tokenizer.encode(score)) == len(starts) - 1


def test_new_parts_stay_under_the_parts_above(model, tokenizer):
    score = melody_score(n_bars=6)
    # pianos in a style with no part rules: no instrument or voice range, no rhythm or line rule, so only the
    # register rule acts
    result = accompany(model, tokenizer, score, {"irish": 1.0}, GenerationConfig(seed=5), programs=[0, 0, 0])
    tracks = result.score.tracks
    checked = 0
    for upper, lower in ((0, 1), (1, 2), (2, 3)):
        for note in tracks[lower].notes:
            sounding = [m.pitch for m in tracks[upper].notes
                        if m.onset_ticks <= note.onset_ticks < m.onset_ticks + m.duration_ticks
                        and m.onset_ticks // 1536 == note.onset_ticks // 1536]  # same bar
            if sounding:
                checked += 1
                assert note.pitch <= min(sounding)
    assert checked > 20


def test_pitch_range_processor():
    from symbolic.models.sampling import PitchRange, StepContext

    offset = 10
    logits = torch.zeros(2, offset + 128)
    logits[1, :offset + 100] = float("-inf")  # row 1 allows only pitches 100..127
    out = PitchRange(offset)(logits, StepContext(pitch_range=(40, 60)))
    allowed = torch.isfinite(out[0, offset:]).nonzero().flatten().tolist()
    assert allowed == list(range(40, 61)) and torch.isfinite(out[0, :offset]).all()
    assert torch.equal(out[1], logits[1])  # nothing would remain: the row is left as it was
    assert torch.equal(PitchRange(offset)(logits, StepContext()), logits)
    assert torch.equal(logits[0], torch.zeros(offset + 128))  # the input is not changed


def test_new_parts_stay_in_their_instruments_range(model, tokenizer):
    from symbolic.textures import program_range

    score = melody_score(n_bars=6)
    result = accompany(model, tokenizer, score, {"irish": 1.0}, GenerationConfig(seed=2), programs=[40, 42, 32])
    for index, program in zip(result.new_tracks, (40, 42, 32)):
        low, high = program_range(program)
        pitches = [n.pitch for n in result.score.tracks[index].notes]
        assert pitches and low <= min(pitches) and max(pitches) <= high
    assert program_range(0) is None and program_range(32) == (28, 55)


def test_rhythm_grid_processor(tokenizer):
    from symbolic.models.sampling import RhythmGrid, StepContext

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


def test_chorale_parts_keep_its_rhythm_and_voice_ranges(model, tokenizer):
    from symbolic.textures import STYLE_TEXTURES

    tpb = 384
    score = melody_score(n_bars=4, tpb=tpb)
    score.tempos = [TempoChange(0, 500_000)]
    chorale = STYLE_TEXTURES["chorale"]
    result = accompany(model, tokenizer, score, {"chorale": 1.0}, GenerationConfig(seed=3))
    assert len(result.new_tracks) == 3
    for k, index in enumerate(result.new_tracks):
        notes = result.score.tracks[index].notes
        low, high = chorale.part_ranges[k]
        assert notes and all(low <= n.pitch <= high for n in notes)
        assert all(n.onset_ticks % (tpb // 2) == 0 for n in notes)  # on eighths (4/4 bars from tick 0)
        assert all(n.duration_ticks >= tpb // 2 for n in notes)
    # a part on another instrument than the texture's keeps that instrument's range instead
    assert chorale.part_range(2, 32) == (28, 55) and chorale.part_range(2, 19) == (36, 62)
    assert STYLE_TEXTURES["classical"].part_rhythm_steps(12) is None
    assert chorale.part_rhythm_steps(12) == (6, 6) and chorale.part_rhythm_steps(5) is None


def test_single_line_processor(tokenizer):
    from symbolic.models.sampling import SingleLine, StepContext
    from symbolic.tokenization.grammar import GrammarState

    vocab = tokenizer.vocab
    position, pitch = vocab.offsets[TokenType.POSITION], vocab.offsets[TokenType.PITCH]
    line = SingleLine.for_vocab(vocab)
    score = melody_score(n_bars=1)
    ids = tokenizer.encode(score)
    first_duration = next(i for i, t in enumerate(ids) if vocab.types[t] == TokenType.DURATION)
    after_duration = GrammarState(vocab).advance_all(ids[:first_duration + 1])
    assert after_duration.phase == Phase.NOTE_DURATION
    logits = torch.zeros(1, len(vocab))
    out = line(logits, StepContext([after_duration], line=(30, False, None)))
    positions = [step for step in range(vocab.max_bar_steps) if torch.isfinite(out[0, position + step])]
    assert positions == list(range(30, vocab.max_bar_steps))
    assert not torch.isfinite(out[0, pitch:pitch + 128]).any()  # no chord
    assert torch.isfinite(out[0, vocab.bar_id]) and torch.isfinite(out[0, vocab.eos_id])  # the part may close
    chords = line(logits, StepContext([after_duration], line=(30, True, None)))
    assert torch.isfinite(chords[0, pitch:pitch + 128]).all()  # a chord at the same onset is allowed
    # no rest: the next note starts where the last one ends, and the part may not close before the bar's end
    legato = line(logits, StepContext([after_duration], line=(30, False, 48)))
    positions = [step for step in range(vocab.max_bar_steps) if torch.isfinite(legato[0, position + step])]
    assert positions == [30] and not torch.isfinite(legato[0, line.closing]).any()
    ended = line(logits, StepContext([after_duration], line=(48, False, 48)))
    assert torch.isfinite(ended[0, vocab.bar_id])  # the bar is full: the part closes
    only_early = torch.full((1, len(vocab)), float("-inf"))
    only_early[0, position + 3] = 0.0
    assert torch.equal(line(only_early, StepContext(line=(30, False, 48))), only_early)  # nothing would remain
    assert torch.equal(line(logits, StepContext()), logits) and torch.equal(logits, torch.zeros(1, len(vocab)))


def test_chorale_and_quartet_parts_are_single_lines(model, tokenizer):
    score = melody_score(n_bars=6)
    for style, chords in (("chorale", False), ("classical", True)):
        for seed in range(3):
            result = accompany(model, tokenizer, score, {style: 1.0}, GenerationConfig(seed=seed))
            for index in result.new_tracks:
                notes = sorted(result.score.tracks[index].notes)
                onsets = [n.onset_ticks for n in notes]
                assert notes and (chords or len(set(onsets)) == len(onsets))
                ends: dict[int, int] = {}  # onset -> latest end of the notes starting there
                for note in notes:  # no note starts while a note that started earlier still sounds
                    assert all(end <= note.onset_ticks for start, end in ends.items() if start < note.onset_ticks)
                    ends[note.onset_ticks] = max(ends.get(note.onset_ticks, 0), note.onset_ticks + note.duration_ticks)
    # the untrained model, left free, does overlap its notes: the rule is what prevents it
    plain = accompany(model, tokenizer, score, {"irish": 1.0}, GenerationConfig(seed=0), programs=[0, 0, 0])
    assert any(_overlap_ratio(plain.score.tracks[i]) > 0 for i in plain.new_tracks)
    with pytest.raises(ConfigError, match="optional_free"):
        Plan((), (), optional_free=True, part_lines=True)
    with pytest.raises(ConfigError, match="part_lines=True"):
        Plan((), (), part_legato=True)


def test_chorale_voices_do_not_rest(model, tokenizer):
    score = melody_score(n_bars=8)
    rests = notes = 0
    for seed in range(3):
        result = accompany(model, tokenizer, score, {"chorale": 1.0}, GenerationConfig(seed=seed))
        for index in result.new_tracks:
            track = sorted(result.score.tracks[index].notes)
            notes += len(track) - 1
            rests += sum(b.onset_ticks > a.onset_ticks + a.duration_ticks for a, b in zip(track, track[1:]))
    assert notes > 20 and rests == 0


def test_new_parts_keep_to_the_melodys_key(model, tokenizer, monkeypatch):
    import dataclasses

    from symbolic import textures

    tpb, pitches = 384, [60, 64, 67, 72, 67, 64, 60, 62, 65, 71, 72, 67, 64, 60, 55, 60]  # C major, and clearly so
    score = Score(ticks_per_beat=tpb, tracks=[Track(program=0, notes=[
        Note(k * tpb, tpb, pitches[k % len(pitches)], 80) for k in range(24)])])
    c_major = {0, 2, 4, 5, 7, 9, 11}

    def outside(penalty: float) -> int:
        irish = dataclasses.replace(textures.STYLE_TEXTURES["irish"], off_scale_penalty=penalty)
        monkeypatch.setitem(textures.STYLE_TEXTURES, "irish", irish)
        result = accompany(model, tokenizer, score, {"irish": 1.0}, GenerationConfig(seed=1), programs=[0, 0])
        return sum(n.pitch % 12 not in c_major for i in result.new_tracks for n in result.score.tracks[i].notes)

    assert outside(0.0) > 5  # the untrained model, left free, writes notes out of the key
    assert outside(50.0) == 0


def test_unknown_or_empty_style_mixes_are_refused(model, tokenizer):
    score = melody_score(n_bars=2)
    config = GenerationConfig(seed=4, guidance_scale=3.0)
    with pytest.raises(StyleError, match="the target style names unknown style 'jazz'"):
        convert(model, tokenizer, score, {"jazz": 1.0}, config)
    with pytest.raises(StyleError, match="unknown style 'polka'"):
        accompany(model, tokenizer, score, {"polka": 1.0}, config)
    with pytest.raises(StyleError, match="no positive weight"):
        continue_score(model, tokenizer, score, {}, config, 2)
