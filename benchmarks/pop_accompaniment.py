"""Pop accompaniment on POP909: the piano a model writes under a held-out melody, beside the real piano.

On the first ``--songs`` songs of the POP909 TEST split (``split_of`` with the build's default
10% valid / 10% test, the split the six-style model never trained on), each cut to its first
``--bars`` bars (aligned to the annotated beats by ``load_pop909_song``), two settings:

- ``melody``: the ``MELODY`` track alone is given; ``accompany --style pop`` writes the piano;
- ``melody+bridge``: ``MELODY`` and ``BRIDGE`` are given; the piano is written under both;
- ``melody+chords``: ``MELODY`` and the annotated chords (``chord_midi.txt``), as a user gives a chord chart
  (the job follows them instead of guessing chords from the melody: ``jobs.rules.ChordBias``).

For the generated and the real ``PIANO`` track, side by side (``symbolic.evaluation`` and
``symbolic.analysis``):

- NLL per note of the REAL piano under the model, given what precedes it (melody, and bridge in the
  second setting), with the pop style, no style, and a wrong style (``--wrong-style``):
  ``evaluation.jobs.accompaniment_nll``;
- chord-tone ratio against ``chord_midi.txt`` (``analysis.chords.chord_tone_ratio``) and key
  consistency against ``key_audio.txt`` (``evaluation.accompaniment.key_consistency``);
- polyphony, note density (notes a beat), pitch range, groove consistency of the piano alone
  (``evaluation.accompaniment.track_metrics``), and for each the overlapping area of Yang and Lerch
  (2020) between the generated pianos and the real ones (``evaluation.compare.overlapping_area``);
- the style classifier's P(pop) of the whole output (melody, bridge when given, piano);
- the share of the given melody kept note for note (``evaluation.accompaniment.kept_note_share``; must be 1).

Each song's figures go to ``--work/<song>.json`` as soon as they are measured (atomically), keyed by
the model, its step and the settings: a stopped run resumes where it was, and ``--songs`` can grow.
The report (``--out``) is rewritten after every song.

    OMP_NUM_THREADS=1 python benchmarks/pop_accompaniment.py --model /work/runs/pop6/ckpt --songs 20 \\
        --out docs/results/pop-accompaniment.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symbolic.analysis.chords import chord_tone_ratio  # noqa: E402
from symbolic.data.build import BuildConfig, split_of  # noqa: E402
from pop_texture import notes_per_beat_by_group  # noqa: E402
from symbolic.data.pop909 import list_pop909_pieces, load_pop909_song  # noqa: E402
from symbolic.evaluation.accompaniment import (kept_note_share, key_consistency, semitone_clash_share,  # noqa: E402
                                               track_metrics)
from symbolic.evaluation.compare import overlapping_area  # noqa: E402
from symbolic.evaluation.jobs import accompaniment_nll, crop_bars, first_bar_with_notes  # noqa: E402
from symbolic.resources import shared_data_dir  # noqa: E402
from symbolic.score import Score, Track  # noqa: E402
from symbolic.utils import atomic_write_json, atomic_write_text  # noqa: E402

# the given POP909 tracks (MELODY, BRIDGE; PIANO is 2), and whether the annotated chords (chord_midi.txt) are
# given with them, as a user gives a chord chart; without, the job guesses the chords from the given tracks
SETTINGS = {"melody": ((0,), False), "melody+bridge": ((0, 1), False), "melody+chords": ((0,), True)}
PIANO = 2
SHAPE_METRICS = ("polyphony", "note_density", "pitch_range", "groove_consistency")
GOALS = "P(pop) >= 0.9; chord-tone ratio and note density within 10% of the real piano's; overlap >= 0.8"


def test_songs(pop909: Path, n_songs: int) -> list:
    """The first ``n_songs`` POP909 pieces of the test split, by id."""
    config = BuildConfig()
    return [p for p in list_pop909_pieces(pop909) if split_of(p.id, config) == "test"][:n_songs]


def view(score: Score, indices: tuple[int, ...], annotated: bool = True) -> Score:
    """The tracks ``indices`` of ``score`` (in that order) with its maps and (``annotated``) its annotations."""
    out = Score(ticks_per_beat=score.ticks_per_beat, tracks=[score.tracks[i] for i in indices],
                tempos=list(score.tempos), time_signatures=list(score.time_signatures))
    if annotated:
        out.annotations = score.annotations
    return out


def layout_view(score: Score, given: tuple[int, ...]) -> tuple[Score, int]:
    """The given tracks and the real PIANO in the layout the accompany job shows the model (the pop
    texture's :meth:`~symbolic.styles.texture.StyleTexture.slot_layout`: an empty bridge slot when the
    bridge is not given), and the piano's slot; for the NLL of the real piano as the job would write it."""
    from symbolic.styles.registry import texture_of

    texture = texture_of("pop")
    sources, free = texture.slot_layout(len(given), 1)
    tracks = [score.tracks[given[k]] if k is not None else
              Track(program=texture.corpus_program(slot), name="empty", notes=[])
              for slot, k in enumerate(sources)]
    tracks[free.start] = score.tracks[PIANO]
    out = view(score, ())
    out.tracks = tracks
    return out, free.start


