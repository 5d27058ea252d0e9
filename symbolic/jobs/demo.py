"""The demo: the main jobs on a held-out corpus tune, rendered, judged and reported.

A held-out tune of the music21 corpus (one the shipped model never trained on) is
converted into other styles, accompanied, continued, optionally rendered to WAV
and evaluated; everything goes into one folder with ``report.md``,
``report.json`` and ``piano-rolls.png``.  Works with any decoder: styles it does
not know are replaced by styles it does (see :func:`demo_styles`).

With a decoder that knows ``pop``, the pop part runs too: the melody of a held-out
POP909 song (test split) is accompanied in pop and converted into two other styles,
and the corpus tune is converted into pop (see :func:`pop_jobs`).  Each job's
output names its target style, which the classifier's reading is checked against.
"""

from __future__ import annotations

from pathlib import Path

from symbolic.errors import StyleError
from symbolic.jobs.config import DemoConfig
from symbolic.styles.registry import NO_STYLE, texture_of

__all__ = ["held_out_pieces", "held_out_piece", "held_out_pop_melody", "demo_styles", "accompany_style",
           "pop_targets", "run_demo", "report_markdown", "tune_extent"]

POP = "pop"


def held_out_pieces(style: str) -> list:
    """The pieces of corpus ``style`` that the default data split puts in the test set, in corpus order."""
    from symbolic.data.build import BuildConfig, split_of
    from symbolic.data.corpus import list_music21_pieces

    config = BuildConfig(limit_per_style=300)
    return [p for p in list_music21_pieces([style]) if split_of(p.id, config) == "test"]


def held_out_piece(style: str, classifier=None, bars: int = 16, tokenizer=None, tries: int = 20):
    """A held-out piece of ``style``: the first, or with a classifier the first it recognises as ``style``
    (among the first ``tries``; else the first).

    Returns ``(piece, score cropped to bars)``.

    Raises:
        StyleError: the corpus style has no held-out piece.
    """
    from symbolic.data.corpus import load_piece
    from symbolic.evaluation.jobs import crop_bars
    from symbolic.models.classifier import classify_scores
    from symbolic.tokenization.events import EventTokenizer

    tokenizer = tokenizer or EventTokenizer()
    pieces = held_out_pieces(style)
    if not pieces:
        raise StyleError(f"the corpus style {style!r} has no held-out piece")
    first = None
    for piece in pieces[:tries]:
        score = crop_bars(load_piece(piece), bars, tokenizer)
        first = first or (piece, score)
        if classifier is None:
            return piece, score
        if classifier.config.styles[int(classify_scores(classifier, [score])[0].argmax())] == style:
            return piece, score
    return first


def held_out_pop_melody(pop909_dir, bars: int, tokenizer):
    """The MELODY of the first POP909 song of the test split, ``bars`` bars from where it enters.

    Returns ``(song id, one-track score)``, or ``None`` when ``pop909_dir`` holds no POP909 song
    (the pop part of the demo is then left out).
    """
    from pathlib import Path

    from symbolic.data.build import BuildConfig, split_of
    from symbolic.data.pop909 import list_pop909_pieces, load_pop909_song
    from symbolic.evaluation.jobs import crop_bars, first_bar_with_notes
    from symbolic.score import Score

    if not (Path(pop909_dir) / "001").is_dir():
        return None
    config = BuildConfig()
    for piece in list_pop909_pieces(pop909_dir):
        if split_of(piece.id, config) != "test":
            continue
        song, _ = load_pop909_song(piece.path)
        if not song.tracks[0].notes:
            continue
        song = crop_bars(song, bars, tokenizer, first_bar=first_bar_with_notes(song, tokenizer))
        return piece.id, Score(ticks_per_beat=song.ticks_per_beat, tracks=[song.tracks[0]], tempos=song.tempos,
                               time_signatures=song.time_signatures)
    return None


def pop_targets(config: DemoConfig, model_styles: tuple[str, ...]) -> tuple[str, ...]:
    """The two styles (at most) the pop melody is converted into: the demo's targets without pop, then
    the model's other styles, in the model's order."""
    known = [s for s in model_styles if s not in (NO_STYLE, POP)]
    wanted = [t for t in (config.targets or DemoConfig.DEFAULT_TARGETS) if t in known]
    return tuple(dict.fromkeys(wanted + known))[:2]


def pop_jobs(model, tokenizer, targets: tuple[str, ...], job, source, melody, convert_tune: bool = True) -> list:
    """The pop part of the demo as ``(output name, target style, given score, job)`` steps: the pop
    ``melody`` accompanied in pop and converted into each of ``targets``, and (with ``convert_tune``) the
    corpus tune ``source`` converted into pop."""
    from symbolic.jobs.arrange import accompany, convert

    steps = [("pop melody accompanied in pop", POP, melody,
              lambda: accompany(model, tokenizer, melody, {POP: 1.0}, job, melody_track=0))]
    steps += [(f"pop melody converted to {t}", t, melody,
               lambda t=t: convert(model, tokenizer, melody, {t: 1.0}, job, melody_track=0)) for t in targets]
    if convert_tune:
        steps.append(("tune converted to pop", POP, source,
                      lambda: convert(model, tokenizer, source, {POP: 1.0}, job)))
    return steps


