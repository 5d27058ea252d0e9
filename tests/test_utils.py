"""symbolic/utils.py: reading a JSON file of a declared format gives one clear DataError per fault."""

from __future__ import annotations

import pytest

from symbolic.errors import DataError
from symbolic.utils import atomic_write_json, read_format_json


def test_read_format_json(tmp_path):
    good = tmp_path / "good.json"
    atomic_write_json(good, {"format": "x/1", "a": 1})
    assert read_format_json(good, "x/1", "x file") == {"format": "x/1", "a": 1}
    with pytest.raises(DataError, match=r"missing\.json: x file not found"):
        read_format_json(tmp_path / "missing.json", "x/1", "x file")
    with pytest.raises(DataError, match="^nothing here$"):
        read_format_json(tmp_path / "missing.json", "x/1", "x file", missing="nothing here")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json: not a x file \("):
        read_format_json(tmp_path / "bad.json", "x/1", "x file")
    for other in ({"format": "y/1"}, [1, 2]):
        atomic_write_json(tmp_path / "other.json", other)
        with pytest.raises(DataError, match=r"other\.json: not a x file \(expected format 'x/1'\)"):
            read_format_json(tmp_path / "other.json", "x/1", "x file")
