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
    saved = midi._FAST_MAX_BYTES, midi._FAST_AFTER_BYTES
    midi._FAST_MAX_BYTES, midi._FAST_AFTER_BYTES = (saved[0], 0) if fast else (-1, saved[1])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return midi.parse_midi_bytes(data, name), [str(w.message) for w in caught]
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike, whatever the failure
        return f"{type(exc).__name__}: {exc}", []
    finally:
        midi._FAST_MAX_BYTES, midi._FAST_AFTER_BYTES = saved


def _files() -> list[Path]:
    files = sorted((ROOT / "tests" / "data").rglob("*.mid"))
    files += sorted(POP909.glob("*/*.mid"))[::10]  # 87 of the 909 songs
    if REAL.is_dir():  # real songs gathered on the development machine (not in the repository)
        files += sorted(REAL.rglob("*.mid"))
    return files


def test_the_compiled_scan_is_used():
    pytest.importorskip("numba")
    assert midi._compiled_scan()


def test_the_compiled_scan_loads_only_after_a_few_megabytes_were_read():
    """One song (a job) is read by the Python parser, without loading numba (0.7-2 s of start-up); once the
    process has read _FAST_AFTER_BYTES, the scan reads the next files."""
    pytest.importorskip("numba")
    song = ROOT / "tests" / "data" / "many_tracks.mid"
    code = f"""
import sys
from symbolic.inputs import midi
midi.read_midi({str(song)!r})
assert "numba" not in sys.modules and not midi._scan, "one song loaded the compiled scan"
midi._FAST_AFTER_BYTES = {song.stat().st_size} * 3
for _ in range(2):
    midi.read_midi({str(song)!r})
assert not midi._scan, "the scan loaded before the threshold"
score = midi.read_midi({str(song)!r})
assert midi._scan and "numba" in sys.modules, "the scan did not load after the threshold"
assert midi._python_bytes == {song.stat().st_size} * 3
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]


def test_real_data_is_present():
    assert len(sorted(POP909.glob("*/*.mid"))) >= 800, f"POP909 is expected in {POP909}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_fast_and_reference_readers_agree(path):
    data = path.read_bytes()
    assert _read(data, path.name, fast=True) == _read(data, path.name, fast=False)
