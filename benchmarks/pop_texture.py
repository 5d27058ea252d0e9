"""The pop texture measured on the POP909 training split: what a pop StyleTexture should keep to.

Every training song (``split_of(id) == "train"`` with the build's default 10/10
percent split) is read aligned to its annotated beats (``load_pop909_song``), and the
``PIANO`` (accompaniment), ``MELODY`` and ``BRIDGE`` tracks are measured the way
``benchmarks/part_rhythm.py`` and ``key_fit.py`` measure the corpus styles:

- pitch range (percentiles of notes; per-song lowest and highest);
- polyphony: notes sounding together while the part sounds (time-weighted, on the 12-step grid),
  and notes starting together (chord size at an onset);
- density: notes and onsets per beat over the song's span, and the piano's notes a beat per 8 bars from the
  melody's first bar (songs build up);
- onset grid: onsets at the nearest of 12 steps a beat, share on the beat, on eighths, on sixteenths,
  on eighth-note triplets (steps 4 and 8), elsewhere;
- durations in beats (after the grid projection): quartiles, share at least a sixteenth/eighth/quarter,
  share a whole number of sixteenths and eighths;
- lines: notes starting while the part's previous note still sounds, apart (``over``) and together (``chord``);
  legato: notes starting right where the part's sound stopped;
- chord-tone ratio (note time on the annotated chord's tones, ``chord_midi.txt``) and key fit
  (note time inside the annotated key's scale, ``key_audio.txt``; a minor key's scale has its raised
  sixth and seventh, as in ``symbolic.analysis.keys``).

    python benchmarks/pop_texture.py --out docs/results/pop-texture.md
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from symbolic.utils import atomic_write_text
from symbolic.analysis.chords import chord_tone_ratio
from symbolic.data.build import BuildConfig, split_of
from symbolic.data.pop909 import POP909_ROLES, list_pop909_pieces, load_pop909_song
from symbolic.analysis.beats import bar_lines_ticks
from symbolic.analysis.keys import scale_pitch_classes
from symbolic.jobs.repeats import REPEAT_OVERLAP, bar_overlap, repeat_sources
from symbolic.resources import shared_data_dir

STEPS = 12
NOTES_GROUP_BARS = 8  # bars a group of the piano's notes-a-beat curve, from the melody's first bar
GRID_NAMES = {0: "beat", 6: "eighth", 3: "sixteenth", 9: "sixteenth", 4: "triplet", 8: "triplet"}


def key_fit(score, track) -> tuple[float, float]:
    """(note ticks inside the annotated key's scale, note ticks under a key annotation)."""
    inside = total = 0.0
    for n in track.notes:
        key = score.annotations.key_at(n.onset_ticks)
        if key is None:
            continue
        total += n.duration_ticks
        inside += n.duration_ticks * (n.pitch % 12 in scale_pitch_classes(key.tonic, key.minor))
    return inside, total


def measure(score, track, stats: dict) -> None:
    tpb = score.ticks_per_beat
    notes = sorted(track.notes)
    if not notes:
        return
    on = np.asarray([(2 * n.onset_ticks * STEPS + tpb) // (2 * tpb) for n in notes])
    dur = np.maximum(1, np.asarray([(2 * n.duration_ticks * STEPS + tpb) // (2 * tpb) for n in notes]))
    pitch = np.asarray([n.pitch for n in notes])
    stats["pitch"].append(pitch)
    stats["song_low"].append(pitch.min())
    stats["song_high"].append(pitch.max())
    span_beats = (on.max() + dur[on.argmax()] - on.min()) / STEPS
    stats["notes_per_beat"].append(len(notes) / max(span_beats, 1))
    stats["onsets_per_beat"].append(len(np.unique(on)) / max(span_beats, 1))
    for k in on % STEPS:
        stats["grid"][GRID_NAMES.get(int(k), "other")] += 1
    stats["dur"].append(dur / STEPS)
    # Sounding notes per step, where the part sounds.
    end = int((on + dur).max()) + 1
    delta = np.zeros(end + 1, dtype=np.int64)
    np.add.at(delta, on, 1)
    np.add.at(delta, on + dur, -1)
    sounding = np.cumsum(delta)[:end]
    stats["poly"].append(sounding[sounding > 0])
    stats["chord_size"].append(np.unique(on, return_counts=True)[1])
    reach, last_onset = -1, -1
    for o, d in zip(on, dur):
        if o < reach:
            stats["lines"]["chord" if o == last_onset else "over"] += 1
        if reach >= 0:
            stats["legato"][bool(o <= reach)] += 1
        reach, last_onset = max(reach, o + d), o
    stats["lines"]["notes"] += len(notes)


def notes_per_beat_by_group(score, melody, track, group_bars: int = NOTES_GROUP_BARS) -> list[float]:
    """``track``'s notes a beat in each whole group of ``group_bars`` bars from the bar where ``melody``
    starts (the song's last bar, often a held chord, left out); empty when either track has no notes."""
    if not melody.notes or not track.notes:
        return []
    lines = np.asarray(bar_lines_ticks(score))
    first = int(np.searchsorted(lines, min(n.onset_ticks for n in melody.notes), side="right")) - 1
    bars = np.searchsorted(lines, [n.onset_ticks for n in track.notes], side="right") - 1 - first
    rates = []
    for start in range(0, len(lines) - 1 - first - group_bars + 1, group_bars):
        beats = (lines[first + start + group_bars] - lines[first + start]) / score.ticks_per_beat
        rates.append(float(((bars >= start) & (bars < start + group_bars)).sum() / beats))
    return rates


def bar_note_sets(score, track, lines: np.ndarray) -> list[frozenset]:
    """Per bar between ``lines``, the ``(onset step in the bar, MIDI pitch)`` pairs of ``track``'s notes (12 steps a beat)."""
    tpb = score.ticks_per_beat
    bars: list[set] = [set() for _ in range(len(lines) - 1)]
    for n in track.notes:
        b = int(np.searchsorted(lines, n.onset_ticks, side="right")) - 1
        if 0 <= b < len(bars):
            bars[b].add(((2 * (n.onset_ticks - lines[b]) * STEPS + tpb) // (2 * tpb), n.pitch))
    return [frozenset(b) for b in bars]


def repeat_agreement(score, melody, piano, rng) -> tuple[int, int, list[float], list[float]]:
    """Where the melody repeats (the jobs' rule, :func:`symbolic.jobs.repeats.repeat_sources`, bars of equal
    length), how much the piano repeats: ``(bars with melody, bars repeating an earlier one, the piano's
    Jaccard index between each repeating bar and its source, the same for as many random pairs of bars with
    melody that do not repeat each other)``."""
    lines = np.asarray(bar_lines_ticks(score))
    tunes, chords = bar_note_sets(score, melody, lines), bar_note_sets(score, piano, lines)
    sources = repeat_sources(tunes, [int(hi - lo) for lo, hi in zip(lines, lines[1:])])
    sung = [b for b, t in enumerate(tunes) if t]
    same = [bar_overlap(chords[a], chords[b]) for b, a in sources.items()]
    other = []
    for _ in range(len(sources)):
        a, b = sorted(rng.choice(sung, 2, replace=False)) if len(sung) > 1 else (0, 0)
        if a != b and sources.get(b) != a:
            other.append(bar_overlap(chords[a], chords[b]))
    return len(sung), len(sources), same, other


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pop909", type=Path, default=shared_data_dir() / "pop909")
    parser.add_argument("--limit", type=int, help="first N training songs only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    split = BuildConfig()
    train = [p for p in list_pop909_pieces(args.pop909) if split_of(p.id, split) == "train"][: args.limit]
    stats = {role: defaultdict(list, grid=Counter(), lines=Counter(), legato=Counter()) for role in POP909_ROLES}
    ctr = {role: [0.0, 0.0] for role in POP909_ROLES}
    keyfit = {role: [0.0, 0.0] for role in POP909_ROLES}
    by_group: list[list[float]] = []  # the piano's notes a beat per 8 bars from the melody's first, per song
    repeats = [0, 0, [], []]  # bars with melody, repeating bars, the piano's Jaccard on repeats, on random pairs
    rng = np.random.default_rng(0)
    for piece in tqdm(train, unit="song"):
        score, _ = load_pop909_song(piece.path)
        by_group.append(notes_per_beat_by_group(score, score.tracks[0], score.tracks[2]))
        for k, value in enumerate(repeat_agreement(score, score.tracks[0], score.tracks[2], rng)):
            repeats[k] += value
        for index, track in enumerate(score.tracks[:3]):
            measure(score, track, stats[track.name])
            ratio = chord_tone_ratio(score, index)
            if ratio is not None:
                weight = sum(n.duration_ticks for n in track.notes)
                ctr[track.name][0] += ratio * weight
                ctr[track.name][1] += weight
            inside, total = key_fit(score, track)
            keyfit[track.name][0] += inside
            keyfit[track.name][1] += total

    lines = ["# The pop texture, measured on the POP909 training split", "",
             f"Measured {datetime.date.today()} on a 2-core CPU with", "", "```sh",
             "python benchmarks/pop_texture.py" + (f" --limit {args.limit}" if args.limit else "")
             + f" --out {args.out}", "```", "",
             f"{len(train)} training songs (`split_of` with the build's default 10% valid / 10% test), each aligned "
             "to its annotated beats (`load_pop909_song`: one beat = one quarter note, bar lines on the annotated "
             "downbeats); onsets and durations at the nearest of 12 steps a beat (the event tokenizer's grid).", "",
             "| measure | " + " | ".join(POP909_ROLES) + " |", "| --- | " + " | ".join("---:" for _ in POP909_ROLES) + " |"]

    def row(name, fn):
        lines.append(f"| {name} | " + " | ".join(fn(role) for role in POP909_ROLES) + " |")

    pitch = {r: np.concatenate(stats[r]["pitch"]) for r in POP909_ROLES}
    dur = {r: np.concatenate(stats[r]["dur"]) for r in POP909_ROLES}
    poly = {r: np.concatenate(stats[r]["poly"]) for r in POP909_ROLES}
    size = {r: np.concatenate(stats[r]["chord_size"]) for r in POP909_ROLES}
    grid_total = {r: sum(stats[r]["grid"].values()) for r in POP909_ROLES}
    row("notes", lambda r: f"{len(pitch[r])}")
    row("pitch 0.5th / 5th / 50th / 95th / 99.5th pct (MIDI)",
        lambda r: " / ".join(f"{np.percentile(pitch[r], q):.0f}" for q in (0.5, 5, 50, 95, 99.5)))
    row("per-song lowest, median (MIDI)", lambda r: f"{np.median(stats[r]['song_low']):.0f}")
    row("per-song highest, median (MIDI)", lambda r: f"{np.median(stats[r]['song_high']):.0f}")
    row("notes sounding together while it sounds (mean; 90th pct)",
        lambda r: f"{poly[r].mean():.2f}; {np.percentile(poly[r], 90):.0f}")
    row("notes starting together at an onset (mean; share of onsets with 1 / 2 / 3 / 4+)",
        lambda r: f"{size[r].mean():.2f}; " + " / ".join(
            f"{np.mean(size[r] == k) if k < 4 else np.mean(size[r] >= 4):.2f}" for k in (1, 2, 3, 4)))
    row("notes per beat (median song)", lambda r: f"{np.median(stats[r]['notes_per_beat']):.2f}")
    row("onsets per beat (median song)", lambda r: f"{np.median(stats[r]['onsets_per_beat']):.2f}")
    for name in ("beat", "eighth", "sixteenth", "triplet", "other"):
        row(f"onsets on the {name} (share)" if name != "other" else "onsets elsewhere (32nds, off the grid)",
            lambda r, name=name: f"{stats[r]['grid'][name] / grid_total[r]:.3f}")
    row("onsets on the 16th grid (beat + eighth + sixteenth)",
        lambda r: f"{sum(stats[r]['grid'][k] for k in ('beat', 'eighth', 'sixteenth')) / grid_total[r]:.3f}")
    row("duration 25th / 50th / 75th pct (beats)",
        lambda r: " / ".join(f"{np.percentile(dur[r], q):.2f}" for q in (25, 50, 75)))
    for frac, name in ((0.25, "a sixteenth"), (0.5, "an eighth"), (1.0, "a quarter")):
        row(f"durations at least {name}", lambda r, f=frac: f"{np.mean(dur[r] >= f - 1e-9):.3f}")
    for n, name in ((4, "sixteenths"), (2, "eighths")):
        row(f"durations a whole number of {name}",
            lambda r, n=n: f"{np.mean(np.abs(dur[r] * n - np.rint(dur[r] * n)) < 1e-9):.3f}")
    row("notes starting over the part's previous note, apart (`over`)",
        lambda r: f"{stats[r]['lines']['over'] / stats[r]['lines']['notes']:.3f}")
    row("notes starting together with the previous (`chord`)",
        lambda r: f"{stats[r]['lines']['chord'] / stats[r]['lines']['notes']:.3f}")
    row("notes starting with no rest after the previous (legato)",
        lambda r: f"{stats[r]['legato'][True] / max(1, sum(stats[r]['legato'].values())):.3f}")
    row("chord-tone ratio (note time on the annotated chord's tones)", lambda r: f"{ctr[r][0] / ctr[r][1]:.3f}")
    row("note time inside the annotated key's scale", lambda r: f"{keyfit[r][0] / keyfit[r][1]:.3f}")
    piano = "PIANO"
    on16 = sum(stats[piano]["grid"][k] for k in ("beat", "eighth", "sixteenth")) / grid_total[piano]
    on8 = sum(stats[piano]["grid"][k] for k in ("beat", "eighth")) / grid_total[piano]
    at_least_16th = float(np.mean(dur[piano] >= 0.25 - 1e-9))
    legato = stats[piano]["legato"][True] / max(1, sum(stats[piano]["legato"].values()))
    lines += ["", "## What this says for a pop `StyleTexture` (the rules at the 95% share `part_rhythm.py` uses)", "",
              f"- `part_ranges` for the piano: ({np.percentile(pitch[piano], 0.5):.0f}, "
              f"{np.percentile(pitch[piano], 99.5):.0f}) holds 99% of its notes (0.5th to 99.5th percentile); "
              f"the melody's is ({np.percentile(pitch['MELODY'], 0.5):.0f}, {np.percentile(pitch['MELODY'], 99.5):.0f}).",
              f"- onset grid: {on16:.1%} of piano onsets on sixteenths ({on8:.1%} on eighths), so the grid rule is "
              + ("sixteenths" if on16 >= 0.95 else "none at 95%") + f"; {at_least_16th:.1%} of its notes last at least a "
              f"sixteenth after the grid projection (performed key releases), so "
              + ("a sixteenth is the shortest note" if at_least_16th >= 0.95 else "no shortest-note rule holds at 95%")
              + ": `part_rhythm` " + ("(4, 4)" if on16 >= 0.95 and at_least_16th >= 0.95 else
                                     "cannot take both; a grid-only rule would need a new field") + ".",
              f"- `part_lines` False, `part_chords` True: {stats[piano]['lines']['chord'] / stats[piano]['lines']['notes']:.1%}"
              f" of piano notes start together with another, {stats[piano]['lines']['over'] / stats[piano]['lines']['notes']:.1%}"
              " over a sounding one.",
              f"- `part_legato` {legato >= 0.95}: {legato:.1%} of piano notes start with no rest after the part's sound.",
              f"- key: {keyfit[piano][0] / keyfit[piano][1]:.1%} of piano note time lies inside the annotated key's scale "
              "(calibrate `off_scale_penalty` with `benchmarks/key_fit.py` so new parts leave it as rarely)."]
    lines += ["", f"## The piano's notes a beat by {NOTES_GROUP_BARS} bars from the melody's first bar", "",
              "Songs build up (a verse, then a fuller chorus): the PIANO's notes a beat in each whole group of "
              f"{NOTES_GROUP_BARS} bars from the bar where the MELODY starts (the last bar left out), over the songs "
              "long enough for the group (groups that under 5% of the songs reach left out).  The medians of the groups that at "
              "least 60% of the songs reach are the floor tried for new pop pianos (`pop-accompaniment.md`, "
              "not shipped).", "", "| bars | songs | median | 25th pct |", "| --- | ---: | ---: | ---: |"]
    medians = []
    for k in range(max(map(len, by_group), default=0)):
        rates = [song[k] for song in by_group if len(song) > k]
        if len(rates) >= 0.6 * len(by_group):
            medians.append(float(np.median(rates)))
        if len(rates) < 0.05 * len(by_group):
            break  # the few longest songs
        lines.append(f"| {k * NOTES_GROUP_BARS + 1}-{(k + 1) * NOTES_GROUP_BARS} | {len(rates)} | "
                     f"{np.median(rates):.2f} | {np.percentile(rates, 25):.2f} |")
    lines += ["", "Medians of the groups 60% of the songs reach: (" + ", ".join(f"{m:.2f}" for m in medians) + ")."]
    sung, repeating, same, other = repeats
    lines += ["", "## Where the melody repeats, the piano repeats", "",
              f"A bar repeats an earlier one by the jobs' rule (`symbolic.jobs.repeats.repeat_sources`: bars of the "
              f"same length whose MELODY `(onset step, pitch)` sets share at least {REPEAT_OVERLAP:.0%} of their union, "
              "next to another such pair): "
              f"{repeating} of the {sung} bars with melody ({repeating / max(sung, 1):.1%}).  The PIANO of a repeating bar "
              f"shares a mean {np.mean(same):.2f} (median {np.median(same):.2f}; {np.mean(np.asarray(same) >= 0.8):.1%} "
              f"at least 0.8) of its `(onset step, pitch)` pairs with the piano of the bar it repeats, against a mean "
              f"{np.mean(other):.2f} (median {np.median(other):.2f}) for {len(other)} random pairs of bars with melody "
              "that do not repeat each other: arrangers play a passage's accompaniment again when its melody comes back "
              "(`StyleTexture.repeat_parts`)."]
    lines += ["", "The chord annotations were read from the MIDI itself (`chord_midi.txt`), largely from the "
              "PIANO part, so its chord-tone ratio is close to 1 by construction; the key annotations come from "
              "the audio (`key_audio.txt`).", ""]
    text = "\n".join(lines)
    if args.out:
        atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
