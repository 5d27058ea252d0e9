"""Render scores to audio with FluidSynth, in process (pyfluidsynth).

One :class:`Renderer` loads its SoundFont once and renders any number of
scores.  Each track gets its own MIDI channel (FluidSynth runs 256), drum
tracks get percussion channels (bank 128), and the tempo map sets every event's
time.  A track's control changes (sustain pedal, volume, expression, pan,
modulation...) and pitch bends go to its channels.  Overlapping notes of one
pitch in one track (unisons) each get a channel of their own, so the first
note's release does not cut the second, as they are written.  The render lasts
until the score's end (its last note or its End of Track), then the synth keeps
running for ``tail_seconds`` so releases and reverb ring out.  A score longer than
``max_seconds`` is refused before anything is allocated.  Audio is float32 stereo ``(n_samples, 2)`` in
[-1, 1]; with ``normalize`` it is scaled to ``target_peak``, and the peak before
scaling is kept in :attr:`Renderer.last_peak` so quiet output is never a surprise.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symbolic.errors import ConfigError, DataError, ScoreError
from symbolic.score import Score, Track, seconds_of_ticks
from symbolic.threads import compute_threads

__all__ = ["RenderConfig", "Renderer", "render", "import_fluidsynth"]

_BLOCK = 4096  # samples per FluidSynth write
_SYNTH_BLOCK = 64  # FluidSynth applies events at 64-sample boundaries of its own clock
SILENCE_PEAK = 1e-4  # -80 dBFS: audio this quiet counts as silent and is not normalised up


def import_fluidsynth():
    """The pyfluidsynth module, or an ImportError that says what to install."""
    try:
        import fluidsynth
    except ImportError as exc:
        if "FluidSynth library" in str(exc) or "fluidsynth" in str(exc).lower():
            raise ImportError(
                "the FluidSynth library is not installed: run 'sudo apt-get install fluidsynth' "
                "(Debian/Ubuntu) or 'brew install fluid-synth' (macOS); the Python binding is "
                "'pip install pyfluidsynth'") from None
        raise
    if not hasattr(fluidsynth, "Synth"):
        raise ImportError(
            "the module 'fluidsynth' is not pyfluidsynth: another PyPI package named 'fluidsynth' shadows it; "
            "run 'pip uninstall fluidsynth' then 'pip install --force-reinstall pyfluidsynth'")
    return fluidsynth


@dataclass(frozen=True)
class RenderConfig:
    """Rendering settings.

    Attributes:
        sample_rate: output rate in Hz.
        gain: FluidSynth master gain (its default is 0.2; the ``fluidsynth`` CLI uses the same).
        tail_seconds: synthesis after the last note ends, for releases and reverb.
        normalize: scale each render so its peak is ``target_peak``.
        target_peak: peak after normalisation, in (0, 1].
        reverb: FluidSynth's reverb (on, as in the ``fluidsynth`` CLI).
        cpu_cores: FluidSynth's rendering threads (0: :func:`symbolic.threads.compute_threads` decides: the free
            cores or the user's limit; measured 97x -> 134x real time with 2 threads on 2 idle cores).
        max_seconds: longest score rendered, tail included (an hour of float32 stereo at 44.1 kHz is
            1.3 GB); a longer one, usually a corrupt file with huge delta times, is refused.
        chorus: FluidSynth's chorus.  Off by default: its LFO runs freely, so with it on the
            same score renders differently depending on what was rendered before (measured: up
            to 57% of the peak, sample for sample); the CLI has it on.
    """

    sample_rate: int = 44100
    gain: float = 0.2
    tail_seconds: float = 1.0
    normalize: bool = True
    target_peak: float = 0.9
    reverb: bool = True
    chorus: bool = False
    cpu_cores: int = 0
    max_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if not self.max_seconds > 0:
            raise ConfigError(f"max_seconds={self.max_seconds} must be positive")
        if not 8000 <= self.sample_rate <= 192000:
            raise ConfigError(f"sample_rate={self.sample_rate} must be in 8000..192000 Hz")
        if self.cpu_cores < 0:
            raise ConfigError(f"cpu_cores={self.cpu_cores} must be >= 0 (0: chosen from the free cores)")
        if not 0 < self.gain <= 10 or self.tail_seconds < 0 or not 0 < self.target_peak <= 1:
            raise ConfigError("gain must be in (0, 10], tail_seconds >= 0 and target_peak in (0, 1]")


class Renderer:
    """A FluidSynth synthesiser with one SoundFont loaded.

    Args:
        soundfont: an .sf2/.sf3 path, or ``None`` for :func:`symbolic.resources.resolve_soundfont`.
        config: rendering settings.
    """

    def __init__(self, soundfont: str | os.PathLike[str] | None = None, config: RenderConfig | None = None) -> None:
        from symbolic.resources import resolve_soundfont

        self.config = config or RenderConfig()
        self.soundfont = resolve_soundfont(soundfont)
        fluidsynth = import_fluidsynth()
        self._lib = fluidsynth._fl
        self.synth = fluidsynth.Synth(gain=self.config.gain, samplerate=self.config.sample_rate, channels=256,
                                      **{"synth.reverb.active": int(self.config.reverb),
                                         "synth.chorus.active": int(self.config.chorus),
                                         "synth.cpu-cores": compute_threads(self.config.cpu_cores)})
        self.sfid = self.synth.sfload(str(self.soundfont))
        if self.sfid < 0:
            self.synth.delete()
            raise DataError(f"FluidSynth could not load the SoundFont {self.soundfont}; the file is unreadable "
                            "or not a SoundFont (an .sf3 needs a FluidSynth built with Vorbis)")
        self._write = self._lib.fluid_synth_write_float
        self._write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self._set_type = getattr(self._lib, "fluid_synth_set_channel_type", None)
        if self._set_type is not None:
            self._set_type.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.last_peak = 0.0
        self._clock = 0  # samples the synth has produced; renders start on a 64-sample boundary

    def close(self) -> None:
        """Free the synthesiser."""
        if getattr(self, "synth", None) is not None:
            self.synth.delete()
            self.synth = None

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _samples(self, n: int, out: list[np.ndarray]) -> None:
        self._clock += n
        while n > 0:
            block = min(n, _BLOCK)
            left = np.zeros(block, dtype=np.float32)
            right = np.zeros(block, dtype=np.float32)
            self._write(self.synth.synth, block, left.ctypes.data, 0, 1, right.ctypes.data, 0, 1)
            out.append(np.stack([left, right], axis=1))
            n -= block

    def check_length(self, score: Score) -> float:
        """Seconds the render of ``score`` lasts, tail included.

        Raises:
            ScoreError: longer than ``max_seconds`` (checked before anything is allocated).
        """
        seconds = score.seconds_at(score.end_ticks) + self.config.tail_seconds
        if seconds > self.config.max_seconds:
            raise ScoreError(
                f"the score lasts {seconds:.0f} s (last event at beat {score.end_ticks / score.ticks_per_beat:.0f}), "
                f"over the renderer's max_seconds={self.config.max_seconds:g}; it is probably a corrupt file with "
                "huge delta times, or raise max_seconds in the render config")
        return seconds

    def _channels(self, score: Score, tracks: list[int]) -> dict[int, list[int]]:
        """Track index -> its MIDI channels, one per unison layer; drums on channels 9, 25, 41, ... (bank 128)."""
        pools = {True: [c for c in range(256) if c % 16 == 9], False: [c for c in range(256) if c % 16 != 9]}
        used = {True: 0, False: 0}
        out = {}
        for i in tracks:
            drum = score.tracks[i].is_drum
            pool = pools[drum]
            layers = max(_unison_layers(score.tracks[i]), default=0) + 1
            out[i] = [pool[(used[drum] + k) % len(pool)] for k in range(layers)]
            used[drum] += layers
        return out

    def render(self, score: Score) -> np.ndarray:
        """Render ``score`` to float32 ``(n_samples, 2)``; an empty score gives ``tail_seconds`` of silence."""
        return self._normalized(self._render_raw(score, None))

    def render_stems(self, score: Score) -> list[np.ndarray]:
        """One float32 ``(n_samples, 2)`` render per track, equal lengths, all scaled by one factor
        (the one that normalises their sum), so the stems keep their balance."""
        stems = [self._render_raw(score, [i]) for i in range(len(score.tracks))]
        length = max((len(s) for s in stems), default=0)
        stems = [np.pad(s, ((0, length - len(s)), (0, 0))) for s in stems]
        mix = np.sum(stems, axis=0) if stems else np.zeros((0, 2), dtype=np.float32)
        self.last_peak = float(np.abs(mix).max()) if mix.size else 0.0
        scale = self.config.target_peak / self.last_peak if self.config.normalize and self.last_peak > SILENCE_PEAK \
            else 1.0
        return [(s * scale).astype(np.float32) for s in stems]

    def _normalized(self, audio: np.ndarray) -> np.ndarray:
        self.last_peak = float(np.abs(audio).max()) if audio.size else 0.0
        if self.config.normalize and self.last_peak > SILENCE_PEAK:
            audio = audio * (self.config.target_peak / self.last_peak)
        return audio.astype(np.float32, copy=False)

    def _render_raw(self, score: Score, tracks: list[int] | None) -> np.ndarray:
        if self.synth is None:
            raise ConfigError("this Renderer was closed")
        self.check_length(score)
        synth, sr = self.synth, self.config.sample_rate
        chosen = list(range(len(score.tracks))) if tracks is None else list(tracks)
        channels = self._channels(score, chosen)
        synth.system_reset()
        self._samples((-self._clock) % _SYNTH_BLOCK, [])  # start on a block boundary
        # (sample, kind, order, channel, a, b); at one sample: offs, then controllers and bends in file order, then ons
        events = []
        for i in chosen:
            track, layers = score.tracks[i], channels[i]
            control_samples = _samples_of_ticks(score, [c.time_ticks for c in track.controls], sr)
            bend_samples = _samples_of_ticks(score, [b.time_ticks for b in track.pitch_bends], sr)
            for channel in layers:  # every unison layer's channel gets the track's controllers and bends
                if self._set_type is not None:
                    self._set_type(synth.synth, channel, 1 if track.is_drum else 0)
                synth.program_select(channel, self.sfid, 128 if track.is_drum else 0, track.program)
                for k, (c, at) in enumerate(zip(track.controls, control_samples)):
                    events.append((at, 1, k, channel, c.number, c.value))
                for k, (b, at) in enumerate(zip(track.pitch_bends, bend_samples)):
                    events.append((at, 2, k, channel, b.value, 0))
            ons = _samples_of_ticks(score, [n.onset_ticks for n in track.notes], sr)
            offs = _samples_of_ticks(score, [n.offset_ticks for n in track.notes], sr)
            for note, layer, on, off in zip(track.notes, _unison_layers(track), ons, offs):
                channel = layers[layer]
                events.append((on, 3, 0, channel, note.pitch, note.velocity))
                events.append((max(on + 1, off), 0, 0, channel, note.pitch, 0))
        events.sort()
        chunks: list[np.ndarray] = []
        position = 0
        for sample, kind, _, channel, a, b in events:
            if sample > position:
                self._samples(sample - position, chunks)
                position = sample
            if kind == 3:
                synth.noteon(channel, a, b)
            elif kind == 0:
                synth.noteoff(channel, a)
            elif kind == 1:
                synth.cc(channel, a, b)
            else:
                synth.pitch_bend(channel, a)
        end = _samples_of_ticks(score, [score.end_ticks], sr)[0]  # a trailing rest is rendered
        self._samples(max(end - position, 0) + int(round(self.config.tail_seconds * sr)), chunks)
        # Let this piece's voices, reverb and chorus die before the next render (discarded), and end on a
        # block boundary so that the next render's events fall on the same sample positions as this one's.
        synth.system_reset()
        flush = 2 * sr
        self._samples(flush + (-(self._clock + flush)) % _SYNTH_BLOCK, [])
        return np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.float32)


def _samples_of_ticks(score: Score, ticks: list[int], sample_rate: int) -> list[int]:
    """Sample positions (nearest sample) of tick times, following the tempo map in one vectorised pass."""
    if not ticks:
        return []
    return np.rint(seconds_of_ticks(score, ticks) * sample_rate).astype(np.int64).tolist()


def _unison_layers(track: Track) -> list[int]:
    """For each note of ``track`` (in order), the lowest layer in which no earlier note of its pitch still sounds."""
    busy: dict[int, list[int]] = {}  # pitch -> offset tick of the last note in each layer
    out = []
    for note in track.notes:
        ends = busy.setdefault(note.pitch, [])
        layer = next((k for k, end in enumerate(ends) if end <= note.onset_ticks), len(ends))
        if layer == len(ends):
            ends.append(note.offset_ticks)
        else:
            ends[layer] = note.offset_ticks
        out.append(layer)
    return out


def render(score_or_path: Score | str | os.PathLike[str], soundfont: str | os.PathLike[str] | None = None,
           sample_rate: int = 44100, config: RenderConfig | None = None) -> np.ndarray:
    """Render a score or MIDI file to float32 stereo ``(n_samples, 2)`` at ``sample_rate`` Hz.

    For many files, make one :class:`Renderer` and call it for each: the SoundFont loads once.
    """
    from symbolic.inputs.midi import read_midi

    score = score_or_path if isinstance(score_or_path, Score) else read_midi(Path(score_or_path))
    config = config or RenderConfig(sample_rate=sample_rate)
    with Renderer(soundfont, config) as renderer:
        return renderer.render(score)
