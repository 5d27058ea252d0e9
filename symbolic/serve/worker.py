"""What a worker process does with one job: read, run the job, write the results atomically.

The model is loaded once per process (:func:`_decoder`).  Progress comes from the jobs' ``on_bar``
callback (:func:`symbolic.jobs.plan.generate_planned` calls it before each bar): :func:`_bar_progress`
records bars done / total in the store and stops the job when a cancel was asked for or the time
limit passed.

Every job is bounded (:func:`execute`): in wall time by ``SIGALRM`` (:func:`job_time_limit`, which also
stops it between bars, while rendering or writing) and in memory by the address-space limit
``RLIMIT_AS`` (:func:`job_memory_limit`); past either it fails with a message saying which limit.
"""

from __future__ import annotations

import errno
import io
import logging
import resource
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from symbolic.errors import SymbolicError
from symbolic.serve.config import JobSettings
from symbolic.serve.store import JobStore
from symbolic.utils import atomic_write_bytes, atomic_write_json

__all__ = ["run_job", "execute", "warm_up", "job_memory_limit", "job_time_limit", "ogg_bytes", "JobStopped",
           "RESULT_FILES"]

log = logging.getLogger(__name__)

# name -> media type of every file a finished job may have (the API serves only these names)
RESULT_FILES = {
    "result.mid": "audio/midi", "result.wav": "audio/wav", "result.ogg": "audio/ogg",
    "original.wav": "audio/wav", "original.ogg": "audio/ogg", "roll.png": "image/png",
    "report.json": "application/json",
}

TIME_LIMIT_MESSAGE = "stopped: the job ran over the server's time limit of {seconds:g} s; ask for fewer bars"
MEMORY_LIMIT_MESSAGE = ("stopped: the job needed more memory than the server's limit of {megabytes} MB per job; "
                        "send a shorter piece or ask for fewer bars or parts")

OGG_BLOCK_FRAMES = 16384  # frames per write to the Vorbis encoder

_MODELS: dict[str, tuple] = {}  # this process's decoders, by model name
_WARM: set[str] = set()  # the models :func:`warm_up` has run for in this process
_AUDIO_WORKS = False  # whether :func:`warm_up` rendered audio in this process


class AudioFailed(Exception):
    """Rendering failed in a process where it worked before (the job's memory limit, most likely)."""


class JobStopped(Exception):
    """A running job was cancelled or ran out of time (the message says which)."""


def _decoder(model: str):
    if model not in _MODELS:
        import torch

        from symbolic.models.pretrained import load_decoder
        from symbolic.threads import set_thread_limit

        torch.set_num_threads(1)
        set_thread_limit(1)  # the pool runs a worker per core: a long job's segments decode one after the other
        _MODELS[model] = load_decoder(model)
    return _MODELS[model]


def warm_up(model_name: str) -> None:
    """Load the model and the code a job runs (MIDI reader, jobs, renderer and sound font, figures) into this
    process, once per model, so that a job's memory limit bounds the job's data rather than the program, and
    so that processes forked from this one (RQ's) start with all of it loaded.
    """
    global _AUDIO_WORKS
    if model_name in _WARM:
        return
    _decoder(model_name)
    import tempfile

    from symbolic.evaluation.figures import write_piano_rolls
    from symbolic.inputs.midi import parse_midi_bytes
    from symbolic.jobs import arrange, style_input  # noqa: F401  (imported for their code only)
    from symbolic.outputs.midi import midi_bytes
    from symbolic.score import Note, Score, Track

    one_note = parse_midi_bytes(midi_bytes(Score(tracks=[Track(notes=[Note(0, 480, 60, 80)])])))
    with tempfile.TemporaryDirectory() as tmp:
        write_piano_rolls(Path(tmp) / "roll.png", [("warm-up", one_note)])
        try:
            _write_audio(Path(tmp), "warm-up", one_note)
            _AUDIO_WORKS = True
        except (ImportError, OSError, SymbolicError):  # no FluidSynth or sound font: jobs skip audio too
            pass
    _WARM.add(model_name)


def _bar_progress(store: JobStore, job_id: str, timeout_seconds: float) -> Callable[[int, int], None]:
    """The jobs' ``on_bar`` callback: records bars written / total, stops on cancel or timeout."""
    deadline = time.monotonic() + timeout_seconds

    def on_bar(done: int, total: int) -> None:
        if store.progress(job_id, done, total):
            raise JobStopped("cancelled")
        if time.monotonic() > deadline:
            raise JobStopped(TIME_LIMIT_MESSAGE.format(seconds=timeout_seconds))

    return on_bar


