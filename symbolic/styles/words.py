"""Styles from words: map a short description to the nearest style, or to a weighted mix.

Each corpus style has a list of descriptor words (its
:attr:`~symbolic.styles.registry.StyleSpec.descriptors`) (forms, places, composers,
instruments, textures).  A description scores one point per descriptor it
contains (a word's stem, so "jigs" matches "jig"; a hyphenated word also counts as its
parts, so "C-pop" matches "pop").  The best style wins.  Styles
within half of the best score join it in a mix, weighted by score: "a fiddle reel
with a chorale-like harmony" gives about 70% irish and 30% chorale.  A style name
written out counts double.  Styles without descriptors (a user's own folders) match
by name only.

No model or download is involved: the mapping is this table, so it is
transparent and the same on every machine.
"""

from __future__ import annotations

import re

from symbolic.errors import StyleError
from symbolic.styles.registry import NO_STYLE, STYLES

__all__ = ["style_from_text", "describe_mix"]

def _stems(text: str) -> str:
    words = re.findall(r"[a-z0-9'\-]+", text.lower())
    return " " + " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words) + " "


def style_from_text(text: str, styles: tuple[str, ...]) -> dict[str, float]:
    """Normalised weights over ``styles`` for a description.

    Raises:
        StyleError: empty text, or nothing in it points to any of ``styles``; the
            message lists the styles and example words.
    """
    known = [s for s in styles if s != NO_STYLE]
    if not text or not text.strip():
        raise StyleError("the style description is empty; name a style (" + ", ".join(known) + ") or describe "
                         "one, e.g. 'a lively irish jig' or 'four-part church hymn'")
    haystack = _stems(text) + _stems(text.replace("-", " ")).lstrip()
    scores: dict[str, float] = {}
    for style in known:
        score = 2.0 * (f" {_stems(style).strip()} " in haystack)
        for word in (STYLES[style].descriptors if style in STYLES else ()):
            if f" {_stems(word).strip()} " in haystack:
                score += 1.0
        if score:
            scores[style] = score
    if not scores:
        examples = "; ".join(f"{s}: {', '.join(STYLES[s].descriptors[:4])}" for s in known if s in STYLES)
        raise StyleError(f"nothing in {text!r} points to a style; known styles are {', '.join(known)}"
                         + (f" (words that work: {examples})" if examples else ""))
    best = max(scores.values())
    kept = {s: v for s, v in scores.items() if v >= best / 2}
    total = sum(kept.values())
    return {s: v / total for s, v in sorted(kept.items(), key=lambda x: -x[1])}


def describe_mix(weights: dict[str, float]) -> str:
    """``"irish 70%, chorale 30%"``."""
    return ", ".join(f"{s} {round(100 * w)}%" for s, w in sorted(weights.items(), key=lambda x: -x[1]))
