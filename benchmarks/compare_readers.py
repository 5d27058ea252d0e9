"""Compare symbolic's MIDI reading with symusic's, pretty_midi's and mido's, note for note, over real files.

For each file, each reader's notes become a multiset of (onset, end, pitch, velocity, program,
drum) in ticks (pretty_midi's seconds go back to ticks through its own tempo map), and the
tempo map, meters, control changes, pitch bends and the file's length (mido) are compared.
A file where two readers disagree is listed with the first few differing items, so that each
disagreement can be judged (``docs/midi-reading.md`` does).  Files every reader refuses count
as agreement; a file one reader refuses and another reads is a disagreement.

Usage:
    python benchmarks/compare_readers.py ../shared/data/pop909 /work/real-midi [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ours(path: Path) -> dict:
    from symbolic import read_midi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = read_midi(path)
    notes = [(n.onset_ticks, n.offset_ticks, n.pitch, n.velocity, 0 if t.is_drum else t.program, t.is_drum)
             for t in s.tracks for n in t.notes]
    return {
        "notes_ticks": Counter(notes),
        "tempos": _tempo_map([(t.time_ticks, round(t.qpm, 3)) for t in s.tempos]),
        "meters": [(m.time_ticks, m.numerator, m.denominator) for m in s.time_signatures],
        "controls": Counter((c.time_ticks, c.number, c.value) for t in s.tracks for c in t.controls),
        "bends": Counter((b.time_ticks, b.value) for t in s.tracks for b in t.pitch_bends),
        "length_seconds": round(s.duration_seconds, 3),
        "warnings": [str(w.message) for w in caught],
    }


def by_symusic(path: Path) -> dict:
    import symusic

    s = symusic.Score(str(path))
    notes = [(n.time, n.time + n.duration, n.pitch, n.velocity, 0 if t.is_drum else t.program, t.is_drum)
             for t in s.tracks for n in t.notes if n.duration > 0]
    return {"notes_ticks": Counter(notes)}


def by_pretty_midi(path: Path) -> dict:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    times, qpms = pm.get_tempo_changes()
    tick = pm.time_to_tick
    notes = Counter((tick(n.start), tick(n.end), n.pitch, n.velocity, 0 if i.is_drum else int(i.program), i.is_drum)
                    for i in pm.instruments for n in i.notes if n.end > n.start)
    return {
        "notes_ticks": notes,
        "tempos": _tempo_map([(tick(float(t)), round(float(q), 3)) for t, q in zip(times, qpms)]),
        "meters": [(tick(m.time), m.numerator, m.denominator) for m in pm.time_signature_changes],
        "controls": Counter((tick(c.time), c.number, c.value) for i in pm.instruments for c in i.control_changes
                            if c.number < 120),
        "bends": Counter((tick(b.time), b.pitch) for i in pm.instruments for b in i.pitch_bends),
    }


def by_mido(path: Path) -> dict:
    import mido

    f = mido.MidiFile(str(path))
    return {"length_seconds": round(f.length, 3)}


def _tempo_map(changes: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """A tempo map in canonical form: the last of simultaneous changes, repeats of one tempo dropped,
    the MIDI default 120 qpm from tick 0 when the file says nothing there."""
    last: dict[int, float] = {}
    for t, q in changes:
        last[t] = q
    out: list[tuple[int, float]] = [] if 0 in last else [(0, 120.0)]
    for t, q in sorted(last.items()):
        if not out or out[-1][1] != q:
            out.append((t, q))
    return out


def diff(a, b, limit: int = 3):
    if isinstance(a, Counter):
        return {"only_ours": sorted((a - b).elements())[:limit], "only_theirs": sorted((b - a).elements())[:limit],
                "n_only_ours": sum((a - b).values()), "n_only_theirs": sum((b - a).values())}
    return {"ours": a[:limit] if isinstance(a, list) else a, "theirs": b[:limit] if isinstance(b, list) else b}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="files at most (0: all)")
    args = parser.parse_args()
    files = sorted(p for f in args.folders for p in f.rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    if args.limit:
        files = files[: args.limit]
    readers = {"symusic": by_symusic, "pretty_midi": by_pretty_midi, "mido": by_mido}
    agree: Counter = Counter()
    checked: Counter = Counter()
    disagreements: list[dict] = []
    lenient = 0
    for path in files:
        try:
            mine = ours(path)
            mine_error = None
        except Exception as exc:  # noqa: BLE001 - a refusal is compared, not raised
            mine, mine_error = None, f"{type(exc).__name__}: {exc}"
        if mine and mine["warnings"]:
            lenient += 1
        for name, reader in readers.items():
            try:
                theirs, their_error = reader(path), None
            except Exception as exc:  # noqa: BLE001
                theirs, their_error = None, f"{type(exc).__name__}: {exc}"[:200]
            if mine is None or theirs is None:
                checked[f"{name}:readable"] += 1
                if (mine is None) == (theirs is None):
                    agree[f"{name}:readable"] += 1
                else:
                    disagreements.append({"file": str(path), "reader": name, "aspect": "readable",
                                          "ours": mine_error, "theirs": their_error})
                continue
            for aspect, value in theirs.items():
                checked[f"{name}:{aspect}"] += 1
                if mine[aspect] == value:
                    agree[f"{name}:{aspect}"] += 1
                else:
                    disagreements.append({"file": str(path), "reader": name, "aspect": aspect,
                                          **diff(mine[aspect], value)})
    summary = {key: f"{agree[key]}/{checked[key]}" for key in sorted(checked)}
    result = {"files": len(files), "read_leniently": lenient, "agreement": summary, "disagreements": disagreements}
    out = HERE / "out" / "compare_readers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"{len(files)} files ({lenient} read leniently); files where the readers agree:")
    for key, value in summary.items():
        print(f"  {key:28s} {value}")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
