"""``symbolic convert``, ``symbolic accompany`` and ``symbolic continue``: one MIDI file in, one out."""

from __future__ import annotations

import argparse
from pathlib import Path

from symbolic.cli.common import add_threads_option
from symbolic.jobs.config import CONTINUE_BARS, CONTINUE_DEFAULTS, JobConfig
from symbolic.styles.registry import STYLES

__all__ = ["register", "load_job_inputs"]

_MODEL_HELP = "a shipped model name or a checkpoint folder from 'symbolic train' (default: default, the shipped one)"


def _common(parser: argparse.ArgumentParser, style_flag: str, defaults: JobConfig = JobConfig()) -> None:
    parser.add_argument("input", type=Path, metavar="IN.mid",
                        help="the MIDI file to work on (or MusicXML: a lead sheet's chord symbols are followed)")
    parser.add_argument(style_flag, dest="style", default=None,
                        help="style name, mix such as irish:0.7,chorale:0.3, or a description such as "
                             "'a lively irish jig'")
    parser.add_argument("--style-from", type=Path, metavar="REF.mid",
                        help="take the style from an example piece (the style classifier's reading of it)")
    parser.add_argument("--model", default="default", help=_MODEL_HELP)
    parser.add_argument("--temperature", type=float, default=JobConfig.temperature,
                        help=f"sampling temperature (default {JobConfig.temperature})")
    parser.add_argument("--top-k", type=int, default=JobConfig.top_k, help="keep the k most likely tokens")
    parser.add_argument("--top-p", type=float, default=JobConfig.top_p,
                        help=f"nucleus sampling mass (default {JobConfig.top_p})")
    parser.add_argument("--guidance", type=float, default=defaults.guidance_scale,
                        help=f"classifier-free guidance scale: above 1 the style is applied more strongly "
                             f"(default {defaults.guidance_scale}, chosen on the validation split; 1 = off)")
    parser.add_argument("--seed", type=int, default=JobConfig.seed, help="sampling seed")
    parser.add_argument("--weights-dtype", choices=JobConfig.WEIGHTS_DTYPES, default=JobConfig.weights_dtype,
                        help=f"number format of the model's weights while sampling (default "
                             f"{JobConfig.weights_dtype}; int8 and bfloat16 change the numbers slightly)")
    parser.add_argument("--segment-bars", type=int, default=JobConfig.segment_bars,
                        help=f"a song of at least twice this many bars is cut at phrase boundaries into segments "
                             f"that decode side by side on the free cores, the same output whatever their "
                             f"number (default {JobConfig.segment_bars}; 0: never cut; continue always decodes "
                             "in one piece)")
    parser.add_argument("--chord-penalty", type=float, default=JobConfig.chord_penalty, metavar="NATS",
                        help="nats taken from new notes outside the chords (given with --chords, else guessed "
                             "from the melody; default: the style's own, 2 for pop's piano and 0 for the others, "
                             "4 in every style with --chords; 0: pick notes from the key alone)")
    parser.add_argument("--no-repeat-parts", action="store_true",
                        help="sample every bar afresh; by default, in a style that repeats its parts (pop), a bar "
                             "whose melody repeats an earlier passage gets the new parts written there")
    parser.add_argument("--out", type=Path, required=True, help="output MIDI file")
    parser.add_argument("--wav", type=Path, help="also render the output to this WAV file (needs FluidSynth)")
    add_threads_option(parser, "torch threads, and how many segments of a long song decode side by side")


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser(
        "convert", help="rewrite a MIDI file in another style, keeping its melody and bars",
        description="Keep the melody note for note and the bars (meters, tempi, phrase lengths); rewrite the "
                    "other parts in the target style with the model, with the style's instruments.  The "
                    "melody is found from the track roles (see 'symbolic analyze'), or taken out of a "
                    "piano track that carries it, unless --melody-track is given.",
    )
    _common(c, "--to")
    c.add_argument("--strength", type=float, default=1.0,
                   help="share of the music other than the melody that is rewritten, 0..1 (default 1); the "
                        "bass goes last, so at lower strengths the bass line and its harmony stay; any "
                        "strength above 0 writes new parts")
    _keep_argument(c, "")
    _chords_argument(c)
    c.add_argument("--melody-track", type=int, help="index of the melody track (default: chosen automatically)")
    c.add_argument("--parts", type=int,
                   help="accompanying parts to write (default: the target style's texture: " +
                        ", ".join(f"{name} {spec.texture.convert_parts}" for name, spec in STYLES.items()) + ")")
    c.set_defaults(handler=run_convert)

    a = commands.add_parser(
        "accompany", help="write accompaniment tracks under a melody (or under given tracks)",
        description="Every input track stays as it is, note for note; new tracks are written under it in "
                    "the style, one per instrument of --tracks (or --voices parts with the style's "
                    "instruments).  A bare melody is enough.",
    )
    _common(a, "--style")
    parts = a.add_mutually_exclusive_group()
    parts.add_argument("--tracks", help="instruments of the new parts, e.g. piano,bass (see the README list)")
    parts.add_argument("--voices", type=int, help="number of new parts with the style's instruments (default: the "
                                                  "style's own: 3 for chorale, renaissance and classical, a piano "
                                                  "for pop, guitar or accordion and bass for irish and german-folk)")
    a.add_argument("--melody-track", type=int, help="index of the melody track (default: chosen automatically)")
    a.add_argument("--replace-accompaniment", action="store_true",
                   help="rewrite the file's accompaniment instead of adding parts on top of it: keep the "
                        "melody (and what --keep names), leave the other tracks out, write the new parts")
    _keep_argument(a, "with --replace-accompaniment: ")
    _chords_argument(a)
    a.set_defaults(handler=run_accompany)

    n = commands.add_parser(
        "continue", help="add new bars to a MIDI file in a style",
        description="The model hears the whole file (by windows when it is longer than its context) and "
                    "writes N more bars for its tracks; the input's notes are kept as they are.",
    )
    _common(n, "--style", CONTINUE_DEFAULTS)
    n.add_argument("--bars", type=int, default=CONTINUE_BARS, help=f"bars to add (default {CONTINUE_BARS})")
    n.set_defaults(handler=run_continue)


