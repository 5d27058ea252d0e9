"""What a worker process does with one job: read, run the job, write the results atomically.

The model is loaded once per process (:func:`_decoder`).  Progress comes from the jobs' ``on_bar``
callback (:func:`symbolic.jobs.plan.generate_planned` calls it before each bar): :func:`_bar_progress`
records bars done / total in the store and stops the job when a cancel was asked for or the time
limit passed.
"""

from __future__ import annotations

import io
import logging
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from symbolic.errors import SymbolicError
from symbolic.serve.config import JobSettings
from symbolic.serve.store import JobStore
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["run_job", "ogg_bytes", "JobStopped", "RESULT_FILES"]

log = logging.getLogger(__name__)

# name -> media type of every file a finished job may have (the API serves only these names)
RESULT_FILES = {
    "result.mid": "audio/midi", "result.wav": "audio/wav", "result.ogg": "audio/ogg",
    "original.wav": "audio/wav", "original.ogg": "audio/ogg", "roll.png": "image/png",
    "report.json": "application/json",
}

OGG_BLOCK_FRAMES = 16384  # frames per write to the Vorbis encoder

_MODELS: dict[str, tuple] = {}  # this process's decoders, by model name


class JobStopped(Exception):
    """A running job was cancelled or ran out of time (the message says which)."""


def _decoder(model: str):
    if model not in _MODELS:
        import torch

        from symbolic.models.pretrained import load_decoder

        torch.set_num_threads(1)
        _MODELS[model] = load_decoder(model)
    return _MODELS[model]


def _bar_progress(store: JobStore, job_id: str, timeout_seconds: float) -> Callable[[int, int], None]:
    """The jobs' ``on_bar`` callback: records bars written / total, stops on cancel or timeout."""
    deadline = time.monotonic() + timeout_seconds

    def on_bar(done: int, total: int) -> None:
        if store.progress(job_id, done, total):
            raise JobStopped("cancelled")
        if time.monotonic() > deadline:
            raise JobStopped("stopped: the job ran over the server's time limit; ask for fewer bars")

    return on_bar


def _run(settings: JobSettings, folder: Path, model_name: str, on_bar: Callable[[int, int], None]):
    """``(JobResult, input score, summary dict)``; raises :class:`SymbolicError` on bad input."""
    from symbolic.inputs.midi import read_midi
    from symbolic.jobs.arrange import accompany, continue_score, convert, style_programs
    from symbolic.jobs.style_input import describe_style_choice, resolve_job_style
    from symbolic.styles.texture import parse_instruments
    from symbolic.styles.words import describe_mix

    score = read_midi(folder / "input.mid")
    reference = folder / "reference.mid"
    example = read_midi(reference) if reference.is_file() else None
    model, tokenizer, _ = _decoder(model_name)
    weights, found_from = resolve_job_style(tokenizer.vocab.styles, settings.style, example)
    config = settings.job_config()
    style_words = describe_mix(weights)
    summary: dict[str, Any] = {"style": weights,
                               "style_described": describe_style_choice(weights, found_from,
                                                                        settings.style or "the reference piece"),
                               "style_found_from": found_from or "name"}
    if settings.job == "convert":
        result = convert(model, tokenizer, score, weights, config, strength=settings.strength,
                         melody_track=settings.melody_track, parts=settings.parts, on_bar=on_bar)
    elif settings.job == "accompany":
        programs = None
        if settings.tracks is not None:
            programs = [program for _, program in parse_instruments(settings.tracks)]
        elif settings.voices is not None:
            programs = style_programs(weights, settings.voices)
        result = accompany(model, tokenizer, score, weights, config, programs=programs,
                           melody_track=settings.melody_track, on_bar=on_bar)
    else:
        result = continue_score(model, tokenizer, score, weights, config, n_bars=settings.bars, on_bar=on_bar)
    new_notes = sum(len(result.score.tracks[i].notes) for i in result.new_tracks)
    if settings.job == "continue":
        message = f"added {settings.bars} bars with {result.score.n_notes - score.n_notes} notes; style {style_words}"
    else:
        message = (f"melody: track {result.melody_track}; {len(result.new_tracks)} new tracks with {new_notes} "
                   f"notes; style {style_words}")
    summary.update(message=message, melody_track=result.melody_track, kept_tracks=list(result.kept_tracks),
                   new_tracks=list(result.new_tracks), notes=result.score.n_notes, new_notes=new_notes,
                   seconds=round(result.score.duration_seconds, 2))
    return result, score, summary


