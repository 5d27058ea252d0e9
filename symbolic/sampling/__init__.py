"""Sampling from a decoder, generic and HF-shaped.

Verbs: :func:`~symbolic.sampling.generate.generate` (a batch of continuations under a
:class:`~symbolic.sampling.generate.GenerationConfig`),
:class:`~symbolic.sampling.session.DecodingSession` (cache, guidance rows, sliding window),
:func:`~symbolic.sampling.processors.compose` (logits processors: ``Temperature``, ``TopK``,
``TopP``, ``GrammarMask``, ``MinNewTokens``, ``Guidance``).

Needs torch.
"""
