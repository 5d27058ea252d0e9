"""Is a trained decoder writing music?  Sample a few pieces per style and count what came out.

Run at the end of ``symbolic train`` (and usable on any checkpoint): a model
whose validation loss looks fine can still end most pieces before their first
note, which only sampling shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from symbolic.errors import ConfigError
from symbolic.sampling.config import GenerationConfig
from symbolic.sampling.generate import generate
from symbolic.tokenization.grammar import GrammarState
from symbolic.tokenization.vocab import NO_STYLE, TokenType

__all__ = ["SampleCheckConfig", "StyleSampleCheck", "SampleCheck", "check_samples", "grammar_mass"]


@dataclass(frozen=True)
class SampleCheckConfig:
    """How to check a decoder by sampling.

    Attributes:
        samples_per_style: pieces sampled per style, with the grammar mask (as ``generate`` samples them).
        bars: new bars per piece at most (EOS may come earlier: that is what is checked).
        max_new_tokens: bound on sampled tokens per piece.
        temperature: sampling temperature.
        empty_share_warning: the check warns when more than this share of the masked samples hold no note.
        seed: sampling seed.
    """

    samples_per_style: int = 3
    bars: int = 4
    max_new_tokens: int = 512
    temperature: float = 1.0
    empty_share_warning: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.samples_per_style < 1 or self.bars < 1 or self.max_new_tokens < 1:
            raise ConfigError("samples_per_style, bars and max_new_tokens must be >= 1")
        if not 0 <= self.empty_share_warning < 1:
            raise ConfigError(f"empty_share_warning={self.empty_share_warning} must be in [0, 1)")


@dataclass(frozen=True)
class StyleSampleCheck:
    """What the samples of one style held.

    Attributes:
        style: the style name.
        samples: masked samples drawn.
        empty: masked samples with no note.
        notes_per_bar: notes over bars of the masked samples (0.0 when they hold no bar).
        bars_per_sample: mean new bars of the masked samples.
        declared_tracks: mean tracks declared in the masked samples' headers.
        grammar_skips: expected tokens that break the grammar (and that decoding would skip) had the
            samples been drawn without the mask: the model's probability outside the grammar, summed
            over the sampled tokens (see :func:`grammar_mass`).
        sampled_tokens: tokens sampled, for the skip rate.
    """

    style: str
    samples: int
    empty: int
    notes_per_bar: float
    bars_per_sample: float
    declared_tracks: float
    grammar_skips: float
    sampled_tokens: int


@dataclass(frozen=True)
class SampleCheck:
    """The check of every style, and whether to warn."""

    styles: list[StyleSampleCheck]
    config: SampleCheckConfig = field(default_factory=SampleCheckConfig)

    @property
    def empty_share(self) -> float:
        """Share of masked samples with no note (0.0 with no samples)."""
        samples = sum(s.samples for s in self.styles)
        return sum(s.empty for s in self.styles) / samples if samples else 0.0

    @property
    def mostly_empty(self) -> bool:
        """Whether more than ``config.empty_share_warning`` of the samples hold no note."""
        return self.empty_share > self.config.empty_share_warning

    def lines(self) -> list[str]:
        """One readable line per style, then a loud warning line when the samples are mostly empty."""
        out = [f"  {s.style}: {s.empty}/{s.samples} empty, {s.notes_per_bar:.1f} notes/bar over "
               f"{s.bars_per_sample:.1f} bars, {s.declared_tracks:.1f} tracks declared; "
               f"{s.grammar_skips:.1f} grammar skips expected unmasked in {s.sampled_tokens} tokens"
               for s in self.styles]
        if self.mostly_empty:
            out.append(f"WARNING: {self.empty_share:.0%} of the samples hold no note: this model writes empty "
                       "files. Train longer, on more pieces, or check that the data set's pieces hold notes.")
        return out


@torch.no_grad()
def grammar_mass(model: torch.nn.Module, sequences: list[list[int]], prompt_length: int, style_id: int,
                 vocab) -> float:
    """The model's probability outside the grammar, summed over the sampled tokens of ``sequences``.

    For each grammatical sequence, one forward pass over its first ``context_length``
    tokens gives the next-token distribution at every sampled position; the mass
    it puts on ids the grammar mask forbids there is the chance that an unmasked
    sampler writes a token decoding would skip (or, in a drum slot, a key outside
    the percussion map).  The sum is the expected number of such tokens (0.0 for
    no sampled token).

    Args:
        model: the decoder.
        sequences: grammatical id lists, each starting with the same ``prompt_length`` prompt ids.
        prompt_length: ids of the prompt (not counted).
        style_id: style index the sequences were sampled in.
        vocab: the tokenizer vocabulary.
    """
    total = 0.0
    length = model.config.context_length
    for seq in sequences:
        seq = seq[:length]
        if len(seq) <= prompt_length:
            continue
        logits, _ = model(torch.tensor([seq[:-1]]), torch.tensor([style_id]))
        probs = torch.softmax(logits[0].float(), dim=-1)
        state = GrammarState(vocab).advance_all(seq[:prompt_length])
        for t in range(prompt_length - 1, len(seq) - 1):
            allowed = torch.from_numpy(state.allowed())
            total += float(probs[t][~allowed].sum())
            state.advance(seq[t + 1])
    return total


def _summarise(style: str, masked: list[list[int]], skips: float, prompt: int, vocab) -> StyleSampleCheck:
    types = vocab.types
    notes = [sum(types[t] == TokenType.DURATION for t in s[prompt:]) for s in masked]
    bars = [sum(types[t] == TokenType.BAR for t in s[prompt:]) for s in masked]
    tracks = [sum(types[t] == TokenType.PROGRAM for t in s) for s in masked]
    return StyleSampleCheck(
        style=style, samples=len(masked), empty=sum(n == 0 for n in notes),
        notes_per_bar=sum(notes) / sum(bars) if sum(bars) else 0.0,
        bars_per_sample=sum(bars) / len(masked), declared_tracks=sum(tracks) / len(masked),
        grammar_skips=skips, sampled_tokens=sum(len(s) - prompt for s in masked))


def check_samples(model: torch.nn.Module, tokenizer, config: SampleCheckConfig | None = None) -> SampleCheck:
    """Sample ``config.samples_per_style`` pieces per style of ``tokenizer`` from ``BOS Style`` and count notes.

    Args:
        model: a decoder (put in eval mode here).
        tokenizer: its :class:`~symbolic.tokenization.events.EventTokenizer`.
        config: the check's settings.

    Sampling runs on one torch thread (a few short sequences: more threads only add overhead).

    Returns:
        A :class:`SampleCheck`, one entry per style (``"none"`` is checked only when
        the tokenizer has no other style).
    """
    return _check(model, tokenizer, config or SampleCheckConfig())


def _check(model: torch.nn.Module, tokenizer, config: SampleCheckConfig) -> SampleCheck:
    vocab = tokenizer.vocab
    model.eval()
    styles = [s for s in vocab.styles if s != NO_STYLE] or [NO_STYLE]
    out = []
    for style in styles:
        index = vocab.styles.index(style)
        prompt = [vocab.bos_id, vocab.style_id(None if style == NO_STYLE else style)]
        gen = GenerationConfig(max_new_tokens=config.max_new_tokens, max_bars=config.bars,
                               temperature=config.temperature, seed=config.seed)
        samples = generate(model, tokenizer, prompt, gen, batch_size=config.samples_per_style,
                           style_ids=torch.full((config.samples_per_style,), index, dtype=torch.long), threads=1)
        skips = grammar_mass(model, samples, len(prompt), index, vocab)
        out.append(_summarise(style, samples, skips, len(prompt), vocab))
    return SampleCheck(out, config)