def ogg_bytes(audio, sample_rate: int) -> bytes:
    """Float audio ``(n_samples,)`` or ``(n_samples, channels)`` in [-1, 1] as Ogg/Vorbis bytes (libsndfile)."""
    import soundfile

    buffer = io.BytesIO()
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    # In blocks: libsndfile's Vorbis encoder crashed (SIGSEGV) on one 197-second write here.
    with soundfile.SoundFile(buffer, "w", sample_rate, channels, format="OGG", subtype="VORBIS") as sound:
        for start in range(0, len(audio), OGG_BLOCK_FRAMES):
            sound.write(audio[start:start + OGG_BLOCK_FRAMES])
    return buffer.getvalue()


def _write_audio(folder: Path, stem: str, score) -> None:
    from symbolic.audio.render import RenderConfig, render
    from symbolic.audio.wav import write_wav

    config = RenderConfig()
    audio = render(score, config=config)
    write_wav(folder / f"{stem}.wav", audio, config.sample_rate)
    atomic_write_bytes(folder / f"{stem}.ogg", ogg_bytes(audio, config.sample_rate))


def _write_results(folder: Path, result, score, summary: dict[str, Any]) -> None:
    from symbolic.evaluation.figures import role_legend, write_piano_rolls
    from symbolic.jobs.style_input import style_reading
    from symbolic.outputs.midi import write_midi

    write_midi(result.score, folder / "result.mid")
    roles = result.note_roles(score)
    write_piano_rolls(folder / "roll.png", [("original", score), ("result", result.score)], roles=list(roles))
    summary["roll_legend"] = [{"role": role, "colour": colour, "label": label}
                              for role, colour, label in role_legend(roles[0] + roles[1])]
    summary["style_reading"] = {"original": style_reading(score), "result": style_reading(result.score)}
    try:
        _write_audio(folder, "original", score)
        _write_audio(folder, "result", result.score)
        summary["audio"] = True
    except (ImportError, OSError, SymbolicError) as exc:  # no FluidSynth or sound font: MIDI and roll only
        summary["audio"] = False
        summary["audio_message"] = str(exc)
    atomic_write_json(folder / "report.json", summary)


def run_job(data_dir: str, model_name: str, job_id: str, timeout_seconds: float) -> str:
    """Run one job of the store in ``data_dir`` to its end; returns its final state.

    Never raises for the job's own failures: a bad input or setting fails the job with the
    library's one-line message; a bug fails it with ``"internal error: ..."`` (logged with its traceback).
    """
    store = JobStore(data_dir)
    if not store.start(job_id):
        return "cancelled"
    job = store.get(job_id)
    folder = store.folder(job_id)
    try:
        settings = JobSettings.from_dict(job["settings"])
        result, score, summary = _run(settings, folder, model_name, _bar_progress(store, job_id, timeout_seconds))
        _write_results(folder, result, score, summary)
        if store.get(job_id)["cancel_requested"]:  # asked for while the results were being written
            raise JobStopped("cancelled")
    except JobStopped as exc:
        state = "cancelled" if str(exc) == "cancelled" else "failed"
        store.finish(job_id, state, str(exc))
        return state
    except SymbolicError as exc:
        store.finish(job_id, "failed", str(exc))
        return "failed"
    except Exception as exc:  # our own bug: say so, keep the traceback in the log
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        store.finish(job_id, "failed", f"internal error: {type(exc).__name__}: {exc}")
        return "failed"
    store.finish(job_id, "done", summary["message"], summary)
    return "done"
