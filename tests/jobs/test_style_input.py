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
