"""Style mixes from text: names, weighted mixes, descriptions."""

from __future__ import annotations

import pytest

from symbolic.errors import StyleError
from symbolic.styles.mix import check_mix, lead_style, parse_style_mix, resolve_style
from symbolic.tokenization import EventTokenizer

TOK = EventTokenizer()


def test_style_mix_parsing():
    styles = TOK.vocab.styles
    assert parse_style_mix("irish", styles) == {"irish": 1.0}
    assert parse_style_mix("irish:3,chorale:1", styles) == {"irish": 0.75, "chorale": 0.25}
    assert parse_style_mix(None, styles) == {"none": 1.0}
    # inf and overflowing weights once reached the job and failed it with "cannot convert float NaN" (found by
    # the settings fuzz of tests/serve/test_schema.py)
    for bad in ("polka", "irish:x", "irish:-1", "irish:inf", "irish:nan", "irish:1e308,chorale:1e308"):
        with pytest.raises(StyleError):
            parse_style_mix(bad, styles)


def test_lead_style_and_mix_checks():
    assert lead_style({"irish": 0.3, "chorale": 0.7}) == "chorale"
    check_mix({"irish": 1.0}, TOK.vocab.styles)
    with pytest.raises(StyleError, match="the target style names unknown style 'jazz'"):
        check_mix({"jazz": 1.0}, TOK.vocab.styles, "the target style")
    with pytest.raises(StyleError, match="no positive weight"):
        check_mix({}, TOK.vocab.styles)
