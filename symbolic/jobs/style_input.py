"""A job's style: from a name, a mix, words (:mod:`symbolic.styles.mix`) or an example piece.

:func:`style_reading` is the shipped style classifier's reading of a piece (what the page shows of a
job's input and output); :func:`style_from_example` turns an example's reading into a mix;
:func:`resolve_job_style` is the one entry point that takes either; :func:`describe_style_choice` says
in words what it chose.
"""

from __future__ import annotations

from symbolic.errors import StyleError
from symbolic.score import Score
from symbolic.styles.mix import resolve_style
from symbolic.styles.registry import NO_STYLE

__all__ = ["style_reading", "style_from_example", "resolve_job_style", "describe_style_choice",
           "describe_mix_instruments"]


def style_reading(score: Score, classifier_path=None) -> dict[str, float]:
    """The style classifier's probabilities for ``score``, by style name, most probable first.

    The probabilities (floats summing to 1) are the classifier's softmax averaged over the piece's
    windows (:func:`~symbolic.models.classifier.classify_scores`); a piece without pitched notes
    gets the uniform distribution.  ``classifier_path`` defaults to the shipped classifier.
    """
    from symbolic.models.classifier import classify_scores, load_classifier
    from symbolic.resources import asset_path

    model, _ = load_classifier(classifier_path or asset_path("style-classifier"))
    probs = classify_scores(model, [score])[0]
    return dict(sorted(((name, float(p)) for name, p in zip(model.config.styles, probs)), key=lambda x: -x[1]))


def style_from_example(score: Score, styles: tuple[str, ...], classifier_path=None,
                       min_weight: float = 0.1) -> dict[str, float]:
    """A style mix from an example piece: the style classifier's probabilities, averaged over its windows.

    Styles under ``min_weight`` are dropped and the rest renormalised; only styles
    the decoder knows (``styles``) are kept.

    Raises:
        StyleError: the example has no pitched notes, or none of its styles is known to the decoder.
    """
    if all(t.is_drum or not t.notes for t in score.tracks):
        raise StyleError("the style example has no pitched notes; give a MIDI file with music in the style")
    reading = style_reading(score, classifier_path)
    pairs = [(name, p) for name, p in reading.items() if name in styles]
    kept = {name: p for name, p in pairs if p >= min_weight}
    if not kept:
        if not pairs:
            raise StyleError(f"the classifier's styles ({', '.join(reading)}) are unknown to this "
                             "model; name a style instead of giving an example")
        kept = dict([max(pairs, key=lambda item: item[1])])
    total = sum(kept.values())
    return {name: p / total for name, p in kept.items()}


def resolve_job_style(styles: tuple[str, ...], text: str | None = None,
                      example: Score | None = None) -> tuple[dict[str, float], str | None]:
    """A job's style mix over ``styles`` from ``text`` (name, mix or description) or an ``example`` piece.

    Returns the weights and how they were found when that is worth saying
    (``"words"`` or ``"example"``), else ``None``.

    Raises:
        StyleError: both or neither given, or the text or example points to no known style.
    """
    if example is not None:
        if text is not None:
            raise StyleError("give either a style or an example piece of it, not both")
        return style_from_example(example, styles), "example"
    if text is None:
        raise StyleError(f"name a style ({', '.join(s for s in styles if s != NO_STYLE)}), describe one, "
                         "or give an example piece")
    weights, from_words = resolve_style(text, styles)
    return weights, "words" if from_words else None


def describe_style_choice(weights: dict[str, float], found_from: str | None, source: str | None = None) -> str:
    """What :func:`resolve_job_style` chose, as one line: ``"style from the description 'a jig': irish 100%"``,
    ``"style from ref.mid: chorale 80%, irish 20%"`` (``source`` is the description or names the example),
    or ``"style irish 70%, chorale 30%"`` for a name or a mix."""
    from symbolic.styles.words import describe_mix

    words = describe_mix(weights)
    if found_from == "words":
        return f"style from the description {source!r}: {words}"
    if found_from == "example":
        return f"style from {source or 'the example piece'}: {words}"
    return f"style {words}"


def describe_mix_instruments(weights: dict[str, float]) -> str:
    """For a mix of several styles, whose instruments the new parts take (the lead style's,
    :func:`symbolic.styles.mix.lead_style`), as a clause: ``"the new parts' instruments are irish's (the
    largest share)"``; ``""`` for one style."""
    from symbolic.styles.mix import lead_style

    if len(weights) < 2:
        return ""
    return f"the new parts' instruments are {lead_style(weights)}'s (the largest share)"
