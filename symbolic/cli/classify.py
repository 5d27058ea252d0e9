"""``symbolic classify`` and ``symbolic classifier train``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from symbolic.cli.common import add_threads_option

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser(
        "classify", help="the style of MIDI files",
        description="Print each file's most probable style and the probabilities of all styles, from a "
                    "style classifier (default: the one shipped with symbolic).",
    )
    c.add_argument("files", nargs="+", metavar="FILE", help="MIDI files or folders")
    c.add_argument("--classifier", type=Path, help="a classifier folder (default: the shipped one)")
    add_threads_option(c)
    c.set_defaults(handler=run_classify)

    t = commands.add_parser("classifier", help="train a style classifier",
                            description="Train the style classifier used to judge style conversion.")
    sub = t.add_subparsers(dest="classifier_command", metavar="ACTION", required=True)
    tr = sub.add_parser("train", help="train on a built data set",
                        description="Train a CNN over note-roll windows on the train split of a data set, keep "
                                    "the best validation accuracy, and report held-out (test split) accuracy.")
    tr.add_argument("--data", type=Path, required=True, help="a folder built by 'symbolic data build'")
    tr.add_argument("--out", type=Path, required=True, help="classifier folder")
    tr.add_argument("--minutes", type=float, default=5.0, help="training budget (default 5)")
    tr.add_argument("--seed", type=int, default=0, help="seed")
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_threads_option(tr)
    tr.set_defaults(handler=run_train_classifier)


def run_classify(args: argparse.Namespace) -> int:
    from symbolic.cli.common import expand_midi_paths, read_scores
    from symbolic.models.classifier import classify_scores, load_classifier
    from symbolic.paths import check_input_dir
    from symbolic.resources import asset_path
    from symbolic.threads import use_threads

    use_threads(args.threads)
    files = expand_midi_paths(args.files)
    if args.classifier is not None:
        check_input_dir(args.classifier, "classifier folder")
    if not files:
        from symbolic.errors import DataError

        raise DataError(f"no MIDI files found in {', '.join(args.files)}; give .mid files or folders that hold them")
    model, _ = load_classifier(args.classifier or asset_path("style-classifier"))
    styles = model.config.styles
    skipped: list[str] = []
    for path, score in read_scores(files, skipped):
        if score.n_notes == 0:
            reason = f"{path}: no notes, so there is no style to read"
            if len(files) == 1:
                from symbolic.errors import DataError

                raise DataError(reason + "; give a file with notes")
            skipped.append(reason)
            print(f"skipped: {reason}", file=sys.stderr)
            continue
        probs = classify_scores(model, [score])[0]
        ranked = sorted(zip(styles, probs), key=lambda x: -x[1])
        print(f"{path}: {ranked[0][0]} ({ranked[0][1]:.2f}); " + ", ".join(f"{s} {p:.2f}" for s, p in ranked[1:]))
    if skipped:
        print(f"classified {len(files) - len(skipped)} files; skipped {len(skipped)} (listed above)")
    return 1 if skipped else 0


def run_train_classifier(args: argparse.Namespace) -> int:
    import json

    import torch

    from symbolic.models.classifier import ClassifierConfig, StyleClassifier, dataset_pieces, piece_accuracy, \
        save_classifier, train_classifier
    from symbolic.paths import check_input_dir, check_output_dir

    from symbolic.threads import use_threads

    check_input_dir(args.data, "data set folder")
    check_output_dir(args.out, "classifier folder")
    use_threads(args.threads)

    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8")) \
        if (args.data / "manifest.json").is_file() else None
    if manifest is None:
        from symbolic.errors import DataError

        raise DataError(f"{args.data}: no manifest.json; build the data set with 'symbolic data build'")
    styles = tuple(s for s in manifest["styles"] if s != "none" and any(p["style"] == s for p in manifest["pieces"]))
    train = dataset_pieces(args.data, "train", styles)
    valid = dataset_pieces(args.data, "valid", styles)
    test = dataset_pieces(args.data, "test", styles)
    torch.manual_seed(args.seed)
    model = StyleClassifier(ClassifierConfig(styles=styles))
    print(f"training a style classifier on {len(train)} pieces of {', '.join(styles)} ({len(valid)} validation, "
          f"{len(test)} test pieces)")
    unjudged = [s for i, s in enumerate(styles) if not any(style == i for _, style in valid)]
    if unjudged:
        print(f"warning: no validation piece of {', '.join(unjudged)}: the validation accuracy does not judge "
              "these styles; rebuild the data set (each style needs 3 or more pieces)", file=sys.stderr)
    run = train_classifier(model, train, valid, args.minutes, seed=args.seed, progress=not args.no_progress)
    accuracy = piece_accuracy(model, test)
    per_style = {s: piece_accuracy(model, [p for p in test if p[1] == i]) for i, s in enumerate(styles)}
    save_classifier(args.out, model, {"data": str(args.data), "train_pieces": len(train), "valid_pieces": len(valid),
                                      "test_pieces": len(test), "test_accuracy": accuracy,
                                      "test_accuracy_per_style": per_style, **run})
    print(f"best validation accuracy {run['best_valid_accuracy']:.3f} after {run['epochs']} epochs "
          f"({run['seconds']:.0f} s)")
    print("held-out accuracy per style: " + ", ".join(f"{s} {a:.2f}" for s, a in per_style.items()))
    print(f"held-out accuracy {accuracy:.3f} over {len(test)} test pieces")
    return 0
