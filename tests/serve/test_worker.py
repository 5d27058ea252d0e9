"""The worker's audio encoding."""

from __future__ import annotations

import io

import numpy as np
import soundfile

from symbolic.serve.worker import ogg_bytes


def test_a_long_render_encodes_to_ogg_whole():
    # written in blocks (one 197-second write made libsndfile's Vorbis encoder crash in the live server)
    audio = (np.random.default_rng(0).standard_normal((44100 * 20, 2)) * 0.1).astype(np.float32)
    data = ogg_bytes(audio, 44100)
    info = soundfile.info(io.BytesIO(data))
    assert data[:4] == b"OggS" and info.channels == 2 and abs(info.duration - 20.0) < 0.01
