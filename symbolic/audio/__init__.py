"""Audio: FluidSynth rendering, WAV files, spectral features.

Importing this package does not import FluidSynth; creating a
:class:`Renderer` does, and says what to install when it is missing.
"""

from symbolic.audio.render import RenderConfig, Renderer, render
from symbolic.audio.wav import read_wav, write_wav

__all__ = ["RenderConfig", "Renderer", "render", "read_wav", "write_wav"]
