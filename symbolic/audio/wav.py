"""WAV files: 16-bit PCM or 32-bit float, written atomically."""

from __future__ import annotations

import io
import os

import numpy as np

from symbolic.errors import ConfigError, DataError
from symbolic.utils import atomic_write_bytes

__all__ = ["write_wav", "read_wav"]


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, float32: bool = False) -> None:
    """Write float audio in [-1, 1], ``(n_samples,)`` or ``(n_samples, channels)``, as 16-bit PCM (default) or float."""
    from scipy.io import wavfile

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim not in (1, 2):
        raise ConfigError(f"audio must be (n_samples,) or (n_samples, channels); got shape {audio.shape}")
    data = audio if float32 else (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)
    buffer = io.BytesIO()
    wavfile.write(buffer, int(sample_rate), data)
    atomic_write_bytes(path, buffer.getvalue())


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Float32 audio in [-1, 1] (shape as stored) and the sample rate."""
    from scipy.io import wavfile

    try:
        rate, data = wavfile.read(str(path))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable WAV file ({exc})") from None
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    return data.astype(np.float32, copy=False), int(rate)
