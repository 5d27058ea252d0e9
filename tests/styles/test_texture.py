"""Ensembles and instruments: parts ordered high to low, ranges, the texture's part rhythm and ranges."""

from __future__ import annotations

import pytest

from symbolic.errors import ConfigError, StyleError
from symbolic.styles.texture import FALLBACK_TEXTURE, PartRange, StyleTexture, parse_instruments, program_range


def test_parse_instruments_orders_high_to_low():
    assert parse_instruments("bass, flute ,piano") == [("flute", 73), ("piano", 0), ("bass", 32)]
    with pytest.raises(StyleError, match="unknown instrument 'kazoo'"):
        parse_instruments("piano,kazoo")
    with pytest.raises(StyleError, match="the instrument list is empty"):
        parse_instruments(" , ")


def test_slot_layout_puts_the_new_parts_where_the_styles_corpus_has_them():
    after_melody = StyleTexture(19, (19,), 3, (0,))
    assert after_melody.part_slot == 1
    # melody, 2 new parts, then the other given parts (sources index the given parts; None: new or empty)
    assert after_melody.slot_layout(3, 2) == ([0, None, None, 1, 2], range(1, 3))
    after_bridge = StyleTexture(53, (0,), 1, (53, 48, 0), part_slot=2)
    assert after_bridge.slot_layout(1, 1) == ([0, None, None], range(2, 3))  # no bridge given: slot 1 empty
    assert after_bridge.slot_layout(2, 1) == ([0, 1, None], range(2, 3))  # the bridge in its own slot
    assert after_bridge.slot_layout(3, 1) == ([0, 1, None, 2], range(2, 3))
    with pytest.raises(ConfigError, match="part_slot"):
        StyleTexture(0, (0,), 1, (0,), part_slot=0)


def test_texture_ranges_and_programs():
    texture = StyleTexture(19, (19, 19, 19), 3, (0,), part_rhythm=(2, 2), part_ranges=((53, 74), (48, 69)))
    assert texture.part_ranges == (PartRange(53, 74), PartRange(48, 69))
    assert texture.part_range(0, 19) == PartRange(53, 74)  # the texture's own voice
    assert texture.part_range(0, 32) == PartRange(28, 55)  # another instrument keeps its own range
    assert texture.part_range(2, 19) is None  # no voice range, and an organ has no narrow one
    assert texture.part_program(5) == 19 and texture.corpus_program(3) == 0
    assert texture.part_rhythm_steps(12) == (6, 6) and texture.part_rhythm_steps(5) is None
    assert program_range(0) is None and program_range(32) == (28, 55)
    assert FALLBACK_TEXTURE.part_programs == (0, 0, 32)
    with pytest.raises(ConfigError, match="outside 0..127"):
        StyleTexture(128, (0,), 1, (0,))
    with pytest.raises(ConfigError, match="low < high"):
        StyleTexture(0, (0,), 1, (0,), part_ranges=((60, 50),))
    with pytest.raises(ConfigError, match="off_scale_penalty"):
        StyleTexture(0, (0,), 1, (0,), off_scale_penalty=-1)
