"""Style-conditioned decoders (GPT and LSTM with masked attention), their training and checkpoints.

Verbs: :func:`~symbolic.models.training.train`,
:func:`~symbolic.models.checkpoint.save_checkpoint` / :func:`~symbolic.models.checkpoint.load_checkpoint`,
:func:`~symbolic.models.pretrained.load_decoder` / :func:`~symbolic.models.pretrained.export_decoder`,
:func:`~symbolic.models.scoring.sequence_nll`, :func:`~symbolic.models.classifier.classify_scores`.
Sampling from a decoder is :mod:`symbolic.sampling`.

Importing this package imports torch.
"""

from symbolic.models.gpt import GPT, GPTConfig
from symbolic.models.lstm import LSTMConfig, LSTMDecoder

__all__ = [
    "GPT",
    "GPTConfig",
    "LSTMDecoder",
    "LSTMConfig",
]
