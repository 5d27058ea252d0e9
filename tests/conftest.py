"""Shared fixtures: edge-case files, tokenizers, small scores, a tiny built data set."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import torch

from symbolic.score import Note, Score, TempoChange, TimeSignature, Track
from symbolic.tokenization.events import EventTokenizer

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def tokenizer() -> EventTokenizer:
    return EventTokenizer()


def random_score(seed: int, n_tracks: int = 3, n_notes: int = 60, tpb: int = 480, meters: bool = True) -> Score:
    """A seeded multi-track score with drums, chords, tempo and meter changes."""
    rng = random.Random(seed)
    score = Score(ticks_per_beat=tpb)
    for t in range(n_tracks):
        track = Track(program=rng.randrange(128), is_drum=(t == n_tracks - 1 and n_tracks > 1))
        for _ in range(n_notes):
            onset = rng.randrange(0, 40 * tpb)
            track.notes.append(Note(onset, rng.randrange(1, 6 * tpb), rng.randrange(20, 110), rng.randrange(1, 128)))
        score.tracks.append(track)
    score.tempos = [TempoChange(0, 500_000), TempoChange(rng.randrange(1, 30 * tpb), rng.randrange(300_000, 900_000))]
    if meters:
        score.time_signatures = [TimeSignature(0, 4, 4), TimeSignature(8 * tpb, 3, 4),
                                 TimeSignature(8 * tpb + 4 * tpb + tpb // 2, 6, 8)]
    return score.sort()


@pytest.fixture
def score() -> Score:
    return random_score(0)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A data set built from 3 chorales and 3 Irish tunes of the music21 corpus."""
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_music21_pieces

    out = tmp_path_factory.mktemp("tiny_dataset")
    pieces = list_music21_pieces(["chorale", "irish"])
    build_dataset(pieces, out, EventTokenizer(), BuildConfig(workers=2, limit_per_style=3, valid_percent=30,
                                                              test_percent=30), progress=False)
    return out


class RecordingDecoder(torch.nn.Module):
    """A decoder that wraps another, records every call (ids and style weights) and can add a fixed bias to
    the logits it returns (to make a token the sure choice)."""

    def __init__(self, inner, bias: dict[int, float] | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.bias = bias or {}
        self.calls: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    @property
    def config(self):
        return self.inner.config

    def new_cache(self, rows: int):
        return self.inner.new_cache(rows)

    def forward(self, ids, style_ids=None, style_weights=None, cache=None):
        self.calls.append((ids.clone(), None if style_weights is None else style_weights.clone()))
        logits, other = self.inner(ids, style_ids, style_weights=style_weights, cache=cache)
        for token, value in self.bias.items():
            logits[..., token] += value
        return logits, other


def tiny_gpt(tokenizer: EventTokenizer, context_length: int = 96, seed: int = 0):
    """An untrained one-layer GPT for the event tokenizer, in eval mode."""
    from symbolic.models.gpt import GPT, GPTConfig

    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=tokenizer.vocab_size, n_styles=len(tokenizer.vocab.styles),
                         context_length=context_length, n_layer=1, n_head=2, n_embd=32)).eval()
