"""Accompaniment, conversion and continuation: what is kept stays exact, the style's rules hold.

These tests use a small untrained GPT, so they check the mechanics whatever the
model writes; tests/jobs/test_shipped_jobs.py runs the shipped model end to end.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import RecordingDecoder, tiny_gpt

from symbolic.errors import ConfigError, ScoreError, StyleError
from symbolic.inputs.midi import parse_midi_bytes
from symbolic.jobs.arrange import (JobResult, _overlap_ratio, accompany, choose_melody_track, continue_score, convert,
                                   find_melody, style_programs)
from symbolic.jobs.config import JobConfig
from symbolic.outputs.midi import midi_bytes
from symbolic.score import Note, Score, TempoChange, TimeSignature, Track
from symbolic.styles.registry import texture_of
from symbolic.tokenization.vocab import TokenType


def job(seed: int = 0, **settings) -> JobConfig:
    """Plain sampling (temperature 1, no nucleus cut, no guidance) with ``seed``."""
    # float32: the session decodes with the model given (the jobs' int8 default decodes with a copy, which a
    # recording wrapper would not see); test_precision.py tests the other number formats
    return JobConfig(**{"temperature": 1.0, "top_p": None, "guidance_scale": 1.0, "seed": seed,
                        "weights_dtype": "float32", **settings})


CONFIG = job(0)


@pytest.fixture(scope="module")
def model(tokenizer):
    return tiny_gpt(tokenizer)


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
    # the soprano was a piano: the job says its instrument changed (QA: a guitar lead came out as Voice Oohs)
    assert "the melody moves from program 0 to 40, the classical lead's instrument" in full.decisions
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
    with pytest.raises(ConfigError, match="melody track 9 does not exist"):
        convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, melody_track=9)
    score.tracks.append(Track(0, is_drum=True, notes=[Note(0, 10, 36, 90)]))
    with pytest.raises(ConfigError, match="drum track"):
        convert(model, tokenizer, score, {"irish": 1.0}, CONFIG, melody_track=4)


def test_continue_adds_exactly_the_bars_asked_for(model, tokenizer):
    score = melody_score(n_bars=3)
    result = continue_score(model, tokenizer, score, {"german-folk": 1.0}, job(3), n_bars=5)
    out = result.score
    old = set(score.tracks[0].notes)
    assert old <= set(out.tracks[0].notes)
    new = [n for n in out.tracks[0].notes if n not in old]
    end = 3 * 4 * 384
    assert all(end <= n.onset_ticks < end + 5 * 4 * 384 for n in new)
    with pytest.raises(ConfigError, match="bars"):
        continue_score(model, tokenizer, score, {"irish": 1.0}, CONFIG, n_bars=0)


def test_new_parts_stay_under_the_parts_above(model, tokenizer):
    score = melody_score(n_bars=6)
    # pianos in a style with no part rules: no instrument or voice range, no rhythm or line rule, so only the
    # register rule acts
    result = accompany(model, tokenizer, score, {"irish": 1.0}, job(5), programs=[0, 0, 0])
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


def test_new_parts_stay_in_their_instruments_range(model, tokenizer):
    from symbolic.styles.texture import program_range

    score = melody_score(n_bars=6)
    result = accompany(model, tokenizer, score, {"irish": 1.0}, job(2), programs=[40, 42, 32])
    for index, program in zip(result.new_tracks, (40, 42, 32)):
        low, high = program_range(program)
        pitches = [n.pitch for n in result.score.tracks[index].notes]
        assert pitches and low <= min(pitches) and max(pitches) <= high
    assert program_range(0) is None and program_range(32) == (28, 55)


def test_chorale_parts_keep_its_rhythm_and_voice_ranges(model, tokenizer):
    tpb = 384
    score = melody_score(n_bars=4, tpb=tpb)
    score.tempos = [TempoChange(0, 500_000)]
    chorale = texture_of("chorale")
    result = accompany(model, tokenizer, score, {"chorale": 1.0}, job(3))
    assert len(result.new_tracks) == 3
    for k, index in enumerate(result.new_tracks):
        notes = result.score.tracks[index].notes
        low, high = chorale.part_ranges[k]
        assert notes and all(low <= n.pitch <= high for n in notes)
        assert all(n.onset_ticks % (tpb // 2) == 0 for n in notes)  # on eighths (4/4 bars from tick 0)
        # at least an eighth, unless the song's end cuts the note (the melody stops 7 ticks before the bar line)
        assert all(n.duration_ticks >= tpb // 2 or n.onset_ticks + n.duration_ticks == score.end_ticks for n in notes)
    # a part on another instrument than the texture's keeps that instrument's range instead
    assert chorale.part_range(2, 32) == (28, 55) and chorale.part_range(2, 19) == (36, 62)
    assert texture_of("classical").part_rhythm_steps(12) is None
    assert chorale.part_rhythm_steps(12) == (6, 6) and chorale.part_rhythm_steps(5) is None


def test_chorale_and_quartet_parts_are_single_lines(model, tokenizer):
    score = melody_score(n_bars=6)
    for style, chords in (("chorale", False), ("classical", True)):
        for seed in range(3):
            result = accompany(model, tokenizer, score, {style: 1.0}, job(seed))
            for index in result.new_tracks:
                notes = sorted(result.score.tracks[index].notes)
                onsets = [n.onset_ticks for n in notes]
                assert notes and (chords or len(set(onsets)) == len(onsets))
                ends: dict[int, int] = {}  # onset -> latest end of the notes starting there
                for note in notes:  # no note starts while a note that started earlier still sounds
                    assert all(end <= note.onset_ticks for start, end in ends.items() if start < note.onset_ticks)
                    ends[note.onset_ticks] = max(ends.get(note.onset_ticks, 0), note.onset_ticks + note.duration_ticks)
    # the untrained model, left free, does overlap its notes: the rule is what prevents it
    plain = accompany(model, tokenizer, score, {"irish": 1.0}, job(0), programs=[0, 0, 0])
    assert any(_overlap_ratio(plain.score.tracks[i]) > 0 for i in plain.new_tracks)
    loose = accompany(model, tokenizer, score, {"chorale": 1.0}, job(0, style_rules=False), programs=[0, 0, 0])
    assert any(_overlap_ratio(loose.score.tracks[i]) > 0 for i in loose.new_tracks)  # rules off: free again


def test_chorale_voices_do_not_rest(model, tokenizer):
    score = melody_score(n_bars=8)
    rests = notes = 0
    for seed in range(3):
        result = accompany(model, tokenizer, score, {"chorale": 1.0}, job(seed))
        for index in result.new_tracks:
            track = sorted(result.score.tracks[index].notes)
            notes += len(track) - 1
            rests += sum(b.onset_ticks > a.onset_ticks + a.duration_ticks for a, b in zip(track, track[1:]))
    assert notes > 20 and rests == 0


def test_new_parts_keep_to_the_melodys_key(model, tokenizer):
    tpb, pitches = 384, [60, 64, 67, 72, 67, 64, 60, 62, 65, 71, 72, 67, 64, 60, 55, 60]  # C major, and clearly so
    score = Score(ticks_per_beat=tpb, tracks=[Track(program=0, notes=[
        Note(k * tpb, tpb, pitches[k % len(pitches)], 80) for k in range(24)])])
    c_major = {0, 2, 4, 5, 7, 9, 11}

    def outside(penalty: float) -> int:
        result = accompany(model, tokenizer, score, {"irish": 1.0}, job(1, off_scale_penalty=penalty),
                           programs=[0, 0])
        return sum(n.pitch % 12 not in c_major for i in result.new_tracks for n in result.score.tracks[i].notes)

    assert outside(0.0) > 5  # the untrained model, left free, writes notes out of the key
    assert outside(50.0) == 0


def test_new_parts_follow_the_chords_given_with_the_score(model, tokenizer):
    from symbolic.analysis.chords import chord_tone_ratio, parse_chord_chart

    tpb = 384
    score = Score(ticks_per_beat=tpb, tracks=[Track(program=0, notes=[  # a melody that names no chord: one E
        Note(k * tpb, tpb, 64, 80) for k in range(16)])])
    chart = parse_chord_chart("Am | F | C | G7", score)

    def followed(penalty: float | None) -> float:
        given = Score(ticks_per_beat=tpb, tracks=list(score.tracks))
        given.annotations.chords = list(chart)
        result = accompany(model, tokenizer, given, {"chorale": 1.0}, job(2, chord_penalty=penalty))
        assert ("chords: the 4 chords given with the input" if penalty != 0.0 else
                "chords: the 4 chords given with the input are not followed (chord penalty 0)") in result.decisions
        out = Score(ticks_per_beat=tpb, tracks=list(result.score.tracks))
        out.annotations.chords = list(chart)
        return min(chord_tone_ratio(out, i) for i in result.new_tracks)

    free = followed(0.0)
    assert free < 0.3  # the untrained model, left free, plays outside the chords
    assert followed(None) > free + 0.25  # chorale has no chord rule of its own: given chords count in any style
    assert followed(50.0) > 0.9  # (a note held across a chord change counts outside the next chord)


def test_convert_follows_the_chords_of_the_parts_it_rewrites(model, tokenizer):
    from symbolic.analysis.chords import chord_tone_ratio
    from symbolic.analysis.harmony import chords_of_score

    tpb, bar = 384, 4 * 384
    melody = Track(program=73, name="flute", notes=[Note(k * tpb, tpb, 76, 80) for k in range(16)])  # one E
    block = Track(program=0, name="piano", notes=[Note(k * bar + b * tpb, tpb, p, 60) for k, triad in enumerate(
        [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]) for b in range(4) for p in triad])  # Am F C G
    score = Score(ticks_per_beat=tpb, tracks=[melody, block])
    heard = chords_of_score(score)

    def followed(penalty: float | None) -> tuple[float, tuple[str, ...]]:
        result = convert(model, tokenizer, score, {"chorale": 1.0}, job(3, chord_penalty=penalty), melody_track=0)
        out = Score(ticks_per_beat=tpb, tracks=list(result.score.tracks))
        out.annotations.chords = list(heard)
        return min(chord_tone_ratio(out, i) for i in result.new_tracks), result.decisions

    free, lines = followed(0.0)
    assert [line for line in lines if line.startswith("chords: the 8 chords heard from the input's own parts")]
    ratio, lines = followed(None)  # the rewritten piano's Am F C G, followed at 4 nats
    assert ratio > free + 0.25 and [line for line in lines if "heard from the input's own parts" in line]
    charted = Score(ticks_per_beat=tpb, tracks=[melody, block])
    charted.annotations.chords = list(heard[:2])  # chords given with the input win over those heard
    result = convert(model, tokenizer, charted, {"chorale": 1.0}, job(3), melody_track=0)
    assert [line for line in result.decisions if line.startswith("chords: the 2 chords given with the input")]


def test_accompany_follows_the_chords_of_the_parts_it_keeps_or_replaces(model, tokenizer):
    """The tester's All the Small Things in classical: new strings on 13-20% chord tones of the band's
    guitars, because accompany did not hear them (convert did)."""
    from symbolic.analysis.chords import chord_tone_ratio
    from symbolic.analysis.harmony import chords_of_score

    tpb, bar = 384, 4 * 384
    melody = Track(program=73, name="flute", notes=[Note(k * tpb, tpb, 76, 80) for k in range(16)])
    block = Track(program=0, name="piano", notes=[Note(k * bar + b * tpb, tpb, p, 60) for k, triad in enumerate(
        [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]) for b in range(4) for p in triad])  # Am F C G
    score = Score(ticks_per_beat=tpb, tracks=[melody, block])
    heard = chords_of_score(score)
    def followed(penalty: float | None, replace: bool) -> float:
        result = accompany(model, tokenizer, score, {"chorale": 1.0}, job(3, chord_penalty=penalty), melody_track=0,
                           replace_accompaniment=replace)
        assert [line for line in result.decisions if line.startswith("chords: the 8 chords heard from the input's")]
        out = Score(ticks_per_beat=tpb, tracks=list(result.score.tracks))
        out.annotations.chords = list(heard)
        return min(chord_tone_ratio(out, i) for i in result.new_tracks)

    for replace in (False, True):
        assert followed(None, replace) > followed(0.0, replace) + 0.25  # the piano's Am F C G, followed at 4 nats
    alone = accompany(model, tokenizer, Score(ticks_per_beat=tpb, tracks=[melody]), {"chorale": 1.0}, job(3))
    assert not [line for line in alone.decisions if "heard from the input" in line]  # a melody alone: no band


def test_unknown_or_empty_style_mixes_are_refused(model, tokenizer):
    score = melody_score(n_bars=2)
    config = job(4, guidance_scale=3.0)
    with pytest.raises(StyleError, match="the target style names unknown style 'jazz'"):
        convert(model, tokenizer, score, {"jazz": 1.0}, config)
    with pytest.raises(StyleError, match="unknown style 'polka'"):
        accompany(model, tokenizer, score, {"polka": 1.0}, config)
    with pytest.raises(StyleError, match="no positive weight"):
        continue_score(model, tokenizer, score, {}, config, 2)


def test_convert_drops_drums_for_a_style_without_them_and_strength_counts_the_pitched_parts(model, tokenizer):
    score = quartet()
    score.tracks.append(Track(0, is_drum=True, name="kit", notes=[Note(k * 480, 120, 36, 100) for k in range(16)]))
    # three other pitched parts (bass, alto, tenor): a quarter of them, one, is rewritten, the highest (alto)
    result = convert(model, tokenizer, score, {"classical": 1.0}, CONFIG, strength=0.25)
    assert not any(t.is_drum for t in result.score.tracks)
    assert any("dropped: track 4 'kit'" in line for line in result.decisions)
    kept = [result.score.tracks[i] for i in result.kept_tracks[1:]]
    assert sorted(t.notes for t in kept) == sorted([score.tracks[0].notes, score.tracks[3].notes])
    assert [t.program for t in kept] == [0, 32]  # kept parts stay on their own instruments
    # any strength above 0 writes new notes, though two parts are kept and classical has three
    assert len(result.new_tracks) == 1 and result.score.tracks[result.new_tracks[0]].notes
    kit = convert(model, tokenizer, score, {"classical": 1.0}, CONFIG, keep=("drums",))
    assert kit.score.tracks[-1].notes == score.tracks[4].notes and kit.score.tracks[-1].is_drum
    with pytest.raises(ConfigError, match="cannot keep 'guitar'"):
        convert(model, tokenizer, score, {"classical": 1.0}, CONFIG, keep=("guitar",))


def _first_bars(score: Score, n_bars: int) -> Score:
    end = n_bars * 4 * score.ticks_per_beat
    return Score(ticks_per_beat=score.ticks_per_beat, tempos=list(score.tempos),
                 time_signatures=list(score.time_signatures),
                 tracks=[Track(t.program, t.is_drum, t.name, [n for n in t.notes if n.onset_ticks < end])
                         for t in score.tracks])


def test_convert_and_accompany_keep_the_vocal_of_the_five_track_song(model, tokenizer):
    from five_track_song import five_track_song

    song = _first_bars(five_track_song(), 12)  # drums, two guitars, bass (track 3), vocal (track 4)
    vocal, bass, drums = song.tracks[4].notes, song.tracks[3].notes, song.tracks[0].notes
    result = convert(model, tokenizer, song, {"chorale": 1.0}, CONFIG)
    out = result.score
    # (the song's drums are off its grid: a timing line comes first)
    assert out.tracks[0].notes == vocal and result.decisions[1].startswith("melody: track 4")
    assert not any(t.is_drum for t in out.tracks) and all(t.notes != bass for t in out.tracks)
    assert len(result.new_tracks) == 3 and all(out.tracks[i].notes for i in result.new_tracks)
    kept = convert(model, tokenizer, song, {"chorale": 1.0}, CONFIG, keep=("bass", "drums"))
    assert kept.score.tracks[0].notes == vocal
    rows = {tuple(t.notes): t.program for t in kept.score.tracks}
    assert rows[tuple(bass)] == 33 and tuple(drums) in rows  # as they were, on their own instruments
    assert len(kept.new_tracks) == 2  # chorale's three parts less the kept bass
    half = convert(model, tokenizer, song, {"chorale": 1.0}, CONFIG, strength=0.5)
    assert half.new_tracks and any(half.score.tracks[i].notes for i in half.new_tracks)
    acc = accompany(model, tokenizer, song, {"chorale": 1.0}, CONFIG)
    assert acc.melody_track == 4 and acc.score.tracks[4].notes == vocal
    assert [t.notes for t in acc.score.tracks[:5]] == [t.notes for t in song.tracks]


def test_a_piano_arrangement_has_its_melody_taken_out_and_kept(model, tokenizer):
    from symbolic.analysis.melody import merge_tracks
    from symbolic.data.pop909 import load_pop909_score
    from symbolic.resources import shared_data_dir

    song = _first_bars(load_pop909_score(shared_data_dir() / "pop909" / "002"), 12)
    piano_track, source = merge_tracks(song, ["MELODY", "BRIDGE", "PIANO"])
    piano = Score(ticks_per_beat=song.ticks_per_beat, tempos=song.tempos, time_signatures=song.time_signatures,
                  tracks=[piano_track])
    truth = {n for n, s in zip(piano_track.notes, source) if song.tracks[s].name == "MELODY"}
    intro = {n for n, s in zip(piano_track.notes, source)  # the piano's tune before the voice comes in (beat 84)
             if song.tracks[s].name == "BRIDGE" and n.onset_ticks < min(t.onset_ticks for t in truth)}
    result = convert(model, tokenizer, piano, {"chorale": 1.0}, CONFIG)
    melody = result.score.tracks[0].notes
    assert "extracted" in result.decisions[0]
    assert set(melody) < set(piano_track.notes) and len(melody) < len(piano_track.notes) // 2
    found = len(set(melody) & truth)  # the sung line, not the chords
    assert found >= 0.9 * len(truth) and len(set(melody) & intro) >= 0.5 * len(intro) and intro
    assert len(set(melody) - truth - intro) <= 0.1 * len(melody)  # and the intro's tune, kept too
    assert result.kept_tracks == (0,) and len(result.new_tracks) == 3  # the rest of the piano is rewritten
    acc = accompany(model, tokenizer, piano, {"chorale": 1.0}, CONFIG)
    assert acc.score.tracks[0].notes == melody and acc.kept_tracks == (0,)  # the rest of the piano is replaced


def test_a_solo_tune_style_moves_the_melody_by_octaves_into_its_instrument(model, tokenizer):
    low = Score(tracks=[Track(program=0, notes=[Note(k * 480, 480, 40 + k % 5, 80) for k in range(16)])])
    result = convert(model, tokenizer, low, {"irish": 1.0}, CONFIG)
    out = result.score.tracks
    assert len(out) == 1 and out[0].program == 110
    assert [n.pitch for n in out[0].notes] == [n.pitch + 24 for n in low.tracks[0].notes]  # E2.. -> E4..
    assert any("moved 2 octaves up" in line for line in result.decisions)
    assert not any("outside" in line for line in result.decisions)
    assert result.kept_tracks == ()  # moved, so not the input's notes unchanged ...
    before, after = result.note_roles(low)
    assert before == [["melody"] * 16] and after == [["melody"] * 16]  # ... but still the melody, note for note
    # an accompaniment note an octave over the melody, at its onset and length, is not taken for it
    band = Score(tracks=[Track(program=71, notes=[Note(0, 480, 48, 90)]),
                         Track(program=0, notes=[Note(0, 480, 60, 60)])])
    moved = JobResult(Score(tracks=[Track(program=110, notes=[Note(0, 480, 60, 90)])]), 0, (), ())
    assert moved.note_roles(band) == ([["melody"], ["dropped"]], [["melody"]])
    # a tune wider than the fiddle (MIDI 55-96) keeps its notes; the job says which stay outside the instrument
    wide = Score(tracks=[Track(program=0, notes=[Note(k * 480, 480, p, 80)
                                                 for k, p in enumerate((50, 60, 70, 80, 100))])])
    line = next(d for d in convert(model, tokenizer, wide, {"irish": 1.0}, CONFIG).decisions if "solo tune" in d)
    assert line.endswith("moved 1 octave up into its range; 1 of its notes still lies outside the instrument's "
                         "MIDI 55-96 (MIDI 112): the melody is kept note for note")


def test_new_parts_have_a_range_even_on_instruments_without_one(model, tokenizer):
    bass = Score(tracks=[Track(program=33, notes=[Note(k * 480, 480, 36 + k % 8, 80) for k in range(32)])])
    config = job(0, style_rules=False)  # no voice ranges: the instruments' own ranges only
    result = accompany(model, tokenizer, bass, {"chorale": 1.0}, config, programs=[0, 19])
    for i, (low, high) in zip(result.new_tracks, [(21, 108), (36, 96)]):
        pitches = [n.pitch for n in result.score.tracks[i].notes]
        assert pitches and low <= min(pitches) and max(pitches) <= high


def test_continue_keeps_every_track_in_its_range(model, tokenizer):
    score = quartet()
    score.tracks.append(Track(0, is_drum=True, notes=[Note(k * 480, 120, 36 + k % 3, 100) for k in range(16)]))
    score.end_of_track_ticks = 40 * 480  # six bars of silence after the music: not played
    from symbolic.tokenization.vocab import TokenType

    vocab = tokenizer.vocab
    # a model that wants every part to play, at the top and bottom of the keyboard
    bias = {vocab.id_of(TokenType.TRACK, slot): 6.0 for slot in range(5)}
    bias.update({vocab.offsets[TokenType.PITCH] + p: 6.0 for p in (0, 5, 120, 127)})
    eager = RecordingDecoder(model, bias)
    result = continue_score(eager, tokenizer, score, {"classical": 1.0}, CONFIG, n_bars=4)
    added = 0
    for before, after in zip(score.tracks, result.score.tracks):
        new = after.notes[len(before.notes):]
        added += len(new)
        low, high = (35, 81) if before.is_drum else (28, 55) if before.program == 32 else (21, 108)
        assert all(low <= n.pitch <= high for n in new)
        assert all(16 * 480 <= n.onset_ticks < 32 * 480 for n in new)  # the four bars after the music
    assert added >= 10


def test_jobs_keep_the_inputs_length_controllers_and_bends(model, tokenizer):
    from symbolic.score import ControlChange, PitchBend

    score = melody_score(tpb=480)
    score.tracks[0].controls = [ControlChange(0, 7, 100), ControlChange(960, 64, 127)]
    score.tracks[0].pitch_bends = [PitchBend(480, 512)]
    score.end_of_track_ticks = 30 * 480  # a trailing rest: the song lasts 30 beats
    for result in (accompany(model, tokenizer, score, {"irish": 1.0}, CONFIG, programs=[24]),
                   convert(model, tokenizer, score, {"chorale": 1.0}, CONFIG)):
        out = result.score
        assert out.end_ticks == 30 * 480
        melody = out.tracks[result.melody_track]
        assert melody.controls == score.tracks[0].controls and melody.pitch_bends == score.tracks[0].pitch_bends


def test_continue_keeps_the_tempo_changes_of_the_new_bars(model, tokenizer, monkeypatch):
    import symbolic.jobs.plan as plan_module

    score = melody_score(n_bars=2)  # tempo 600000 from tick 0 and 500000 from beat 4
    tpb = score.ticks_per_beat
    longer = melody_score(n_bars=3)
    longer.tempos = list(score.tempos) + [TempoChange(8 * tpb, 400_000), TempoChange(10 * tpb, 300_000)]

    def planned(model, tokenizer, plan, config, rules=(), **kwargs):  # the model "writes" a third bar, two tempi
        return tokenizer.encode(longer, style="irish")

    monkeypatch.setattr(plan_module, "generate_planned", planned)
    out = continue_score(model, tokenizer, score, {"irish": 1.0}, CONFIG, n_bars=1).score
    assert out.tempos[:2] == score.tempos  # the input's, exactly
    assert [t.time_ticks for t in out.tempos[2:]] == [8 * tpb, 10 * tpb]  # the new bars' (in tempo bins)
    assert [round(t.microseconds_per_beat, -5) for t in out.tempos[2:]] == [400_000, 300_000]
    assert out.tracks[0].notes[:8] == score.tracks[0].notes  # the input's notes, then the third bar's
    assert [n.onset_ticks for n in out.tracks[0].notes[8:]] == [n.onset_ticks for n in longer.tracks[0].notes[8:]]


def test_jobs_guide_against_no_style(tokenizer):
    model = RecordingDecoder(tiny_gpt(tokenizer))
    styles = tokenizer.vocab.styles
    mix = {"chorale": 0.75, "classical": 0.25}
    expected = torch.zeros(2, len(styles))
    expected[0, styles.index("chorale")], expected[0, styles.index("classical")] = 0.75, 0.25
    expected[1, styles.index("none")] = 1.0  # the unconditional row: no style
    for run in (lambda: accompany(model, tokenizer, melody_score(2), mix, job(0, guidance_scale=3.0)),
                lambda: continue_score(model, tokenizer, melody_score(2), mix, job(0, guidance_scale=3.0), 1)):
        model.calls.clear()
        run()
        assert model.calls and all(torch.equal(weights, expected) and ids.size(0) == 2
                                   for ids, weights in model.calls)
    model.calls.clear()
    accompany(model, tokenizer, melody_score(2), mix, job(0))  # guidance 1: one row, the mix alone
    assert all(torch.equal(weights, expected[:1]) and ids.size(0) == 1 for ids, weights in model.calls)


def test_style_programs_take_the_lead_styles_instruments():
    assert style_programs({"classical": 0.6, "chorale": 0.4}, 4) == [40, 41, 42, 42]
    with pytest.raises(ConfigError, match="1 to 8"):
        style_programs({"classical": 1.0}, 9)


def test_note_roles_tell_the_kept_melody_the_kept_parts_the_new_and_the_dropped_notes():
    from symbolic.jobs.arrange import JobResult

    tune = [Note(0, 480, 72, 80), Note(480, 480, 74, 80)]
    bass = [Note(0, 960, 48, 80)]
    piano = [Note(0, 960, 60, 80), Note(0, 960, 64, 80)]
    original = Score(tracks=[Track(notes=list(piano)), Track(notes=list(tune)), Track(notes=list(bass))])
    # convert-like: the melody first, a new part, the bass kept, the piano rewritten; one note added to the bass
    out = Score(tracks=[Track(notes=list(tune)), Track(notes=[Note(0, 960, 55, 70)]),
                        Track(notes=bass + [Note(960, 480, 43, 80)])])
    result = JobResult(out, 0, (0, 2), (1,))
    before, after = result.note_roles(original)
    assert before == [["dropped", "dropped"], ["melody", "melody"], ["kept"]]
    assert after == [["melody", "melody"], ["new"], ["kept", "new"]]
    # a continuation names no tracks: its notes are kept or new by what the input had
    more = Score(tracks=[Track(notes=tune + [Note(960, 480, 76, 80)])])
    assert JobResult(more, None, (), ()).note_roles(Score(tracks=[Track(notes=list(tune))]))[1] == \
        [["kept", "kept", "new"]]


def test_accompany_can_replace_the_accompaniment_of_a_full_band(model, tokenizer):
    from five_track_song import five_track_song

    song = _first_bars(five_track_song(), 12)  # drums, two guitars, bass (track 3), vocal (track 4)
    vocal, bass, drums = song.tracks[4].notes, song.tracks[3].notes, song.tracks[0].notes
    result = accompany(model, tokenizer, song, {"chorale": 1.0}, CONFIG, replace_accompaniment=True)
    out = result.score
    assert result.melody_track == 0 and out.tracks[0].notes == vocal and result.kept_tracks == (0,)
    assert len(out.tracks) == 1 + len(texture_of("chorale").part_programs)  # the vocal and the new parts only
    assert not any(t.is_drum for t in out.tracks) and all(t.notes != bass for t in out.tracks)
    assert all(out.tracks[i].notes for i in result.new_tracks)
    text = result.describe()
    assert "rewritten: track 1, track 2, track 3" in text and "dropped: track 0" in text
    kept = accompany(model, tokenizer, song, {"chorale": 1.0}, CONFIG, replace_accompaniment=True,
                     keep=("bass", "drums"))
    assert [t.notes for t in kept.score.tracks[:3]] == [drums, bass, vocal]  # input order, as they were
    assert kept.melody_track == 2 and kept.kept_tracks == (0, 1, 2)
    assert "kept as they are: track 0, track 3" in kept.describe()
    with pytest.raises(ConfigError, match="replace"):
        accompany(model, tokenizer, song, {"chorale": 1.0}, CONFIG, keep=("bass",))


def _held_c_melody(n_bars: int = 8, tpb: int = 480) -> Score:
    """A melody of held Cs (MIDI 72), one a bar."""
    return Score(ticks_per_beat=tpb, tracks=[Track(73, notes=[Note(b * 4 * tpb, 4 * tpb, 72, 80)
                                                              for b in range(n_bars)])],
                 time_signatures=[TimeSignature(0, 4, 4)])


def test_new_parts_do_not_double_a_kept_part_for_long(model, tokenizer, monkeypatch):
    import symbolic.jobs.arrange as arrange
    from symbolic.analysis.parts import doubling_share
    from symbolic.tokenization.vocab import TokenType

    score = _held_c_melody()
    pitch = tokenizer.vocab.offsets[TokenType.PITCH]
    # a model that wants to double the C in every octave, and then to move on (a chord's pitches rise, so
    # past the highest C the next pitch up would be a non-C)
    position = tokenizer.vocab.offsets[TokenType.POSITION]
    doubler = RecordingDecoder(model, {**{pitch + p: 8.0 for p in (36, 48, 60, 72)},
                                       **{position + k: 8.0 for k in range(tokenizer.vocab.max_bar_steps)}})
    config = job(0, style_rules=False)

    import symbolic.jobs.rules as rules
    monkeypatch.setattr(rules.NoRestrike, "__call__", lambda self, logits, context: logits)  # this rule alone

    def doubling(result) -> float:
        return doubling_share(result.score.tracks[result.new_tracks[0]].notes, [score.tracks[0].notes])
    limited = accompany(doubler, tokenizer, score, {"chorale": 1.0}, config, programs=[0])
    assert doubling(limited) <= 0.6
    assert "doubling: the new parts sound a kept part's pitch class for" in limited.describe()
    monkeypatch.setattr(arrange, "MAX_DOUBLING_SHARE", 1.0)  # the limit off: the model doubles at will
    free = accompany(doubler, tokenizer, score, {"chorale": 1.0}, config, programs=[0])
    assert doubling(free) > 0.9


def _full_band(n_bars: int = 8, tpb: int = 480) -> Score:
    """A melody (72-79) over a band that plays every chord tone: C-major and G-major triads held in three
    octaves (48-67) and a bass on the roots, a chord a bar."""
    melody = [Note(k * tpb, tpb, (72, 76, 79, 74, 72, 77, 76, 74)[k % 8], 90) for k in range(4 * n_bars)]
    chords, bass = [], []
    for b in range(n_bars):
        triad = (0, 4, 7) if b % 2 == 0 else (7, 11, 14)
        chords += [Note(b * 4 * tpb, 4 * tpb, base + step, 70) for base in (48, 60) for step in triad]
        bass.append(Note(b * 4 * tpb, 4 * tpb, 36 + triad[0], 80))
    return Score(ticks_per_beat=tpb, tracks=[Track(53, name="Vocal", notes=melody), Track(48, notes=sorted(chords)),
                                             Track(33, notes=bass)], time_signatures=[TimeSignature(0, 4, 4)])


def test_new_parts_stacked_on_a_full_band_double_it_at_most_the_limit(model, tokenizer):
    from symbolic.analysis.parts import doubling_share
    from symbolic.jobs.arrange import MAX_DOUBLING_SHARE
    from symbolic.tokenization.vocab import TokenType

    score = _full_band()
    pitch = tokenizer.vocab.offsets[TokenType.PITCH]
    chord_tones = [p for p in range(36, 96) if p % 12 in (0, 2, 4, 7, 11)]
    doubler = RecordingDecoder(model, {pitch + p: 6.0 for p in chord_tones})  # a model that wants the chord tones
    result = accompany(doubler, tokenizer, score, {"classical": 1.0}, CONFIG)
    kept = [result.score.tracks[i].notes for i in result.kept_tracks]
    assert len(kept) == 3 and len(result.new_tracks) == 3  # stacked: every input track kept
    shares = [doubling_share(result.score.tracks[i].notes, kept) for i in result.new_tracks]
    assert all(result.score.tracks[i].notes for i in result.new_tracks)
    assert max(shares) <= MAX_DOUBLING_SHARE, shares


def test_new_parts_do_not_hold_a_note_over_a_lower_melody_note(model, tokenizer):
    tpb = 480
    # phrases after rests: two bars of rest, then a low phrase; a rest of a bar, then a lower one
    melody = [Note((8 + k) * tpb, tpb, 62 - k % 3, 90) for k in range(8)]
    melody += [Note((20 + k) * tpb, tpb, 57 + k % 2, 90) for k in range(8)]
    score = Score(ticks_per_beat=tpb, tracks=[Track(73, notes=melody)], time_signatures=[TimeSignature(0, 4, 4)])
    duration = tokenizer.vocab.offsets[TokenType.DURATION]
    long_notes = {duration + k: 6.0 for k, d in enumerate(tokenizer.vocab.duration_steps) if d >= 48}
    holder = RecordingDecoder(model, long_notes)  # a model that wants to hold notes for a bar or more
    checked = 0
    for style in ("classical", "chorale"):
        result = accompany(holder, tokenizer, score, {style: 1.0}, CONFIG)
        for index in result.new_tracks:
            for note in result.score.tracks[index].notes:
                end = note.onset_ticks + note.duration_ticks
                for m in melody:
                    if note.onset_ticks < m.onset_ticks < end:
                        checked += 1
                        assert note.pitch <= m.pitch, (style, note, m)
    assert checked > 10


def _straight_groove(n_bars: int = 4, tpb: int = 480) -> Score:
    """A straight pop groove: 8th hi-hats, kick and snare on the beats, a bass on the beats, an 8th-note melody."""
    beats = 4 * n_bars
    drums = [Note(k * tpb // 2, tpb // 4, 42, 80) for k in range(2 * beats)]
    drums += [Note(b * tpb, tpb // 4, 36 if b % 2 == 0 else 38, 100) for b in range(beats)]
    bass = [Note(b * tpb, tpb - 10, (36, 41, 43, 36)[b // 4 % 4], 90) for b in range(beats)]
    melody = [Note(k * tpb // 2, tpb // 2 - 10, (72, 74, 76, 79, 76, 74)[k % 6], 90) for k in range(2 * beats)]
    return Score(ticks_per_beat=tpb, tracks=[Track(0, is_drum=True, notes=sorted(drums)), Track(33, notes=bass),
                                             Track(53, name="Vocal", notes=melody)],
                 time_signatures=[TimeSignature(0, 4, 4)])


def test_new_parts_keep_a_straight_groove_straight_and_a_swung_one_swung(model, tokenizer):
    from symbolic.analysis.parts import triplet_share
    from symbolic.tokenization.vocab import TokenType

    vocab = tokenizer.vocab
    spb, position = vocab.config.steps_per_beat, vocab.offsets[TokenType.POSITION]
    triplet_positions = [step for step in range(vocab.max_bar_steps) if step % spb in (spb // 3, 2 * spb // 3)]
    lover = RecordingDecoder(model, {position + step: 8.0 for step in triplet_positions})  # wants triplets
    config = job(0, style_rules=False)
    groove = _straight_groove()
    straight = accompany(lover, tokenizer, groove, {"classical": 1.0}, config, programs=[0, 25])
    new = [straight.score.tracks[i].notes for i in straight.new_tracks]
    assert all(new) and triplet_share(new, groove.ticks_per_beat) == 0.0
    assert "feel: straight (0% of the kept parts' onsets on triplet positions)" in straight.describe()
    swung = _straight_groove()
    tpb = swung.ticks_per_beat
    swung.tracks[0].notes = sorted(Note(b * tpb + off, tpb // 4, 42, 80) for b in range(16) for off in (0, 2 * tpb // 3))
    result = accompany(lover, tokenizer, swung, {"classical": 1.0}, config, programs=[0, 25])
    assert triplet_share([result.score.tracks[i].notes for i in result.new_tracks], tpb) > 0.3
    assert "feel: swung or triplet" in result.describe()


def test_the_key_rule_has_a_key_in_bars_where_the_melody_rests(model, tokenizer, monkeypatch):
    import symbolic.jobs.rules as rules

    tpb = 480
    phrase = [60, 62, 64, 65, 67, 65, 62, 60]  # C major, then eight bars of rest, then C major again
    notes = [Note(k * tpb, tpb, p, 80) for k, p in enumerate(phrase)]
    notes += [Note((40 + k) * tpb, tpb, p, 80) for k, p in enumerate(phrase)]
    score = Score(ticks_per_beat=tpb, tracks=[Track(73, notes=notes)], time_signatures=[TimeSignature(0, 4, 4)])
    seen = []
    real = rules.ScaleBias.start

    def record(self, plan):
        seen.append(self.scales)
        return real(self, plan)
    monkeypatch.setattr(rules.ScaleBias, "start", record)
    accompany(model, tokenizer, score, {"chorale": 1.0}, CONFIG, programs=[0])
    (scales,) = seen
    assert len(scales) == 12 and all(s == frozenset({0, 2, 4, 5, 7, 9, 11}) for s in scales)  # rests too


def test_continue_goes_on_with_every_part_that_was_playing(model, tokenizer):
    import statistics

    from symbolic.tokenization.vocab import TokenType

    score = _straight_groove(n_bars=4)
    score.end_of_track_ticks = 30 * 480  # a long silence after the last bar: not kept
    vocab = tokenizer.vocab
    # a model that would rather close every bar than play: today's continuation left the parts silent
    shy = RecordingDecoder(model, {vocab.bar_id: 10.0, vocab.eos_id: 10.0,
                                   **{vocab.id_of(TokenType.TRACK, s): -10.0 for s in range(3)}})
    result = continue_score(shy, tokenizer, score, {"classical": 1.0}, CONFIG, n_bars=2)
    for before, after in zip(score.tracks, result.score.tracks):
        new = after.notes[len(before.notes):]
        per_bar = [len({n.onset_ticks for n in before.notes if b * 4 * 480 <= n.onset_ticks < (b + 1) * 4 * 480})
                   for b in range(4)]
        least = max(1, round(0.5 * statistics.median(per_bar)))
        assert least >= 2  # the groove's parts play several onsets a bar
        for bar in (4, 5):  # right after the input's last bar, every part in every new bar, and not one note:
            # at least half its onsets a bar in the input (KeepPlaying; a shy model wrote one note and closed)
            count = len({n.onset_ticks for n in new if bar * 4 * 480 <= n.onset_ticks < (bar + 1) * 4 * 480})
            assert count >= least, (before.program, bar, count, per_bar)
    assert "continued in every new bar: tracks 0, 1, 2" in result.describe()


def test_a_new_part_never_strikes_a_pitch_it_still_holds(model, tokenizer):
    # a model that wants one long C, struck again and again (QA: a pop piano overlapped its own held notes)
    from symbolic.tokenization.vocab import TokenType

    vocab = tokenizer.vocab
    longest = len(vocab.duration_steps) - 1
    stubborn = RecordingDecoder(model, {vocab.offsets[TokenType.PITCH] + 48: 10.0,
                                        vocab.id_of(TokenType.DURATION, longest): 10.0})
    score = _held_c_melody()
    result = accompany(stubborn, tokenizer, score, {"chorale": 1.0}, job(0, style_rules=False), programs=[0])
    notes = sorted(result.score.tracks[result.new_tracks[0]].notes)
    assert any(n.pitch == 48 for n in notes) and len(notes) > 8  # the model got its C, and plays on
    for a in notes:
        for b in notes:
            if a is not b and a.pitch == b.pitch:
                assert not (a.onset_ticks < b.onset_ticks < a.onset_ticks + a.duration_ticks), (a, b)


@pytest.mark.parametrize("style", ["chorale", "classical"])
def test_new_parts_keep_their_style_density_and_longest_note(model, tokenizer, style):
    # a model that would rather close every part and hold one long note (guided sampling thinned new parts:
    # the demo's quartet held drones of 10-17 beats at 0.25-0.65 notes a beat, and was read as pop)
    vocab = tokenizer.vocab
    longest = len(vocab.duration_steps) - 1
    shy = RecordingDecoder(model, {vocab.bar_id: 8.0, vocab.eos_id: 8.0,
                                   **{vocab.id_of(TokenType.TRACK, s): 8.0 for s in range(4)},
                                   vocab.id_of(TokenType.DURATION, longest): 8.0})
    score = _held_c_melody(n_bars=6)
    texture = texture_of(style)
    tpb = score.ticks_per_beat
    for floor in (0.75, 0.0):
        result = accompany(shy, tokenizer, score, {style: 1.0}, job(0, density_floor=floor))
        for index in result.new_tracks:
            notes = result.score.tracks[index].notes
            onsets = sorted({n.onset_ticks for n in notes})
            per_bar = [sum(1 for t in onsets if b * 4 * tpb <= t < (b + 1) * 4 * tpb) for b in range(6)]
            least = max(1, round(0.75 * texture.part_onsets_per_beat * 4))
            if floor:
                assert min(per_bar[:-1]) >= least, (style, per_bar, least)  # the last bar owes nothing
                assert max(n.duration_ticks for n in notes) <= texture.part_longest_beats * tpb
                # spread through the bar, not crammed at its end: at most one onset in a bar's last eighth
                assert all(sum(1 for t in onsets if (b + 1) * 4 * tpb - tpb // 2 <= t < (b + 1) * 4 * tpb) <= 1
                           for b in range(5)), onsets
            else:  # without the floor the shy model plays fewer (the rule is what holds it)
                assert min(per_bar) < least


def test_string_parts_play_double_stops_at_most(model, tokenizer):
    # a model that stacks chords (QA: a converted quartet's cello played clusters of up to 7 notes)
    vocab = tokenizer.vocab
    stacker = RecordingDecoder(model, {vocab.offsets[TokenType.PITCH] + p: 6.0 for p in range(36, 72)})
    result = accompany(stacker, tokenizer, _held_c_melody(n_bars=4), {"classical": 1.0}, job(1))
    for index in result.new_tracks:
        starts = [n.onset_ticks for n in result.score.tracks[index].notes]
        assert max(starts.count(t) for t in set(starts)) <= 2


def test_the_new_parts_play_under_a_long_last_melody_note(model, tokenizer):
    # QA: the melody's last note held beats 8-20 of a 20-beat file; the new parts stopped at beat 12
    tpb = 480
    score = Score(ticks_per_beat=tpb, tracks=[Track(73, notes=[Note(0, 4 * tpb, 72, 80), Note(4 * tpb, 4 * tpb, 74, 80),
                                                              Note(8 * tpb, 12 * tpb, 76, 80)])],
                  time_signatures=[TimeSignature(0, 4, 4)])
    result = accompany(model, tokenizer, score, {"chorale": 1.0}, job(2))
    for index in result.new_tracks:
        notes = result.score.tracks[index].notes
        for bar in (3, 4):  # the bars the last melody note rings through
            assert any(bar * 4 * tpb <= n.onset_ticks < (bar + 1) * 4 * tpb or
                       n.onset_ticks < bar * 4 * tpb < n.onset_ticks + n.duration_ticks for n in notes), bar
        assert max(n.onset_ticks + n.duration_ticks for n in notes) <= score.end_ticks


def test_a_conversion_plays_through_the_bands_outro(model, tokenizer):
    # QA: a song whose band plays on 20 beats after the melody's last note came out silent there
    tpb = 480
    melody = Track(73, notes=[Note(k * tpb, tpb, 72 + k % 5, 80) for k in range(8)])  # bars 0-1
    band = Track(0, notes=[Note(b * 4 * tpb, 4 * tpb, p, 70) for b in range(4) for p in (48, 52, 55)])  # bars 0-3
    score = Score(ticks_per_beat=tpb, tracks=[melody, band], time_signatures=[TimeSignature(0, 4, 4)])
    result = convert(model, tokenizer, score, {"chorale": 1.0}, job(1), melody_track=0)
    for index in result.new_tracks:
        notes = result.score.tracks[index].notes
        assert any(n.onset_ticks >= 3 * 4 * tpb for n in notes)  # the last bar of the outro has new notes
        assert max(n.onset_ticks + n.duration_ticks for n in notes) <= 4 * 4 * tpb


def test_an_extracted_melody_keeps_the_top_voice_where_the_extractor_hears_none(monkeypatch):
    import numpy as np

    from symbolic.analysis import melody

    # 12 bars of piano: a tune over two-note chords on every beat.  The extractor (stood in for) calls the tune
    # in bars 6-11 only, as the shipped one does with an intro it hears as no voice; the first 6 bars (24 beats,
    # over FILL_RESTS_BEATS) are the piece's tune too, so the job keeps their top voice.
    notes = sorted(n for beat in range(48) for n in (Note(beat * 480, 480, (72, 74, 76, 79)[beat % 4], 90),
                                                      Note(beat * 480, 480, 55, 60), Note(beat * 480, 480, 48, 60)))
    piano = Score(tracks=[Track(program=0, name="Piano", notes=notes)])
    monkeypatch.setattr(melody, "melody_mask", lambda ns, tpb, extractor=None: np.array(
        [n.pitch >= 72 and n.onset_ticks >= 24 * 480 for n in ns]))
    choice = find_melody(piano)
    tune = [n for n in notes if n.pitch >= 72]
    assert choice.rest_track == 1 and choice.score.tracks[0].notes == tune
    assert choice.score.tracks[1].notes == [n for n in notes if n.pitch < 72]
    assert "24 of them the top voice in bars 1-6, where that line rests 16 beats or more" in choice.decision
    monkeypatch.setattr(melody, "melody_mask", lambda ns, tpb, extractor=None: np.array([n.pitch >= 72 for n in ns]))
    whole = find_melody(piano)  # nothing to fill: the line says so
    assert whole.score.tracks[0].notes == tune and "top voice" not in whole.decision


def test_the_jobs_say_when_the_input_is_a_recorded_performance(model, tokenizer):
    """The CLI warns before a job runs; a Python or HTTP user reads it first in the decisions."""
    rng = np.random.default_rng(4)
    onsets = np.sort(rng.uniform(0, 48 * 480, 64)).astype(int)  # played without a click, on a 120 qpm map
    played = Score(tracks=[Track(program=0, notes=[Note(int(t), 200, 60 + k % 12, 80) for k, t in enumerate(onsets)])])
    on_grid = Score(tracks=[Track(program=0, notes=[Note(k * 240, 200, 60 + k % 12, 80) for k in range(64)])])
    for job in (lambda s: convert(model, tokenizer, s, {"chorale": 1.0}, CONFIG),
                lambda s: accompany(model, tokenizer, s, {"chorale": 1.0}, CONFIG),
                lambda s: continue_score(model, tokenizer, s, {"chorale": 1.0}, CONFIG, n_bars=1)):
        line = job(played).decisions[0]
        assert line.startswith("timing: the input looks like a recorded performance") and "quantize" in line
        assert not [d for d in job(on_grid).decisions if d.startswith("timing:")]
