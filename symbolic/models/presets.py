"""Named model and training sizes: ``tiny`` (tests, minutes), ``small``, ``default`` (the shipped model)."""

from __future__ import annotations

from symbolic.errors import ConfigError

__all__ = ["PRESETS", "preset"]

PRESETS: dict[str, dict[str, dict]] = {
    "tiny": {
        "gpt": {"context_length": 256, "n_layer": 2, "n_head": 4, "n_embd": 128, "dropout": 0.1},
        "lstm": {"context_length": 256, "n_layer": 1, "n_head": 4, "n_embd": 128, "dropout": 0.1},
        "train": {"batch_size": 16, "learning_rate": 2e-3, "min_learning_rate": 2e-4, "warmup_steps": 30,
                  "max_steps": 400, "eval_every": 50, "patience": 4},
    },
    "small": {
        "gpt": {"context_length": 512, "n_layer": 4, "n_head": 4, "n_embd": 256, "dropout": 0.1},
        "lstm": {"context_length": 512, "n_layer": 2, "n_head": 4, "n_embd": 256, "dropout": 0.1},
        "train": {"batch_size": 16, "learning_rate": 1e-3, "min_learning_rate": 1e-4, "warmup_steps": 100,
                  "max_steps": 3000, "eval_every": 100, "patience": 5},
    },
    "default": {  # the shipped model: 1,200 steps, about 65 minutes on one thread here
        "gpt": {"context_length": 512, "n_layer": 4, "n_head": 4, "n_embd": 256, "dropout": 0.1},
        "lstm": {"context_length": 512, "n_layer": 2, "n_head": 4, "n_embd": 256, "dropout": 0.1},
        "train": {"batch_size": 16, "learning_rate": 1e-3, "min_learning_rate": 1e-4, "warmup_steps": 100,
                  "max_steps": 1200, "eval_every": 100, "eval_batches": 16, "patience": 5},
    },
}


def preset(name: str, kind: str) -> tuple[dict, dict]:
    """``(model settings, train settings)`` of a preset for model ``kind`` (``"gpt"`` or ``"lstm"``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if kind not in PRESETS[name]:
        raise ConfigError(f"unknown model kind {kind!r}; choose gpt or lstm")
    return dict(PRESETS[name][kind]), dict(PRESETS[name]["train"])
