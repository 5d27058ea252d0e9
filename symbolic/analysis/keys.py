"""The key of a passage from its notes, and the pitch classes of that key's scale.

The key is the major or minor key whose Krumhansl-Kessler profile (probe-tone
ratings, Krumhansl 1990) correlates best with the passage's duration-weighted
pitch-class histogram.  A major key's scale is its seven notes; a minor key's
adds the raised sixth and seventh (melodic and harmonic minor) to the natural
minor, so only three pitch classes lie outside it.
"""

from __future__ import annotations

import numpy as np

from symbolic.tokenization.stream import part_notes

__all__ = ["MAJOR_PROFILE", "MINOR_PROFILE", "estimate_key", "scale_pitch_classes", "windowed_scales", "bar_scales"]

MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 9, 10, 11)


def estimate_key(histogram: np.ndarray) -> tuple[int, bool] | None:
    """``(tonic pitch class, is_minor)`` of a float ``(12,)`` pitch-class histogram (any weights).

    ``None`` when the histogram is empty or flat (no key can be told).
    """
    h = np.asarray(histogram, dtype=np.float64)
    if h.shape != (12,):
        raise ValueError(f"a pitch-class histogram has 12 bins, not shape {h.shape}")
    if not h.sum() > 0 or np.ptp(h) == 0:
        return None
    best, key = -2.0, None
    for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(h, np.roll(profile, tonic))[0, 1])
            if r > best:
                best, key = r, (tonic, minor)
    return key


def scale_pitch_classes(tonic: int, minor: bool) -> frozenset[int]:
    """Pitch classes (0 = C) of the scale of a key; a minor key includes its raised sixth and seventh."""
    return frozenset((tonic + step) % 12 for step in (_MINOR_STEPS if minor else _MAJOR_STEPS))


def windowed_scales(histograms: list[np.ndarray], radius: int = 2) -> list[frozenset[int] | None]:
    """The scale around each of a sequence of ``(12,)`` histograms (one per bar, say).

    Each bar's key is told from the bars within ``radius`` of it, so a modulation is
    followed; a window with no notes takes the key of the whole, and a whole with no
    notes gives ``None`` for every bar.  Empty input gives ``[]``.
    """
    if not histograms:
        return []
    stacked = np.stack([np.asarray(h, dtype=np.float64) for h in histograms])
    whole = estimate_key(stacked.sum(axis=0))
    out: list[frozenset[int] | None] = []
    for i in range(len(stacked)):
        key = estimate_key(stacked[max(0, i - radius):i + radius + 1].sum(axis=0)) or whole
        out.append(scale_pitch_classes(*key) if key else None)
    return out


def bar_scales(vocab, bars, slots: set[int] | None = None) -> tuple[frozenset[int] | None, ...]:
    """The key's pitch classes around each bar (:func:`windowed_scales`), told from the duration-weighted
    notes of the parts in ``bars`` (:func:`symbolic.tokenization.stream.split_bars` output), or of ``slots`` only.
    Empty ``bars`` give ``()``."""
    histograms = []
    for _, parts in bars:
        histogram = np.zeros(12)
        for slot, ids in parts.items():
            if slots is not None and slot not in slots:
                continue
            for start, end, pitch in part_notes(vocab, ids):
                histogram[pitch % 12] += end - start
        histograms.append(histogram)
    return tuple(windowed_scales(histograms))
