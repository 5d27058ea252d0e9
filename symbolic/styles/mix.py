"""A style mix from its text: a name, ``"irish:0.7,chorale:0.3"``, or a description in words.

Weights are a ``dict`` from style name to a positive float summing to 1; ``{"none": 1.0}``
is no style.  Pure data: no torch.
"""

from __future__ import annotations

import math
import re

from symbolic.errors import StyleError
from symbolic.styles.registry import NO_STYLE

__all__ = ["parse_style_mix", "resolve_style", "lead_style", "check_mix"]


def parse_style_mix(text: str | None, styles: tuple[str, ...]) -> dict[str, float]:
    """``"irish"`` or ``"irish:0.7,chorale:0.3"`` to normalised weights over known ``styles``.

    ``None`` or ``""`` means no style.  Raises :class:`StyleError` for an unknown
    style or a weight that is not a positive number.
    """
    if not text:
        return {NO_STYLE: 1.0}
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        name = name.strip()
        if name not in styles:
            known = ", ".join(s for s in styles if s != NO_STYLE)
            raise StyleError(f"unknown style {name!r}; this model knows: {known}")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise StyleError(f"style weight {weight!r} of {name!r} is not a number; write e.g. irish:0.7") from None
        if not 0 < value < math.inf:
            raise StyleError(f"style weight of {name!r} must be a number > 0, got {value}")
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    if total == math.inf:
        raise StyleError(f"style weights {text!r} are too large to add up; write them as shares such as irish:0.7")
    return {name: value / total for name, value in weights.items()}


def resolve_style(text: str | None, styles: tuple[str, ...]) -> tuple[dict[str, float], bool]:
    """Weights over ``styles`` for a style text: a name, a mix ``a:0.7,b:0.3``, or a description in words.

    Returns the weights and whether they came from a description (then say what was chosen).
    """
    from symbolic.styles.words import style_from_text

    if text is None:
        return {NO_STYLE: 1.0}, False
    parts = [part.strip().partition(":")[0].strip() for part in text.split(",")]
    is_mix = ":" in text or (len(parts) > 1 and all(re.fullmatch(r"[\w-]+", part) for part in parts))
    if is_mix or all(part in styles for part in parts):  # a mix names styles: an unknown one is an error
        return parse_style_mix(text, styles), False
    return style_from_text(text, styles), True


def lead_style(weights: dict[str, float]) -> str:
    """The style with the largest weight of a mix (the first of equals)."""
    return max(weights, key=weights.get)


def check_mix(weights: dict[str, float], styles: tuple[str, ...], what: str = "the style") -> None:
    """Raise :class:`StyleError` when a mix names a style outside ``styles`` or has no positive weight."""
    unknown = [name for name in weights if name not in styles]
    if unknown:
        raise StyleError(f"{what} names unknown style {unknown[0]!r}; this model knows: "
                         f"{', '.join(s for s in styles if s != NO_STYLE)}")
    if not weights or not sum(weights.values()) > 0:
        raise StyleError(f"{what} is empty or has no positive weight; give e.g. {{'chorale': 1.0}}")
