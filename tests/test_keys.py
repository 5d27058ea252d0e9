"""Keys told from notes, and the penalty that keeps new parts in them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symbolic.errors import ConfigError
from symbolic.keys import estimate_key, scale_pitch_classes, windowed_scales
from symbolic.models.constrained import Plan
from symbolic.models.sampling import ScaleBias, StepContext


def histogram(pitch_classes: list[int], weights: list[float] | None = None) -> np.ndarray:
    h = np.zeros(12)
    for k, pc in enumerate(pitch_classes):
        h[pc % 12] += 1.0 if weights is None else weights[k]
    return h


def test_major_and_minor_keys_are_told_from_their_notes():
    c_major = histogram([0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0, 7])  # the scale, then the tonic triad again
    assert estimate_key(c_major) == (0, False)
    a_minor = histogram([9, 11, 0, 2, 4, 5, 8, 9, 0, 4, 9, 4])  # with the raised seventh (G#)
    assert estimate_key(a_minor) == (9, True)
    d_major = histogram([2, 4, 6, 7, 9, 11, 1, 2, 6, 9, 2, 9])
    assert estimate_key(d_major) == (2, False)
    assert estimate_key(np.zeros(12)) is None and estimate_key(np.ones(12)) is None
    with pytest.raises(ValueError, match="12 bins"):
        estimate_key(np.zeros(7))


def test_scales_of_keys():
    assert scale_pitch_classes(0, False) == {0, 2, 4, 5, 7, 9, 11}
    assert scale_pitch_classes(9, True) == {9, 11, 0, 2, 4, 5, 7, 6, 8}  # natural, melodic and harmonic minor
    assert scale_pitch_classes(2, False) == {2, 4, 6, 7, 9, 11, 1}


def test_windowed_scales_follow_a_modulation_and_fill_empty_bars():
    c = histogram([0, 4, 7, 0, 2, 5, 9, 11, 7])
    e_major = histogram([4, 8, 11, 4, 6, 9, 1, 3, 11])
    empty = np.zeros(12)
    scales = windowed_scales([c] * 6 + [e_major] * 6, radius=1)
    assert scales[0] == scale_pitch_classes(0, False) and scales[-1] == scale_pitch_classes(4, False)
    whole = windowed_scales([empty, empty, empty, c, empty, empty, empty], radius=1)
    assert whole[0] == whole[3] == scale_pitch_classes(0, False)  # a window with no notes takes the whole's key
    assert windowed_scales([empty, empty]) == [None, None]
    assert windowed_scales([]) == []


def test_scale_bias_lowers_only_pitches_outside_the_scale():
    offset = 5
    logits = torch.zeros(2, offset + 128 + 3)
    bias = ScaleBias(offset, 1.5)
    out = bias(logits, StepContext(scale=scale_pitch_classes(0, False)))
    lowered = [p for p in range(128) if out[0, offset + p] < 0]
    assert lowered == [p for p in range(128) if p % 12 in (1, 3, 6, 8, 10)]
    assert torch.allclose(out[0, offset + 61], torch.tensor(-1.5)) and torch.equal(out[1], out[0])
    assert torch.equal(out[0, :offset], torch.zeros(offset)) and torch.equal(out[0, offset + 128:], torch.zeros(3))
    assert torch.equal(bias(logits, StepContext()), logits) and torch.equal(logits, torch.zeros_like(logits))
    with pytest.raises(ConfigError, match="penalty"):
        ScaleBias(offset, -1.0)


def test_plan_checks_its_key_fields():
    with pytest.raises(ConfigError, match="bar_scales has 1 entries for 0 bars"):
        Plan((), (), bar_scales=(None,))
    with pytest.raises(ConfigError, match="off_scale_penalty"):
        Plan((), (), off_scale_penalty=-0.5)
