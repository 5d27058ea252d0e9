"""Presets are config instances; overrides replace fields and keep the schedule valid."""

from __future__ import annotations

import pytest

from symbolic.errors import ConfigError
from symbolic.models.presets import PRESETS, ModelSize, preset
from symbolic.models.training import TrainConfig


def test_presets_are_configs_and_overrides_replace_fields():
    size, config = preset("tiny", "gpt")
    assert size == PRESETS["tiny"].gpt and isinstance(config, TrainConfig) and config.max_steps == 400
    assert size.settings() == {"context_length": 256, "n_layer": 2, "n_head": 4, "n_embd": 128, "dropout": 0.1}
    assert preset("default", "lstm")[0].n_layer == 2 and preset("default", "gpt")[1].eval_batches == 16
    _, changed = preset("tiny", "gpt", max_steps=7, batch_size=None, seed=3)
    assert (changed.max_steps, changed.batch_size, changed.seed) == (7, 16, 3)
    _, slow = preset("tiny", "gpt", learning_rate=1e-4)  # under the preset's final rate 2e-4
    assert slow.learning_rate == 1e-4 and slow.min_learning_rate == pytest.approx(1e-5)
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        preset("huge", "gpt")
    with pytest.raises(ConfigError, match="gpt or lstm"):
        preset("tiny", "rnn")
    with pytest.raises(ConfigError, match="multiple of n_head"):
        ModelSize(64, 1, 3, 64)
