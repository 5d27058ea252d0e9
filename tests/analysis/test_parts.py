"""Doubling share and rhythmic feel: what they count, and their values on empty input."""

from __future__ import annotations

import pytest

from symbolic.analysis.parts import doubled_spans, doubled_steps, doubling_share, is_swung, triplet_share
from symbolic.errors import ConfigError
from symbolic.score import Note

TPB = 480


def test_doubling_counts_unison_and_octaves_at_the_same_time_only():
    melody = [Note(0, 4 * TPB, 72, 80)]  # a C held for a bar
    assert doubling_share([Note(0, 4 * TPB, 60, 80)], [melody]) == 1.0  # an octave below, all along
    assert doubling_share([Note(0, 4 * TPB, 72, 80)], [melody]) == 1.0  # unison
    assert doubling_share([Note(0, 4 * TPB, 64, 80)], [melody]) == 0.0  # a third: no doubling
    half = [Note(0, 2 * TPB, 48, 80), Note(2 * TPB, 2 * TPB, 55, 80)]  # C then G
    assert doubling_share(half, [melody]) == 0.5
    late = [Note(4 * TPB, TPB, 60, 80)]  # a C after the melody's C stopped
    assert doubling_share(late, [melody]) == 0.0
    # two kept parts sounding the same class over the same span count once
    assert doubled_steps(0, 100, 60, [(0, 60, 72), (40, 100, 48), (10, 20, 36)]) == 100
    assert doubled_steps(0, 100, 61, [(0, 60, 72)]) == 0


def test_doubling_share_on_empty_input_is_zero():
    assert doubling_share([], [[Note(0, TPB, 60, 80)]]) == 0.0
    assert doubling_share([Note(0, TPB, 60, 80)], []) == 0.0
    assert doubling_share([Note(0, TPB, 60, 80)], [[]]) == 0.0


def test_a_straight_groove_has_no_triplets_and_a_shuffle_has_many():
    straight = [Note(k * TPB // 2, TPB // 4, 42, 90) for k in range(16)]  # 8th hi-hats
    sixteenths = [Note(k * TPB // 4, TPB // 8, 60, 90) for k in range(16)]
    assert triplet_share([straight, sixteenths], TPB) == 0.0
    assert not is_swung([straight], TPB)
    shuffle = [Note(beat * TPB + off, TPB // 4, 42, 90) for beat in range(8) for off in (0, 2 * TPB // 3)]
    assert triplet_share([shuffle], TPB) == 0.5  # the swung off-beat 8th sits on the third triplet
    assert is_swung([shuffle], TPB)
    triplets = [Note(k * TPB // 3, TPB // 3, 60, 80) for k in range(12)]
    assert triplet_share([triplets], TPB) == pytest.approx(2 / 3)
    humanised = [Note(k * TPB // 2 + (-9 if k % 2 else 7), TPB // 4, 42, 90) for k in range(16)]
    assert triplet_share([humanised], TPB) == 0.0  # a few ticks off the 8th grid is still straight


def test_triplet_share_on_empty_input_and_bad_resolution():
    assert triplet_share([], TPB) == 0.0 and triplet_share([[]], TPB) == 0.0
    assert not is_swung([], TPB)
    with pytest.raises(ConfigError, match="ticks_per_beat"):
        triplet_share([[Note(0, 1, 60, 80)]], 0)


def test_above_share_counts_notes_over_the_sounding_melody_note():
    from symbolic.analysis.parts import above_share

    melody = [Note(0, 2 * TPB, 67, 80), Note(3 * TPB, TPB, 60, 80)]  # a G, a beat of rest, a C
    part = [Note(0, TPB, 64, 80), Note(TPB, TPB, 69, 80), Note(2 * TPB, TPB, 72, 80), Note(3 * TPB, TPB, 62, 80)]
    assert above_share(part, melody) == 0.5  # the A over the G, the D over the C; the C in the rest is free
    assert above_share([], melody) == 0.0 and above_share(part, []) == 0.0


def test_held_above_share_counts_notes_held_over_a_lower_melody_note():
    from symbolic.analysis.parts import above_share, held_above_share

    melody = [Note(2 * TPB, TPB, 60, 80), Note(3 * TPB, TPB, 64, 80)]  # a C on beat 3, an E on beat 4
    part = [Note(0, 3 * TPB, 62, 80),  # a D from the bar line, held over the C: above it
            Note(TPB, 3 * TPB, 59, 80),  # a B held over both, under them
            Note(2 * TPB, 2 * TPB, 63, 80)]  # an Eb from the C's onset: starts above it, held over the E (higher)
    assert held_above_share(part, melody) == 1 / 3
    assert above_share(part, melody) == 1 / 3  # the onset measure sees only the Eb
    assert held_above_share([], melody) == 0.0 and held_above_share(part, []) == 0.0


def test_doubled_spans_clipped_at_any_end_give_the_doubled_steps_up_to_it():
    """The doubling rule reads every duration's doubled steps off one call: the spans up to the longest
    end, clipped."""
    import random

    rng = random.Random(4)
    for _ in range(200):
        others = [(s, s + rng.randint(1, 30), rng.randint(40, 80)) for s in (rng.randint(0, 90) for _ in range(6))]
        start, pitch = rng.randint(0, 50), rng.randint(40, 80)
        spans = doubled_spans(start, start + 60, pitch, others)
        assert all(a < b <= c for (a, b), (c, _) in zip(spans, spans[1:] + [(10**9, 0)]))  # disjoint, in order
        for length in range(0, 61, 3):
            clipped = sum(max(0, min(e, start + length) - s) for s, e in spans)
            assert clipped == doubled_steps(start, start + length, pitch, others)