def piano_measures(score: Score, track: int) -> dict[str, float | None]:
    """Chord-tone ratio, key consistency and the shape metrics of one piano track of an annotated score."""
    metrics = track_metrics(score, track)
    return {"chord_tone_ratio": chord_tone_ratio(score, track), "key_consistency": key_consistency(score, track),
            "semitone_clash": semitone_clash_share(score.tracks[track]),
            **{name: metrics[name] for name in SHAPE_METRICS}, "notes": len(score.tracks[track].notes)}


def measure_song(piece, args, model, tokenizer, classifier, job) -> dict:
    """Every figure of one song, both settings: ``{setting: {"generated": {...}, "real": {...}, ...}}``."""
    from symbolic.jobs.arrange import accompany
    from symbolic.models.classifier import classify_scores

    full, _ = load_pop909_song(piece.path)
    song = crop_bars(full, args.bars or 10 ** 6, tokenizer, first_bar=first_bar_with_notes(full, tokenizer))
    pop = classifier.config.styles.index("pop") if "pop" in classifier.config.styles else None
    out: dict = {"song": piece.id, "bars": args.bars, "melody_notes": len(song.tracks[0].notes)}
    for setting in args.settings:
        given, with_chords = SETTINGS[setting]
        real = view(song, given + (PIANO,))
        row: dict = {"nll_per_note": {}}
        scored, piano_slot = layout_view(song, given)
        for name, style in (("pop", "pop"), ("none", None), ("wrong", args.wrong_style)):
            total, notes = accompaniment_nll(model, tokenizer, scored, style, melody_slots=piano_slot)
            row["nll_per_note"][name] = total / notes if notes else None
        start = time.process_time()
        result = accompany(model, tokenizer, view(song, given, annotated=with_chords), {"pop": 1.0}, job,
                           melody_track=0)
        row["cpu_seconds"] = round(time.process_time() - start, 1)
        generated = result.score
        generated.annotations = song.annotations
        piano = result.new_tracks[0]
        row["generated"] = piano_measures(generated, piano)
        row["real"] = piano_measures(real, len(given))
        # songs build up and a sampled piano thins: its notes a beat per 8 bars from the melody's first bar
        row["generated"]["notes_per_beat_by_8_bars"] = notes_per_beat_by_group(
            generated, generated.tracks[result.melody_track], generated.tracks[piano])
        row["real"]["notes_per_beat_by_8_bars"] = notes_per_beat_by_group(real, real.tracks[0], real.tracks[len(given)])
        row["melody_kept"] = kept_note_share(song.tracks[0], generated.tracks[result.melody_track],
                                             song.ticks_per_beat, generated.ticks_per_beat)
        if pop is not None:
            probs = classify_scores(classifier, [generated, real])
            row["generated"]["p_pop"], row["real"]["p_pop"] = float(probs[0, pop]), float(probs[1, pop])
        out[setting] = row
    return out


