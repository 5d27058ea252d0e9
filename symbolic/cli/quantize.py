"""``symbolic quantize``: put a recorded performance on a beat grid without moving a note in time."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    from symbolic.analysis.beats import BEAT_METHODS

    p = commands.add_parser(
        "quantize", help="find the beats of a performance and write a tempo map that follows them",
        description="Find the beats and bar lines of a MIDI file from its notes (or its rendered audio) and "
                    "write a tempo map and meters on which the notes sit on the grid.  No note moves in "
                    "time (at most half a tick, well under 1 ms); only the tempo map and bar lines change.",
    )
    p.add_argument("file", type=Path, metavar="IN", help="a MIDI file")
    p.add_argument("--out", type=Path, required=True, help="the MIDI file to write")
    p.add_argument("--method", choices=BEAT_METHODS, default=None,
                   help="notes: track the note onsets (default, fast); audio: render with FluidSynth and track "
                        "the sound (needs librosa)")
    p.add_argument("--beats-per-bar", type=int, default=None, help="bar length in beats (default 4)")
    p.set_defaults(handler=run_quantize)


def run_quantize(args: argparse.Namespace) -> int:
    from symbolic.analysis.beats import BeatTrackingConfig, quantize_score
    from symbolic.errors import ScoreError
    from symbolic.inputs.midi import read_midi
    from symbolic.outputs.midi import write_midi

    given = {"method": args.method, "beats_per_bar": args.beats_per_bar}
    config = BeatTrackingConfig(**{k: v for k, v in given.items() if v is not None})
    score = read_midi(args.file)
    try:
        result = quantize_score(score, config)
    except ScoreError as exc:
        raise ScoreError(f"{args.file}: {exc}; quantize needs a file with a steady beat in its notes") from None
    write_midi(result.score, args.out)
    beats = result.grid.beat_seconds
    qpm = 60.0 * (len(beats) - 1) / (beats[-1] - beats[0])
    print(f"{args.file}: {len(beats)} beats found (about {qpm:.0f} qpm), "
          f"{sum(result.grid.downbeats)} bars; onsets on the grid: {result.before.on_grid_share:.0%} before, "
          f"{result.after.on_grid_share:.0%} after; notes moved by at most {1000 * result.max_shift_seconds:.2f} ms")
    print(f"wrote {args.out}: {result.score.n_notes} notes, {len(result.score.tempos)} tempo changes")
    return 0
