"""``symbolic demo``: the main jobs on a held-out corpus tune (:mod:`symbolic.jobs.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from symbolic.cli.common import add_threads_option
from symbolic.jobs.config import DemoConfig

__all__ = ["register", "run_demo"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo", help="convert, accompany and continue held-out pieces; render, evaluate, report",
        description="Take a tune of the music21 corpus that the shipped model did not train on, convert it "
                    "into two other styles, continue it and (a model that knows pop) convert it into pop; "
                    "accompany the melody of a held-out POP909 song in pop and convert it into two other "
                    "styles; render everything to WAV and evaluate it.  Writes MIDI, WAV, report.md/report.json "
                    "and piano-roll pictures.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default demo-out)")
    p.add_argument("--style", default=DemoConfig.style, help=f"corpus style of the tune (default {DemoConfig.style})")
    p.add_argument("--to", default=None,
                   help=f"target styles, comma-separated (default {','.join(DemoConfig.DEFAULT_TARGETS)}, or the "
                        "model's own styles when it does not know those)")
    p.add_argument("--bars", type=int, default=DemoConfig.bars,
                   help=f"bars of the tune used (default {DemoConfig.bars})")
    p.add_argument("--continue-bars", type=int, default=DemoConfig.continue_bars,
                   help=f"bars the continuation adds (default {DemoConfig.continue_bars})")
    p.add_argument("--model", default="default", help="a shipped model name or a checkpoint folder")
    p.add_argument("--seed", type=int, default=DemoConfig.seed, help="sampling seed")
    p.add_argument("--no-audio", action="store_true", help="skip rendering (no FluidSynth needed)")
    p.add_argument("--pop909", default=None,
                   help="POP909 folder for the pop part (a model that knows pop; default ../shared/data/pop909)")
    add_threads_option(p, "torch and FluidSynth threads")
    p.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from symbolic.jobs.demo import run_demo as demo
    from symbolic.jobs.demo import tune_extent
    from symbolic.models.classifier import load_classifier
    from symbolic.models.pretrained import load_decoder
    from symbolic.resources import asset_path

    targets = tuple(s.strip() for s in args.to.split(",") if s.strip()) if args.to is not None else None
    config = DemoConfig(style=args.style, targets=targets, bars=args.bars, continue_bars=args.continue_bars,
                        seed=args.seed, audio=not args.no_audio, pop909_dir=args.pop909)
    model, tokenizer, _ = load_decoder(args.model)
    classifier, _ = load_classifier(asset_path("style-classifier"))
    report = demo(model, tokenizer, classifier, config, args.out)
    print(f"demo: {report['piece']} ({config.style}, from the corpus's test split), {tune_extent(report)}")
    if report["pop_song"]:
        print(f"pop part: the melody of POP909 song {report['pop_song']} (test split)")
    if report["pop_note"]:
        print(report["pop_note"])
    for r in report["outputs"]:
        reading = f"read as {r['classified_as']} ({r['style_probabilities'][r['classified_as']]:.2f})"
        target = f" -> {r['target']}" if r["target"] else ""
        print(f"  {r['output']}{target}: {reading}, melody {'kept' if r['melody_kept'] else 'NOT kept'}")
    judged = [r for r in report["outputs"] if r["as_target"] is not None]
    print(f"outputs read as their target style: {sum(r['as_target'] for r in judged)} of {len(judged)}")
    print(f"wrote {args.out}/ : MIDI{'' if args.no_audio else ', WAV'}, report.md, report.json, piano-rolls.png")
    return 0
