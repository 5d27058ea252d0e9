"""The pop piano a model writes, listened to through audio statistics, beside the real POP909 piano.

For the first ``--songs`` POP909 test songs (the split of ``symbolic data build --pop909``), the first
``--bars`` bars from where the melody enters: ``accompany --style pop`` under the MELODY (the jobs'
default sampling, ``--seed``), then the generated piano and the real PIANO are each rendered alone
with FluidSynth (program 0, not normalised, so their loudness compares) and measured:

- loudness: RMS of the non-silent frames, dBFS (``symbolic.audio.features.rms``);
- brightness: mean spectral centroid, Hz (``symbolic.audio.features.spectral_centroid``);
- bass: share of the spectrum's energy below 200 Hz (the left hand);
- attack rate: onsets a second found by librosa's onset detector (``librosa.onset.onset_detect``);
- harmony heard: cosine between the two renders' mean chroma vectors (``librosa.feature.chroma_stft``),
  and between each piano's and the melody's render (1 = the same pitch classes, weighted by energy).

    OMP_NUM_THREADS=1 python benchmarks/pop_audio.py --songs 5 --out docs/results/pop-audio.md
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pop_accompaniment import PIANO, test_songs, view  # noqa: E402

from symbolic.data.pop909 import load_pop909_song  # noqa: E402
from symbolic.evaluation.jobs import crop_bars, first_bar_with_notes  # noqa: E402
from symbolic.resources import shared_data_dir  # noqa: E402
from symbolic.score import Score  # noqa: E402
from symbolic.utils import atomic_write_text  # noqa: E402

MEASURES = ("rms_dbfs", "centroid_hz", "bass_share", "onsets_per_second", "chroma_to_melody")


def _alone(score: Score, index: int) -> Score:
    """Track ``index`` of ``score`` alone on a piano (program 0), with the score's maps."""
    out = view(score, ())
    out.tracks = [replace(score.tracks[index], program=0)]
    return out


def audio_stats(y: np.ndarray, sample_rate: int) -> dict:
    """The measures of one mono render (float32 ``(n,)``) that do not need a reference."""
    import librosa
    import torch

    from symbolic.audio import features as F

    mono = torch.as_tensor(y)
    frames = F.rms(mono).numpy()
    loud = frames[frames > 10 ** (-60 / 20)]
    power = np.abs(librosa.stft(y, n_fft=4096, hop_length=1024)) ** 2
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=4096)
    onsets = librosa.onset.onset_detect(y=y, sr=sample_rate, hop_length=512, units="time")
    return {"rms_dbfs": float(20 * np.log10(np.sqrt(np.mean(loud ** 2)))) if loud.size else None,
            "centroid_hz": float(F.spectral_centroid(mono, sample_rate).mean()),
            "bass_share": float(power[freqs < 200].sum() / max(power.sum(), 1e-12)),
            "onsets_per_second": len(onsets) / (len(y) / sample_rate)}


def chroma(y: np.ndarray, sample_rate: int) -> np.ndarray:
    import librosa

    c = librosa.feature.chroma_stft(y=y, sr=sample_rate, hop_length=2048).mean(axis=1)
    return c / max(np.linalg.norm(c), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="a checkpoint folder or a shipped model name")
    parser.add_argument("--pop909", type=Path, default=None)
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from symbolic.audio.render import RenderConfig, Renderer
    from symbolic.jobs.arrange import accompany
    from symbolic.jobs.config import JobConfig
    from symbolic.models.pretrained import load_decoder

    torch.set_num_threads(1)
    pop909 = args.pop909 or shared_data_dir() / "pop909"
    model, tokenizer, meta = load_decoder(args.model)
    job = JobConfig(seed=args.seed)
    rows = []
    start = time.process_time()
    with Renderer(None, RenderConfig(normalize=False)) as renderer:
        sr = renderer.config.sample_rate
        for piece in test_songs(pop909, args.songs):
            full, _ = load_pop909_song(piece.path)
            song = crop_bars(full, args.bars, tokenizer, first_bar=first_bar_with_notes(full, tokenizer))
            result = accompany(model, tokenizer, view(song, (0,)), {"pop": 1.0}, job, melody_track=0)
            renders = {name: renderer.render(_alone(score, index)).mean(axis=1)
                       for name, score, index in (("generated", result.score, result.new_tracks[0]),
                                                  ("real", song, PIANO), ("melody", song, 0))}
            melody_chroma = chroma(renders["melody"], sr)
            row = {"song": piece.id}
            for name in ("generated", "real"):
                row[name] = {**audio_stats(renders[name], sr),
                             "chroma_to_melody": float(chroma(renders[name], sr) @ melody_chroma)}
            row["chroma_generated_to_real"] = float(chroma(renders["generated"], sr) @ chroma(renders["real"], sr))
            rows.append(row)
            print(row, flush=True)
    lines = [f"# The pop piano, listened to: audio statistics of generated and real pianos", "",
             f"Measured {datetime.date.today()} on the 2-core CPU (one thread), with", "", "```sh",
             f"OMP_NUM_THREADS=1 python benchmarks/pop_audio.py --model {args.model} --songs {args.songs} "
             f"--bars {args.bars} --seed {args.seed}" + (f" --out {args.out}" if args.out else ""), "```", "",
             f"Model `{args.model}` (step {meta.get('step')}); {len(rows)} POP909 test songs, {args.bars} bars each "
             "from the bar of the first melody note; each piano rendered alone with FluidSynth (program 0, "
             "not normalised). RMS over the non-silent frames; energy below 200 Hz is the left hand's share; onsets "
             "by librosa's detector; chroma: cosine of the mean chroma vectors (1 = the same pitch classes).", "",
             "| song | piano | RMS (dBFS) | centroid (Hz) | energy < 200 Hz | onsets a second | chroma cosine to the melody |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows + [{"song": "mean", **{name: {m: float(np.mean([r[name][m] for r in rows])) for m in MEASURES}
                                           for name in ("generated", "real")},
                        "chroma_generated_to_real": float(np.mean([r["chroma_generated_to_real"] for r in rows]))}]:
        for name in ("generated", "real"):
            r = row[name]
            lines.append(f"| {row['song']} | {name} | {r['rms_dbfs']:.1f} | {r['centroid_hz']:.0f} | "
                         f"{r['bass_share']:.2f} | {r['onsets_per_second']:.2f} | {r['chroma_to_melody']:.2f} |")
    mean_cos = np.mean([r["chroma_generated_to_real"] for r in rows])
    lines += ["", f"Chroma cosine between the generated and the real piano: {mean_cos:.2f} on average "
              f"({', '.join(format(r['chroma_generated_to_real'], '.2f') for r in rows)}).  "
              f"{time.process_time() - start:.0f} CPU s.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        atomic_write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
