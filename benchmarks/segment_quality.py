"""Do segmented jobs sound like one-piece ones?  The same job with and without segments (``JobConfig.segment_bars``),
on real songs, measured as a whole and around the seams (docs/results/job-speed.md, "Fourth pass").

    python benchmarks/segment_quality.py /work/real-midi/multitrack/pop_*.mid --job convert --style chorale \
        --seeds 1 --segment-bars 32 --rolls docs/results/figures/segment-seams.png

For each song, the job runs twice with the same seed: ``segment_bars=0`` (one session) and the default (cut
into segments, each after the first warmed up over the bars before it).  Per output: the style classifier's
P(target style) of the whole output (``symbolic.models.classifier``); for the new parts, notes per bar, the
share of their note time inside the melody's key (``symbolic.analysis.keys.estimate_key`` on the melody's
duration-weighted pitch classes), and the doubling share (``symbolic.analysis.parts.doubling_share``);
and the same three over the 4 bars after each cut ("seam") against the same bars of the one-piece output.
The last column: how much the new parts' notes a bar change from the 4 bars before a cut to the 4 after it
(mean absolute difference of the two windows' notes a bar), for both outputs: a seam that jumps shows there.
``--rolls``: a PNG of the piano rolls around the first cut of the first song, one-piece above segmented.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np


def _window(notes, start: int, end: int):
    return [n for n in notes if start <= n.onset_ticks < end]


def _in_key(notes, scale) -> float:
    total = sum(n.duration_ticks for n in notes)
    return sum(n.duration_ticks for n in notes if n.pitch % 12 in scale) / total if total else math.nan


def measure(result, melody, bar_ticks: list[int], cuts: list[int], classifier, style_index: int) -> dict:
    """The figures of one output; ``bar_ticks``: each bar's start tick (one more for the end)."""
    from symbolic.analysis.keys import estimate_key, scale_pitch_classes
    from symbolic.analysis.parts import doubling_share
    from symbolic.models.classifier import classify_scores

    score = result.score
    new = [n for k in result.new_tracks for n in score.tracks[k].notes]
    kept = [score.tracks[k].notes for k in result.kept_tracks if not score.tracks[k].is_drum]
    histogram = np.zeros(12)
    for n in melody:
        histogram[n.pitch % 12] += n.duration_ticks
    key = estimate_key(histogram)
    scale = scale_pitch_classes(*key) if key is not None else frozenset(range(12))
    n_bars = len(bar_ticks) - 1
    out = {"p_style": float(classify_scores(classifier, [score])[0, style_index]),
           "notes_per_bar": len(new) / n_bars, "in_key": _in_key(new, scale),
           "doubling": float(np.mean([doubling_share(score.tracks[k].notes, kept) for k in result.new_tracks]))}
    seam_notes, seam_key, jumps = [], [], []
    for cut in cuts:
        after = _window(new, bar_ticks[cut], bar_ticks[min(cut + 4, n_bars)])
        before = _window(new, bar_ticks[max(cut - 4, 0)], bar_ticks[cut])
        seam_notes.append(len(after) / 4)
        seam_key.append(_in_key(after, scale))
        jumps.append(abs(len(after) - len(before)) / 4)
    out.update(seam_notes_per_bar=float(np.mean(seam_notes)) if cuts else math.nan,
               seam_in_key=float(np.nanmean(seam_key)) if cuts else math.nan,
               worst_seam_in_key=float(np.nanmin(seam_key)) if cuts and not np.all(np.isnan(seam_key)) else math.nan,
               seams_in_key=[round(k, 2) for k in seam_key],
               seam_jump=float(np.mean(jumps)) if cuts else math.nan)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("songs", nargs="+", type=Path)
    parser.add_argument("--job", choices=("convert", "accompany"), default="convert")
    parser.add_argument("--style", default="chorale")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds; each song runs once per seed")
    parser.add_argument("--segment-bars", type=int, default=32, help="the segmented run's JobConfig.segment_bars")
    parser.add_argument("--warmup-bars", type=int, default=4, help="the segmented run's JobConfig.warmup_bars")
    parser.add_argument("--runs", default="one piece,segmented", help="which runs (the one piece is the same for "
                        "every --warmup-bars: leave it out to compare warm-ups)")
    parser.add_argument("--rolls", type=Path, help="write the piano rolls around the first song's first cut here")
    parser.add_argument("--out-dir", type=Path, help="write every output here (SONG_SEED_RUN.mid)")
    args = parser.parse_args()

    import symbolic.jobs.plan as plan_module
    from symbolic.resources import asset_path
    from symbolic.inputs.midi import read_midi
    from symbolic.jobs.arrange import accompany, convert, find_melody
    from symbolic.jobs.config import JobConfig
    from symbolic.models.classifier import load_classifier
    from symbolic.models.pretrained import load_decoder

    model, tokenizer, _ = load_decoder("default")
    classifier, _ = load_classifier(asset_path("style-classifier"))
    style_index = classifier.config.styles.index(args.style)
    cuts_seen: list = []
    plan_segments = plan_module.plan_segments
    plan_module.plan_segments = lambda *a, **k: cuts_seen.append(plan_segments(*a, **k)) or cuts_seen[-1]
    rows, started = [], time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for path, seed in [(p, int(s)) for p in args.songs for s in args.seeds.split(",")]:
        score = read_midi(path)
        melody = find_melody(score)
        melody_notes = melody.score.tracks[melody.melody_track].notes
        steps = tokenizer.bar_starts_steps(score)
        bar_ticks = [s * score.ticks_per_beat // tokenizer.config.steps_per_beat for s in steps]
        outputs = {}
        for name, segment_bars in [(n, b) for n, b in (("one piece", 0), ("segmented", args.segment_bars))
                                   if n in args.runs.split(",")]:
            config = JobConfig(seed=seed, segment_bars=segment_bars, warmup_bars=args.warmup_bars)
            start = time.process_time()
            if args.job == "convert":
                result = convert(model, tokenizer, score, {args.style: 1.0}, config)
            else:
                result = accompany(model, tokenizer, score, {args.style: 1.0}, config, replace_accompaniment=True)
            seconds = time.process_time() - start
            outputs[name] = (result, seconds)
            if args.out_dir:
                from symbolic.outputs.midi import write_midi

                args.out_dir.mkdir(parents=True, exist_ok=True)
                write_midi(result.score, args.out_dir / f"{path.stem}_{seed}_{name.replace(' ', '_')}.mid")
        cuts = [s.start_bar for s in cuts_seen[-1][1:]]
        for name, (result, seconds) in outputs.items():
            row = {"song": path.stem, "seed": seed, "bars": len(bar_ticks) - 1, "run": name,
                   "cuts": [(s.warmup_bar, s.start_bar) for s in cuts_seen[-1][1:]], "cpu_s": seconds,
                   **measure(result, melody_notes, bar_ticks, cuts, classifier, style_index)}
            rows.append(row)
            print(" | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
        if args.rolls and cuts and path == args.songs[0] and seed == int(args.seeds.split(",")[0]):
            from symbolic.evaluation.figures import write_piano_rolls
            from symbolic.evaluation.jobs import crop_bars

            first = max(cuts[0] - 6, 0)
            crops = [(f"{path.stem}, {name}, bars {first}-{first + 12} (cut at {cuts[0]})",
                      crop_bars(result.score, 12, tokenizer, first_bar=first))
                     for name, (result, _) in outputs.items()]
            write_piano_rolls(args.rolls, crops)
    print(f"\n{args.job} --{'to' if args.job == 'convert' else 'style'} {args.style} --seeds {args.seeds}, "
          f"--segment-bars {args.segment_bars} --warmup-bars {args.warmup_bars}, started {started}, {len(args.songs)} songs\n")
    keys = ["cpu_s", "p_style", "notes_per_bar", "in_key", "doubling", "seam_notes_per_bar", "seam_in_key",
            "worst_seam_in_key", "seam_jump"]
    print("| run | " + " | ".join(keys) + " |\n| --- |" + " --- |" * len(keys))
    for name in args.runs.split(","):
        mine = [r for r in rows if r["run"] == name]
        print(f"| {name} | " + " | ".join(f"{np.nanmean([r[k] for r in mine]):.3f}" for k in keys) + " |")
    print("\nworst seam over all runs: " + ", ".join(
        f"{name} {np.nanmin([r['worst_seam_in_key'] for r in rows if r['run'] == name]):.3f}"
        for name in args.runs.split(",")))


if __name__ == "__main__":
    main()
