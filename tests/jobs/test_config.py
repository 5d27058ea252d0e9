"""The jobs' settings: one set of defaults, checked when made."""

from __future__ import annotations

import pytest

from symbolic.errors import ConfigError
from symbolic.jobs.config import DemoConfig, JobConfig


def test_job_defaults_and_their_generation_config():
    config = JobConfig()
    assert (config.temperature, config.top_p, config.guidance_scale, config.seed) == (0.9, 0.95, 6.0, 0)
    generation = JobConfig(temperature=1.2, top_k=5, seed=3).generation()
    assert (generation.temperature, generation.top_k, generation.top_p, generation.guidance_scale, generation.seed,
            generation.constrain) == (1.2, 5, 0.95, 6.0, 3, True)
    assert DemoConfig().job() == JobConfig() and DemoConfig(seed=4).job().seed == 4


@pytest.mark.parametrize("settings, message", [
    ({"temperature": 0}, "temperature=0 must be > 0"),
    ({"top_k": 0}, "top_k=0 must be >= 1"),
    ({"top_p": 1.5}, r"top_p=1.5 must be in \(0, 1\]"),
    ({"off_scale_penalty": -1.0}, "off_scale_penalty"),
    ({"off_scale_penalty": float("inf")}, "off_scale_penalty=inf must be a finite number of nats"),
    ({"chord_penalty": float("inf")}, "chord_penalty=inf must be a finite number of nats"),
    ({"chord_penalty": -2}, "chord_penalty=-2 must be a finite number"),
    ({"chord_penalty": "2"}, "chord_penalty='2' must be a finite number"),
    ({"max_part_tokens": 3}, "max_part_tokens"),
    ({"density_floor": 1.5}, "density_floor=1.5 must be a share"),
    ({"density_floor": float("nan")}, "density_floor=nan must be a share"),
    ({"density_floor": "0.5"}, "density_floor='0.5' must be a number"),
    ({"density_floor": None}, "density_floor=None must be a number"),
    ({"density_floor": True}, "density_floor=True must be a number"),
    ({"temperature": "0.9"}, "temperature='0.9' must be a number"),
    ({"guidance_scale": "x"}, "guidance_scale='x' must be a number"),
    ({"segment_bars": "32"}, "segment_bars='32' must be a whole number"),
    ({"segment_bars": 5.5}, "segment_bars=5.5 must be a whole number"),
    ({"seed": "x"}, "seed='x' must be a whole number"),
])
def test_bad_job_settings_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        JobConfig(**settings)


def test_bad_demo_settings_are_refused():
    with pytest.raises(ConfigError, match="bars"):
        DemoConfig(bars=0)
    assert DemoConfig(targets=["chorale"]).targets == ("chorale",)
