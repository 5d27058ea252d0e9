"""``symbolic bench polyphonic``: the standard polyphonic music benchmark."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from symbolic.cli.common import add_threads_option

__all__ = ["register", "MODEL_NAMES"]

# name -> (time axis, pitch head)
MODEL_NAMES = {
    "lstm-independent": ("lstm", "independent"),
    "lstm-made": ("lstm", "made"),
    "gpt-independent": ("gpt", "independent"),
    "gpt-made": ("gpt", "made"),
}


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("bench", help="standard benchmarks",
                            description="Standard benchmarks.")
    sub = p.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    b = sub.add_parser(
        "polyphonic", help="frame NLL on JSB Chorales, Nottingham, ... (.mat files)",
        description="Train a note-roll model on traindata, select on validdata, report on testdata the "
                    "negative log-likelihood per frame (nats, summed over the 88 units) and frame accuracy, as "
                    "../shared/data/README.md describes.  Works on any file of the format: the models cover "
                    "all 88 keys (MIDI 21..108).  With --checkpoint, re-evaluate a saved model.  The "
                    "last line reads 'test nll=X.XX acc=Y.Y%'.",
    )
    b.add_argument("--data", type=Path, required=True, help="a benchmark .mat file (traindata/validdata/testdata)")
    b.add_argument("--model", choices=tuple(MODEL_NAMES), default="lstm-made",
                   help="time axis and pitch head (default lstm-made)")
    b.add_argument("--checkpoint", type=Path, help="re-evaluate this saved model instead of training")
    b.add_argument("--train-cpu-minutes", "--train-minutes", dest="train_cpu_minutes", type=float, default=30.0,
                   help="training budget in minutes of the process's CPU time (time.process_time, all threads "
                        "counted), so a loaded machine neither shortens nor lengthens it (default 30; "
                        "--train-minutes is the old name)")
    b.add_argument("--init-checkpoint", type=Path,
                   help="train on from this saved model's weights and settings (the model flags are ignored; "
                        "its own training CPU time is recorded beside the new run's)")
    b.add_argument("--out", type=Path, help="folder for the checkpoint, learning curve and samples")
    b.add_argument("--hidden", type=int, default=256, help="time-axis width (default 256)")
    b.add_argument("--layers", type=int, default=2, help="time-axis layers (default 2)")
    b.add_argument("--made-hidden", type=int, default=512, help="MADE hidden units (default 512)")
    b.add_argument("--dropout", type=float, default=0.3, help="dropout (default 0.3)")
    b.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    b.add_argument("--batch-size", type=int, default=16, help="pieces per batch (default 16)")
    b.add_argument("--frames-per-beat", type=int, default=1,
                   help="what a frame means, for the MIDI samples (JSB 1, Nottingham 2)")
    b.add_argument("--samples", type=int, default=0, help="write this many sampled pieces as MIDI to --out")
    b.add_argument("--seed", type=int, default=0, help="seed of initialisation, batches and samples")
    add_threads_option(b)
    b.add_argument("--transpose", type=int, default=0,
                   help="augment training by moving each piece up or down by up to N semitones, telling the "
                        "model by how many (default 0)")
    b.add_argument("--blind-transpose", action="store_true",
                   help="with --transpose, do not tell the model the transposition (for comparison)")
    b.add_argument("--no-progress", action="store_true", help="hide progress bars")
    b.set_defaults(handler=run_polyphonic)


def run_polyphonic(args: argparse.Namespace) -> int:
    import torch

    from symbolic.errors import ConfigError
    from symbolic.evaluation.figures import write_curve
    from symbolic.polyphonic.bench import evaluate_rolls, load_roll_model, save_roll_model, train_roll_model
    from symbolic.polyphonic.data import BENCHMARK_LOWEST_PITCH, BENCHMARK_PITCHES, load_polyphonic_frames
    from symbolic.polyphonic.roll import RollModel, RollModelConfig

    data = load_polyphonic_frames(args.data)
    if args.checkpoint:
        model, meta = load_roll_model(args.checkpoint)
        print(f"loaded {args.checkpoint} ({meta.get('model', '?')}, trained on {meta.get('data', '?')})")
    else:
        if args.out is None:
            raise ConfigError("say where the trained model goes with --out DIR")
        torch.manual_seed(args.seed)
        if args.init_checkpoint:
            model, init_meta = load_roll_model(args.init_checkpoint)
            args.model = init_meta.get("model", args.model)
            trained = [f"{init_meta[key]} {unit}" for key, unit in (("train_cpu_seconds", "CPU s"),
                                                                   ("train_seconds", "s wall")) if key in init_meta]
            print(f"starting from {args.init_checkpoint} ({init_meta.get('model', '?')}"
                  + (f", trained {', '.join(trained)})" if trained else ")"))
        else:
            time_axis, pitch_head = MODEL_NAMES[args.model]
            told = 0 if args.blind_transpose else args.transpose
            model = RollModel(RollModelConfig(time_axis=time_axis, pitch_head=pitch_head, hidden=args.hidden,
                                              n_layer=args.layers, made_hidden=args.made_hidden,
                                              dropout=args.dropout, lowest_pitch=BENCHMARK_LOWEST_PITCH,
                                              n_pitches=BENCHMARK_PITCHES, transpositions=told))
        n_params = sum(p.numel() for p in model.parameters())
        print(f"training {args.model} ({n_params:,} parameters) on {args.data.name} for up to "
              f"{args.train_cpu_minutes:g} CPU minutes (Ctrl-C stops early and keeps the best weights)")

        def run_meta(run: dict) -> dict:
            return {"model": args.model, "data": args.data.name, "train_seconds": run["seconds"],
                    "train_cpu_seconds": run["cpu_seconds"], "train_cpu_minutes": args.train_cpu_minutes,
                    "settings": {"hidden": args.hidden, "layers": args.layers, "made_hidden": args.made_hidden,
                                 "dropout": args.dropout, "learning_rate": args.learning_rate,
                                 "batch_size": args.batch_size, "transpose": args.transpose,
                                 "blind_transpose": args.blind_transpose, "threads": args.threads},
                    "epochs": run["epochs"], "best_valid_nll": run["best_valid_nll"], "curve": run["curve"],
                    "interrupted": run["interrupted"], "parameters": n_params, "seed": args.seed,
                    **({"init_checkpoint": str(args.init_checkpoint),
                        "init_train_cpu_seconds": init_meta.get("train_cpu_seconds"),
                        "init_train_seconds": init_meta.get("train_seconds")} if args.init_checkpoint else {})}

        def save_best(run: dict) -> None:  # the best weights so far, so a killed run keeps them
            save_roll_model(args.out, model, {**run_meta(run), "complete": False})

        run = train_roll_model(model, data["traindata"], data["validdata"], args.train_cpu_minutes,
                               learning_rate=args.learning_rate, batch_size=args.batch_size, seed=args.seed,
                               threads=args.threads, transpose=args.transpose, progress=not args.no_progress,
                               on_best=save_best)
        print(f"trained {run['epochs']} epochs in {run['cpu_seconds'] / 60:.1f} CPU minutes "
              f"({run['seconds'] / 60:.1f} minutes wall time)" + (", stopped early" if run["interrupted"] else ""))
        meta = run_meta(run)
    valid = evaluate_rolls(model, data["validdata"])
    test = evaluate_rolls(model, data["testdata"])
    if args.out is not None:
        meta = {**meta, "valid": valid, "test": test, "complete": True}
        save_roll_model(args.out, model, meta)
        if meta.get("curve"):
            write_curve(args.out / "nll_curve.png", [c[0] / 60 for c in meta["curve"]], [c[2] for c in meta["curve"]],
                        "training minutes (process CPU time)", "validation NLL (nats per frame)",
                        f"{meta.get('model')} on {meta.get('data')}")
        if args.samples:
            _write_samples(args.out, model, args.samples, args.frames_per_beat, args.seed)
    if test["violations"]:
        c = model.config
        print(f"warning: {test['violations']} test pieces sound outside the model's units MIDI "
              f"{c.lowest_pitch}..{c.lowest_pitch + c.n_pitches - 1} (infinite NLL)")
    print(f"valid nll={valid['nll']:.2f} acc={100 * valid['acc']:.1f}% over {valid['frames']} frames")
    print(f"test nll={test['nll']:.2f} acc={100 * test['acc']:.1f}%")
    return 0 if math.isfinite(test["nll"]) else 1


def _write_samples(out: Path, model, n: int, frames_per_beat: int, seed: int) -> None:
    from symbolic.outputs.midi import write_midi
    from symbolic.polyphonic.bench import sample_scores

    for i, score in enumerate(sample_scores(model, n, frames_per_beat, seed)):
        print(f"wrote {write_midi(score, out / f'sample-{i + 1}.mid')}")