def _mean(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def _fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def report(rows: list[dict], args, label: str, seconds: float) -> str:
    """The Markdown report of the measured songs."""
    lines = ["# Pop accompaniment on POP909: generated piano beside the real one", "",
             f"Measured {datetime.date.today()} on the shared 2-core CPU (one thread), with", "", "```sh",
             f"OMP_NUM_THREADS=1 python benchmarks/pop_accompaniment.py --model {args.model} --songs {args.songs} "
             f"--bars {args.bars} --seed {args.seed} --guidance {args.guidance:g} --density-floor {args.density_floor:g}"
             + (f" --segment-bars {args.segment_bars}" if args.segment_bars is not None else "")
             + (" --no-repeat-parts" if args.no_repeat_parts else "")
             + (f" --chord-penalty {args.chord_penalty:g}" if args.chord_penalty is not None else "")
             + f" --settings {','.join(args.settings)}" + (f" --classifier {args.classifier}" if args.classifier else "")
             + (" --note ..." if args.note else "")
             + f" --out {args.out}", "```", "",
             f"Model: {label}.  {len(rows)} POP909 test songs ({', '.join(r['song'] for r in rows)}), "
             + (f"{args.bars} bars each" if args.bars else "the whole song")
             + " from the bar of the first melody note; `accompany --style pop` with the jobs' default sampling (guidance "
             f"{args.guidance:g}, density floor {args.density_floor:g}, chord penalty {args.chord_nats:g} nats, seed {args.seed}); {seconds:.0f} CPU s in this run (songs measured before a "
             "resume not counted).  Means over songs; the overlap is Yang and Lerch's overlapping area between "
             "the generated and the real pianos' values over the songs (1 = the same distribution).", "",
             f"Goals (issue 15): {GOALS}.", ""] + ([args.note, ""] if args.note else [])
    for setting in args.settings:
        measured = [r[setting] for r in rows]
        lines += [f"## Given: {setting.replace('+', ' + ').upper()}", "",
                  "| measure | generated piano | real piano | generated / real | overlap (Yang & Lerch) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for name in ("chord_tone_ratio", "key_consistency", "semitone_clash", *SHAPE_METRICS, "notes", "p_pop"):
            gen = [m["generated"].get(name) for m in measured]
            real = [m["real"].get(name) for m in measured]
            g, r = _mean(gen), _mean(real)
            overlap = overlapping_area([math.nan if v is None else v for v in gen],
                                       [math.nan if v is None else v for v in real])["overlap"] \
                if name in SHAPE_METRICS else math.nan
            lines.append(f"| {name.replace('_', ' ')} | {_fmt(g)} | {_fmt(r)} | "
                         f"{_fmt(g / r if r else math.nan, 2)} | {_fmt(overlap, 2)} |")
        groups = [(g, r) for m in measured for g, r in zip(m["generated"].get("notes_per_beat_by_8_bars", ()),
                                                           m["real"].get("notes_per_beat_by_8_bars", ()))]
        by_group = [[m[k] for k in ("generated", "real")] for m in measured]
        if not args.bars and groups:
            width = max(len(g.get("notes_per_beat_by_8_bars", ())) for g, _ in by_group)
            ratios = []
            for k in range(min(width, 12)):
                pairs = [(g["notes_per_beat_by_8_bars"][k], r["notes_per_beat_by_8_bars"][k]) for g, r in by_group
                         if len(g.get("notes_per_beat_by_8_bars", ())) > k and len(r.get("notes_per_beat_by_8_bars", ())) > k]
                ratios.append(f"{_fmt(_mean([p[0] for p in pairs]), 2)} / {_fmt(_mean([p[1] for p in pairs]), 2)} ({len(pairs)})")
            lines += ["", "Piano notes a beat per 8 bars from the melody's first bar, generated / real (songs): "
                      + "; ".join(ratios) + "."]
        kept = [m["melody_kept"] for m in measured]
        lines += ["", f"Melody kept note for note: {sum(k == 1.0 for k in kept)} of {len(kept)} songs "
                      f"(mean share {_fmt(_mean(kept), 4)}).  Generation took {_fmt(_mean([m['cpu_seconds'] for m in measured]), 1)} "
                      "CPU s a song.", "",
                  f"NLL per note of the real piano under the model (nats): with pop {_fmt(_mean([m['nll_per_note']['pop'] for m in measured]))}, "
                  f"no style {_fmt(_mean([m['nll_per_note']['none'] for m in measured]))}, "
                  f"wrong style ({args.wrong_style}) {_fmt(_mean([m['nll_per_note']['wrong'] for m in measured]))}.", ""]
    lines += ["## Per song", "", "| song | setting | chord-tone ratio gen / real | note density gen / real | "
              "P(pop) gen / real | NLL/note pop / none / wrong | melody kept |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        for setting in args.settings:
            m = r[setting]
            nll = m["nll_per_note"]
            lines.append(f"| {r['song']} | {setting} | {_fmt(m['generated']['chord_tone_ratio'])} / "
                         f"{_fmt(m['real']['chord_tone_ratio'])} | {_fmt(m['generated']['note_density'])} / "
                         f"{_fmt(m['real']['note_density'])} | {_fmt(m['generated'].get('p_pop'))} / "
                         f"{_fmt(m['real'].get('p_pop'))} | {_fmt(nll['pop'])} / {_fmt(nll['none'])} / "
                         f"{_fmt(nll['wrong'])} | {_fmt(m['melody_kept'], 4)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a checkpoint folder (or a shipped model name)")
    parser.add_argument("--classifier", type=Path, help="a style classifier folder that knows pop "
                                                        "(default: the shipped one)")
    parser.add_argument("--pop909", type=Path, default=shared_data_dir() / "pop909")
    parser.add_argument("--songs", type=int, default=10, help="first N test songs (default 10)")
    parser.add_argument("--bars", type=int, default=16, help="bars of each song (default 16; 0: the whole song)")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help=f"what is given, comma-separated among {', '.join(SETTINGS)} (default all)")
    parser.add_argument("--density-floor", type=float, help="JobConfig.density_floor (default: the jobs' own)")
    parser.add_argument("--chord-penalty", type=float, help="JobConfig.chord_penalty (default: the style's own)")
    parser.add_argument("--guidance", type=float, help="JobConfig.guidance_scale (default: the jobs' own)")
    parser.add_argument("--segment-bars", type=int, help="JobConfig.segment_bars (default: the jobs' own)")
    parser.add_argument("--no-repeat-parts", action="store_true",
                        help="JobConfig.repeat_parts=False: sample every bar, also where the melody repeats")
    parser.add_argument("--wrong-style", default="chorale", help="the wrong style of the NLL (default chorale)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="per-song results (default: <out>.work/)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/pop-accompaniment.md"))
    parser.add_argument("--note", help="a paragraph for the report (what the model is, what to read into it)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from symbolic.jobs.config import JobConfig
    from symbolic.models.classifier import load_classifier
    from symbolic.models.pretrained import load_decoder
    from symbolic.resources import asset_path

    torch.set_num_threads(1)
    if not (args.pop909 / "001").is_dir():
        print(f"error: {args.pop909}: no POP909 song folders (001, 002, ...); give --pop909 DIR", file=sys.stderr)
        return 2
    if args.songs < 1 or args.bars < 0:
        print(f"error: --songs {args.songs} must be >= 1 and --bars {args.bars} >= 0", file=sys.stderr)
        return 2
    args.settings = tuple(args.settings.split(","))
    if not args.settings or any(s not in SETTINGS for s in args.settings):
        print(f"error: --settings {','.join(args.settings)}: give some of {', '.join(SETTINGS)}", file=sys.stderr)
        return 2
    model, tokenizer, meta = load_decoder(args.model)
    for style in ("pop", args.wrong_style):
        if style not in tokenizer.vocab.styles:
            print(f"error: the model {args.model} does not know the style {style!r} (it knows "
                  f"{', '.join(tokenizer.vocab.styles)}); give a model trained with POP909", file=sys.stderr)
            return 2
    classifier, _ = load_classifier(args.classifier or asset_path("style-classifier"))
    job = JobConfig(seed=args.seed, chord_penalty=args.chord_penalty,
                    **({} if args.guidance is None else {"guidance_scale": args.guidance}),
                    **({} if args.segment_bars is None else {"segment_bars": args.segment_bars}),
                    repeat_parts=not args.no_repeat_parts,
                    **({} if args.density_floor is None else {"density_floor": args.density_floor}))
    from symbolic.styles.registry import texture_of

    args.guidance, args.density_floor = job.guidance_scale, job.density_floor
    args.chord_nats = texture_of("pop").chord_penalty if job.chord_penalty is None else job.chord_penalty
    step = meta.get("step")
    label = f"`{args.model}`" + (f" at training step {step}" if step is not None else "")
    key = {"model": str(Path(args.model).resolve()) if Path(args.model).exists() else args.model, "step": step,
           "bars": args.bars, "seed": args.seed, "wrong_style": args.wrong_style,
           "classifier": str(args.classifier), "guidance": job.guidance_scale, "density_floor": job.density_floor, "segment_bars": job.segment_bars,
           "repeat_parts": job.repeat_parts,
           "chord_penalty": job.chord_penalty, "settings": list(args.settings)}
    work = args.work or args.out.with_suffix(".work")
    work.mkdir(parents=True, exist_ok=True)
    songs = test_songs(args.pop909, args.songs)
    rows, cpu = [], 0.0
    for piece in tqdm(songs, desc="songs", unit="song", disable=args.no_progress):
        path = work / f"{piece.id.replace('/', '_')}.json"
        if path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("key") == key:
                rows.append(saved["row"])
                continue
        start = time.process_time()
        row = measure_song(piece, args, model, tokenizer, classifier, job)
        cpu += time.process_time() - start
        atomic_write_json(path, {"key": key, "row": row})
        rows.append(row)
        atomic_write_text(args.out, report(rows, args, label, cpu))
    atomic_write_text(args.out, report(rows, args, label, cpu))
    print(f"wrote {args.out} ({len(rows)} songs; per-song figures in {work}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
