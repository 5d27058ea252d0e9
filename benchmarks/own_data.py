"""Own-data benchmark: a folder of real songs in, a trained model out; does it write music?

Assembles a style-per-subfolder MIDI folder (POP909 songs, each with a drum
track laid on its beat grid so the folder is multi-track with drums; and, when
given, the style folders of ``--real-midi``), builds it, trains ``--preset``
on one thread, then samples ``--samples`` pieces of ``--bars`` bars per style
and reports:

- empty samples (no note; goal 0),
- notes per bar of the samples against the training split's,
- drum-slot notes outside the GM percussion map 27..87 (goal 0) and the share of
  pitched-track notes on the kit's core keys 35..46 (kick, snare, hi-hat), set
  against the same share in the training data (real bass lines use these keys too),
- the shipped style classifier's reading of the samples and of the training songs,
- train time and training tokens per second.

It uses only library calls that exist before and after issue 16, so the same
script measures the old code (``PYTHONPATH=/work/main``) and the new one (POP909 is read from
``../shared/data`` beside the repository, or ``$SYMBOLIC_SHARED_DATA``)::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/own_data.py --preset tiny --label after \\
        --work benchmarks/out/own-data --json benchmarks/out/own-data/after-tiny.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

KIT_KEYS = range(27, 88)  # GM2 percussion map
CORE_KIT = range(35, 47)  # kick, side stick, snare, clap, toms, hi-hats


def add_drum_track(score, seed: int):
    """A rock pattern (kick 1 and 3, snare 2 and 4, eighth hi-hats) over the span of ``score``'s notes."""
    from symbolic.score import Note, Track

    rng = np.random.default_rng(seed)
    tpb = score.ticks_per_beat
    onsets = [n.onset_ticks for t in score.tracks for n in t.notes]
    if not onsets:
        return score
    first, last = min(onsets) // tpb, max(onsets) // tpb + 1
    notes = []
    for beat in range(first, last):
        key = 36 if beat % 2 == 0 else 38
        notes.append(Note(beat * tpb, tpb // 4, key, int(rng.integers(80, 120))))
        for half in (0, tpb // 2):
            notes.append(Note(beat * tpb + half, tpb // 4, 42, int(rng.integers(50, 90))))
    score.tracks.append(Track(program=0, is_drum=True, notes=notes))
    return score.sort()


def assemble(work: Path, n_songs: int, first_song: int, real_midi: Path | None, real_styles: list[str]) -> Path:
    """The MIDI folder: ``pop/`` (POP909 songs plus drums) and the style folders of ``real_midi``."""
    from symbolic.inputs.midi import read_midi
    from symbolic.outputs.midi import write_midi
    from symbolic.resources import shared_data_dir

    pop909 = shared_data_dir() / "pop909"
    folder = work / "midi"
    pop = folder / "pop"
    pop.mkdir(parents=True, exist_ok=True)
    for number in range(first_song, first_song + n_songs):
        out = pop / f"{number:03d}.mid"
        if not out.is_file():
            write_midi(add_drum_track(read_midi(pop909 / f"{number:03d}" / f"{number:03d}.mid"), number), out)
    if real_midi is not None:
        for style_dir in sorted(p for p in real_midi.iterdir() if p.is_dir() and p.name in real_styles):
            target = folder / style_dir.name
            if not target.exists():
                shutil.copytree(style_dir, target)
    return folder


def sequence_stats(ids, vocab) -> dict:
    """Notes, bars, drum-slot notes outside the kit, pitched notes and those on core kit keys of one sequence."""
    from symbolic.tokenization.vocab import TokenType as T

    drums, slot, after_drums, out = set(), None, False, {"notes": 0, "bars": 0, "drum_off_kit": 0,
                                                       "drum_notes": 0, "pitched": 0, "pitched_core_kit": 0}
    header = True
    for token in ids:
        t, value = vocab.types[token], vocab.values[token]
        if t == T.TRACK:
            slot = value
        elif t == T.DRUMS:
            after_drums = True
        elif t == T.PROGRAM:
            if after_drums:
                drums.add(slot)
            after_drums = False
        elif t == T.BAR:
            header = False
            out["bars"] += 1
        elif t == T.PITCH and not header:
            out["notes"] += 1
            if slot in drums:
                out["drum_notes"] += 1
                out["drum_off_kit"] += value not in KIT_KEYS
            else:
                out["pitched"] += 1
                out["pitched_core_kit"] += value in CORE_KIT
        elif t == T.EOS:
            break
    return out


def summarise(stats: list[dict]) -> dict:
    total = {k: sum(s[k] for s in stats) for k in stats[0]} if stats else {}
    per_bar = [s["notes"] / s["bars"] for s in stats if s["bars"]]
    return {"pieces": len(stats), "empty": sum(s["notes"] == 0 for s in stats),
            "notes_per_bar_mean": float(np.mean(per_bar)) if per_bar else 0.0,
            "drum_off_kit": total.get("drum_off_kit", 0), "drum_notes": total.get("drum_notes", 0),
            "pitched_core_kit_share": total["pitched_core_kit"] / total["pitched"] if total.get("pitched") else 0.0,
            "declared_tracks_mean": 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/own-data"))
    parser.add_argument("--songs", type=int, default=30, help="POP909 songs (default 30)")
    parser.add_argument("--first-song", type=int, default=101, help="first POP909 song number (tests use 1..9)")
    parser.add_argument("--real-midi", type=Path, help="a folder of style subfolders of real MIDI to add")
    parser.add_argument("--real-styles", default="multitrack,piano", help="subfolders of --real-midi to use")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--model", default="gpt")
    parser.add_argument("--max-steps", type=int, help="override the preset's steps")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--label", default="run")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted training run of the same label, preset and model")
    parser.add_argument("--reuse-training", type=Path, metavar="RUN.json",
                        help="skip training: sample from the checkpoint of that earlier run (its figures are kept)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from symbolic.data.build import BuildConfig, build_dataset
    from symbolic.data.corpus import list_midi_dir_pieces
    from symbolic.data.dataset import TokenDataset, load_split
    from symbolic.models.checkpoint import build_model, load_checkpoint
    from symbolic.models.classifier import classify_scores, load_classifier
    from symbolic.models.presets import preset
    from symbolic.sampling.config import GenerationConfig
    from symbolic.sampling.generate import generate
    from symbolic.models.training import train
    from symbolic.resources import asset_path, default_event_tokenizer
    from symbolic.tokenization.events import EventTokenizer
    from symbolic.tokenization.vocab import EventTokenizerConfig, TokenType

    folder = assemble(args.work, args.songs, args.first_song, args.real_midi, args.real_styles.split(","))
    pieces = list_midi_dir_pieces(folder)
    styles = tuple(dict.fromkeys(p.style for p in pieces))
    base = default_event_tokenizer().config.to_dict()
    base["styles"] = list(styles)
    tokenizer = EventTokenizer(EventTokenizerConfig.from_dict(base))
    data_dir = args.work / "data"
    built = build_dataset(pieces, data_dir, tokenizer, BuildConfig(workers=1), progress=False)
    print(f"built {built.n_pieces} pieces, {built.n_tokens} tokens")

    size, train_config = preset(args.preset, args.model, max_steps=args.max_steps)
    model_settings = size.settings()
    config = dataclasses.replace(train_config, num_threads=1)
    torch.manual_seed(0)
    model = build_model(args.model, {**model_settings, "vocab_size": tokenizer.vocab_size,
                                     "n_styles": len(tokenizer.vocab.styles)})
    ckpt = args.work / f"ckpt-{args.label}-{args.preset}-{args.model}"
    if args.reuse_training is not None:  # sample again from a trained checkpoint (after a sampling change)
        old = json.loads(args.reuse_training.read_text())
        report = {k: old[k] for k in old if k != "styles"}
        report["label"] = args.label
        ckpt = args.work / f"ckpt-{old['label']}-{args.preset}-{args.model}"
    else:
        resume = args.resume and (ckpt / "meta.json").exists()
        if ckpt.exists() and not resume:
            shutil.rmtree(ckpt)
        cpu = time.process_time()
        result = train(model, tokenizer, data_dir, ckpt, config, resume=resume, progress=False)
        train_cpu_seconds = time.process_time() - cpu
        train_set = TokenDataset(data_dir, "train", context_length=model.config.context_length + 1,
                                 overlap=model.config.context_length // 4)
        mean_window = float(np.mean([len(train_set[i]["input_ids"]) - 1 for i in range(len(train_set))]))
        tokens_per_second = result.step * config.batch_size * mean_window / result.seconds
        print(f"trained {result.step} steps in {result.seconds:.0f} s, {train_cpu_seconds:.0f} CPU s "
              f"({tokens_per_second:.0f} tokens/s, {tokens_per_second * result.seconds / train_cpu_seconds:.0f} per CPU s); "
              f"valid {result.best_valid_loss:.3f}, unigram {result.unigram_loss:.3f}")
        report = {"label": args.label, "preset": args.preset, "model": args.model, "steps": result.step,
                  "train_seconds": round(result.seconds, 1), "tokens_per_second": round(tokens_per_second),
                  "train_cpu_seconds": round(train_cpu_seconds, 1),
                  "tokens_per_cpu_second": round(tokens_per_second * result.seconds / train_cpu_seconds),
                  "best_valid_loss": round(result.best_valid_loss, 3),
                  "unigram_loss": round(result.unigram_loss, 3), "n_pieces": built.n_pieces,
                  "n_tokens": built.n_tokens}
    report["styles"] = {}

    model, tokenizer, _ = load_checkpoint(ckpt)
    vocab = tokenizer.vocab
    classifier, _ = load_classifier(asset_path("style-classifier"))
    train_arrays = load_split(data_dir, "train")
    settings = [("plain", {})]
    if "min_bars" in GenerationConfig.__dataclass_fields__:
        settings.append(("min_bars", {"min_bars": args.bars}))
    for style in styles:
        index = vocab.styles.index(style)
        offsets, tokens = train_arrays["offsets"], train_arrays["tokens"]
        train_stats = [sequence_stats(tokens[offsets[i]:offsets[i + 1]].tolist(), vocab)
                       for i in range(len(offsets) - 1) if train_arrays["styles"][i] == index]
        from symbolic.inputs.midi import read_midi
        manifest = json.loads((data_dir / "manifest.json").read_text())
        train_scores = [read_midi(p["midi"]) for p in manifest["pieces"] if p["style"] == style
                        and p["split"] == "train"][:10]
        entry = {"train": summarise(train_stats),
                 "train_classifier": dict(zip(classifier.config.styles,
                                              np.round(classify_scores(classifier, train_scores).mean(0), 3)
                                              .tolist()))}
        for name, extra in settings:
            gen = GenerationConfig(max_new_tokens=4096, max_bars=args.bars, seed=0, **extra)
            start = time.perf_counter()
            sequences = generate(model, tokenizer, [vocab.bos_id, vocab.style_id(style)], gen,
                                 batch_size=args.samples, style_ids=torch.full((args.samples,), index))
            seconds = time.perf_counter() - start
            stats = [sequence_stats(s, vocab) for s in sequences]
            summary = summarise(stats)
            declared = [sum(1 for t in s if vocab.types[t] == TokenType.PROGRAM) for s in sequences]
            summary["declared_tracks_mean"] = float(np.mean(declared)) if declared else 0.0
            summary["bars_mean"] = float(np.mean([st["bars"] for st in stats]))
            summary["sample_seconds"] = round(seconds, 1)
            scores = [tokenizer.decode(s) for s in sequences]
            summary["classifier"] = dict(zip(classifier.config.styles,
                                             np.round(classify_scores(classifier, scores).mean(0), 3).tolist()))
            entry[name] = summary
            print(f"{style} {name}: {summary['empty']}/{summary['pieces']} empty, "
                  f"{summary['notes_per_bar_mean']:.1f} notes/bar (train {entry['train']['notes_per_bar_mean']:.1f}),"
                  f" {summary['bars_mean']:.1f} bars, declared tracks {summary['declared_tracks_mean']:.1f}, "
                  f"drum notes off kit {summary['drum_off_kit']}/{summary['drum_notes']}, pitched core-kit share "
                  f"{summary['pitched_core_kit_share']:.3f} (train {entry['train']['pitched_core_kit_share']:.3f})")
        report["styles"][style] = entry
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
