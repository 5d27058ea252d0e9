"""The compiled scan (numba) and the pure-Python parser read every file alike: same score, or same error."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from symbolic.inputs import midi
from symbolic.resources import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
POP909 = shared_data_dir() / "pop909"  # ../shared/data, or $SYMBOLIC_SHARED_DATA
REAL = Path("/work/real-midi")


def _read(data: bytes, name: str, fast: bool):
    saved = midi._FAST_MAX_BYTES
    midi._FAST_MAX_BYTES = saved if fast else -1
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return midi.parse_midi_bytes(data, name), [str(w.message) for w in caught]
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike, whatever the failure
        return f"{type(exc).__name__}: {exc}", []
    finally:
        midi._FAST_MAX_BYTES = saved


def _files() -> list[Path]:
    files = sorted((ROOT / "tests" / "data").rglob("*.mid"))
    files += sorted(POP909.glob("*/*.mid"))[::10]  # 87 of the 909 songs
    if REAL.is_dir():  # real songs gathered on the development machine (not in the repository)
        files += sorted(REAL.rglob("*.mid"))
    return files


def test_the_compiled_scan_is_used():
    pytest.importorskip("numba")
    assert midi._compiled_scan()


def test_real_data_is_present():
    assert len(sorted(POP909.glob("*/*.mid"))) >= 800, f"POP909 is expected in {POP909}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_fast_and_reference_readers_agree(path):
    data = path.read_bytes()
    assert _read(data, path.name, fast=True) == _read(data, path.name, fast=False)