def _parse_keep(text: str) -> tuple[str, ...]:
    from symbolic.jobs.arrange import parse_keep

    return parse_keep(text)


def _chords_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chords", metavar="CHART",
                        help="chords for the new parts to follow (default: a MusicXML lead sheet's own; else, in "
                             "convert, those heard from the parts it rewrites; else guessed from the melody): a chord "
                             "chart such as 'C | Am F | Dm7 G7 | C' (a | or a line break ends a bar, a bar's chords "
                             "share it; %% repeats a bar; N: no chord), or a file holding one or POP909 chord_midi.txt "
                             "rows (start_s end_s Harte_label)")
    parser.add_argument("--chords-start-bar", type=int, metavar="N",
                        help="the bar of the file (numbered from 1) where the chart's first bar falls (default: where "
                             "the music starts, past a count-in or a pickup)")


def _keep_argument(parser: argparse.ArgumentParser, when: str) -> None:
    parser.add_argument("--keep", default="", type=_parse_keep,
                        help=f"{when}roles kept as they are, comma-separated: bass, drums (default: none; drums "
                             "stay only when the style has drums)")


def load_job_inputs(args: argparse.Namespace):
    """``(model, tokenizer, score, style weights, job config)`` for a job's arguments."""
    from symbolic.inputs.music21 import read_score
    from symbolic.jobs.arrange import check_playable
    from symbolic.jobs.style_input import describe_mix_instruments, describe_style_choice, resolve_job_style
    from symbolic.models.pretrained import load_decoder
    from symbolic.paths import check_input_file, check_output_file
    from symbolic.threads import use_threads

    for path, check in ((args.input, check_input_file), (args.style_from, check_input_file),
                        (args.out, check_output_file), (args.wav, lambda p: check_output_file(p, "WAV file", ".wav"))):
        if path is not None:
            check(path)
    use_threads(args.threads)  # torch's count outside the decoding loop too (reading, the melody model)
    config = JobConfig(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       guidance_scale=args.guidance, seed=args.seed, weights_dtype=args.weights_dtype,
                       segment_bars=args.segment_bars, chord_penalty=args.chord_penalty,
                       repeat_parts=not args.no_repeat_parts)
    score = read_score(args.input)  # MIDI, or MusicXML such as a lead sheet with its chord symbols
    check_playable(score, str(args.input))  # before the model loads, naming the file
    if getattr(args, "chords", None) is not None:  # convert and accompany
        from symbolic.analysis.chords import read_chords

        sheet = len(score.annotations.chords)
        score.annotations.chords = read_chords(args.chords, score, args.chords_start_bar)
        if sheet:
            print(f"the chords given replace the {sheet} chord symbols of {args.input.name}")
    from symbolic.analysis.beats import performance_warning

    warning = performance_warning(score, str(args.input))
    if warning is not None:
        print(f"warning: {warning}")
    model, tokenizer, _ = load_decoder(args.model)
    example = read_score(args.style_from) if args.style_from is not None else None
    weights, found_from = resolve_job_style(tokenizer.vocab.styles, args.style, example)
    instruments = describe_mix_instruments(weights)
    if found_from is not None or instruments:
        source = args.style_from.name if found_from == "example" else args.style
        print("; ".join(filter(None, (describe_style_choice(weights, found_from, source), instruments))))
    return model, tokenizer, score, weights, config


