"""Styles from words: descriptions to the nearest style or a mix."""

from __future__ import annotations

import pytest

from symbolic.errors import StyleError
from symbolic.styles.mix import resolve_style
from symbolic.styles.words import describe_mix, style_from_text
from symbolic.tokenization import EventTokenizer

TOK = EventTokenizer()


def test_style_from_words():
    styles = TOK.vocab.styles
    assert style_from_text("a lively irish jig", styles) == {"irish": 1.0}
    assert list(style_from_text("four-part church hymn", styles)) == ["chorale"]
    mix = style_from_text("a fiddle reel with a Bach chorale harmony", styles)
    assert set(mix) == {"irish", "chorale"} and abs(sum(mix.values()) - 1) < 1e-9
    assert describe_mix({"irish": 0.7, "chorale": 0.3}) == "irish 70%, chorale 30%"
    assert resolve_style("irish:0.7,chorale:0.3", styles) == ({"irish": 0.7, "chorale": 0.3}, False)
    assert resolve_style("Mozart string quartet minuet", styles) == ({"classical": 1.0}, True)
    # "song" alone points nowhere (it made "a heavy metal song" german-folk 100%); "folk song" still does
    assert resolve_style("a german folk song", styles) == ({"german-folk": 1.0}, True)
    for bad in ("", "   ", "heavy metal with blast beats", "a heavy metal song", "a song"):
        with pytest.raises(StyleError):
            style_from_text(bad, styles)
        with pytest.raises(StyleError):
            resolve_style(bad, styles)
    assert resolve_style(None, styles) == ({"none": 1.0}, False)
