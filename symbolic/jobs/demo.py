"""The demo: the main jobs on a held-out corpus tune, rendered, judged and reported.

A held-out tune of the music21 corpus (one the shipped model never trained on) is
converted into other styles, accompanied, continued, optionally rendered to WAV
and evaluated; everything goes into one folder with ``report.md``,
``report.json`` and ``piano-rolls.png``.  Works with any decoder: styles it does
not know are replaced by styles it does (see :func:`demo_styles`).
"""

from __future__ import annotations

from pathlib import Path

from symbolic.errors import StyleError
from symbolic.jobs.config import DemoConfig
from symbolic.styles.registry import NO_STYLE

__all__ = ["held_out_pieces", "held_out_piece", "demo_styles", "run_demo", "report_markdown"]


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
    steps = [(f"convert to {t}", lambda t=t: convert(model, tokenizer, source, {t: 1.0}, job)) for t in targets]
    steps.append((f"accompany in {own}", lambda: accompany(model, tokenizer, source, {own: 1.0}, job)))
    steps.append((f"continue {config.continue_bars} bars in {own}",
                  lambda: continue_score(model, tokenizer, source, {own: 1.0}, job, config.continue_bars)))
    outputs = [("source", source)]
    for name, run in tqdm(steps, desc="demo jobs", unit="job", disable=not progress):
        outputs.append((name, run().score))
    files = {name: write_midi(score, out / f"{_slug(name)}.mid") for name, score in outputs}
    audio = _render(outputs, out, progress) if config.audio else {}
    probs = classify_scores(classifier, [s for _, s in outputs])
    melody = source.tracks[0]
    rows = []
    for (name, score), p in zip(outputs, probs):
        metrics = all_metrics(score)
        rows.append({
            "output": name, "file": str(files[name]), "tracks": len(score.tracks), "notes": score.n_notes,
            "seconds": round(score.duration_seconds, 1),
            "classified_as": classifier.config.styles[int(p.argmax())],
            "style_probabilities": {s: round(float(v), 3) for s, v in zip(classifier.config.styles, p)},
            "melody_kept": any(same_notes(melody, t, source.ticks_per_beat, score.ticks_per_beat)
                               for t in score.tracks) if not name.startswith("continue") else
            set(melody.notes) <= set(score.tracks[0].notes),
            "chroma_similarity_to_source": round(chroma_similarity(source, score), 3),
            "pitch_class_entropy": round(metrics["pitch_class_entropy"], 3),
            "polyphony": round(metrics["polyphony"], 3),
            **audio.get(name, {}),
        })
    figure = write_piano_rolls(out / "piano-rolls.png", outputs)
    report = {"piece": piece.id, "style": config.style, "bars": config.bars, "outputs": rows, "figure": figure}
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


def report_markdown(report: dict) -> str:
    """The demo's report as Markdown: one table row per output, and the piano-roll figure."""
    lines = ["# symbolic demo", "",
             f"Tune: `{report['piece']}` ({report['style']}), first {report['bars']} bars, held out from the "
             "shipped model's training.", "",
             "| output | tracks | notes | seconds | classified as | melody kept | chroma similarity to source | "
             "pitch-class entropy | polyphony | spectral centroid (Hz) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["outputs"]:
        lines.append(f"| {r['output']} | {r['tracks']} | {r['notes']} | {r['seconds']} | {r['classified_as']} "
                     f"({r['style_probabilities'][r['classified_as']]:.2f}) | {'yes' if r['melody_kept'] else 'NO'} | "
                     f"{r['chroma_similarity_to_source']} | {r['pitch_class_entropy']} | {r['polyphony']} | "
                     f"{r.get('spectral_centroid_hz', 'not rendered')} |")
    lines += ["", "The style classifier is the shipped note-roll CNN; chroma similarity is the mean cosine of "
              "beat chromas (1 = the same pitch classes on every beat).", "",
              f"![piano rolls]({Path(report['figure']).name})", ""]
    return "\n".join(lines)
