"""Models of binary note frames, frame by frame, for the polyphonic benchmark.

``p(x_{t+1} | x_{<=t})`` for binary frames ``x_t`` in {0, 1}^n over ``n`` consecutive
MIDI pitches (``n_pitches`` units from ``lowest_pitch``): by default the 78-pitch note
roll of scores (MIDI 24..101); the benchmark models its files as they are, all 88 keys
(MIDI 21..108):

* time axis: an LSTM over past frames, or a GPT-style causal transformer over them;
* pitch axis, given the time context ``h_t``:
  - ``independent``: one sigmoid per pitch (the classic RNN baseline);
  - ``made``: a conditional MADE, autoregressive over pitches from low to high
    (each pitch sees the time context and the pitches below it in the same frame),
    a NADE-style head in one forward pass (Germain et al. 2015, as in
    Boulanger-Lewandowski's RNN-NADE, which predicts a frame's notes one after another).

A model gives probability 0 to a note outside its units;
:func:`symbolic.polyphonic.bench.frame_nll` counts a piece that sounds one.

A model may also be told, at every frame, by how many semitones its input was
transposed (``transpositions``: training shifts pieces by up to that many semitones
either way; evaluation and sampling say 0).  Trained on transposed pieces without
being told, a model learns a mixture of keys and spreads its probability over them,
while the benchmark files are all in C major or C minor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symbolic.errors import ConfigError
from symbolic.models.gpt import Block
from symbolic.tokenization.roll import LOWEST_PITCH, N_PITCHES

__all__ = ["RollModelConfig", "RollModel", "TIME_AXES", "PITCH_HEADS"]

TIME_AXES = ("lstm", "gpt")
PITCH_HEADS = ("independent", "made")


@dataclass(frozen=True)
class RollModelConfig:
    """A roll model: time axis, pitch head and sizes.

    Attributes:
        time_axis: ``"lstm"`` or ``"gpt"`` (a causal transformer over frames).
        pitch_head: ``"independent"`` or ``"made"``.
        hidden: width of the time axis.
        n_layer: layers of the time axis.
        n_head: attention heads (``gpt`` only).
        made_hidden: hidden units of each MADE layer.
        made_layers: hidden layers of the MADE.
        dropout: dropout on the time axis outputs and the MADE hidden layers.
        context_length: longest frame window (``gpt`` positions).
        lowest_pitch: MIDI pitch of unit 0.
        n_pitches: units per frame (consecutive pitches from ``lowest_pitch``).
        transpositions: the model reads, with every frame, a one-hot of the transposition of its
            input in ``[-transpositions, transpositions]`` semitones (0: not told).
    """

    time_axis: Literal["lstm", "gpt"] = "lstm"
    pitch_head: Literal["independent", "made"] = "made"
    hidden: int = 256
    n_layer: int = 2
    n_head: int = 4
    made_hidden: int = 512
    made_layers: int = 2
    dropout: float = 0.3
    context_length: int = 1024
    lowest_pitch: int = LOWEST_PITCH
    n_pitches: int = N_PITCHES
    transpositions: int = 0

    def __post_init__(self) -> None:
        if self.time_axis not in TIME_AXES:
            raise ConfigError(f"time_axis={self.time_axis!r}; choose one of {', '.join(TIME_AXES)}")
        if self.pitch_head not in PITCH_HEADS:
            raise ConfigError(f"pitch_head={self.pitch_head!r}; choose one of {', '.join(PITCH_HEADS)}")
        if self.hidden < 8 or self.n_layer < 1 or self.made_hidden < 8 or self.made_layers < 1:
            raise ConfigError("hidden, made_hidden >= 8 and n_layer, made_layers >= 1")
        if self.time_axis == "gpt" and self.hidden % self.n_head:
            raise ConfigError(f"hidden={self.hidden} must be a multiple of n_head={self.n_head}")
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout must be in [0, 1)")
        if self.n_pitches < 2 or self.lowest_pitch < 0 or self.lowest_pitch + self.n_pitches > 128:
            raise ConfigError(f"units MIDI {self.lowest_pitch}..{self.lowest_pitch + self.n_pitches - 1}: "
                              "need at least 2 units inside MIDI 0..127")
        if not 0 <= self.transpositions < self.n_pitches:
            raise ConfigError(f"transpositions={self.transpositions}; must be in [0, n_pitches)")

    @property
    def n_inputs(self) -> int:
        """Inputs of the time axis per frame: the units, then the transposition one-hot (if any)."""
        return self.n_pitches + (2 * self.transpositions + 1 if self.transpositions else 0)


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask ``(out, in)``."""

    def __init__(self, n_in: int, n_out: int, mask: torch.Tensor) -> None:
        super().__init__(n_in, n_out)
        self.register_buffer("mask", mask.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


class ConditionalMADE(nn.Module):
    """Autoregressive over ``d`` pitches (low to high), conditioned on a context vector."""

    def __init__(self, d: int, context: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        degrees_in = torch.arange(1, d + 1)
        hidden_degrees = [torch.arange(hidden) % (d - 1) + 1 for _ in range(layers)]  # 1..d-1, spread evenly
        sizes = [degrees_in] + hidden_degrees
        self.layers = nn.ModuleList()
        self.conditions = nn.ModuleList()
        for prev, cur in zip(sizes[:-1], sizes[1:]):
            self.layers.append(MaskedLinear(len(prev), len(cur), cur[:, None] >= prev[None, :]))
            self.conditions.append(nn.Linear(context, len(cur), bias=False))
        self.output = MaskedLinear(hidden, d, degrees_in[:, None] > hidden_degrees[-1][None, :])
        self.direct = MaskedLinear(d, d, degrees_in[:, None] > degrees_in[None, :])  # x_<k -> k
        self.context_out = nn.Linear(context, d)
        self.drop = nn.Dropout(dropout)

    def context_terms(self, context: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The context's contribution to every layer (computed once per frame, reused pitch by pitch)."""
        return [condition(context) for condition in self.conditions], self.context_out(context)

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                terms: tuple[list[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Logits ``(..., d)`` of each pitch given the pitches below it in ``x`` and ``context``."""
        conditions, out_bias = terms if terms is not None else self.context_terms(context)
        h = x
        for layer, condition in zip(self.layers, conditions):
            h = self.drop(F.relu(layer(h) + condition))
        return self.output(h) + self.direct(x) + out_bias


class RollModel(nn.Module):
    """``forward(frames)`` -> logits of the next frame at every position.

    ``frames``: float ``(B, T, n_pitches)`` in {0, 1}.  ``logits[:, t]`` ``(B, T, n_pitches)``
    scores ``frames[:, t + 1]`` (the MADE head reads ``targets``, the true next frames, for
    the pitches below each one; pass them as ``targets`` ``(B, T, n_pitches)``).  ``shift``:
    int ``(B,)`` semitones each piece was transposed by (models with ``transpositions``;
    ``None`` means 0).
    """

    def __init__(self, config: RollModelConfig) -> None:
        super().__init__()
        self.config = config
        h, d = config.hidden, config.n_pitches
        self.start = nn.Parameter(torch.zeros(d))  # the frame "before" the first one
        if config.time_axis == "lstm":
            self.rnn = nn.LSTM(config.n_inputs, h, num_layers=config.n_layer, batch_first=True,
                               dropout=config.dropout if config.n_layer > 1 else 0.0)
        else:
            self.inp = nn.Linear(config.n_inputs, h)
            self.pos = nn.Embedding(config.context_length, h)
            attn_config = _AttnConfig(h, config.n_head, config.dropout)
            self.blocks = nn.ModuleList(Block(attn_config) for _ in range(config.n_layer))
            self.ln = nn.LayerNorm(h)
        self.drop = nn.Dropout(config.dropout)
        if config.pitch_head == "made":
            self.head = ConditionalMADE(d, h, config.made_hidden, config.made_layers, config.dropout)
        else:
            self.head = nn.Linear(h, d)
            # A direct path from the current frame: logistic regression on the previous frame is a strong
            # baseline on these data (9.03 on JSB), which the LSTM then only has to improve on.
            self.skip = nn.Linear(d, d, bias=False)
            nn.init.zeros_(self.skip.weight)

    def context(self, frames: torch.Tensor, shift: torch.Tensor | None = None) -> torch.Tensor:
        """Time-axis states ``(B, T, hidden)``; state ``t`` has seen frames ``<= t``."""
        k = self.config.transpositions
        if k:
            shift = torch.zeros(frames.shape[0], dtype=torch.long) if shift is None else shift.long()
            told = F.one_hot(shift + k, 2 * k + 1).float()[:, None].expand(-1, frames.shape[1], -1)
            frames = torch.cat([frames, told], dim=-1)
        if self.config.time_axis == "lstm":
            out, _ = self.rnn(frames)
        else:
            t = frames.shape[1]
            if t > self.config.context_length:
                raise ConfigError(f"{t} frames exceed context_length={self.config.context_length}")
            out = self.inp(frames) + self.pos(torch.arange(t, device=frames.device))
            for block in self.blocks:
                out = block(out, None, 0)
            out = self.ln(out)
        return self.drop(out)

    def forward(self, frames: torch.Tensor, targets: torch.Tensor | None = None,
                shift: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, T, n_pitches)`` of frame ``t + 1`` given frames ``<= t``."""
        ctx = self.context(frames, shift)
        if self.config.pitch_head == "made":
            if targets is None:
                raise ConfigError("the MADE head needs the target frames (the pitches below each one)")
            return self.head(targets, ctx)
        return self.head(ctx) + self.skip(frames)

    @torch.no_grad()
    def predict_frame(self, ctx: torch.Tensor, sample: bool, generator: torch.Generator | None = None,
                      frames: torch.Tensor | None = None) -> torch.Tensor:
        """The next frame ``(N, n_pitches)`` from contexts ``(N, hidden)`` (and, for the independent head,
        the current frames ``(N, n_pitches)``): ancestral over pitches for MADE (``sample`` draws, else each pitch is on
        when its probability exceeds 0.5)."""
        if self.config.pitch_head != "made":
            logits = self.head(ctx) + (self.skip(frames) if frames is not None else 0)
            p = torch.sigmoid(logits)
            return (torch.rand(p.shape, generator=generator) < p).float() if sample else (p > 0.5).float()
        d = self.config.n_pitches
        x = torch.zeros(ctx.shape[0], d)
        terms = self.head.context_terms(ctx)
        logits = self.head(x, ctx, terms)
        for k in range(d):
            p = torch.sigmoid(logits[:, k])
            on = (torch.rand(p.shape, generator=generator) < p) if sample else (p > 0.5)
            x[:, k] = on.float()
            rows = torch.nonzero(on).squeeze(1)
            # Pitch k + 1 depends on the pitches below it: only rows where pitch k came out on changed.
            if len(rows) and k + 1 < d:
                row_terms = ([c[rows] for c in terms[0]], terms[1][rows])
                logits[rows] = self.head(x[rows], ctx[rows], row_terms)
        return x

    @torch.no_grad()
    def sample(self, n_frames: int, seed: int = 0, first: np.ndarray | None = None) -> np.ndarray:
        """A new piece: bool ``(n_frames, n_pitches)``, starting from ``first`` (a frame) or from the learned start."""
        generator = torch.Generator().manual_seed(seed)
        self.eval()
        frames = [torch.as_tensor(first, dtype=torch.float32) if first is not None else (self.start > 0).float()]
        for _ in range(n_frames - 1):
            window = torch.stack(frames[-self.config.context_length:])[None]
            ctx = self.context(window)[:, -1]
            frames.append(self.predict_frame(ctx, sample=True, generator=generator, frames=window[:, -1])[0])
        return torch.stack(frames).numpy().astype(bool)


@dataclass(frozen=True)
class _AttnConfig:
    """What :class:`~symbolic.models.gpt.Block` reads of a config."""

    n_embd: int
    n_head: int
    dropout: float
