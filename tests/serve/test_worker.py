"""The worker's audio encoding."""

from __future__ import annotations

import io

import numpy as np
import soundfile

from symbolic.serve.worker import ogg_bytes


def test_a_long_render_encodes_to_ogg_whole():
    # one write of 60 s of stereo makes libsndfile's Vorbis encoder crash (SIGSEGV, seen here); blocks do not
    audio = np.zeros((44100 * 60, 2), np.float32)
    audio[::100] = 0.5
    data = ogg_bytes(audio, 44100)
    info = soundfile.info(io.BytesIO(data))
    assert data[:4] == b"OggS" and info.channels == 2 and abs(info.duration - 60.0) < 0.01
