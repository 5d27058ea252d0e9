"""Comparisons between a generated set and a reference set.

* :func:`overlapping_area`: Yang and Lerch (2020), "On the evaluation of generative
  models in music": for one feature, the distribution of distances within the
  generated set is compared with the distribution of distances between the sets
  (Gaussian kernel density estimates); the overlapping area (0..1, 1 = same) and
  the KL divergence are reported.
* :func:`frechet_distance`: between Gaussian fits of two sets of feature frames
  (MFCC or log-mel), as FAD does with VGGish embeddings.
* :func:`longest_copied_span` and :func:`ngram_overlap`: how much of a generated
  piece appears verbatim in the training set (memorisation).
"""

from __future__ import annotations

import math

import numpy as np

from symbolic.score import Score

__all__ = ["overlapping_area", "frechet_distance", "gaussian_fit", "note_sequence", "longest_copied_span",
           "ngram_overlap"]


def _pairwise(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is None:
        d = np.abs(a[:, None] - a[None, :])
        return d[~np.eye(len(a), dtype=bool)]
    return np.abs(a[:, None] - b[None, :]).ravel()


def overlapping_area(generated: list[float], reference: list[float], grid: int = 512) -> dict[str, float]:
    """Overlap (0..1) and KL divergence (nats) of intra-generated vs generated-to-reference distances.

    NaN values are dropped.  Returns NaN for both when a set has fewer than two
    values or the distances do not vary (a kernel density needs spread).
    """
    from scipy.stats import gaussian_kde

    a = np.asarray([x for x in generated if not math.isnan(x)], dtype=float)
    b = np.asarray([x for x in reference if not math.isnan(x)], dtype=float)
    if len(a) < 2 or len(b) < 1:
        return {"overlap": math.nan, "kl": math.nan}
    intra, inter = _pairwise(a, None), _pairwise(a, b)
    if np.ptp(intra) == 0 or np.ptp(inter) == 0:
        return {"overlap": math.nan, "kl": math.nan}
    kde_intra, kde_inter = gaussian_kde(intra), gaussian_kde(inter)
    lo = min(intra.min(), inter.min())
    hi = max(intra.max(), inter.max())
    pad = 0.25 * (hi - lo)
    xs = np.linspace(lo - pad, hi + pad, grid)
    p, q = kde_intra(xs), kde_inter(xs)
    step = xs[1] - xs[0]
    overlap = float(np.minimum(p, q).sum() * step)
    eps = 1e-12
    kl = float((p * np.log((p + eps) / (q + eps))).sum() * step)
    return {"overlap": min(1.0, overlap), "kl": max(0.0, kl)}


def gaussian_fit(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` of feature frames ``(n, d)`` (float64)."""
    frames = np.asarray(frames, dtype=np.float64)
    return frames.mean(axis=0), np.cov(frames, rowvar=False)


def frechet_distance(frames_a: np.ndarray, frames_b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two frame sets ``(n_a, d)`` and ``(n_b, d)``.

    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``; 0 for identical sets.
    NaN when either set has fewer than two frames.
    """
    from scipy import linalg

    if len(frames_a) < 2 or len(frames_b) < 2:
        return math.nan
    mu_a, s_a = gaussian_fit(frames_a)
    mu_b, s_b = gaussian_fit(frames_b)
    with np.errstate(all="ignore"):
        root = linalg.sqrtm(s_a @ s_b)
    if not np.isfinite(root).all():  # near-singular: regularise as FID implementations do
        offset = np.eye(len(s_a)) * 1e-6
        root = linalg.sqrtm((s_a + offset) @ (s_b + offset))
    root = root.real
    value = float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))
    return max(0.0, value)


def note_sequence(score: Score, steps_per_beat: int = 12) -> list[tuple[int, int, int]]:
    """The pitched notes of all tracks as ``(pitch, onset step from the previous onset, duration steps)``,
    sorted by onset then pitch: the unit in which copying is measured (position-independent)."""
    tpb = score.ticks_per_beat
    notes = sorted((n.onset_ticks, n.pitch, n.duration_ticks) for t in score.tracks if not t.is_drum
                   for n in t.notes)
    out, previous = [], 0
    for onset, pitch, duration in notes:
        step = round(onset * steps_per_beat / tpb)
        out.append((pitch, step - previous, max(1, round(duration * steps_per_beat / tpb))))
        previous = step
    return out


def longest_copied_span(generated: list, training: list[list], limit: int = 256) -> int:
    """Length in notes of the longest run of ``generated`` that appears verbatim in a training sequence.

    0 when nothing is shared (or ``generated`` is empty); searched up to ``limit`` notes.
    """
    best = 0
    for length in range(1, min(limit, len(generated)) + 1):
        grams = {tuple(seq[i:i + length]) for seq in training for i in range(len(seq) - length + 1)}
        if not any(tuple(generated[i:i + length]) in grams for i in range(len(generated) - length + 1)):
            break
        best = length
    return best


def ngram_overlap(generated: list, training: list[list], n: int = 8) -> float:
    """Share of the generated piece's ``n``-grams found in the training sequences; NaN when it has none."""
    grams = [tuple(generated[i:i + n]) for i in range(len(generated) - n + 1)]
    if not grams:
        return math.nan
    known = {tuple(seq[i:i + n]) for seq in training for i in range(len(seq) - n + 1)}
    return sum(g in known for g in grams) / len(grams)
