"""The demo with any decoder: its own styles stand in for the corpus styles it does not know."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_gpt

from symbolic.errors import ConfigError, StyleError
from symbolic.jobs.config import DemoConfig
from symbolic.jobs.demo import demo_styles, run_demo
from symbolic.tokenization.events import EventTokenizer, EventTokenizerConfig

CORPUS = ("none", "chorale", "renaissance", "classical", "irish", "german-folk")


def test_demo_styles_fall_back_to_the_models_own():
    assert demo_styles(DemoConfig(), CORPUS) == ("irish", ("chorale", "classical"))
    assert demo_styles(DemoConfig(style="chorale"), CORPUS) == ("chorale", ("classical",))
    assert demo_styles(DemoConfig(), ("none", "pop", "jazz", "folk")) == ("pop", ("jazz", "folk"))
    assert demo_styles(DemoConfig(), ("none", "pop", "chorale")) == ("pop", ("chorale",))
    assert demo_styles(DemoConfig(targets=("jazz",)), ("none", "pop", "jazz")) == ("pop", ("jazz",))
    with pytest.raises(StyleError, match="unknown target style 'funk'"):
        demo_styles(DemoConfig(targets=("funk",)), ("none", "pop", "jazz"))
    with pytest.raises(StyleError, match="knows no style"):
        demo_styles(DemoConfig(), ("none",))
    with pytest.raises(ConfigError, match="at least one target"):
        DemoConfig(targets=())


def test_demo_runs_with_a_model_of_other_styles(tmp_path):
    from symbolic.models.classifier import load_classifier
    from symbolic.resources import asset_path

    tokenizer = EventTokenizer(EventTokenizerConfig(styles=("pop", "jazz")))
    model = tiny_gpt(tokenizer)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    report = run_demo(model, tokenizer, classifier, DemoConfig(bars=2, continue_bars=1, audio=False), tmp_path,
                      progress=False)
    names = [row["output"] for row in report["outputs"]]
    assert names == ["source", "convert to jazz", "accompany in pop", "continue 1 bars in pop"]
    assert all(row["melody_kept"] for row in report["outputs"])
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert (tmp_path / "convert-to-jazz.mid").stat().st_size > 0
