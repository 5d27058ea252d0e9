"""Render speed against the ``fluidsynth`` command-line program, and feature speed against librosa.

Same MIDI files, same SoundFont (TimGM6mb from the pretty_midi wheel), same
sample rate (44,100 Hz), in one run:

* ours: one in-process :class:`~symbolic.audio.Renderer` (SoundFont loaded once) renders every
  file and writes its WAV;
* CLI: ``fluidsynth -ni -g 0.2 -r 44100 -F out.wav FONT file.mid`` once per file, as a user scripts it.

The real-time factor is seconds of audio per second of wall time.  Features:
MFCC (n_mfcc 20, n_fft 2048, hop 512, 128 mels) of every render, ours (torch)
against ``librosa.feature.mfcc``.

Usage:
    python benchmarks/render_speed.py [--files DIR] [--limit 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SR = 44100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, help="folder of MIDI files (default: the tokenize benchmark's sample)")
    parser.add_argument("--limit", type=int, default=30, help="files to render (default 30)")
    args = parser.parse_args()

    from symbolic.audio import RenderConfig, Renderer, write_wav
    from symbolic.audio import features as F
    from symbolic.inputs.midi import read_midi
    from symbolic.resources import pretty_midi_soundfont

    folder = args.files or HERE / "out" / "corpus-40" / "cache"
    if not folder.is_dir():
        print(f"{folder} not found: run 'python benchmarks/tokenize_speed.py' first, or pass --files", file=sys.stderr)
        return 2
    files = sorted(folder.glob("*.mid"))
    files = files[:: max(1, len(files) // args.limit)][: args.limit]
    font = pretty_midi_soundfont()
    cli = shutil.which("fluidsynth")
    out = Path(tempfile.mkdtemp())

    start = time.perf_counter()
    audio_seconds = write_s = 0.0
    renders = []
    with Renderer(font, RenderConfig(sample_rate=SR, normalize=False)) as renderer:
        for path in files:
            audio = renderer.render(read_midi(path))
            before = time.perf_counter()
            write_wav(out / f"ours-{path.stem}.wav", audio, SR)
            write_s += time.perf_counter() - before
            audio_seconds += len(audio) / SR
            renders.append(F.to_mono(audio).numpy())
    ours_s = time.perf_counter() - start

    cli_s = None
    if cli:
        start = time.perf_counter()
        for path in files:
            subprocess.run([cli, "-ni", "-g", "0.2", "-r", str(SR), "-F", str(out / f"cli-{path.stem}.wav"),
                            str(font), str(path)], check=True, capture_output=True)
        cli_s = time.perf_counter() - start

    import librosa

    start = time.perf_counter()
    for y in renders:
        F.mfcc(y, SR)
    ours_features = time.perf_counter() - start
    start = time.perf_counter()
    for y in renders:
        librosa.feature.mfcc(y=y, sr=SR)
    librosa_features = time.perf_counter() - start
    shutil.rmtree(out)

    result = {
        "files": len(files), "audio_seconds": round(audio_seconds, 1), "soundfont": font.name, "sample_rate": SR,
        "ours_seconds": round(ours_s, 2), "ours_realtime_factor": round(audio_seconds / ours_s, 1),
        "ours_wav_write_seconds": round(write_s, 2),
        "ours_render_only_realtime_factor": round(audio_seconds / (ours_s - write_s), 1),
        "cli_seconds": round(cli_s, 2) if cli_s else None,
        "cli_realtime_factor": round(audio_seconds / cli_s, 1) if cli_s else None,
        "render_speedup": round(cli_s / ours_s, 2) if cli_s else None,
        "mfcc_ours_seconds": round(ours_features, 3), "mfcc_librosa_seconds": round(librosa_features, 3),
        "mfcc_speedup": round(librosa_features / ours_features, 2),
    }
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "render_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(files)} files, {audio_seconds:.0f} s of audio at {SR} Hz, SoundFont {font.name}")
    print(f"ours (in process, font loaded once): {ours_s:.2f} s, {audio_seconds / ours_s:.0f}x real time "
          f"({write_s:.2f} s of it writing WAV; rendering alone {audio_seconds / (ours_s - write_s):.0f}x)")
    if cli_s:
        print(f"fluidsynth CLI (one call per file):  {cli_s:.2f} s, {audio_seconds / cli_s:.0f}x real time")
        print(f"ours is {cli_s / ours_s:.2f}x the speed of the CLI")
    print(f"MFCC of all renders: ours {ours_features:.3f} s, librosa {librosa_features:.3f} s "
          f"({librosa_features / ours_features:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
