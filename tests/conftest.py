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


def _drums(first_beat: int, last_beat: int, tpb: int, seed: int) -> Track:
    """Kick on odd beats, snare on even ones, eighth hi-hats (GM keys 36, 38, 42)."""
    rng = random.Random(seed)
    notes = []
    for beat in range(first_beat, last_beat):
        notes.append(Note(beat * tpb, tpb // 4, 36 if beat % 2 == 0 else 38, rng.randrange(80, 120)))
        notes += [Note(beat * tpb + half, tpb // 4, 42, rng.randrange(50, 90)) for half in (0, tpb // 2)]
    return Track(program=0, is_drum=True, notes=notes)


def multitrack_songs(seed: int = 0) -> dict[str, list[Score]]:
    """Long multi-track pieces in two styles, for training-window and generation tests.

    ``pop``: POP909 songs 1-4 (melody, bridge, piano), cut to 96 beats, with a
    drum track, a bass line and (song 2) a meter change to 3/4 and tempo changes.
    ``piano``: three seeded piano pieces in 3/4 then 6/8, with tempo changes.
    """
    from symbolic.inputs.midi import read_midi
    from symbolic.resources import shared_data_dir

    rng = random.Random(seed)
    out: dict[str, list[Score]] = {"pop": [], "piano": []}
    for number in (1, 2, 3, 4):
        song = read_midi(shared_data_dir() / "pop909" / f"{number:03d}" / f"{number:03d}.mid")
        tpb, end = song.ticks_per_beat, 96 * song.ticks_per_beat
        start = min(n.onset_ticks for t in song.tracks for n in t.notes) // tpb * tpb
        score = Score(ticks_per_beat=tpb, tempos=[TempoChange(0, 600_000)])
        for track in song.tracks:
            notes = [Note(n.onset_ticks - start, n.duration_ticks, n.pitch, n.velocity) for n in track.notes
                     if start <= n.onset_ticks < start + end]
            score.tracks.append(Track(program=track.program, notes=notes))
        score.tracks.append(Track(program=33, notes=[Note(b * tpb, tpb, 40 + (b // 4) % 5, 90) for b in range(96)]))
        score.tracks.append(_drums(0, 96, tpb, number))
        if number == 2:
            score.time_signatures = [TimeSignature(0, 4, 4), TimeSignature(16 * tpb, 3, 4)]
            score.tempos += [TempoChange(8 * tpb, 450_000), TempoChange(22 * tpb + tpb // 2, 520_000)]
        out["pop"].append(score.sort())
    for k in range(3):
        tpb = 480
        score = Score(ticks_per_beat=tpb, time_signatures=[TimeSignature(0, 3, 4), TimeSignature(24 * tpb, 6, 8)],
                      tempos=[TempoChange(0, 700_000), TempoChange(12 * tpb, 650_000)])
        right = Track(program=0, notes=[Note(i * tpb // 2, tpb // 2, 60 + rng.choice((0, 2, 4, 5, 7, 9, 11, 12)),
                                             rng.randrange(60, 100)) for i in range(192)])
        left = Track(program=0, notes=[Note(i * tpb, tpb, 43 + rng.choice((0, 4, 7)), 70) for i in range(96)])
        score.tracks = [right, left]
        out["piano"].append(score.sort())
    return out


@pytest.fixture(scope="session")
def multitrack_dataset(tmp_path_factory) -> Path:
    """A data set built from :func:`multitrack_songs` written as MIDI files, one folder per style."""
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_midi_dir_pieces
    from symbolic.outputs.midi import write_midi
    from symbolic.tokenization.vocab import EventTokenizerConfig

    root = tmp_path_factory.mktemp("multitrack")
    for style, scores in multitrack_songs().items():
        (root / "midi" / style).mkdir(parents=True)
        for i, score in enumerate(scores):
            write_midi(score, root / "midi" / style / f"{style}{i}.mid")
    tokenizer = EventTokenizer(EventTokenizerConfig(styles=("pop", "piano")))
    build_dataset(list_midi_dir_pieces(root / "midi"), root / "data", tokenizer,
                  BuildConfig(workers=1, valid_percent=30, test_percent=0), progress=False)
    return root / "data"


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
