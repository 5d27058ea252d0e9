"""A job's style from text or from an example piece."""

from __future__ import annotations

import pytest

from symbolic.errors import StyleError
from symbolic.jobs.style_input import resolve_job_style, style_from_example
from symbolic.score import Note, Score, Track
from symbolic.tokenization.vocab import DEFAULT_STYLES

STYLES = ("none",) + DEFAULT_STYLES


def test_text_gives_a_mix_and_says_when_it_came_from_words():
    assert resolve_job_style(STYLES, "irish") == ({"irish": 1.0}, None)
    assert resolve_job_style(STYLES, "irish:1,chorale:1") == ({"irish": 0.5, "chorale": 0.5}, None)
    assert resolve_job_style(STYLES, "a lively jig") == ({"irish": 1.0}, "words")
    with pytest.raises(StyleError, match="name a style"):
        resolve_job_style(STYLES)
    with pytest.raises(StyleError, match="not both"):
        resolve_job_style(STYLES, "irish", Score())


def test_an_example_without_pitched_notes_is_refused():
    drums = Score(tracks=[Track(is_drum=True, notes=[Note(0, 120, 36, 100)])])
    with pytest.raises(StyleError, match="no pitched notes"):
        style_from_example(drums, STYLES)
    with pytest.raises(StyleError, match="no pitched notes"):
        resolve_job_style(STYLES, example=drums)


def test_style_reading_is_the_classifiers_probabilities_most_probable_first():
    import numpy as np

    from symbolic.jobs.style_input import style_reading
    from symbolic.models.classifier import classify_scores, load_classifier
    from symbolic.resources import asset_path

    tune = Score(tracks=[Track(program=73, notes=[Note(480 * k, 460, 67 + (k % 5), 80) for k in range(32)])])
    reading = style_reading(tune)
    model, _ = load_classifier(asset_path("style-classifier"))
    probs = classify_scores(model, [tune])[0]
    assert set(reading) == set(model.config.styles)
    assert [reading[s] for s in model.config.styles] == pytest.approx(list(probs))
    values = list(reading.values())
    assert values == sorted(values, reverse=True) and sum(values) == pytest.approx(1.0)
    assert np.isclose(values[0], probs.max())


def test_describe_style_choice_says_where_the_style_came_from():
    from symbolic.jobs.style_input import describe_style_choice

    mix = {"chorale": 0.3, "irish": 0.7}
    assert describe_style_choice(mix, None) == "style irish 70%, chorale 30%"
    assert describe_style_choice({"irish": 1.0}, "words", "a lively jig") == \
        "style from the description 'a lively jig': irish 100%"
    assert describe_style_choice(mix, "example", "ref.mid") == "style from ref.mid: irish 70%, chorale 30%"


def test_a_mix_says_whose_instruments_the_new_parts_take():
    from symbolic.jobs.style_input import describe_mix_instruments

    assert describe_mix_instruments({"chorale": 0.3, "irish": 0.7}) == \
        "the new parts' instruments are irish's (the largest share)"
    assert describe_mix_instruments({"pop": 0.5, "irish": 0.5}) == \
        "the new parts' instruments are pop's (the largest share)"  # equals: the first
    assert describe_mix_instruments({"irish": 1.0}) == ""