def accompany_style(own: str, targets: tuple[str, ...], pop_part: bool) -> str | None:
    """The style the tune is accompanied in: its own, unless its own is a solo-tune style (the Irish and
    German tunes of the corpus: no accompanying parts to learn from, ``StyleTexture.convert_parts == 0``);
    then none when the pop part runs (``pop_part``: its melody is accompanied in pop), else the first target."""
    if texture_of(own).convert_parts > 0:
        return own
    return None if pop_part else targets[0]


def demo_styles(config: DemoConfig, model_styles: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """``(the source's style for the model, target styles)`` among the styles a decoder knows.

    The source style is ``config.style`` when the model knows it, else the model's
    first style.  The targets are ``config.targets``; when ``config.targets`` is
    ``None`` they are the defaults the model knows (chorale, classical), or else its
    first two styles other than the source's.

    Raises:
        StyleError: the model knows no style, or an explicitly asked target it does not know.
    """
    known = tuple(s for s in model_styles if s != NO_STYLE)
    if not known:
        raise StyleError("the model knows no style, so there is nothing to convert into")
    own = config.style if config.style in known else known[0]
    if config.targets is not None:
        unknown = [t for t in config.targets if t not in known]
        if unknown:
            raise StyleError(f"unknown target style {unknown[0]!r}; the model knows: {', '.join(known)}")
        return own, tuple(config.targets)
    targets = tuple(t for t in DemoConfig.DEFAULT_TARGETS if t in known and t != own)
    return own, targets or tuple(s for s in known if s != own)[:2] or (own,)


def run_demo(model, tokenizer, classifier, config: DemoConfig, out: Path, progress: bool = True) -> dict:
    """Run the demo into ``out``; returns the report (also written as ``report.json`` and ``report.md``).

    Args:
        model, tokenizer: a decoder and its tokenizer.
        classifier: the style classifier that picks the tune and judges the outputs.
        config: the demo's settings.
        out: the output folder.
        progress: show tqdm bars.
    """
    from tqdm import tqdm

    from symbolic.evaluation.figures import write_piano_rolls
    from symbolic.evaluation.jobs import chroma_similarity, same_notes
    from symbolic.evaluation.metrics import all_metrics
    from symbolic.jobs.arrange import accompany, continue_score, convert
    from symbolic.models.classifier import classify_scores
    from symbolic.outputs.midi import write_midi
    from symbolic.utils import atomic_write_json, atomic_write_text

    out = Path(out)
    own, targets = demo_styles(config, tokenizer.vocab.styles)
    piece, source = held_out_piece(config.style, classifier, config.bars, tokenizer)
    job = config.job()
    # (output name, target style, source score, job); the source rows have no job
    steps = [(f"convert to {t}", t, source, lambda t=t: convert(model, tokenizer, source, {t: 1.0}, job))
             for t in targets]
    pop_song, pop_note, found = None, None, None
    if POP in tokenizer.vocab.styles:
        from symbolic.resources import shared_data_dir

        pop909 = Path(config.pop909_dir) if config.pop909_dir is not None else shared_data_dir() / "pop909"
        found = held_out_pop_melody(pop909, config.bars, tokenizer)
        if found is None:
            pop_note = (f"pop part left out: {pop909} holds no POP909 songs; give the POP909 folder "
                        "(DemoConfig.pop909_dir) to run it")
    backing = accompany_style(own, targets, found is not None)
    if backing is not None:
        steps.append((f"accompany in {backing}", backing, source,
                      lambda: accompany(model, tokenizer, source, {backing: 1.0}, job)))
    steps.append((f"continue {config.continue_bars} bars in {own}", own, source,
                  lambda: continue_score(model, tokenizer, source, {own: 1.0}, config.continue_job(),
                                         config.continue_bars)))
    if found is not None:
        pop_song, melody = found
        steps += pop_jobs(model, tokenizer, pop_targets(config, tokenizer.vocab.styles), job, source, melody,
                          convert_tune=POP not in targets)  # else the tune's "convert to pop" is that job
    # (output name, target style or None for a given piece, score, the piece whose melody it keeps)
    outputs = [("source", None, source, source)]
    if pop_song is not None:
        outputs.append(("pop melody", None, melody, melody))
    for name, target, given, run in tqdm(steps, desc="demo jobs", unit="job", disable=not progress):
        outputs.append((name, target, run().score, given))
    named = [(name, score) for name, _, score, _ in outputs]
    files = {name: write_midi(score, out / f"{_slug(name)}.mid") for name, score in named}
    audio = _render(named, out, progress) if config.audio else {}
    probs = classify_scores(classifier, [s for _, s in named])
    rows = []
    for (name, target, score, given), p in zip(outputs, probs):
        metrics = all_metrics(score)
        melody = given.tracks[0]
        classified = classifier.config.styles[int(p.argmax())]
        rows.append({
            "output": name, "target": target, "file": str(files[name]), "tracks": len(score.tracks),
            "notes": score.n_notes, "seconds": round(score.duration_seconds, 1),
            "classified_as": classified,
            # judged only when the classifier knows the target (a model trained on one's own styles may not)
            "as_target": None if target is None or target not in classifier.config.styles else classified == target,
            "style_probabilities": {s: round(float(v), 3) for s, v in zip(classifier.config.styles, p)},
            "melody_kept": any(same_notes(melody, t, given.ticks_per_beat, score.ticks_per_beat)
                               for t in score.tracks) if not name.startswith("continue") else
            set(melody.notes) <= set(score.tracks[0].notes),
            "chroma_similarity_to_source": round(chroma_similarity(given, score), 3),
            "pitch_class_entropy": round(metrics["pitch_class_entropy"], 3),
            "polyphony": round(metrics["polyphony"], 3),
            **audio.get(name, {}),
        })
    figure = write_piano_rolls(out / "piano-rolls.png", named)
    tune_bars = len(tokenizer.bar_starts_steps(source)) - 1  # the whole tune when it is shorter than config.bars
    report = {"piece": piece.id, "style": config.style, "bars": config.bars, "tune_bars": tune_bars,
              "pop_song": pop_song,
              "pop_note": pop_note, "outputs": rows, "figure": figure}
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", report_markdown(report))
    return report


def _render(outputs, out: Path, progress: bool) -> dict:
    """Render each output to ``out/<name>.wav``; its file, spectral centroid (Hz) and RMS by name."""
    from tqdm import tqdm

    from symbolic.audio import features as F
    from symbolic.audio.render import RenderConfig, Renderer
    from symbolic.audio.wav import write_wav

    audio = {}
    with Renderer(None, RenderConfig()) as renderer:
        sr = renderer.config.sample_rate
        for name, score in tqdm(outputs, desc="rendering", unit="file", disable=not progress):
            y = renderer.render(score)
            write_wav(out / f"{_slug(name)}.wav", y, sr)
            mono = F.to_mono(y)
            audio[name] = {"wav": str(out / f"{_slug(name)}.wav"),
                           "spectral_centroid_hz": round(float(F.spectral_centroid(mono, sr).mean()), 1),
                           "rms": round(float(F.rms(mono).mean()), 4)}
    return audio


def _slug(name: str) -> str:
    return name.replace(" ", "-")


def tune_extent(report: dict) -> str:
    """How much of the tune the demo took: ``"first 16 bars"``, or ``"all 9 bars"`` for a shorter tune."""
    bars, tune_bars = report["bars"], report.get("tune_bars", report["bars"])
    return f"first {bars} bars" if tune_bars >= bars else f"all {tune_bars} bars"


def report_markdown(report: dict) -> str:
    """The demo's report as Markdown: one table row per output, and the piano-roll figure."""
    lines = ["# symbolic demo", "",
             f"Tune: `{report['piece']}` ({report['style']}), {tune_extent(report)}, from the corpus's test "
             "split (held out from the shipped model's training)."]
    if report.get("pop_song"):
        lines.append(f"Pop melody: the MELODY of POP909 song `{report['pop_song']}` (test split), {report['bars']} "
                     "bars from where it enters.")
    if report.get("pop_note"):
        lines.append(report["pop_note"] + ".")
    jobs = [r for r in report["outputs"] if r.get("target")]
    judged = [r for r in jobs if r["as_target"] is not None]
    unjudged = sorted({r["target"] for r in jobs if r["as_target"] is None})
    verdict = f"Outputs classified as their target style: {sum(bool(r['as_target']) for r in judged)} of {len(judged)}"
    if unjudged:
        known = ", ".join(next(iter(report["outputs"]))["style_probabilities"]) if report["outputs"] else ""
        verdict += (f"; not judged: {len(jobs) - len(judged)} outputs in {', '.join(unjudged)}, which the style "
                    f"classifier does not know (it knows {known}; train one on your data with "
                    "`symbolic classifier train`)")
    lines += ["", verdict + ".", "",
              "| output | target | tracks | notes | seconds | classified as | melody kept | chroma similarity to source | "
              "pitch-class entropy | polyphony | spectral centroid (Hz) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["outputs"]:
        lines.append(f"| {r['output']} | {r.get('target') or ''} | {r['tracks']} | {r['notes']} | {r['seconds']} | "
                     f"{r['classified_as']} "
                     f"({r['style_probabilities'][r['classified_as']]:.2f}) | {'yes' if r['melody_kept'] else 'NO'} | "
                     f"{r['chroma_similarity_to_source']} | {r['pitch_class_entropy']} | {r['polyphony']} | "
                     f"{r.get('spectral_centroid_hz', 'not rendered')} |")
    lines += ["", "The style classifier is the shipped note-roll CNN; chroma similarity is the mean cosine of "
              "beat chromas (1 = the same pitch classes on every beat).", "",
              f"![piano rolls]({Path(report['figure']).name})", ""]
    return "\n".join(lines)
