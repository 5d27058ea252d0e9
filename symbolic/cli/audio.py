"""``symbolic render`` and ``symbolic evaluate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from symbolic.cli.common import add_threads_option

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    r = commands.add_parser(
        "render", help="MIDI files to WAV with FluidSynth",
        description="Render MIDI files to WAV in process with FluidSynth and a General MIDI SoundFont "
                    "(loaded once for all files).  Output is peak-normalised; the original peak is printed.",
    )
    r.add_argument("files", nargs="+", metavar="FILE", help="MIDI files or folders")
    r.add_argument("--out", type=Path, required=True,
                   help="a .wav file (one input) or a folder (one NAME.wav per input)")
    r.add_argument("--soundfont", type=Path, help="an .sf2/.sf3 file (default: see soundfonts/README.md)")
    r.add_argument("--sample-rate", type=int, default=44100, help="Hz (default 44100)")
    r.add_argument("--stems", action="store_true", help="also write NAME-track<i>.wav per track")
    r.add_argument("--float", dest="float32", action="store_true", help="write 32-bit float WAV (default 16-bit)")
    r.add_argument("--tail-seconds", type=float, default=1.0, help="release tail after the last note (default 1)")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_threads_option(r, "FluidSynth's rendering threads")
    r.set_defaults(handler=run_render)

    e = commands.add_parser(
        "evaluate", help="compare generated MIDI with a reference set (report, figures)",
        description="Compute symbolic metrics, Yang-Lerch overlaps, originality, and (rendered) audio "
                    "measures of GENERATED against --reference; write report.json, report.md and PNG figures.",
    )
    e.add_argument("generated", nargs="+", metavar="GENERATED", help="MIDI files or folders")
    e.add_argument("--reference", nargs="+", required=True, metavar="REFERENCE", help="MIDI files or folders")
    e.add_argument("--out", type=Path, required=True, help="report folder")
    e.add_argument("--soundfont", type=Path, help="an .sf2/.sf3 file (default: see soundfonts/README.md)")
    e.add_argument("--no-audio", action="store_true", help="skip rendering and the audio measures")
    e.add_argument("--sample-rate", type=int, default=22050, help="Hz for the audio measures (default 22050)")
    e.add_argument("--max-seconds", type=float, default=60.0, help="audio per piece, cut after (default 60)")
    e.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_threads_option(e, "FluidSynth's rendering threads")
    e.set_defaults(handler=run_evaluate)


def run_render(args: argparse.Namespace) -> int:
    import sys

    from tqdm import tqdm

    from symbolic.errors import ScoreError, SymbolicError

    from symbolic.audio.render import RenderConfig, Renderer
    from symbolic.audio.wav import write_wav
    import math

    from symbolic.cli.common import expand_midi_paths, read_scores
    from symbolic.paths import check_input_file, check_output_dir, check_output_file

    files = expand_midi_paths(args.files)
    single = args.out.suffix.lower() == ".wav"
    (check_output_file if single else check_output_dir)(args.out)
    if args.soundfont is not None:
        check_input_file(args.soundfont, "SoundFont")
    if single and len(files) != 1:
        from symbolic.errors import ConfigError

        raise ConfigError(f"--out {args.out} is one WAV file but {len(files)} inputs were given; pass a folder")
    config = RenderConfig(sample_rate=args.sample_rate, tail_seconds=args.tail_seconds)
    skipped: list[str] = []
    with Renderer(args.soundfont, config) as renderer:
        print(f"SoundFont: {renderer.soundfont}")
        progress = tqdm(total=len(files), desc="rendering", unit="file", disable=args.no_progress or len(files) < 2)
        for path, score in read_scores(files, skipped):
            progress.update(1)
            target = args.out if single else args.out / f"{path.stem}.wav"
            try:
                renderer.check_length(score)  # before anything is allocated
            except SymbolicError as exc:
                if single:
                    raise ScoreError(f"{path}: {exc}") from None
                skipped.append(f"{path}: {exc}")
                print(f"skipped: {path}: {exc}", file=sys.stderr)
                continue
            audio = renderer.render(score)
            write_wav(target, audio, args.sample_rate, args.float32)
            peak_db = 20 * math.log10(renderer.last_peak) if renderer.last_peak > 0 else -math.inf
            print(f"wrote {target}: {len(audio) / args.sample_rate:.1f} s, peak before normalisation "
                  f"{peak_db:.1f} dBFS" + (" (silent)" if renderer.last_peak == 0 else ""))
            if score.n_notes == 0:
                print(f"warning: {path} has no notes; {target} is silence", file=sys.stderr)
            if args.stems:
                for i, stem in enumerate(renderer.render_stems(score)):
                    write_wav(target.with_name(f"{target.stem}-track{i}.wav"), stem, args.sample_rate, args.float32)
        progress.close()
    if skipped:
        print(f"{len(skipped)} files could not be read or rendered (listed above)")
    return 1 if skipped else 0


def run_evaluate(args: argparse.Namespace) -> int:
    from symbolic.cli.common import expand_midi_paths
    from symbolic.evaluation.report import EvaluationConfig, evaluate
    from symbolic.paths import check_input_file, check_output_dir

    check_output_dir(args.out, "report folder")
    if args.soundfont is not None:
        check_input_file(args.soundfont, "SoundFont")

    config = EvaluationConfig(render_audio=not args.no_audio, sample_rate=args.sample_rate,
                              max_seconds=args.max_seconds)
    report = evaluate(expand_midi_paths(args.generated), expand_midi_paths(args.reference), args.out, config,
                      soundfont=args.soundfont, progress=not args.no_progress)
    print(f"evaluated {report['n_generated']} generated against {report['n_reference']} reference pieces")
    for item in report["skipped"]:
        print(f"  skipped {item['file']}: {item['reason']}")
    if "audio" in report:
        print(f"Fréchet distance (MFCC) {report['audio']['frechet_distance_mfcc']:.3f}")
    print(f"wrote {args.out / 'report.md'}, {args.out / 'report.json'} and {len(report['figures'])} figures")
    if report["skipped"]:  # as every batch command: the report is written, the exit status says files were left out
        print(f"{len(report['skipped'])} files skipped (listed above)")
    return 1 if report["skipped"] else 0