def _finish(args: argparse.Namespace, result) -> int:
    from symbolic.outputs.midi import write_midi

    write_midi(result.score, args.out)
    if args.wav is not None:
        from symbolic.audio.render import RenderConfig, render
        from symbolic.audio.wav import write_wav

        config = RenderConfig()
        write_wav(args.wav, render(result.score, config=config), config.sample_rate)
        print(f"wrote {args.wav}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from symbolic.jobs.arrange import check_keep, convert

    check_keep(args.keep)
    model, tokenizer, score, weights, config = load_job_inputs(args)
    result = convert(model, tokenizer, score, weights, config, strength=args.strength,
                     melody_track=args.melody_track, parts=args.parts, keep=args.keep, progress=True)
    code = _finish(args, result)
    print(f"{args.input.name}:\n{result.describe()}\nwrote {args.out}")
    return code


def run_accompany(args: argparse.Namespace) -> int:
    from symbolic.jobs.arrange import accompany, check_accompany_keep, style_programs
    from symbolic.styles.texture import parse_instruments

    check_accompany_keep(args.keep, args.replace_accompaniment)
    model, tokenizer, score, weights, config = load_job_inputs(args)
    programs = None
    if args.tracks is not None:
        named = parse_instruments(args.tracks)
        programs = [program for _, program in named]
        print(f"new parts, high to low: {', '.join(name for name, _ in named)}")
    elif args.voices is not None:
        programs = style_programs(weights, args.voices)
    result = accompany(model, tokenizer, score, weights, config, programs=programs, melody_track=args.melody_track,
                       progress=True, replace_accompaniment=args.replace_accompaniment, keep=args.keep)
    code = _finish(args, result)
    print(f"{args.input.name}:\n{result.describe()}\nwrote {args.out}")
    return code


def run_continue(args: argparse.Namespace) -> int:
    from symbolic.jobs.arrange import continue_score

    model, tokenizer, score, weights, config = load_job_inputs(args)
    result = continue_score(model, tokenizer, score, weights, config, n_bars=args.bars, progress=True)
    added = result.score.n_notes - score.n_notes
    code = _finish(args, result)
    print(f"added {args.bars} bars with {added} notes after the {score.n_notes} notes of {args.input.name}; "
          f"wrote {args.out}")
    return code
