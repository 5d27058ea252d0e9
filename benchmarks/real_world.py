"""The music people bring: which track is the melody, and the melody inside a one-track piano arrangement.

Three measurements, written to ``docs/results/real-world.md`` (with ``--write``):

1. Melody-track accuracy on a POP909-derived band set: each held-out song (id % 5 == 0) becomes a band
   arrangement (:func:`band_arrangement`): its MELODY on a vocal or lead program, its BRIDGE on a second
   instrument (counter-melody), its PIANO split into a bass line and chords on their own programs, a drum
   track added, names partly removed or replaced by ``Track N``, track order shuffled.  Scored with the
   names as generated and with every name removed; :func:`symbolic.analysis.roles.analyze_tracks` beside
   the old ``symbolic.jobs.arrange.choose_melody_track``.
2. Melody-track accuracy on real multi-track MIDI files (``/work/real-midi``, gathered with their sources
   and licences in its ``MANIFEST.json``): the true melody is the one track whose name says melody; the
   files are scored with every name removed, so only the music decides.
3. Melody extraction on the POP909 held-out split (``benchmarks/melody_extraction.py``), skyline beside it.
4. With ``--jobs``: ``accompany`` (stacked, and with ``replace_accompaniment``) and ``convert`` on the first
   bars of real pop songs (:data:`JOB_SONGS`, commercial files: the inputs and outputs are written outside
   git, to ``--out-dir``): the melody kept note for note, the new parts' notes in the melody's scale, new
   notes above the sounding melody note, each new part's doubling share against the kept parts
   (:func:`symbolic.analysis.parts.doubling_share`), triplet share of the new parts against the input's
   (:func:`symbolic.analysis.parts.triplet_share`), and the style classifier's reading of the output.
   ``--jobs`` alone rewrites only that section of the results file.

    python benchmarks/real_world.py --write
    OMP_NUM_THREADS=1 python benchmarks/real_world.py --jobs --write
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from melody_extraction import POP909, evaluate, song_ids  # noqa: E402

from symbolic.analysis.roles import analyze_tracks, name_hints  # noqa: E402
from symbolic.inputs.midi import read_midi  # noqa: E402
from symbolic.score import Note, Score, Track  # noqa: E402

REAL_MIDI = Path("/work/real-midi")
RESULTS = ROOT / "docs" / "results" / "real-world.md"

MELODY_PARTS = ((53, "Vocal"), (52, "Lead Vocal"), (54, "Voz"), (80, "Lead"), (81, "Melody"), (73, "Flute"),
                (65, "Sax"), (56, "Trumpet"), (40, "Violin"), (0, "Gesang"), (53, "Chant"), (85, "Canto"))
COUNTER_PARTS = ((71, "Clarinet"), (68, "Oboe"), (11, "Vibes"), (29, "Guitar 2"), (24, "Nylon Gtr"),
                 (61, "Brass"), (73, "Fill"), (0, "Piano RH"))
CHORD_PARTS = ((0, "Piano"), (4, "E.Piano"), (25, "Guitar"), (27, "Rhythm Guitar"), (89, "Pad"),
               (48, "Strings"), (16, "Organ"), (0, "Keys"))
BASS_PARTS = ((33, "Bass"), (34, "Bajo"), (32, "E.Bass"), (38, "Synth Bass"), (35, "Fretless"))
DRUM_NAMES = ("Drums", "Schlagzeug", "Perc", "Batería")


def split_piano(notes: list[Note], bass_below: int = 55) -> tuple[list[Note], list[Note]]:
    """``(bass, chords)``: the lowest note of each onset when it lies below ``bass_below``, and the rest."""
    bass, chords = [], []
    by_onset: dict[int, list[Note]] = {}
    for note in notes:
        by_onset.setdefault(note.onset_ticks, []).append(note)
    for group in by_onset.values():
        low = min(group, key=lambda n: n.pitch)
        for note in group:
            (bass if note is low and note.pitch < bass_below else chords).append(note)
    return sorted(bass), sorted(chords)


def drum_track(start: int, end: int, ticks_per_beat: int) -> list[Note]:
    """A straight rock groove on the beat grid of the score's ticks: hi-hat eighths, kick on 1 and 3, snare on 2, 4."""
    notes = []
    eighth = ticks_per_beat // 2
    for k, onset in enumerate(range(start - start % ticks_per_beat, end, eighth)):
        notes.append(Note(onset, eighth // 2, 42, 70))
        if k % 2 == 0:
            notes.append(Note(onset, eighth, 36 if (k // 2) % 2 == 0 else 38, 100))
    return notes


def band_arrangement(score: Score, seed: int) -> tuple[Score, dict[int, str]]:
    """A POP909 song as a band: returns the score and the true role of each track index."""
    rng = np.random.default_rng(seed)
    by_name = {t.name: t.notes for t in score.tracks}

    def pick(options):
        return options[rng.integers(len(options))]

    bass, chords = split_piano(by_name.get("PIANO", []))
    parts = [(pick(MELODY_PARTS), by_name.get("MELODY", []), "melody", False),
             (pick(BASS_PARTS), bass, "bass", False), (pick(CHORD_PARTS), chords, "harmony", False)]
    if by_name.get("BRIDGE") and rng.random() < 0.8:
        parts.append((pick(COUNTER_PARTS), by_name["BRIDGE"], "counter-melody", False))
    everything = [n for _, notes, _, _ in parts for n in notes]
    start = min(n.onset_ticks for n in everything)
    end = max(n.offset_ticks for n in everything)
    parts.append(((0, pick(DRUM_NAMES)), drum_track(start, end, score.ticks_per_beat), "drums", True))
    order = rng.permutation(len(parts))
    tracks, roles = [], {}
    for slot, k in enumerate(order):
        (program, name), notes, role, is_drum = parts[k]
        draw = rng.random()
        name = "" if draw < 0.35 else f"Track {slot + 1}" if draw < 0.5 else name
        tracks.append(Track(program=program, is_drum=is_drum, name=name, notes=list(notes)))
        roles[slot] = role
    return replace(score, tracks=tracks), roles


def without_names(score: Score) -> Score:
    """The same score with every track name removed."""
    return replace(score, tracks=[replace(t, name="") for t in score.tracks])


def old_chooser(score: Score) -> int:
    from symbolic.jobs.arrange import choose_melody_track

    return choose_melody_track(score)


def band_set(limit: int | None) -> dict:
    """Melody-track accuracy (new and old chooser, with and without names) and role accuracy on the band set."""
    counts = {"songs": 0, "new": 0, "new_no_names": 0, "old": 0, "old_no_names": 0}
    role_right: dict[str, list[int]] = {}
    seconds = []
    for song_id in song_ids(POP909, "test", limit):
        score, truth = band_arrangement(read_midi(POP909 / f"{song_id:03d}" / f"{song_id:03d}.mid"), song_id)
        melody = next(i for i, r in truth.items() if r == "melody")
        t0 = time.perf_counter()
        analysis = analyze_tracks(score)
        seconds.append(time.perf_counter() - t0)
        bare = without_names(score)
        bare_analysis = analyze_tracks(bare)
        counts["songs"] += 1
        counts["new"] += analysis.melody_track == melody
        counts["new_no_names"] += bare_analysis.melody_track == melody
        counts["old"] += old_chooser(score) == melody
        counts["old_no_names"] += old_chooser(bare) == melody
        for role in bare_analysis.tracks:
            tally = role_right.setdefault(truth[role.index], [0, 0])
            tally[0] += role.role == truth[role.index]
            tally[1] += 1
    return {**counts, "role_accuracy_no_names": {r: right / n for r, (right, n) in role_right.items()},
            "role_counts": {r: n for r, (_, n) in role_right.items()},
            "seconds_per_song_mean": float(np.mean(seconds))}


SUNG_WORDS = ("vocal", "voca", "melod", "chant", "voz", "voice", "gesang", "canto")


def true_melody_tracks(score: Score) -> list[int]:
    """The melody track(s) as the file's author named them: the pitched tracks named as the sung line
    (``Vocal``, ``Melody``, ``Chant``...; backing vocals excluded), else those named ``Lead`` or ``Solo``; a
    second track counts only when it doubles the first (same onsets, 80% or more).  Empty when none or unclear.
    """
    pitched = [i for i, t in enumerate(score.tracks) if t.notes and not t.is_drum]
    hinted = [i for i in pitched if "melody" in name_hints(score.tracks[i].name)
              and "counter-melody" not in name_hints(score.tracks[i].name)]
    sung = [i for i in hinted if any(w in score.tracks[i].name.lower() for w in SUNG_WORDS)]
    named = sung or hinted
    if len(named) <= 1:
        return named
    onsets = [{n.onset_ticks for n in score.tracks[i].notes} for i in named]
    doubling = all(len(onsets[0] & o) >= 0.8 * len(onsets[0] | o) for o in onsets[1:])
    return named if doubling else []


def real_files(folder: Path) -> dict:
    """Melody-track accuracy on real multi-track files whose melody track is named (names removed to score)."""
    manifest = json.loads((folder / "MANIFEST.json").read_text()) if (folder / "MANIFEST.json").is_file() else None
    rows = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".mid", ".midi")):
        try:
            score = read_midi(path)
        except Exception as exc:  # a bad file is listed and skipped
            rows.append({"file": path.name, "error": str(exc)})
            continue
        pitched = [i for i, t in enumerate(score.tracks) if t.notes and not t.is_drum]
        named = true_melody_tracks(score)
        row = {"file": str(path.relative_to(folder)), "tracks": len(score.tracks), "pitched": len(pitched),
               "named_melody": [score.tracks[i].name for i in named]}
        analysis = analyze_tracks(score)
        bare = analyze_tracks(without_names(score))
        row["chosen"] = analysis.melody_track
        row["chosen_no_names"] = bare.melody_track
        row["extraction_no_names"] = bare.extraction_track
        row["chosen_name"] = score.tracks[analysis.melody_track].name if analysis.melody_track is not None else None
        row["chosen_no_names_name"] = (score.tracks[bare.melody_track].name
                                       if bare.melody_track is not None else None)
        if len(pitched) >= 2 and named:
            row["truth"] = named
            row["right"] = analysis.melody_track in named
            row["right_no_names"] = bare.melody_track in named
            row["old_right"] = old_chooser(score) in named
        rows.append(row)
    return {"manifest": manifest, "files": rows}


JOB_SONGS = ("multitrack/pop_all_the_small_things.mid", "multitrack/pop_mr_blue_sky.mid",
             "multitrack/pop_girls_just_want_to_have_fun.mid", "multitrack/pop_what_a_fool_believes.mid",
             "multitrack/pop_aicha.mid")
JOB_BARS = 32
JOBS_HEADING = "## The jobs on real pop songs"


def _in_scale(notes, scale) -> float:
    return float(np.mean([n.pitch % 12 in scale for n in notes])) if notes else 0.0


def job_checks(source: Score, result, melody_notes: list[Note], classifier) -> dict:
    """What a musician checks in a job's output: see item 4 of the module docstring."""
    from symbolic.analysis.keys import estimate_key, scale_pitch_classes
    from symbolic.analysis.parts import above_share, doubling_share, held_above_share, triplet_share
    from symbolic.models.classifier import classify_scores

    out = result.score
    histogram = np.zeros(12)
    for n in melody_notes:
        histogram[n.pitch % 12] += n.duration_ticks
    key = estimate_key(histogram)
    scale = scale_pitch_classes(*key) if key else frozenset(range(12))
    kept = [out.tracks[i].notes for i in result.kept_tracks if not out.tracks[i].is_drum]
    new = [out.tracks[i] for i in result.new_tracks]
    probs = classify_scores(classifier, [out])[0]
    styles = classifier.config.styles
    return {
        "melody_kept": out.tracks[result.melody_track].notes == melody_notes,
        "melody_key": key,
        "new_parts": [{"program": t.program, "notes": len(t.notes),
                       "range": (min(n.pitch for n in t.notes), max(n.pitch for n in t.notes)) if t.notes else None,
                       "in_scale": _in_scale(t.notes, scale), "above_melody": above_share(t.notes, melody_notes),
                       "held_above_melody": held_above_share(t.notes, melody_notes),
                       "doubling": doubling_share(t.notes, kept),
                       "triplets": triplet_share([t.notes], out.ticks_per_beat)} for t in new],
        "input_triplets": triplet_share([t.notes for t in source.tracks], source.ticks_per_beat),
        "classifier": {styles[i]: float(p) for i, p in enumerate(probs)},
        "decisions": list(result.decisions),
    }


def jobs_on_real_songs(folder: Path, out_dir: Path, n_bars: int = JOB_BARS) -> list[dict]:
    """Run the jobs on the first ``n_bars`` bars of each of :data:`JOB_SONGS` with the shipped default model
    (seed 0, one thread); inputs and outputs go to ``out_dir`` (never into git: the songs are commercial)."""
    from symbolic.evaluation.jobs import crop_bars
    from symbolic.jobs.arrange import accompany, convert, find_melody
    from symbolic.jobs.config import JobConfig
    from symbolic.models.classifier import load_classifier
    from symbolic.models.pretrained import load_decoder
    from symbolic.outputs.midi import write_midi
    from symbolic.resources import asset_path
    from symbolic.threads import use_threads

    use_threads(1)
    model, tokenizer, _ = load_decoder("default")
    classifier, _ = load_classifier(asset_path("style-classifier"))
    config = JobConfig(seed=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = (("accompany, classical", lambda s: accompany(model, tokenizer, s, {"classical": 1.0}, config)),
            ("accompany --replace-accompaniment --keep bass,drums, classical",
             lambda s: accompany(model, tokenizer, s, {"classical": 1.0}, config, replace_accompaniment=True,
                                 keep=("bass", "drums"))),
            ("convert --to chorale", lambda s: convert(model, tokenizer, s, {"chorale": 1.0}, config)))
    rows = []
    for name in JOB_SONGS:
        path = folder / name
        if not path.is_file():
            rows.append({"file": name, "error": "absent"})
            continue
        source = crop_bars(read_midi(path), n_bars, tokenizer)
        stem = Path(name).stem
        write_midi(source, out_dir / f"{stem}.in.mid")
        choice = find_melody(source)
        melody_notes = choice.score.tracks[choice.melody_track].notes
        for label, run in runs:
            start = time.process_time()
            result = run(source)
            seconds = time.process_time() - start
            tag = label.split(",")[0].replace(" --", "-").replace(" ", "-")
            write_midi(result.score, out_dir / f"{stem}.{tag}.mid")
            row = {"file": name, "job": label, "cpu_seconds": seconds,
                   **job_checks(source, result, melody_notes, classifier)}
            print(json.dumps(row, default=str))
            rows.append(row)
    return rows


def _key_name(key) -> str:
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    return "none" if key is None else f"{names[key[0]]} {'minor' if key[1] else 'major'}"


def jobs_report(rows: list[dict], command: str) -> str:
    lines = [JOBS_HEADING, "",
             f"Command: `{command}`; date {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; 2-core CPU shared with "
             "other jobs, one thread; the shipped default model and style classifier, seed 0.",
             "",
             f"The first {JOB_BARS} bars of each song (`crop_bars`); inputs and outputs stay outside git (commercial "
             "songs). Per new part: notes in the melody's scale (the melody's key by Krumhansl-Kessler), notes "
             "starting above the melody note sounding then, notes held over the start of a lower melody note "
             "(`held_above_share`), doubling share against the kept pitched parts "
             "(`doubling_share`: same pitch class at the same time, share of the part's sounding time), triplet "
             "share of its onsets (`triplet_share`) beside the input's; and the classifier's top style.",
             "",
             "| song | job | melody kept | melody key | new parts (notes in scale / above melody / held over "
             "melody / doubling / triplets) | input triplets | classifier | CPU s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['file']} | {r['error']} | | | | | | |")
            continue
        parts = "; ".join(f"{p['program']}: {p['in_scale']:.0%} / {p['above_melody']:.0%} / "
                          f"{p['held_above_melody']:.0%} / {p['doubling']:.0%} / {p['triplets']:.0%}"
                          for p in r["new_parts"])
        top = max(r["classifier"], key=r["classifier"].get)
        lines.append(f"| {Path(r['file']).stem} | {r['job']} | {'yes' if r['melody_kept'] else 'NO'} | "
                     f"{_key_name(r['melody_key'])} | {parts} | {r['input_triplets']:.0%} | "
                     f"{top} {r['classifier'][top]:.2f} | {r['cpu_seconds']:.0f} |")
    lines.append("")
    return "\n".join(lines)


def splice_jobs_section(text: str, section: str | None) -> str:
    """``text`` (the results file) with its jobs section replaced by ``section`` (kept when ``None``)."""
    head, found, tail = text.partition(JOBS_HEADING)
    if found:
        rest = tail.split("\n## ", 1)
        old = found + rest[0]
        tail = "\n## " + rest[1] if len(rest) > 1 else ""
    else:
        old, tail = "", ""
    body = (head.rstrip("\n") + tail.rstrip("\n")).rstrip("\n") + "\n"
    kept = section if section is not None else old
    return body + ("\n" + kept.rstrip("\n") + "\n" if kept else "")


def report(band: dict, real: dict | None, extraction: dict, command: str) -> str:
    s = extraction["summary"]
    n = band["songs"]
    lines = [
        "# Real-world benchmark: the melody of the music people bring",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: 2-core CPU ({platform.machine()}), "
        "shared with other jobs, one thread.",
        "",
        "## Which track is the melody: POP909-derived band set",
        "",
        f"{n} POP909 songs of the held-out split (id % 5 == 0), each made into a band arrangement by "
        "`band_arrangement` in `benchmarks/real_world.py`: MELODY on a vocal or lead program, BRIDGE (in 80% "
        "of songs) on a second instrument, PIANO split into a bass line and chords, drums added, 35% of names "
        "removed and 15% replaced by `Track N`, track order shuffled.",
        "",
        "| chooser | names as generated | every name removed |",
        "| --- | --- | --- |",
        f"| `analyze_tracks` (new) | {band['new'] / n:.1%} ({band['new']}/{n}) | "
        f"{band['new_no_names'] / n:.1%} ({band['new_no_names']}/{n}) |",
        f"| `choose_melody_track` (old) | {band['old'] / n:.1%} ({band['old']}/{n}) | "
        f"{band['old_no_names'] / n:.1%} ({band['old_no_names']}/{n}) |",
        "",
        "Role accuracy per true role, every name removed: " + ", ".join(
            f"{r} {a:.1%} of {band['role_counts'][r]}" for r, a in sorted(band["role_accuracy_no_names"].items()))
        + f". Time: {band['seconds_per_song_mean'] * 1000:.0f} ms per song.",
        "",
    ]
    lines += ["## Which track is the melody: real multi-track files", ""]
    scored = [r for r in (real or {}).get("files", []) if "truth" in r]
    if not real or not real["files"]:
        lines += ["No real multi-track files were available at run time (`/work/real-midi` absent or empty).", ""]
    else:
        lines += [f"{len(real['files'])} files from `/work/real-midi` (sources and licences in its `MANIFEST.json`; "
                  "the files are not committed). A file is scored when its author named the melody track "
                  f"(`true_melody_tracks`: {len(scored)} files); the new chooser is scored with the names and "
                  "with every name removed, so that only the music decides.", ""]
        if scored:
            right = sum(r["right"] for r in scored)
            bare = sum(r["right_no_names"] for r in scored)
            old = sum(r["old_right"] for r in scored)
            k = len(scored)
            lines += [f"- `analyze_tracks`, names kept: {right}/{k}; every name removed: {bare}/{k}",
                      f"- `choose_melody_track` (old): {old}/{k}", ""]
        lines += ["| file | tracks | named melody | chosen (names kept) | chosen (names removed) |",
                  "| --- | --- | --- | --- | --- |"]
        for r in real["files"]:
            if "error" in r:
                lines.append(f"| {r['file']} | unreadable: {r['error']} | | | |")
                continue
            lines.append(f"| {r['file']} | {r['tracks']} | {', '.join(r['named_melody']) or '-'} | "
                         f"{r['chosen']} {r['chosen_name']!r} | {r['chosen_no_names']} {r['chosen_no_names_name']!r}"
                         + (f" (extract from {r['extraction_no_names']})" if r['extraction_no_names'] is not None
                            else "") + " |")
        lines.append("")
    return "\n".join(lines) + "\n" + extraction_section(s)


def extraction_section(s: dict) -> str:
    """The melody extraction section of the report, from :func:`melody_extraction.evaluate`'s summary ``s``."""
    lines = [
        "## Melody extraction from a one-track piano arrangement (POP909 held-out split)",
        "",
        f"{s['songs']} songs of the held-out split (id % 5 == 0; the extractor's networks were trained on "
        f"id % 5 >= 2 and validated on id % 5 == 1, its stackers fit on id % 5 >= 1), {s['notes']} notes. "
        "Each song's MELODY, BRIDGE and PIANO merged into one nameless piano track; every note is called "
        "melody or not and scored against MELODY (both classes count).",
        "",
        f"Goal of issue 14, at least 95% of notes right on held-out songs: "
        f"{'met' if s['model_accuracy'] >= 0.95 else 'not met'} ({s['model_accuracy']:.2%}).",
        "",
        "| method | notes right | melody precision | melody recall | CPU time per song |",
        "| --- | --- | --- | --- | --- |",
        f"| extractor (`extract_melody`) | **{s['model_accuracy']:.2%}** | {s['model_precision']:.3f} | "
        f"{s['model_recall']:.3f} | {s['seconds_per_song_mean'] * 1000:.0f} ms (max "
        f"{s['seconds_per_song_max'] * 1000:.0f} ms) |",
        f"| skyline (top note of each onset not under a held higher note) | {s['skyline_accuracy']:.2%} | "
        f"{s['skyline_precision']:.3f} | {s['skyline_recall']:.3f} | "
        f"{s['skyline_seconds_per_song_mean'] * 1000:.0f} ms |",
        f"| skyline, plain (top note of every onset) | {s['skyline_plain_accuracy']:.2%} | "
        f"{s['skyline_plain_precision']:.3f} | {s['skyline_plain_recall']:.3f} | |",
        f"| extractor, every velocity set to 100 | {s['model_flat_accuracy']:.2%} | | | |",
        *([f"| its first pass alone (no refiner) | {s['first_pass_accuracy']:.2%} | | | |"]
          if s.get("has_refiner") else []),
        "",
        "Where the extractor's errors are, by the note's source track and whether the skyline takes it "
        "(top) or not (under):",
        "",
        "| notes | count | wrong | share of all notes |",
        "| --- | --- | --- | --- |",
    ]
    for key, cell in s["model_errors"].items():
        lines.append(f"| {key} | {cell['notes']} | {cell['wrong'] / max(cell['notes'], 1):.1%} | "
                     f"{cell['wrong'] / s['notes']:.2%} |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="use the first N held-out songs only")
    parser.add_argument("--real", type=Path, default=REAL_MIDI, help="folder of real multi-track MIDI files")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--jobs", action="store_true", help="run only the jobs on real pop songs (item 4)")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/real-world-jobs"),
                        help="where the jobs' inputs and outputs go (outside git)")
    args = parser.parse_args()
    if args.jobs:
        section = jobs_report(jobs_on_real_songs(args.real, args.out_dir),
                              "OMP_NUM_THREADS=1 python benchmarks/real_world.py --jobs --write")
        print(section)
        if args.write:
            from symbolic.utils import atomic_write_text

            old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
            atomic_write_text(RESULTS, splice_jobs_section(old, section))
            print(f"wrote {RESULTS}")
        return 0
    band = band_set(args.limit)
    print(json.dumps({k: v for k, v in band.items()}, indent=1))
    real = real_files(args.real) if args.real.is_dir() else None
    if real:
        for row in real["files"]:
            print(row)
    extraction = evaluate(POP909, "test", args.limit)
    command = "python benchmarks/real_world.py" + (f" --limit {args.limit}" if args.limit else "") + " --write"
    text = report(band, real, extraction, command)
    print(text)
    if args.write:
        from symbolic.utils import atomic_write_text

        old = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
        jobs = splice_jobs_section(old, None).partition(JOBS_HEADING)  # keep the last --jobs section
        atomic_write_text(RESULTS, splice_jobs_section(text, jobs[1] + jobs[2] if jobs[1] else None))
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