def _run(settings: JobSettings, folder: Path, model_name: str, on_bar: Callable[[int, int], None]):
    """``(JobResult, input score, summary dict)``; raises :class:`SymbolicError` on bad input."""
    from symbolic.inputs.midi import read_midi
    from symbolic.jobs.arrange import accompany, continue_score, convert, style_programs
    from symbolic.jobs.style_input import describe_style_choice, resolve_job_style
    from symbolic.styles.texture import parse_instruments
    from symbolic.styles.words import describe_mix

    score = read_midi(folder / "input.mid")
    if settings.chords is not None:  # a chord chart in the settings
        from symbolic.analysis.chords import parse_chord_chart

        score.annotations.chords = parse_chord_chart(settings.chords, score)
    elif (folder / "chords.txt").is_file():  # an uploaded lead sheet's chord symbols
        from symbolic.analysis.chords import read_chords

        score.annotations.chords = read_chords(str(folder / "chords.txt"), score)
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
                         melody_track=settings.melody_track, parts=settings.parts, keep=settings.kept_roles(),
                         on_bar=on_bar)
    elif settings.job == "accompany":
        programs = None
        if settings.tracks is not None:
            programs = [program for _, program in parse_instruments(settings.tracks)]
        elif settings.voices is not None:
            programs = style_programs(weights, settings.voices)
        result = accompany(model, tokenizer, score, weights, config, programs=programs,
                           melody_track=settings.melody_track, on_bar=on_bar,
                           replace_accompaniment=settings.replace_accompaniment, keep=settings.kept_roles())
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
                   decisions=list(result.decisions),
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
        if _AUDIO_WORKS:  # ... but they were there: this job's own failure, not a missing renderer
            raise AudioFailed(str(exc)) from exc
        summary["audio"] = False
        summary["audio_message"] = str(exc)
    atomic_write_json(folder / "report.json", summary)


def _vm_bytes() -> int:
    """This process's address space (``VmSize`` of ``/proc/self/status``), bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


@contextmanager
def job_memory_limit(memory_bytes: int | None) -> Iterator[None]:
    """Cap this process's address space at what it has now plus ``memory_bytes`` (``RLIMIT_AS``, soft limit),
    for the ``with`` block; an allocation past it raises :class:`MemoryError` (or torch's ``RuntimeError``).

    Only the soft limit is lowered, so it is raised back on the way out.  ``None``: no limit.
    """
    if memory_bytes is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_bytes() + memory_bytes
    for limit in (soft, hard):  # never above a limit set already (ulimit -v)
        if limit != resource.RLIM_INFINITY:
            cap = min(cap, limit)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def job_time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`JobStopped` in this (main) thread after ``seconds`` of wall time (``SIGALRM``), for the
    ``with`` block, even between bars (rendering, writing); an alarm already set (RQ's) is put back after.

    Off the main thread (where signals cannot be handled) only the per-bar check of the caller applies.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise JobStopped(TIME_LIMIT_MESSAGE.format(seconds=seconds))

    previous = signal.signal(signal.SIGALRM, stop)
    earlier_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if earlier_delay:
            signal.setitimer(signal.ITIMER_REAL, max(earlier_delay - (time.monotonic() - start), 0.001))


def _out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation that failed (Python's, numpy's, torch's allocator, the OS)."""
    return (isinstance(exc, MemoryError)
            or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM)
            or (isinstance(exc, RuntimeError) and ("allocate" in str(exc) or "can't start new thread" in str(exc))))


def execute(folder: Path, settings: dict[str, Any], model_name: str, on_bar: Callable[[int, int], None],
            timeout_seconds: float, memory_bytes: int | None) -> tuple[str, str, dict[str, Any] | None]:
    """Run one job whose input files are in ``folder`` and write its results there (atomically).

    Returns ``(state, message, summary)``: ``"done"`` with the job's message and summary, ``"cancelled"``,
    or ``"failed"`` with the library's one-line message, the time or memory limit's message, or
    ``"internal error: ..."`` for a bug (logged with its traceback).  Never raises for the job's own
    failures.  The model and the job's code are loaded (once per process, :func:`warm_up`) before the
    memory limit applies.
    """
    try:
        warm_up(model_name)
        with job_time_limit(timeout_seconds), job_memory_limit(memory_bytes):
            result, score, summary = _run(JobSettings.from_dict(settings), folder, model_name, on_bar)
            _write_results(folder, result, score, summary)
    except JobStopped as exc:
        return ("cancelled" if str(exc) == "cancelled" else "failed"), str(exc), None
    except SymbolicError as exc:
        return "failed", str(exc), None
    except Exception as exc:
        if memory_bytes is not None and (_out_of_memory(exc) or isinstance(exc, AudioFailed)):
            return "failed", MEMORY_LIMIT_MESSAGE.format(megabytes=memory_bytes // 1_000_000), None
        log.error("job failed:\n%s", traceback.format_exc())  # our own bug: say so, keep the traceback
        return "failed", f"internal error: {type(exc).__name__}: {exc}", None
    return "done", summary["message"], summary


def run_job(data_dir: str, model_name: str, job_id: str, timeout_seconds: float,
            memory_bytes: int | None = None) -> str:
    """Run one job of the store in ``data_dir`` to its end (:func:`execute`); returns its final state."""
    store = JobStore(data_dir)
    if not store.start(job_id):
        return "cancelled"
    job = store.get(job_id)
    state, message, summary = execute(store.folder(job_id), job["settings"], model_name,
                                      _bar_progress(store, job_id, timeout_seconds), timeout_seconds, memory_bytes)
    if state == "done" and store.get(job_id)["cancel_requested"]:  # asked for while the results were written
        state, message, summary = "cancelled", "cancelled", None
    store.finish(job_id, state, message, summary)
    return state
