"""Free generation: new pieces in a style, from nothing or continuing a prompt score, bars as the bound.

Torch is imported by the functions that need it, not by this module's import.
"""

from __future__ import annotations

import warnings

from symbolic.errors import GenerationWarning, TokenizationError
from symbolic.score import Score
from symbolic.styles.mix import lead_style, resolve_style
from symbolic.styles.registry import NO_STYLE
from symbolic.tokenization.events import EventTokenizer
from symbolic.tokenization.vocab import TokenType

__all__ = ["prompt_ids", "generate_scores"]


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
        config: a :class:`~symbolic.sampling.generate.GenerationConfig`.
        prompt: a score to continue (its tracks are declared first).
        prompt_bars: keep only the first N bars of the prompt.

    Raises:
        StyleError: unknown style.  TokenizationError: the prompt does not fit the context.

    Warns:
        GenerationWarning: a sample reached ``config.max_new_tokens`` before EOS, so it holds fewer bars
            than ``config.max_bars`` asked for (dense music needs 150-250 tokens a bar).
    """
    from symbolic.sampling.generate import generate
    from symbolic.sampling.session import style_weights

    styles = tokenizer.vocab.styles
    mix, _ = resolve_style(style, styles)
    lead = lead_style(mix)
    ids = prompt_ids(tokenizer, None if lead == NO_STYLE else lead, prompt, prompt_bars)
    context = model.config.context_length
    if len(ids) >= context:
        raise TokenizationError(
            f"the prompt is {len(ids)} tokens, but the model's context is {context}; keep fewer of its bars "
            "(prompt_bars)")
    sequences = generate(model, tokenizer, ids, config, batch_size=n_samples,
                         style_weights=style_weights(styles, mix, n_samples))
    vocab = tokenizer.vocab
    for i, seq in enumerate(sequences):
        new = seq[len(ids):]
        if new and new[-1] == vocab.eos_id:
            continue  # ended by the model, by max_bars or by the grammar: not cut short
        bars = sum(vocab.types[t] == TokenType.BAR for t in new)
        asked = f" of the {config.max_bars} asked for" if config.max_bars is not None else ""
        where = (f"in bar {bars}{asked}; raise max_new_tokens (about {len(new) // bars} tokens a bar here)" if bars
                 else "before its first bar; raise max_new_tokens")
        warnings.warn(GenerationWarning(f"sample {i + 1} stopped at the token budget (max_new_tokens="
                                        f"{config.max_new_tokens}) {where}", sample_index=i), stacklevel=2)
    return [tokenizer.decode(seq) for seq in sequences]
