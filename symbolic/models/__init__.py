"""Style-conditioned decoders (GPT and LSTM with masked attention), sampling and training.

Importing this package imports torch.
"""

from symbolic.models.gpt import GPT, GPTConfig
from symbolic.models.lstm import LSTMConfig, LSTMDecoder
from symbolic.models.sampling import (
    GenerationConfig,
    GrammarMask,
    Guidance,
    StepContext,
    Temperature,
    TopK,
    TopP,
    compose,
    generate,
)

__all__ = [
    "GPT",
    "GPTConfig",
    "LSTMDecoder",
    "LSTMConfig",
    "GenerationConfig",
    "generate",
    "compose",
    "StepContext",
    "Temperature",
    "TopK",
    "TopP",
    "GrammarMask",
    "Guidance",
]
