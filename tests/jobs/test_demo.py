"""The demo with any decoder: its own styles stand in for the corpus styles it does not know."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_gpt

from symbolic import read_midi
from symbolic.errors import ConfigError, StyleError
from symbolic.jobs.config import DemoConfig
from symbolic.jobs.demo import accompany_style, demo_styles, run_demo
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


def test_a_solo_tune_style_is_not_the_accompaniments_style():
    # the corpus's Irish and German tunes have no accompanying parts to learn from: the classifier read the
    # irish tune "accompanied in irish" (guitar and bass) as classical (0.60 with the six-style model)
    assert accompany_style("irish", ("chorale", "classical"), pop_part=True) is None  # the pop part accompanies
    assert accompany_style("irish", ("chorale", "classical"), pop_part=False) == "chorale"
    assert accompany_style("german-folk", ("classical",), pop_part=False) == "classical"
    assert accompany_style("chorale", ("classical",), pop_part=True) == "chorale"
    assert accompany_style("rock", ("jazz",), pop_part=False) == "rock"  # a user's own style has parts


def test_demo_runs_with_a_model_of_other_styles(tmp_path):
    from symbolic.models.classifier import load_classifier
    from symbolic.resources import asset_path

    tokenizer = EventTokenizer(EventTokenizerConfig(styles=("rock", "jazz")))
    model = tiny_gpt(tokenizer)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    report = run_demo(model, tokenizer, classifier, DemoConfig(bars=2, continue_bars=1, audio=False), tmp_path,
                      progress=False)
    names = [row["output"] for row in report["outputs"]]
    assert names == ["source", "convert to jazz", "accompany in rock", "continue 1 bars in rock"]
    assert report["pop_song"] is None and report["pop_note"] is None  # a model without pop: no pop part
    assert all(row["melody_kept"] for row in report["outputs"])
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert (tmp_path / "convert-to-jazz.mid").stat().st_size > 0
    # the shipped classifier knows neither style: the outputs are not judged, and the report says so
    assert [row["as_target"] for row in report["outputs"]] == [None] * 4
    text = (tmp_path / "report.md").read_text()
    assert "their target style: 0 of 0; not judged: 3 outputs in jazz, rock, which the style classifier does " \
           "not know (it knows chorale," in text


def six_style_model():
    from symbolic.data.pop909 import with_pop_style
    from symbolic.resources import default_event_tokenizer

    tokenizer = with_pop_style(default_event_tokenizer())
    return tiny_gpt(tokenizer, context_length=256), tokenizer


def test_demo_with_a_model_that_knows_pop_runs_the_pop_part(tmp_path):
    from symbolic.data.build import BuildConfig, split_of
    from symbolic.models.classifier import ClassifierConfig, StyleClassifier

    model, tokenizer = six_style_model()
    classifier = StyleClassifier(ClassifierConfig(styles=tokenizer.vocab.styles[1:])).eval()
    report = run_demo(model, tokenizer, classifier, DemoConfig(bars=2, continue_bars=1, audio=False), tmp_path,
                      progress=False)
    rows = {row["output"]: row for row in report["outputs"]}
    assert list(rows) == ["source", "pop melody", "convert to chorale", "convert to classical",
                          "continue 1 bars in irish", "pop melody accompanied in pop",
                          "pop melody converted to chorale", "pop melody converted to classical",
                          "tune converted to pop"]
    assert split_of(report["pop_song"], BuildConfig()) == "test"  # a held-out POP909 song
    assert [rows[n]["target"] for n in rows if n.startswith(("pop melody ", "tune"))] == \
        ["pop", "chorale", "classical", "pop"]
    assert rows["source"]["target"] is None and rows["pop melody"]["as_target"] is None
    for row in rows.values():
        assert row["melody_kept"], row["output"]  # the pop melody is kept in its three jobs
        assert row["as_target"] in (None, row["classified_as"] == row["target"])
    accompanied = read_midi(tmp_path / "pop-melody-accompanied-in-pop.mid")
    assert [t.program for t in accompanied.tracks] == [53, 0]  # the melody over the pop piano
    assert "Outputs classified as their target style:" in (tmp_path / "report.md").read_text()
    assert "pop909/" in (tmp_path / "report.md").read_text()


def test_demo_without_pop909_leaves_the_pop_part_out_and_says_so(tmp_path):
    model, tokenizer = six_style_model()
    from symbolic.models.classifier import load_classifier
    from symbolic.resources import asset_path

    classifier, _ = load_classifier(asset_path("style-classifier"))
    report = run_demo(model, tokenizer, classifier, DemoConfig(bars=1, continue_bars=1, audio=False,
                                                               pop909_dir=str(tmp_path / "nothing")),
                      tmp_path / "out", progress=False)
    assert report["pop_song"] is None and "pop part left out" in report["pop_note"]
    assert "nothing" in report["pop_note"] and not any("pop" in r["output"] for r in report["outputs"])
    # without the pop part the tune itself is accompanied (in the first target: irish is a solo tune)
    assert "accompany in chorale" in [r["output"] for r in report["outputs"]]


def test_demo_runs_the_tune_into_pop_once_when_pop_is_a_target(tmp_path):
    from symbolic.models.classifier import ClassifierConfig, StyleClassifier

    model, tokenizer = six_style_model()
    classifier = StyleClassifier(ClassifierConfig(styles=tokenizer.vocab.styles[1:])).eval()
    report = run_demo(model, tokenizer, classifier, DemoConfig(bars=1, continue_bars=1, audio=False,
                                                               targets=("pop", "chorale")), tmp_path, progress=False)
    names = [row["output"] for row in report["outputs"]]
    assert "convert to pop" in names and "tune converted to pop" not in names  # the same job, listed once
    assert "pop melody accompanied in pop" in names
