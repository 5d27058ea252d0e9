"""``symbolic train`` and ``symbolic generate``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from symbolic.cli.common import add_threads_option
from symbolic.jobs.config import GENERATE_DEFAULTS as GENERATE
from symbolic.sampling.config import GenerationConfig

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    t = commands.add_parser(
        "train", help="train a style-conditioned decoder on a built data set",
        description="Train a GPT or LSTM decoder on CPU.  Checkpoints (config, tokenizer spec, styles, "
                    "weights, optimizer state) are written to --out at every validation; --resume continues "
                    "an interrupted run exactly.  Under torchrun it trains data-parallel (gloo).",
    )
    t.add_argument("--data", type=Path, required=True, help="a folder built by 'symbolic data build'")
    t.add_argument("--model", choices=("gpt", "lstm"), default="gpt", help="decoder kind (default gpt)")
    t.add_argument("--out", type=Path, required=True, help="checkpoint folder")
    t.add_argument("--preset", choices=("tiny", "small", "default", "pop6"), default="tiny",
                   help="model and schedule size (default tiny: about 100 s here; default: the shipped model, about 65 min on one thread; pop6: the six-style model with pop, hours)")
    t.add_argument("--max-steps", type=int, help="optimisation steps (default: the preset's)")
    t.add_argument("--max-minutes", type=float, help="stop and checkpoint after this much training time")
    t.add_argument("--batch-size", type=int, help="windows per step (default: the preset's)")
    t.add_argument("--learning-rate", type=float, help="peak learning rate (default: the preset's)")
    t.add_argument("--eval-every", type=int, help="steps between validations (default: the preset's)")
    t.add_argument("--seed", type=int, default=0, help="seed of initialisation, batches and dropout")
    add_threads_option(t)
    t.add_argument("--bf16", action="store_true",
                   help="bfloat16 autocast (faster on CPUs with AVX512-BF16 or AMX, slower elsewhere)")
    t.add_argument("--resume", action="store_true", help="continue the run checkpointed in --out")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.add_argument("--check-samples", type=int, default=3, metavar="N",
                   help="after training, sample N pieces per style and report notes per bar, empty samples "
                        "and grammar skips, warning when most are empty (default 3; 0 skips the check)")
    t.set_defaults(handler=run_train)

    g = commands.add_parser(
        "generate", help="sample MIDI from a checkpoint",
        description="Sample style-conditioned MIDI.  Every sample follows the token grammar, so it always "
                    "decodes.  --style takes a name or a mix such as irish:0.7,chorale:0.3.",
    )
    g.add_argument("--checkpoint", default="default",
                   help="a checkpoint folder from 'symbolic train', or a shipped model's name (default: default)")
    g.add_argument("--style", default=None,
                   help="style name, mix a:0.7,b:0.3, or a description such as 'a lively irish jig' (default: none)")
    g.add_argument("--prompt", type=Path, help="a MIDI file to continue")
    g.add_argument("--prompt-bars", type=int, help="keep only the first N bars of the prompt")
    g.add_argument("--bars", type=int, default=GENERATE.max_bars,
                   help=f"new bars to generate (default {GENERATE.max_bars})")
    g.add_argument("--max-new-tokens", type=int, default=GENERATE.max_new_tokens,
                   help=f"bound on sampled tokens (default {GENERATE.max_new_tokens})")
    g.add_argument("--temperature", type=float, default=GENERATE.temperature,
                   help=f"sampling temperature (default {GENERATE.temperature})")
    g.add_argument("--top-k", type=int, default=GENERATE.top_k, help="keep the k most likely tokens")
    g.add_argument("--top-p", type=float, default=GENERATE.top_p, help="nucleus sampling mass")
    g.add_argument("--guidance", type=float, default=GENERATE.guidance_scale,
                   help=f"classifier-free guidance scale (default {GENERATE.guidance_scale}; 1 = off)")
    g.add_argument("--min-bars", type=int,
                   help="no end of piece before this many new bars (default: --bars, so a piece has all its bars)")
    g.add_argument("--strict", action="store_true", help="exit 1 when a sample holds no note, or stopped at --max-new-tokens short of its bars")
    g.add_argument("--num-samples", type=int, default=1, help="pieces to sample (OUT-1.mid, OUT-2.mid, ...)")
    g.add_argument("--seed", type=int, default=GENERATE.seed, help="sampling seed")
    precision = g.add_mutually_exclusive_group()
    precision.add_argument("--weights-dtype", choices=GenerationConfig.WEIGHTS_DTYPES,
                           default=GENERATE.weights_dtype,
                           help=f"number format of the model's weights while sampling (default "
                                f"{GENERATE.weights_dtype}; int8 and bfloat16 change the numbers slightly)")
    precision.add_argument("--bf16", dest="weights_dtype", action="store_const", const="bfloat16",
                           help="the same as --weights-dtype bfloat16")
    precision.add_argument("--int8", dest="weights_dtype", action="store_const", const="int8",
                           help="the same as --weights-dtype int8 (dynamic int8 quantization of the linear layers)")
    add_threads_option(g)
    g.add_argument("--out", type=Path, required=True, help="output MIDI file")
    g.set_defaults(handler=run_generate)


def run_train(args: argparse.Namespace) -> int:
    import torch

    from symbolic.models.checkpoint import build_model
    from symbolic.models.presets import preset
    from symbolic.models.training import train
    from symbolic.paths import check_input_dir, check_output_dir
    from symbolic.tokenization.events import EventTokenizer

    check_input_dir(args.data, "data set folder")
    check_output_dir(args.out, "checkpoint folder")

    tokenizer = EventTokenizer.from_spec(args.data / "tokenizer.json") if (args.data / "tokenizer.json").is_file() \
        else None
    if tokenizer is None:
        from symbolic.errors import DataError

        raise DataError(f"{args.data}: no tokenizer.json; build the data set first with 'symbolic data build'")
    size, config = preset(args.preset, args.model, max_steps=args.max_steps, batch_size=args.batch_size,
                          learning_rate=args.learning_rate, eval_every=args.eval_every, max_minutes=args.max_minutes,
                          seed=args.seed, bf16=args.bf16, num_threads=args.threads)
    from symbolic.models.sanity import SampleCheckConfig

    check_config = SampleCheckConfig(samples_per_style=args.check_samples, seed=args.seed) \
        if args.check_samples else None
    torch.manual_seed(args.seed)
    model = build_model(args.model, {**size.settings(), "vocab_size": tokenizer.vocab_size,
                                     "n_styles": len(tokenizer.vocab.styles)})
    print(f"training {args.model} ({model.num_parameters():,} parameters, preset {args.preset}) on {args.data}")
    result = train(model, tokenizer, args.data, args.out, config, resume=args.resume,
                   progress=not args.no_progress)
    print(f"stopped at step {result.step} ({result.stopped}) after {result.seconds:.1f} s")
    if result.stopped == "interrupted":
        print(f"checkpoint at step {result.step} saved in {result.checkpoint}; run the same command with --resume "
              "to continue exactly where it stopped")
        return 130
    print(f"best validation loss {result.best_valid_loss:.3f} nats/token; unigram baseline "
          f"{result.unigram_loss:.3f}")
    print(f"checkpoint: {result.checkpoint}")
    if check_config is not None and int(os.environ.get("RANK", "0")) == 0:
        from symbolic.models.checkpoint import load_checkpoint
        from symbolic.models.sanity import check_samples

        best, tokenizer, _ = load_checkpoint(result.checkpoint)
        check = check_samples(best, tokenizer, check_config)
        print(f"sample check ({args.check_samples} pieces of {check.config.bars} bars per style):")
        for line in check.lines():
            print(line, file=sys.stderr if line.startswith("WARNING") else sys.stdout)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    import warnings

    from symbolic.errors import GenerationWarning
    from symbolic.inputs.midi import read_midi
    from symbolic.jobs.generate import generate_scores
    from symbolic.models.pretrained import load_decoder
    from symbolic.outputs.midi import write_midi
    from symbolic.paths import check_input_file, check_output_file
    from symbolic.styles.mix import resolve_style
    from symbolic.styles.words import describe_mix

    check_output_file(args.out)
    if args.prompt is not None:
        check_input_file(args.prompt, "prompt file")
    model, tokenizer, _ = load_decoder(args.checkpoint)
    config = GenerationConfig(max_new_tokens=args.max_new_tokens, max_bars=args.bars,
                              min_bars=args.bars if args.min_bars is None else args.min_bars,
                              temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                              guidance_scale=args.guidance, seed=args.seed, weights_dtype=args.weights_dtype)
    prompt = read_midi(args.prompt) if args.prompt else None
    weights, from_words = resolve_style(args.style, tokenizer.vocab.styles)
    if from_words:
        print(f"style from the description {args.style!r}: {describe_mix(weights)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GenerationWarning)
        scores = generate_scores(model, tokenizer, config, style=args.style, n_samples=args.num_samples,
                                 prompt=prompt, prompt_bars=args.prompt_bars)
    cut_short = [w for w in caught if issubclass(w.category, GenerationWarning)]
    for w in caught:
        if w not in cut_short:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for w in cut_short:
        print(f"warning: {w.message}", file=sys.stderr)
    for i, score in enumerate(scores):
        path = args.out if len(scores) == 1 else args.out.with_name(f"{args.out.stem}-{i + 1}{args.out.suffix}")
        write_midi(score, path)
        print(f"wrote {path}: {score.n_notes} notes, {len(score.tracks)} tracks, {score.duration_seconds:.1f} s")
        if not score.n_notes:
            cut = any(w.message.sample_index == i for w in cut_short)
            print(f"warning: {path} holds no note " + ("(cut short by --max-new-tokens, above)" if cut else
                  "(try another --seed; a model that often writes empty pieces needs more training)"),
                  file=sys.stderr)
    empty = sum(not score.n_notes for score in scores)
    return 1 if args.strict and (empty or cut_short) else 0
