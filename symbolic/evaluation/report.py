"""``symbolic evaluate``: compare a generated set of MIDI files with a reference set.

Writes ``report.json`` (every number), ``report.md`` (the same, readable) and
PNG figures into the output folder.  Unreadable files and files without notes are skipped and listed.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from symbolic.errors import ConfigError, DataError, SymbolicError
from symbolic.evaluation.compare import frechet_distance, longest_copied_span, ngram_overlap, note_sequence, \
    overlapping_area
from symbolic.evaluation.metrics import METRIC_NAMES, all_metrics
from symbolic.inputs.midi import read_midi
from symbolic.score import Score
from symbolic.utils import atomic_write_json, atomic_write_text

__all__ = ["EvaluationConfig", "evaluate"]


@dataclass(frozen=True)
class EvaluationConfig:
    """Settings of an evaluation.

    Attributes:
        render_audio: render both sets and compute the audio measures.
        sample_rate, n_fft, hop_length, n_mels, n_mfcc: audio feature settings (librosa's names).
        max_seconds: audio of each piece is cut to this length (keeps long sets quick).
        ngram: n of the n-gram overlap originality measure.
        n_figures: pieces per set shown as piano rolls.
    """

    render_audio: bool = True
    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    n_mfcc: int = 20
    max_seconds: float = 60.0
    ngram: int = 8
    n_figures: int = 3

    def __post_init__(self) -> None:
        if self.max_seconds <= 0 or self.ngram < 1 or self.n_figures < 0:
            raise ConfigError("max_seconds must be > 0, ngram >= 1 and n_figures >= 0")


def _read_all(paths: list[Path], skipped: list[dict]) -> list[tuple[Path, Score]]:
    out = []
    for path in paths:
        try:
            score = read_midi(path)
        except SymbolicError as exc:
            skipped.append({"file": str(path), "reason": str(exc)})
            continue
        if score.n_notes == 0:  # a piece of silence would pull every mean towards its zeros
            skipped.append({"file": str(path), "reason": "no notes: left out of every measure"})
            continue
        out.append((path, score))
    return out


def _summary(values: list[float]) -> dict[str, float]:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    return {"mean": float(np.mean(finite)), "std": float(np.std(finite)), "n": len(finite)}


def _audio_measures(pieces: list[tuple[Path, Score]], renderer, config: EvaluationConfig, progress: bool,
                    label: str) -> tuple[dict, np.ndarray, np.ndarray, list[np.ndarray]]:
    from tqdm import tqdm

    from symbolic.audio import features as F

    per_piece = {"spectral_centroid_hz": [], "spectral_flatness": [], "rms": []}
    mfcc_frames, mel_frames, mels = [], [], []
    limit = int(config.max_seconds * config.sample_rate)
    for _, score in tqdm(pieces, desc=f"rendering {label}", unit="piece", disable=not progress):
        y = F.to_mono(renderer.render(score)[:limit])
        mel = F.log_mel(y, config.sample_rate, config.n_fft, config.hop_length, config.n_mels)
        mels.append(mel.numpy())
        mfcc = F.mfcc(y, config.sample_rate, config.n_mfcc, config.n_fft, config.hop_length, config.n_mels)
        mfcc_frames.append(mfcc.T.numpy())
        mel_frames.append(mel.T.numpy())
        per_piece["spectral_centroid_hz"].append(float(F.spectral_centroid(y, config.sample_rate).mean()))
        per_piece["spectral_flatness"].append(float(F.spectral_flatness(y).mean()))
        per_piece["rms"].append(float(F.rms(y).mean()))
    return per_piece, _stack(mfcc_frames, config.n_mfcc), _stack(mel_frames, config.n_mels), mels


def _stack(frames: list[np.ndarray], dim: int) -> np.ndarray:
    return np.concatenate(frames) if frames else np.zeros((0, dim))


def evaluate(generated: list[Path], reference: list[Path], out_dir: str | os.PathLike[str],
             config: EvaluationConfig | None = None, soundfont: str | os.PathLike[str] | None = None,
             progress: bool = True) -> dict:
    """Evaluate ``generated`` MIDI files against ``reference`` ones; returns the report dict.

    Raises:
        DataError: a set has no readable file.
    """
    config = config or EvaluationConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    skipped: list[dict] = []
    gen, ref = _read_all(generated, skipped), _read_all(reference, skipped)
    if not gen or not ref:
        raise DataError("evaluation needs at least one readable MIDI file in each set "
                        f"({len(gen)} generated, {len(ref)} reference; skipped: {len(skipped)})")
    report: dict = {"config": asdict(config), "n_generated": len(gen), "n_reference": len(ref), "skipped": skipped}

    gen_metrics = [all_metrics(s) for _, s in gen]
    ref_metrics = [all_metrics(s) for _, s in ref]
    symbolic = {}
    for name in METRIC_NAMES:
        g = [m[name] for m in gen_metrics]
        r = [m[name] for m in ref_metrics]
        symbolic[name] = {"generated": _summary(g), "reference": _summary(r), **overlapping_area(g, r)}
    report["symbolic"] = symbolic
    report["per_piece"] = {"generated": {str(p): m for (p, _), m in zip(gen, gen_metrics)},
                           "reference": {str(p): m for (p, _), m in zip(ref, ref_metrics)}}

    ref_sequences = [note_sequence(s) for _, s in ref]
    spans = [longest_copied_span(note_sequence(s), ref_sequences) for _, s in gen]
    shares = [ngram_overlap(note_sequence(s), ref_sequences, config.ngram) for _, s in gen]
    report["originality"] = {"against": "reference set", "longest_copied_span_notes": _summary(spans),
                             "max_longest_copied_span_notes": max(spans, default=0),
                             f"shared_{config.ngram}gram_rate": _summary(shares)}

    mels: dict[str, list[np.ndarray]] = {}
    if config.render_audio:
        from symbolic.audio.render import RenderConfig, Renderer

        with Renderer(soundfont, RenderConfig(sample_rate=config.sample_rate)) as renderer:
            g_piece, g_mfcc, g_mel, mels["generated"] = _audio_measures(gen, renderer, config, progress, "generated")
            r_piece, r_mfcc, r_mel, mels["reference"] = _audio_measures(ref, renderer, config, progress, "reference")
            report["soundfont"] = str(renderer.soundfont)
        report["audio"] = {
            "frechet_distance_mfcc": frechet_distance(g_mfcc, r_mfcc),
            "frechet_distance_log_mel": frechet_distance(g_mel, r_mel),
            **{name: {"generated": _summary(g_piece[name]), "reference": _summary(r_piece[name])}
               for name in g_piece},
        }
    from symbolic.evaluation.figures import write_figures

    report["figures"] = write_figures(out, gen, ref, mels, config)
    atomic_write_json(out / "report.json", _json_safe(report))
    atomic_write_text(out / "report.md", _markdown(report))
    return report


def _json_safe(obj):
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _markdown(report: dict) -> str:
    lines = ["# Evaluation report", "",
             f"{report['n_generated']} generated pieces against {report['n_reference']} reference pieces.", ""]
    if report["skipped"]:
        lines += [f"Skipped {len(report['skipped'])} unreadable or empty files (listed in report.json).", ""]
    lines += ["## Symbolic metrics", "",
              "Mean ± standard deviation per set; overlap (0..1, higher is closer) and KL divergence of "
              "Yang and Lerch's intra-set vs inter-set distance distributions.", "",
              "| metric | generated | reference | overlap | KL |", "| --- | --- | --- | --- | --- |"]
    for name, m in report["symbolic"].items():
        g, r = m["generated"], m["reference"]
        lines.append(f"| {name} | {_fmt(g['mean'])} ± {_fmt(g['std'])} | {_fmt(r['mean'])} ± {_fmt(r['std'])} | "
                     f"{_fmt(m['overlap'])} | {_fmt(m['kl'])} |")
    o = report["originality"]
    key = next(k for k in o if k.startswith("shared_"))
    lines += ["", "## Originality (against the reference set)", "",
              f"- longest span copied verbatim: mean {_fmt(o['longest_copied_span_notes']['mean'])} notes, "
              f"longest {o['max_longest_copied_span_notes']} notes",
              f"- {key.replace('_', ' ')}: mean {_fmt(o[key]['mean'])}", ""]
    if "audio" in report:
        a = report["audio"]
        lines += ["## Audio", "", f"Rendered with {report.get('soundfont', '?')}.", "",
                  f"- Fréchet distance of MFCC frames: {_fmt(a['frechet_distance_mfcc'])}",
                  f"- Fréchet distance of log-mel frames: {_fmt(a['frechet_distance_log_mel'])}", "",
                  "| measure | generated | reference |", "| --- | --- | --- |"]
        for name in ("spectral_centroid_hz", "spectral_flatness", "rms"):
            lines.append(f"| {name} | {_fmt(a[name]['generated']['mean'])} | {_fmt(a[name]['reference']['mean'])} |")
        lines.append("")
    if report.get("figures"):
        lines += ["## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in report["figures"]] + [""]
    return "\n".join(lines)
