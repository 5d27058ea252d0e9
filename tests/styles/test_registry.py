"""One declaration per style, read by the tokenizer, the corpus, the words table and the jobs."""

from __future__ import annotations

import pytest

from symbolic.data.corpus import MUSIC21_STYLES
from symbolic.errors import ConfigError, StyleError
from symbolic.styles.registry import (MUSIC21_STYLE_NAMES, NO_STYLE, STYLE_NAMES, STYLES, StyleSpec, style_spec,
                                     texture_of)
from symbolic.styles.texture import FALLBACK_TEXTURE, StyleTexture
from symbolic.styles.words import style_from_text
from symbolic.tokenization.vocab import DEFAULT_STYLES, EventTokenizerConfig


def test_the_registry_is_what_the_rest_reads():
    assert STYLE_NAMES == ("chorale", "renaissance", "classical", "irish", "german-folk", "pop")
    assert MUSIC21_STYLE_NAMES == STYLE_NAMES[:5]
    assert DEFAULT_STYLES == MUSIC21_STYLE_NAMES and EventTokenizerConfig().styles == MUSIC21_STYLE_NAMES
    assert MUSIC21_STYLES == {name: spec.corpus_sources for name, spec in STYLES.items() if name != "pop"}
    assert texture_of("chorale") is STYLES["chorale"].texture and texture_of("my-own") is FALLBACK_TEXTURE
    assert style_spec("irish").descriptors[:3] == ("irish", "ireland", "celtic")
    with pytest.raises(StyleError, match="the corpus styles are chorale, renaissance"):
        style_spec("jazz")


def test_descriptors_of_the_registry_drive_the_words_table(monkeypatch):
    texture = StyleTexture(0, (0,), 1, (0,))
    extra = StyleSpec("rock", (), ("guitar", "stadium"), texture, collection="pop909")
    monkeypatch.setitem(STYLES, "rock", extra)
    assert style_from_text("a stadium guitar anthem", ("none", "rock", "irish")) == {"rock": 1.0}


@pytest.mark.parametrize("name", ["", " pop", "a,b", "a:b", NO_STYLE])
def test_style_names_are_checked(name):
    with pytest.raises(ConfigError, match="style name"):
        StyleSpec(name, (), (), StyleTexture(0, (0,), 1, (0,)))
