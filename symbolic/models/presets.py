"""Named model and training sizes: ``tiny`` (tests, minutes), ``small``, ``default`` (the shipped model),
``pop6`` (the six-style model with pop: a longer context for dense pop piano).

Each :class:`Preset` holds a :class:`ModelSize` per decoder kind and a
:class:`~symbolic.models.training.TrainConfig`; :func:`preset` picks one and
applies overrides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from symbolic.errors import ConfigError
from symbolic.models.training import TrainConfig

__all__ = ["ModelSize", "Preset", "PRESETS", "preset"]


@dataclass(frozen=True)
class ModelSize:
    """A decoder's size (the fields of :class:`~symbolic.models.base.DecoderConfig` that a preset sets)."""

    context_length: int
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if min(self.context_length, self.n_layer, self.n_head, self.n_embd) < 1 or self.n_embd % self.n_head:
            raise ConfigError(f"{self}: sizes must be >= 1 and n_embd a multiple of n_head")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout} must be in [0, 1)")

    def settings(self) -> dict:
        """The sizes as keyword arguments of a decoder config."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Preset:
    """A decoder size per kind and the training schedule that goes with them."""

    gpt: ModelSize
    lstm: ModelSize
    train: TrainConfig


PRESETS: dict[str, Preset] = {
    "tiny": Preset(ModelSize(256, 2, 4, 128), ModelSize(256, 1, 4, 128),
                   TrainConfig(batch_size=16, learning_rate=2e-3, min_learning_rate=2e-4, warmup_steps=30,
                               max_steps=400, eval_every=50, patience=4)),
    "small": Preset(ModelSize(512, 4, 4, 256), ModelSize(512, 2, 4, 256),
                    TrainConfig(batch_size=16, learning_rate=1e-3, min_learning_rate=1e-4, warmup_steps=100,
                                max_steps=3000, eval_every=100, patience=5)),
    # the shipped model: 1,200 steps, about 65 minutes on one thread here
    "default": Preset(ModelSize(512, 4, 4, 256), ModelSize(512, 2, 4, 256),
                      TrainConfig(batch_size=16, learning_rate=1e-3, min_learning_rate=1e-4, warmup_steps=100,
                                  max_steps=1200, eval_every=100, eval_batches=16, patience=5)),
    # the six-style model (corpus + POP909): a POP909 bar is 80 tokens on average (90th percentile 118), so 1,024
    # tokens hold about 13 pop bars (512: 6); 8 windows a step keep the shipped model's 8,192 tokens a step; six
    # layers of width 256 are 5.3 M parameters, 21 MB of float32 weights (docs/results/pop6-model.md)
    "pop6": Preset(ModelSize(1024, 6, 4, 256), ModelSize(1024, 2, 4, 256),
                   TrainConfig(batch_size=8, learning_rate=1e-3, min_learning_rate=1e-4, warmup_steps=200,
                               max_steps=6000, eval_every=200, eval_batches=16, patience=5)),
}


def preset(name: str, kind: str, **train_overrides) -> tuple[ModelSize, TrainConfig]:
    """``(model size, train config)`` of preset ``name`` for decoder ``kind`` (``"gpt"`` or ``"lstm"``).

    ``train_overrides`` replace fields of the preset's :class:`TrainConfig` (``None`` values are
    ignored); a learning rate set below the preset's final rate takes a tenth of itself as the final rate.

    Raises:
        ConfigError: an unknown preset or kind, or overrides the train config refuses.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if kind not in ("gpt", "lstm"):
        raise ConfigError(f"unknown model kind {kind!r}; choose gpt or lstm")
    chosen = PRESETS[name]
    changes = {key: value for key, value in train_overrides.items() if value is not None}
    rate = changes.get("learning_rate", chosen.train.learning_rate)
    if changes.get("min_learning_rate", chosen.train.min_learning_rate) > rate:
        changes["min_learning_rate"] = rate / 10
    return getattr(chosen, kind), dataclasses.replace(chosen.train, **changes)
