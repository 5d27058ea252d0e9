"""Measures of the jobs, on inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from symbolic.evaluation.jobs import (accompaniment_nll, beat_chroma, chroma_similarity, crop_bars,
                                      pairwise_probability, same_notes, score_from_voice_frames, transfer_strength)
from symbolic.models.gpt import GPT, GPTConfig
from symbolic.score import Note, Score, TimeSignature, Track


def test_transfer_strength_formula():
    # Brunner et al.: the source style's probability falls after conversion and comes back on the way back
    assert transfer_strength(0.9, 0.1, 0.8) == pytest.approx(0.5 * (0.8 + 0.7))
    assert transfer_strength(0.5, 0.5, 0.5) == 0.0
    assert transfer_strength(0.2, 0.9, 0.1) < 0


def test_pairwise_probability_rules_out_the_other_styles():
    probs = np.array([0.1, 0.6, 0.2, 0.1, 0.0])
    assert pairwise_probability(probs, 2, 0) == pytest.approx(2 / 3)  # 0.2 / (0.2 + 0.1)
    assert pairwise_probability(probs, 0, 2) == pytest.approx(1 / 3)
    assert pairwise_probability(probs, 4, 4 - 1) == 0.0
    assert pairwise_probability(np.zeros(5), 1, 2) == 0.5  # neither style: no evidence either way


def test_beat_chroma_and_similarity():
    c_major = Score(ticks_per_beat=4, tracks=[Track(notes=[Note(0, 8, p, 80) for p in (60, 64, 67)])])
    assert beat_chroma(c_major).shape == (3, 12)  # the notes stop at tick 8: beats 0 and 1, then an empty row
    assert beat_chroma(c_major)[0, [0, 4, 7]].tolist() == [1.0, 1.0, 1.0]
    assert chroma_similarity(c_major, c_major) == pytest.approx(1.0)
    f_sharp = Score(ticks_per_beat=4, tracks=[Track(notes=[Note(0, 8, p, 80) for p in (61, 66, 70)])])
    assert chroma_similarity(c_major, f_sharp) == 0.0
    inverted = Score(ticks_per_beat=480, tracks=[Track(notes=[Note(0, 960, p, 80) for p in (52, 55, 72)])])
    assert chroma_similarity(c_major, inverted) == pytest.approx(1.0)  # other octaves, other grid
    half = Score(ticks_per_beat=4, tracks=[Track(notes=[Note(0, 4, p, 80) for p in (60, 64, 67)])])
    assert chroma_similarity(c_major, half) == pytest.approx(0.5)  # beat 1 sounds in one score only
    assert math.isnan(chroma_similarity(Score(), Score()))
    assert beat_chroma(Score()).shape == (0, 12)
    drums = Score(tracks=[Track(is_drum=True, notes=[Note(0, 480, 36, 90)])])
    assert beat_chroma(drums).shape == (0, 12)


def test_same_notes_across_grids():
    a = Track(notes=[Note(0, 240, 60, 80), Note(240, 240, 62, 80)])
    b = Track(notes=[Note(0, 480, 60, 80), Note(480, 480, 62, 80)])
    assert same_notes(a, b, 240, 480) and same_notes(a, a, 240, 240)
    assert not same_notes(a, Track(notes=b.notes[:1]), 240, 480)


def test_score_from_voice_frames_merges_held_frames():
    nan = math.nan
    frames = np.array([[72, 60], [72, 60], [74, nan], [nan, 55], [74, 55]])
    score = score_from_voice_frames(frames, steps_per_beat=4, ticks_per_beat=480)
    assert [(n.onset_ticks, n.duration_ticks, n.pitch) for n in score.tracks[0].notes] == \
        [(0, 240, 72), (240, 120, 74), (480, 120, 74)]
    assert [(n.onset_ticks, n.duration_ticks, n.pitch) for n in score.tracks[1].notes] == \
        [(0, 240, 60), (360, 240, 55)]
    assert score_from_voice_frames(np.zeros((0, 4))).n_notes == 0


def test_crop_bars(tokenizer):
    score = Score(ticks_per_beat=480, tracks=[Track(notes=[Note(k * 480, 720, 60, 80) for k in range(12)])],
                  time_signatures=[TimeSignature(0, 3, 4)])
    cropped = crop_bars(score, 2, tokenizer)
    assert [n.onset_ticks for n in cropped.tracks[0].notes] == [k * 480 for k in range(6)]
    assert cropped.tracks[0].notes[-1].duration_ticks == 480  # cut at the end of bar 2
    assert crop_bars(score, 10, tokenizer) is score


def test_crop_bars_from_a_later_bar_moves_notes_maps_and_annotations(tokenizer):
    from symbolic.score import Annotations, ChordSpan, KeySpan, TempoChange

    score = Score(ticks_per_beat=480, tracks=[Track(notes=[Note(k * 480, 720, 60 + k, 80) for k in range(12)])],
                  tempos=[TempoChange(0, 500_000), TempoChange(960, 600_000), TempoChange(2400, 400_000)],
                  time_signatures=[TimeSignature(0, 3, 4)])
    score.annotations = Annotations([ChordSpan(0, 1440, "C:maj"), ChordSpan(1440, 5760, "G:maj")],
                                    [KeySpan(0, 5760, 0, False)])
    cropped = crop_bars(score, 2, tokenizer, first_bar=1)  # bars 2 and 3: ticks 1440..4320
    assert [(n.onset_ticks, n.pitch) for n in cropped.tracks[0].notes] == [(k * 480, 63 + k) for k in range(6)]
    assert cropped.tracks[0].notes[-1].duration_ticks == 480
    assert cropped.tempos == [TempoChange(0, 600_000), TempoChange(960, 400_000)]  # the tempo holding at bar 2
    assert cropped.time_signatures == [TimeSignature(0, 3, 4)]
    assert cropped.annotations.chords == [ChordSpan(0, 2880, "G:maj")]  # C:maj ended before the crop
    assert cropped.annotations.keys == [KeySpan(0, 2880, 0, False)]
    assert crop_bars(score, 2, tokenizer, first_bar=9).n_notes == 0  # past the last bar: nothing


def test_accompaniment_nll_counts_the_parts_notes(tokenizer):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, n_styles=len(tokenizer.vocab.styles), context_length=64,
                          n_layer=1, n_head=2, n_embd=32)).eval()
    frames = np.array([[72, 64, 60, 48]] * 8 + [[74, 65, 59, 43]] * 8 + [[72, 64, 55, 48]] * 16, dtype=float)
    chorale = score_from_voice_frames(np.concatenate([frames] * 4))
    total, notes = accompaniment_nll(model, tokenizer, chorale, "chorale")
    assert notes == sum(len(t.notes) for t in chorale.tracks[1:]) and total > 0
    alone = Score(chorale.ticks_per_beat, chorale.tracks[:1])
    assert accompaniment_nll(model, tokenizer, alone, "chorale") == (0.0, 0)
    # the melody's own tokens are not counted: dropping slot 0's notes changes nothing about the count
    total_all, notes_all = accompaniment_nll(model, tokenizer, chorale, "chorale", melody_slots=0)
    assert notes_all == chorale.n_notes and total_all > total
