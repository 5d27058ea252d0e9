"""How many notes of the parts under a melody lie outside the melody's key: real and generated.

On the VALIDATION pieces of a style (first 16 bars), the key around each bar is
told from the melody alone (``symbolic.analysis.keys.bar_scales``, two bars either
side), as the jobs tell it from the kept melody.  Printed: the share of the real
parts' notes outside that key, and for each ``--penalties`` value of the style's
``StyleTexture.off_scale_penalty`` the same share for the parts ``accompany``
writes under the melody in that style (the CLI's default sampling settings), with
the style classifier's mean probability of the style, and the mean note length of
the real and the generated parts.  The texture's penalty is the one whose share
comes closest to the real one.  ``--guidance`` sets the guidance (default: the
CLI's).

For ``--style pop`` (a data set built with ``--pop909`` and a model that knows pop,
``--model``, judged by a classifier that knows pop, ``--classifier``) the melody is the
``MELODY`` track and the parts are the ``PIANO`` alone (the part ``accompany`` writes in
pop); each song is cut to its first 16 bars from where the melody enters (its intro has
no melody to accompany).

    python benchmarks/key_fit.py --style chorale --penalties 0,1,1.5,2,3
    python benchmarks/key_fit.py --style pop --data /work/runs/pop6/data --model /work/runs/pop6/ckpt \
        --classifier symbolic/assets/style-classifier --pieces 16 --penalties 0,0.5,1,2
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from style_jobs import test_pieces  # noqa: E402

from symbolic.analysis.keys import bar_scales  # noqa: E402
from symbolic.evaluation.jobs import crop_bars, first_bar_with_notes  # noqa: E402
from symbolic.inputs.midi import read_midi  # noqa: E402
from symbolic.jobs.arrange import accompany, choose_melody_track  # noqa: E402
from symbolic.jobs.config import JobConfig  # noqa: E402
from symbolic.models.classifier import classify_scores, load_classifier  # noqa: E402
from symbolic.models.pretrained import load_decoder  # noqa: E402
from symbolic.resources import asset_path  # noqa: E402
from symbolic.score import Score  # noqa: E402
from symbolic.tokenization.stream import part_notes, split_bars  # noqa: E402


def outside_share(score: Score, tokenizer) -> tuple[int, int]:
    """(notes of tracks 1.. outside the key of track 0 around their bar, all notes of tracks 1..)."""
    vocab = tokenizer.vocab
    _, bars = split_bars(vocab, tokenizer.encode(score))
    outside = total = 0
    for scale, (_, parts) in zip(bar_scales(vocab, bars, slots={0}), bars):
        for slot, ids in parts.items():
            if slot == 0 or scale is None:
                continue
            pitches = [pitch for _, _, pitch in part_notes(vocab, ids)]
            outside += sum(p % 12 not in scale for p in pitches)
            total += len(pitches)
    return outside, total


def pop_pieces(data: Path, n_pieces: int, bars: int, tokenizer) -> list[tuple[str, Score]]:
    """``[(id, score)]`` of the first ``n_pieces`` pop validation songs of a data set, by id, each cut to
    ``bars`` bars from the bar of its first MELODY note."""
    import json

    manifest = json.loads((data / "manifest.json").read_text())
    records = sorted((p for p in manifest["pieces"] if p["split"] == "valid" and p["style"] == "pop"),
                     key=lambda p: p["id"])[:n_pieces]
    out = []
    for record in records:
        song = read_midi(record["midi"])
        out.append((record["id"], crop_bars(song, bars, tokenizer, first_bar=first_bar_with_notes(song, tokenizer))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/m21-300"))
    parser.add_argument("--style", default="chorale", choices=("chorale", "renaissance", "classical", "pop"))
    parser.add_argument("--model", default="default", help="a shipped model name or a checkpoint folder")
    parser.add_argument("--classifier", type=Path, help="a style classifier folder (default: the shipped one)")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--pieces", type=int, default=23, help="validation pieces")
    parser.add_argument("--penalties", default="0,1,1.5,2,3")
    parser.add_argument("--guidance", type=float, default=JobConfig.guidance_scale)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, tokenizer, meta = load_decoder(args.model)
    classifier, _ = load_classifier(args.classifier or asset_path("style-classifier"))
    index = classifier.config.styles.index(args.style)
    if args.style == "pop":
        pieces = pop_pieces(args.data, args.pieces, args.bars, tokenizer)
    else:
        pieces = test_pieces(args.data, args.pieces, args.bars, tokenizer, split="valid")[args.style]
    config = JobConfig(guidance_scale=args.guidance, seed=0)
    print(f"model {args.model}" + (f" at step {meta['step']}" if meta.get("step") is not None else ""))
    melodies, real, real_beats = [], np.zeros(2), []
    for _, x in pieces:
        melody = 0 if args.style == "pop" else choose_melody_track(x)
        parts = (2,) if args.style == "pop" else range(len(x.tracks))  # pop: the PIANO under the MELODY
        order = [melody] + [i for i in parts if i != melody and x.tracks[i].notes]
        ordered = Score(ticks_per_beat=x.ticks_per_beat, tracks=[x.tracks[i] for i in order], tempos=x.tempos,
                        time_signatures=x.time_signatures)
        real += outside_share(ordered, tokenizer)
        real_beats += [n.duration_ticks / x.ticks_per_beat for t in ordered.tracks[1:] for n in t.notes]
        melodies.append(Score(ticks_per_beat=x.ticks_per_beat, tracks=[x.tracks[melody]], tempos=x.tempos,
                              time_signatures=x.time_signatures))
    print(f"{len(pieces)} validation pieces ({args.style}); real parts under the melody outside its key: "
          f"{real[0] / real[1]:.3f} of {int(real[1])} notes, {np.mean(real_beats):.2f} beats long on average")
    for penalty in (float(v) for v in args.penalties.split(",")):
        job = dataclasses.replace(config, off_scale_penalty=penalty)
        start, counts, p_style, beats = time.perf_counter(), np.zeros(2), [], []
        for tune in melodies:
            result = accompany(model, tokenizer, tune, {args.style: 1.0}, job)
            counts += outside_share(result.score, tokenizer)
            p_style.append(classify_scores(classifier, [result.score])[0][index])
            beats += [n.duration_ticks / tune.ticks_per_beat for i in result.new_tracks
                      for n in result.score.tracks[i].notes]
        print(f"penalty {penalty:g}: generated outside the key {counts[0] / counts[1]:.3f} of {int(counts[1])} notes, "
              f"{np.mean(beats):.2f} beats long on average, classifier P({args.style}) {np.mean(p_style):.3f} "
              f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
