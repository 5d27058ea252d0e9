"""``MinBars``: no EOS before a sequence has N new bars (a logits processor).

Self-contained so it moves with the sampling loop; the loop's only duty is to
pass each row's count of sampled ``Bar`` tokens as ``StepContext.new_bars``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from symbolic.errors import ConfigError

__all__ = ["MinBars"]


@dataclass(frozen=True)
class MinBars:
    """Forbid ``eos_id`` in every row that has sampled fewer than ``min_bars`` ``Bar`` tokens.

    A sequence that ends after its N-th new ``Bar`` holds N new bars (EOS closes
    the last one), so EOS becomes possible once the count reaches ``min_bars``.
    Bars count as ``Bar`` tokens, as ``GenerationConfig.max_bars`` counts them (a
    bar longer than ``max_bar_beats`` counts once per chunk).  The grammar allows
    EOS only where it also allows ``Bar`` (or a header ``Track``), so a row is never
    left with nothing allowed; a row that would be is passed through unchanged.
    Like HF's ``MinNewTokensLengthLogitsProcessor``, but counted in bars.

    Reads ``context.new_bars``: a sequence of ints, one per row (``None``: a no-op).

    Args:
        min_bars: bars before EOS is allowed (>= 0; 0 is a no-op).
        eos_id: the EOS token id.
    """

    min_bars: int
    eos_id: int

    def __post_init__(self) -> None:
        if self.min_bars < 0:
            raise ConfigError(f"min_bars={self.min_bars} must be >= 0")

    def __call__(self, logits: torch.Tensor, context) -> torch.Tensor:
        new_bars = getattr(context, "new_bars", None)
        if not self.min_bars or new_bars is None:
            return logits
        short = torch.tensor([n < self.min_bars for n in new_bars], dtype=torch.bool, device=logits.device)
        masked = logits.clone()
        masked[short, self.eos_id] = float("-inf")
        keep = torch.isfinite(masked).any(dim=-1, keepdim=True)
        return torch.where(keep, masked, logits)
