"""``symbolic demo``: the main job on the embedded corpus, with the shipped model.

A held-out tune of the music21 corpus (one the shipped model never trained on) is
converted into two other styles, accompanied, continued, rendered to WAV and
evaluated; everything goes into ``demo-out/`` with a report and pictures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run_demo", "held_out_pieces", "held_out_piece"]


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "demo", help="convert, accompany and continue a held-out corpus tune; render, evaluate, report",
        description="Take a tune of the music21 corpus that the shipped model did not train on, convert it "
                    "into two other styles, write an accompaniment for it, continue it, render everything to "
                    "WAV and evaluate it.  Writes MIDI, WAV, report.md/report.json and piano-roll pictures.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder (default demo-out)")
    p.add_argument("--style", default="irish", help="corpus style of the tune (default irish)")
    p.add_argument("--to", default="chorale,classical", help="two (or more) target styles (default chorale,classical)")
    p.add_argument("--bars", type=int, default=16, help="bars of the tune used (default 16)")
    p.add_argument("--continue-bars", type=int, default=8, help="bars the continuation adds (default 8)")
    p.add_argument("--model", default="default", help="a shipped model name or a checkpoint folder")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--no-audio", action="store_true", help="skip rendering (no FluidSynth needed)")
    p.set_defaults(handler=run_demo)


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
    """
    from symbolic.data.corpus import load_piece
    from symbolic.errors import StyleError
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


def run_demo(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from symbolic.arrangement import accompany, continue_score, convert
    from symbolic.cli.jobs import DEFAULT_GUIDANCE, DEFAULT_TEMPERATURE
    from symbolic.errors import StyleError
    from symbolic.evaluation.jobs import chroma_similarity, same_notes
    from symbolic.evaluation.metrics import all_metrics
    from symbolic.models.classifier import classify_scores, load_classifier
    from symbolic.models.sampling import GenerationConfig
    from symbolic.outputs.midi import write_midi
    from symbolic.pretrained import load_decoder
    from symbolic.resources import asset_path
    from symbolic.utils import atomic_write_json, atomic_write_text

    model, tokenizer, _ = load_decoder(args.model)
    targets = [s.strip() for s in args.to.split(",") if s.strip()]
    for style in [args.style, *targets]:
        if style not in tokenizer.vocab.styles or style == "none":
            raise StyleError(f"unknown style {style!r}; the model knows: "
                             f"{', '.join(s for s in tokenizer.vocab.styles if s != 'none')}")
    classifier, _ = load_classifier(asset_path("style-classifier"))
    piece, source = held_out_piece(args.style, classifier, args.bars, tokenizer)
    print(f"demo: {piece.id} ({args.style}, held out from the shipped model's training), first {args.bars} bars")
    config = GenerationConfig(temperature=DEFAULT_TEMPERATURE, top_p=0.95, guidance_scale=DEFAULT_GUIDANCE,
                              seed=args.seed)
    out = args.out
    steps = [(f"convert to {t}", lambda t=t: convert(model, tokenizer, source, {t: 1.0}, config)) for t in targets]
    steps.append((f"accompany in {args.style}", lambda: accompany(model, tokenizer, source, {args.style: 1.0}, config)))
    steps.append((f"continue {args.continue_bars} bars in {args.style}",
                  lambda: continue_score(model, tokenizer, source, {args.style: 1.0}, config, args.continue_bars)))
    outputs = [("source", source)]
    for name, job in tqdm(steps, desc="demo jobs", unit="job"):
        outputs.append((name, job().score))
    files = {}
    for name, score in outputs:
        files[name] = write_midi(score, out / f"{_slug(name)}.mid")
    audio = {}
    if not args.no_audio:
        from symbolic.audio import features as F
        from symbolic.audio.render import RenderConfig, Renderer
        from symbolic.audio.wav import write_wav

        with Renderer(None, RenderConfig()) as renderer:
            sr = renderer.config.sample_rate
            for name, score in tqdm(outputs, desc="rendering", unit="file"):
                y = renderer.render(score)
                write_wav(out / f"{_slug(name)}.wav", y, sr)
                mono = F.to_mono(y)
                audio[name] = {"wav": str(out / f"{_slug(name)}.wav"),
                               "spectral_centroid_hz": round(float(F.spectral_centroid(mono, sr).mean()), 1),
                               "rms": round(float(F.rms(mono).mean()), 4)}

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
    figure = _piano_rolls(out / "piano-rolls.png", outputs)
    report = {"piece": piece.id, "style": args.style, "bars": args.bars, "outputs": rows, "figure": figure}
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", _markdown(report))
    print(json.dumps([{k: r[k] for k in ("output", "classified_as", "melody_kept", "chroma_similarity_to_source")}
                      for r in rows], indent=1))
    print(f"wrote {out}/ : MIDI{'' if args.no_audio else ', WAV'}, report.md, report.json, piano-rolls.png")
    return 0


def _slug(name: str) -> str:
    return name.replace(" ", "-")


def _piano_rolls(path: Path, outputs) -> str:
    from symbolic.evaluation.figures import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(len(outputs), 1, figsize=(11, 2.2 * len(outputs)), squeeze=False)
    for ax, (name, score) in zip(axes[:, 0], outputs):
        tpb = score.ticks_per_beat
        for k, track in enumerate(score.tracks):
            for n in track.notes:
                ax.plot([n.onset_ticks / tpb, (n.onset_ticks + n.duration_ticks) / tpb], [n.pitch, n.pitch],
                        color=f"C{k % 10}", linewidth=2.5, solid_capstyle="butt")
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_ylabel("pitch")
    axes[-1, 0].set_xlabel("beats")
    fig.tight_layout()
    return save_figure(fig, path, plt)


def _markdown(report: dict) -> str:
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
