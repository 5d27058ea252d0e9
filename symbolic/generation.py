"""Generate scores with a trained decoder: styles by name or mix, prompts from MIDI, bars as the bound.

Torch is imported by the functions that need it, not by this module's import.
"""

from __future__ import annotations

import re

from symbolic.errors import StyleError, TokenizationError
from symbolic.score import Score
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.vocab import NO_STYLE, TokenType

__all__ = ["parse_style_mix", "resolve_style", "style_weights", "prompt_ids", "generate_scores"]


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
        if not value > 0:
            raise StyleError(f"style weight of {name!r} must be > 0, got {value}")
        weights[name] = weights.get(name, 0.0) + value
    total = sum(weights.values())
    return {name: value / total for name, value in weights.items()}


def resolve_style(text: str | None, styles: tuple[str, ...]) -> tuple[dict[str, float], bool]:
    """Weights over ``styles`` for ``--style``: a name, a mix ``a:0.7,b:0.3``, or a description in words.

    Returns the weights and whether they came from a description (then say what was chosen).
    """
    from symbolic.styles import style_from_text

    if text is None:
        return {NO_STYLE: 1.0}, False
    parts = [part.strip().partition(":")[0].strip() for part in text.split(",")]
    is_mix = ":" in text or (len(parts) > 1 and all(re.fullmatch(r"[\w-]+", part) for part in parts))
    if is_mix or all(part in styles for part in parts):  # a mix names styles: an unknown one is an error
        return parse_style_mix(text, styles), False
    return style_from_text(text, styles), True


def style_weights(styles: tuple[str, ...], mix: dict[str, float], rows: int = 1):
    """Float32 ``(rows, len(styles))`` tensor of a style mix (names from ``styles``), for ``style_weights=``."""
    import torch

    weights = torch.zeros(rows, len(styles))
    for name, value in mix.items():
        weights[:, styles.index(name)] = value
    return weights


def prompt_ids(tokenizer: EventTokenizer, style: str | None, prompt: Score | None = None,
               prompt_bars: int | None = None) -> list[int]:
    """Ids to start generation from: BOS and the style token, then the prompt score without its EOS.

    ``prompt_bars`` keeps only the first N bars of the prompt.
    """
    if prompt is None:
        return [tokenizer.vocab.bos_id, tokenizer.vocab.style_id(style)]
    ids = tokenizer.encode(prompt, style=style)[:-1]
    if prompt_bars is not None:
        bar_positions = [i for i, t in enumerate(ids) if tokenizer.vocab.types[t] == TokenType.BAR]
        if len(bar_positions) > prompt_bars:
            ids = ids[:bar_positions[prompt_bars]]
    return ids


def generate_scores(model, tokenizer: EventTokenizer, config, style: str | None = None, n_samples: int = 1,
                    prompt: Score | None = None, prompt_bars: int | None = None) -> list[Score]:
    """Sample ``n_samples`` scores in ``style`` (a name, a mix ``"a:0.7,b:0.3"``, a description, or ``None``).

    Args:
        model: a trained decoder.
        tokenizer: its tokenizer.
        config: a :class:`~symbolic.models.sampling.GenerationConfig`.
        prompt: a score to continue (its tracks are declared first).
        prompt_bars: keep only the first N bars of the prompt.

    Raises:
        StyleError: unknown style.  TokenizationError: the prompt does not fit the context.
    """
    from symbolic.models.sampling import generate

    styles = tokenizer.vocab.styles
    mix, _ = resolve_style(style, styles)
    lead = max(mix, key=mix.get)
    ids = prompt_ids(tokenizer, None if lead == NO_STYLE else lead, prompt, prompt_bars)
    context = model.config.context_length
    if len(ids) >= context:
        raise TokenizationError(
            f"the prompt is {len(ids)} tokens, but the model's context is {context}; keep fewer bars with "
            "--prompt-bars N (or prompt_bars=N)")
    sequences = generate(model, tokenizer, ids, config, batch_size=n_samples,
                         style_weights=style_weights(styles, mix, n_samples))
    return [tokenizer.decode(seq) for seq in sequences]
