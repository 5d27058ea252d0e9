"""Quick start: a Bach chorale from the music21 corpus to MIDI, to tokens, and back.

Run: python examples/quickstart.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from music21 import corpus

from symbolic import EventTokenizer, from_music21, read_midi, to_note_roll, write_midi
from symbolic.tokenization.verify import score_differences


def main(out_dir: Path) -> None:
    score = from_music21(corpus.parse("bach/bwv66.6"))
    path = write_midi(score, out_dir / "bwv66.6.mid")
    print(f"{path.name}: {len(score.tracks)} tracks, {score.n_notes} notes, {score.duration_seconds:.1f} s")

    tokenizer = EventTokenizer()
    ids = tokenizer.encode(read_midi(path), style="chorale", track_order=[0])  # soprano first in every bar
    print(f"{len(ids)} event tokens: {' '.join(tokenizer.token_names(ids[:14]))} ...")
    decoded = tokenizer.decode(ids)
    assert score_differences(tokenizer.quantize(read_midi(path), track_order=[0]), decoded) == []
    write_midi(decoded, out_dir / "bwv66.6-decoded.mid")

    roll = to_note_roll(score)
    print(f"note roll: play {roll.play.shape} {roll.play.dtype}, {int(roll.articulate.sum())} note onsets")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
