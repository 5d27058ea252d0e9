"""Spectral features in torch, batched, with librosa's names and defaults.

Conventions match librosa 0.10+: periodic Hann window, centred frames with
zero padding, Slaney mel scale with Slaney area normalisation, ``power_to_db``
with ``ref=1.0, amin=1e-10, top_db=80``, and the orthonormal DCT-II for MFCC.
The tests compare every function with librosa on rendered audio.

Inputs are float ``(..., n_samples)`` arrays or tensors (stereo: average first,
see :func:`to_mono`); outputs are float32 tensors ``(..., n_bins, n_frames)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from symbolic.errors import ConfigError

__all__ = ["to_mono", "stft_magnitude", "mel_filterbank", "melspectrogram", "power_to_db", "log_mel", "mfcc",
           "spectral_centroid", "spectral_flatness", "rms"]


def to_mono(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``(n_samples, channels)`` or ``(n_samples,)`` audio to a float32 ``(n_samples,)`` tensor."""
    x = torch.as_tensor(np.asarray(audio) if not isinstance(audio, torch.Tensor) else audio, dtype=torch.float32)
    return x.mean(dim=-1) if x.dim() == 2 else x


def _check(n_fft: int, hop_length: int) -> None:
    if n_fft < 16 or hop_length < 1:
        raise ConfigError(f"n_fft={n_fft} must be >= 16 and hop_length={hop_length} >= 1")


def stft_magnitude(y: torch.Tensor | np.ndarray, n_fft: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """|STFT| ``(..., 1 + n_fft // 2, n_frames)``; an empty signal gives zero frames."""
    _check(n_fft, hop_length)
    y = torch.as_tensor(y, dtype=torch.float32)
    if y.shape[-1] == 0:
        return torch.zeros(*y.shape[:-1], 1 + n_fft // 2, 0)
    window = torch.hann_window(n_fft, periodic=True)
    shape = y.shape[:-1]
    flat = y.reshape(-1, y.shape[-1])
    if flat.shape[-1] < n_fft // 2 + 1:  # torch needs the centre padding to fit
        flat = torch.nn.functional.pad(flat, (0, n_fft // 2 + 1 - flat.shape[-1]))
    spec = torch.stft(flat, n_fft, hop_length, window=window, center=True, pad_mode="constant",
                      return_complex=True)
    frames = 1 + y.shape[-1] // hop_length
    return spec.abs()[..., :frames].reshape(*shape, 1 + n_fft // 2, -1)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    mels = f / f_sp
    log_region = f >= min_log_hz
    logstep = math.log(6.4) / 27.0
    mels = np.where(log_region, min_log_hz / f_sp + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, mels)
    return mels


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sample_rate: int, n_fft: int = 2048, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Slaney-normalised triangular mel filters ``(n_mels, 1 + n_fft // 2)`` (librosa's defaults)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, 1 + n_fft // 2)
    mel_freqs = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:n_mels + 2] - mel_freqs[:n_mels]))[:, None]
    return torch.from_numpy(weights.astype(np.float32))


def melspectrogram(y, sample_rate: int, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128,
                   power: float = 2.0) -> torch.Tensor:
    """Mel spectrogram ``(..., n_mels, n_frames)`` of ``|STFT| ** power``."""
    spec = stft_magnitude(y, n_fft, hop_length) ** power
    return torch.matmul(mel_filterbank(sample_rate, n_fft, n_mels), spec)


def power_to_db(s: torch.Tensor, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> torch.Tensor:
    """``10 log10(max(s, amin) / ref)``, floored at ``max - top_db`` per item of the batch."""
    db = 10.0 * torch.log10(torch.clamp(s, min=amin)) - 10.0 * math.log10(max(amin, ref))
    if top_db is not None and db.numel():
        peak = db.amax(dim=(-2, -1), keepdim=True)
        db = torch.maximum(db, peak - top_db)
    return db


def log_mel(y, sample_rate: int, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128) -> torch.Tensor:
    """Log-mel spectrogram in dB ``(..., n_mels, n_frames)`` (librosa: ``power_to_db(melspectrogram(...))``)."""
    return power_to_db(melspectrogram(y, sample_rate, n_fft, hop_length, n_mels))


def mfcc(y, sample_rate: int, n_mfcc: int = 20, n_fft: int = 2048, hop_length: int = 512,
         n_mels: int = 128) -> torch.Tensor:
    """MFCC ``(..., n_mfcc, n_frames)``: orthonormal DCT-II of the log-mel spectrogram."""
    if not 1 <= n_mfcc <= n_mels:
        raise ConfigError(f"n_mfcc={n_mfcc} must be in 1..n_mels={n_mels}")
    s = log_mel(y, sample_rate, n_fft, hop_length, n_mels)
    k = torch.arange(n_mfcc, dtype=torch.float64)[:, None]
    n = torch.arange(n_mels, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi / n_mels * (n + 0.5) * k) * math.sqrt(2.0 / n_mels)
    basis[0] /= math.sqrt(2.0)
    return torch.matmul(basis.float(), s)


def spectral_centroid(y, sample_rate: int, n_fft: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """Centroid in Hz per frame ``(..., n_frames)`` (0 for silent frames)."""
    spec = stft_magnitude(y, n_fft, hop_length)
    freqs = torch.linspace(0, sample_rate / 2, spec.shape[-2])[:, None]
    total = spec.sum(dim=-2)
    return torch.where(total > 0, (freqs * spec).sum(dim=-2) / total.clamp(min=1e-12), torch.zeros_like(total))


def spectral_flatness(y, n_fft: int = 2048, hop_length: int = 512, amin: float = 1e-10) -> torch.Tensor:
    """Geometric over arithmetic mean of the power spectrum per frame ``(..., n_frames)``, in [0, 1]."""
    power = torch.clamp(stft_magnitude(y, n_fft, hop_length) ** 2, min=amin)
    return torch.exp(torch.log(power).mean(dim=-2)) / power.mean(dim=-2)


def rms(y, frame_length: int = 2048, hop_length: int = 512) -> torch.Tensor:
    """Root mean square per centred frame ``(..., n_frames)``."""
    y = torch.as_tensor(y, dtype=torch.float32)
    padded = torch.nn.functional.pad(y.reshape(-1, y.shape[-1]), (frame_length // 2, frame_length // 2))
    frames = padded.unfold(-1, frame_length, hop_length)
    return frames.pow(2).mean(dim=-1).sqrt().reshape(*y.shape[:-1], -1)
