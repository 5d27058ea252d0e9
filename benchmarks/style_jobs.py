"""Evaluate the user's jobs with a decoder (the shipped default unless --model).

Conversion: held-out test pieces of every style (the first --bars bars of each)
are converted to every other style and back.  Reported per direction and in all:
the style classifier's accuracy on the targets, Brunner et al.'s transfer strength
(with the five-way classifier as the judge, and with a pairwise judge: the
classifier restricted to the two styles, as Brunner's binary A-vs-B classifiers
were), the melody kept note for note, the beat-chroma similarity of source and
output, and the symbolic (and audio) measures of each target's converted set
against real test pieces of the target style, next to the same measures of the
unconverted sources.  ``--seed`` sets the sampling seed of every job.

Accompaniment: on the test chorales of ``Jsb16thSeparated.npz`` the soprano is
given and alto, tenor and bass are generated; reported: the negative
log-likelihood per note of the real lower voices under the model (chorale style,
no style, and a wrong style), and the measures of the generated lower voices
against the real ones.  The music21 corpus holds most of these chorales too, so
the chorales whose soprano also opens a chorale of our training split are
counted apart.

    python benchmarks/style_jobs.py --data data/m21-300 --out benchmarks/out/style-jobs

Needs the data set built by ``symbolic data build --corpus music21 --limit 300 --out data/m21-300``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from symbolic.jobs.arrange import accompany, convert
from symbolic.jobs.config import JobConfig
from symbolic.evaluation.compare import overlapping_area
from symbolic.evaluation.jobs import (accompaniment_nll, chroma_similarity, crop_bars, same_notes,
                                      pairwise_probability, score_from_voice_frames, transfer_strength)
from symbolic.evaluation.metrics import METRIC_NAMES, all_metrics
from symbolic.evaluation.report import EvaluationConfig, evaluate
from symbolic.inputs.midi import read_midi
from symbolic.models.classifier import classify_scores, load_classifier
from symbolic.outputs.midi import write_midi
from symbolic.models.pretrained import load_decoder
from symbolic.resources import asset_path, shared_data_dir
from symbolic.score import Score, Track
from symbolic.styles.registry import STYLE_NAMES

STYLES = STYLE_NAMES


def test_pieces(data: Path, per_style: int, bars: int, tokenizer, split: str = "test") -> dict[str, list]:
    """``{style: [(piece id, first bars of the piece)]}`` of a split of the data set, sorted by id."""
    manifest = json.loads((data / "manifest.json").read_text())
    out: dict[str, list[tuple[str, Score]]] = {s: [] for s in STYLES}
    for piece in sorted(manifest["pieces"], key=lambda p: p["id"]):
        if piece["split"] == split and piece["style"] in out and len(out[piece["style"]]) < per_style:
            out[piece["style"]].append((piece["id"], crop_bars(read_midi(piece["midi"]), bars, tokenizer)))
    return out


def safe_name(piece_id: str) -> str:
    return piece_id.replace("/", "__").replace("#", "_x")


def conversion(args, model, tokenizer, classifier, config) -> dict:
    pieces = test_pieces(args.data, args.per_style, args.bars, tokenizer)
    index = {s: classifier.config.styles.index(s) for s in STYLES}
    rows = []
    jobs = [(a, pid, x, b) for a in STYLES for pid, x in pieces[a] for b in STYLES if b != a]
    seconds = 0.0
    for a, pid, x, b in tqdm(jobs, desc="converting", unit="conversion"):
        t0 = time.perf_counter()
        there = convert(model, tokenizer, x, {b: 1.0}, config)
        back = convert(model, tokenizer, there.score, {a: 1.0}, config, melody_track=there.melody_track)
        seconds += time.perf_counter() - t0
        probs = classify_scores(classifier, [x, there.score, back.score])
        melody = max(range(len(x.tracks)), key=lambda i: same_notes(x.tracks[i], there.score.tracks[0],
                                                                   x.ticks_per_beat, there.score.ticks_per_beat))
        path = args.out / "convert" / f"{a}-to-{b}" / f"{safe_name(pid)}.mid"
        write_midi(there.score, path)
        write_midi(x, args.out / "source" / a / f"{safe_name(pid)}.mid")
        rows.append({
            "source": a, "target": b, "piece": pid, "file": str(path),
            "p_source": [float(p[index[a]]) for p in probs],
            "p_target": float(probs[1][index[b]]),
            "predicted": classifier.config.styles[int(np.argmax(probs[1]))],
            "probabilities": [[float(v) for v in p] for p in probs],
            "transfer_strength": transfer_strength(*(float(p[index[a]]) for p in probs)),
            "transfer_strength_pairwise": transfer_strength(*(pairwise_probability(p, index[a], index[b])
                                                              for p in probs)),
            "melody_kept": same_notes(x.tracks[melody], there.score.tracks[0], x.ticks_per_beat,
                                      there.score.ticks_per_beat),
            "chroma_similarity": chroma_similarity(x, there.score),
        })
    directions = {}
    for a in STYLES:
        for b in STYLES:
            sel = [r for r in rows if r["source"] == a and r["target"] == b]
            if sel:
                directions[f"{a}->{b}"] = {
                    "n": len(sel),
                    "accuracy": float(np.mean([r["predicted"] == b for r in sel])),
                    "transfer_strength": float(np.mean([r["transfer_strength"] for r in sel])),
                    "transfer_strength_pairwise": float(np.mean([r["transfer_strength_pairwise"] for r in sel])),
                    "melody_kept": float(np.mean([r["melody_kept"] for r in sel])),
                    "chroma_similarity": float(np.nanmean([r["chroma_similarity"] for r in sel])),
                }
    by_target = {b: float(np.mean([r["predicted"] == b for r in rows if r["target"] == b])) for b in STYLES}
    summary = {
        "pieces_per_style": {s: len(pieces[s]) for s in STYLES}, "bars": args.bars,
        "conversions": len(rows), "seconds_converting": seconds,
        "accuracy": float(np.mean([r["predicted"] == r["target"] for r in rows])),
        "accuracy_by_target": by_target,
        "transfer_strength": float(np.mean([d["transfer_strength"] for d in directions.values()])),
        "transfer_strength_pairwise": float(np.mean([d["transfer_strength_pairwise"]
                                                     for d in directions.values()])),
        "melody_kept": float(np.mean([r["melody_kept"] for r in rows])),
        "chroma_similarity": float(np.nanmean([r["chroma_similarity"] for r in rows])),
        "source_accuracy": float(np.mean([classifier.config.styles[int(np.argmax(classify_scores(classifier, [x])[0]))]
                                          == a for a in STYLES for _, x in pieces[a]])),
    }
    # The converted set of each target against real test pieces of the target, next to the unconverted sources.
    measures = {}
    eval_config = EvaluationConfig(render_audio=not args.no_audio, n_figures=2, max_seconds=30)
    for b in STYLES:
        real = sorted((args.out / "source" / b).glob("*.mid"))
        converted = sorted(args.out.glob(f"convert/*-to-{b}/*.mid"))
        unconverted = [p for a in STYLES if a != b for p in sorted((args.out / "source" / a).glob("*.mid"))]
        after = evaluate(converted, real, args.out / "eval" / f"to-{b}", eval_config, progress=False)
        before = evaluate(unconverted, real, args.out / "eval" / f"unconverted-vs-{b}", eval_config, progress=False)
        measures[b] = {"converted": _digest(after), "unconverted": _digest(before)}
    summary["measures_against_target"] = measures
    return {"summary": summary, "directions": directions, "rows": rows}


def _digest(report: dict) -> dict:
    out = {"mean_overlap": float(np.nanmean([m["overlap"] for m in report["symbolic"].values()]))}
    if "audio" in report:
        out["frechet_mfcc"] = report["audio"]["frechet_distance_mfcc"]
    return out


def _signature(track: Track, n: int = 12) -> tuple[int, ...]:
    pitches = [p.pitch for p in sorted(track.notes)]
    merged = [p for k, p in enumerate(pitches) if k == 0 or p != pitches[k - 1]]
    return tuple(b - a for a, b in zip(merged, merged[1:]))[:n]


def accompaniment(args, model, tokenizer, config) -> dict:
    npz = np.load(shared_data_dir() / "polyphonic" / "Jsb16thSeparated.npz", allow_pickle=True, encoding="latin1")
    chorales = [score_from_voice_frames(frames) for frames in npz["test"][:args.jsb]]
    manifest = json.loads((args.data / "manifest.json").read_text())
    seen = {_signature(read_midi(p["midi"]).tracks[0]) for p in manifest["pieces"]
            if p["style"] == "chorale" and p["split"] == "train"}
    nll_rows = []
    for k, chorale in enumerate(tqdm(chorales, desc="scoring real lower voices", unit="chorale")):
        row = {"index": k, "in_training": _signature(chorale.tracks[0]) in seen}
        for style in ("chorale", None, "irish"):
            total, notes = accompaniment_nll(model, tokenizer, chorale, style)
            row[f"nll_{style or 'none'}"], row["notes"] = total, notes
        nll_rows.append(row)

    def per_note(sel, key):
        notes = sum(r["notes"] for r in sel)
        return sum(r[key] for r in sel) / notes if notes else math.nan

    unseen = [r for r in nll_rows if not r["in_training"]]
    nll = {f"{group}_{key}": per_note(sel, f"nll_{key}") for group, sel in (("all", nll_rows), ("unseen", unseen))
           for key in ("chorale", "none", "irish")}
    nll.update({"chorales": len(nll_rows), "unseen_chorales": len(unseen),
                "notes": sum(r["notes"] for r in nll_rows)})

    generated, real, chroma = [], [], []
    t0 = time.perf_counter()
    for k, chorale in enumerate(tqdm(chorales[:args.jsb_generate], desc="accompanying sopranos", unit="chorale")):
        melody = Score(chorale.ticks_per_beat, [chorale.tracks[0]], time_signatures=list(chorale.time_signatures))
        result = accompany(model, tokenizer, melody, {"chorale": 1.0}, config, programs=[19, 19, 19])
        assert result.score.tracks[0].notes == chorale.tracks[0].notes
        write_midi(result.score, args.out / "accompany" / f"jsb-test-{k:02d}.mid")
        generated.append(Score(chorale.ticks_per_beat, result.score.tracks[1:]))
        real.append(Score(chorale.ticks_per_beat, chorale.tracks[1:]))
        chroma.append(chroma_similarity(result.score, chorale))
    seconds = time.perf_counter() - t0
    g_metrics = [all_metrics(s) for s in generated]
    r_metrics = [all_metrics(s) for s in real]
    measures = {}
    for name in METRIC_NAMES:
        g, r = [m[name] for m in g_metrics], [m[name] for m in r_metrics]
        measures[name] = {"generated": float(np.nanmean(g)), "real": float(np.nanmean(r)),
                          "overlap": overlapping_area(g, r)["overlap"]}
    voice_pitch = {f"voice {v + 2}": {"generated": float(np.mean([n.pitch for s in generated
                                                                  for n in s.tracks[v].notes])),
                                      "real": float(np.mean([n.pitch for s in real for n in s.tracks[v].notes]))}
                   for v in range(3)}
    return {"nll_per_note": nll, "generated_chorales": len(generated), "seconds_generating": seconds,
            "chroma_similarity_to_real": float(np.nanmean(chroma)), "measures": measures,
            "mean_overlap": float(np.nanmean([m["overlap"] for m in measures.values()])),
            "mean_pitch_by_voice": voice_pitch, "rows": nll_rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/m21-300"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--per-style", type=int, default=6, help="test pieces per style")
    parser.add_argument("--bars", type=int, default=16, help="bars of each test piece")
    parser.add_argument("--jsb", type=int, default=77, help="JSB test chorales scored")
    parser.add_argument("--jsb-generate", type=int, default=20, help="JSB test chorales accompanied")
    parser.add_argument("--temperature", type=float, default=JobConfig.temperature)
    parser.add_argument("--guidance", type=float, default=JobConfig.guidance_scale)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of every job")
    parser.add_argument("--no-audio", action="store_true")
    parser.add_argument("--skip", choices=("conversion", "accompaniment"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/style-jobs"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, tokenizer, meta = load_decoder(args.model)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    config = JobConfig(temperature=args.temperature, top_p=0.95, guidance_scale=args.guidance, seed=args.seed)
    results: dict = {"model": args.model, "command": " ".join(sys.argv)}
    if args.skip != "conversion":
        results["conversion"] = conversion(args, model, tokenizer, classifier, config)
        print(json.dumps(results["conversion"]["summary"], indent=1))
        for name, d in results["conversion"]["directions"].items():
            print(f"{name:26s} acc {d['accuracy']:.2f}  TS {d['transfer_strength']:+.3f}  "
                  f"pairwise {d['transfer_strength_pairwise']:+.3f}  "
                  f"melody {d['melody_kept']:.2f}  chroma {d['chroma_similarity']:.3f}")
    if args.skip != "accompaniment":
        results["accompaniment"] = accompaniment(args, model, tokenizer, config)
        a = results["accompaniment"]
        print(json.dumps({k: v for k, v in a.items() if k != "rows"}, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    print(f"wrote {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
