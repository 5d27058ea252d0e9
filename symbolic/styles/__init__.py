"""Styles as data: what each corpus style is, sounds like, and is called.

Verbs: :func:`~symbolic.styles.registry.style_spec` and
:func:`~symbolic.styles.registry.texture_of` (a style's declaration and ensemble),
:func:`~symbolic.styles.mix.resolve_style` and
:func:`~symbolic.styles.mix.parse_style_mix` (a mix from text),
:func:`~symbolic.styles.words.style_from_text` (a mix from a description),
:func:`~symbolic.styles.words.describe_mix`,
:func:`~symbolic.styles.texture.parse_instruments`.

Pure data and text: importing it needs neither torch nor a tokenizer.
"""
