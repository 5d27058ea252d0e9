"""The FastAPI app: the HTTP API over the job store and queue, and the page in ``static/``.

Errors are JSON ``{"error": "..."}``: 400 an upload that is not a readable MIDI file (the reader's message),
404 no such job or file, 413 an upload over the size limit or an input over a length limit, 422 invalid
settings, 429 too many unfinished jobs for one client.  The OpenAPI schema is at ``/docs``.
"""

from __future__ import annotations

import json
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool

from symbolic.errors import ConfigError, MidiError, ScoreError, StyleError, SymbolicError
from symbolic.serve.config import JobSettings, ServeConfig
from symbolic.serve.queue import JobQueue, check_redis, make_queue
from symbolic.serve.store import JOB_ID_PATTERN, UNFINISHED, JobStore
from symbolic.serve.uploads import describe_score, read_upload, upload_midi_bytes
from symbolic.serve.worker import RESULT_FILES

__all__ = ["create_app", "ApiError"]

STATIC = Path(__file__).parent / "static"


def _swagger_ui_files() -> Path:
    """The folder of Swagger UI 5's files in the ``swagger-ui-py`` package (served at ``/docs-assets``)."""
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


class ApiError(Exception):
    """An error the client gets as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _status_of(exc: SymbolicError) -> int:
    if isinstance(exc, MidiError):
        return 400
    if isinstance(exc, ScoreError) and "this server takes at most" in str(exc):
        return 413
    if isinstance(exc, ScoreError):
        return 400
    return 422  # ConfigError, StyleError and the rest: the settings


async def _read_limited(upload: UploadFile, limit: int, what: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"{what} is over the {limit}-byte upload limit; send a smaller MIDI file")
    return data


def _job_view(job: dict) -> dict:
    done = job["state"] == "done"
    return {
        "id": job["id"], "state": job["state"], "settings": job["settings"],
        "progress": {"bars_done": job["done_bars"], "bars_total": job["total_bars"]},
        "message": job["message"], "summary": job["summary"],
        "created": job["created"], "started": job["started"], "finished": job["finished"],
        "files": {name: f"/api/jobs/{job['id']}/{name}" for name in RESULT_FILES} if done else {},
    }


def create_app(config: ServeConfig, queue: JobQueue | None = None) -> FastAPI:
    """The app for ``config``; ``queue`` defaults to the one ``config.queue_backend`` names
    (:func:`~symbolic.serve.queue.make_queue`), started with the app and stopped with it.

    At start-up, jobs a previous server left unfinished are marked failed and expired ones removed.
    """
    from symbolic.models.checkpoint import read_meta
    from symbolic.models.pretrained import decoder_path
    from symbolic.styles.registry import STYLES
    from symbolic.styles.texture import INSTRUMENTS

    store = JobStore(config.data_dir)
    all_styles = tuple(read_meta(decoder_path(config.model))["styles"])
    model_styles = [s for s in all_styles if s != "none"]
    state: dict = {"queue": queue}
    if queue is None and config.queue_backend == "rq":
        check_redis(config.redis_url)  # a Redis that cannot be reached fails here, before the app serves

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store.mark_interrupted()
        store.expire(config.result_ttl_seconds)
        if queue is None:  # ours: a fresh one at each start (a test client may start the app more than once)
            state["queue"] = make_queue(config)
        yield
        state["queue"].shutdown()

    # docs_url=None: FastAPI's own /docs page loads Swagger UI from a CDN; ours serves it (offline machines)
    app = FastAPI(title="symbolic", description="Convert, accompany or continue a MIDI file in a style.",
                  lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(SymbolicError)
    async def symbolic_error(request: Request, exc: SymbolicError):
        return JSONResponse({"error": str(exc)}, status_code=_status_of(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # no such route, wrong method
        message = {404: f"no such page or API route: {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid request')}"}, status_code=422)

    def job_or_404(job_id: str) -> dict:
        job = store.get(job_id) if re.match(JOB_ID_PATTERN, job_id) else None
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (it may have expired)")
        return job

    @app.get("/api/health")
    def health() -> dict:
        """Whether the server is up, its model, and its queue (``pool`` with its workers, or ``rq``)."""
        return {"status": "ok", "model": config.model, "workers": config.workers, "queue": config.queue_backend}

    @app.get("/api/styles")
    def styles() -> dict:
        """The model's styles (descriptor words, instruments of the parts) and the instrument names."""
        return {
            "styles": [{"name": s, "words": list(STYLES[s].descriptors) if s in STYLES else [],
                        "convert_parts": STYLES[s].texture.convert_parts if s in STYLES else None}
                       for s in model_styles],
            "instruments": sorted(INSTRUMENTS),
        }

    @app.post("/api/inspect")
    async def inspect(midi: UploadFile = File(...)) -> dict:
        """What the server reads from a MIDI or MusicXML file: tracks, roles, melody track, length, meter, tempo."""
        data = await _read_limited(midi, config.max_upload_bytes, "the MIDI file")
        return describe_score(await run_in_threadpool(read_upload, data, "the MIDI file", config))

    @app.post("/api/style")
    async def style(style: str | None = Form(None), reference: UploadFile | None = File(None)) -> dict:
        """The style mix a job would use, as the jobs resolve it: from ``style`` (a name, a mix such as
        ``irish:0.7,chorale:0.3`` or a description) or a ``reference`` piece (the style classifier's reading)."""
        from symbolic.jobs.style_input import describe_style_choice, resolve_job_style

        example = None
        if reference is not None:
            example = await run_in_threadpool(
                read_upload, await _read_limited(reference, config.max_upload_bytes, "the reference piece"),
                "the reference piece", config)
        weights, found_from = await run_in_threadpool(resolve_job_style, all_styles, style, example)  # the classifier
        return {"style": weights, "found_from": found_from or "name",
                "described": describe_style_choice(weights, found_from, style or "the reference piece")}

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request, midi: UploadFile = File(...), settings: str = Form(...),
                     reference: UploadFile | None = File(None)) -> dict:
        """Submit a job: the MIDI file, the settings as JSON, optionally a reference piece for the style."""
        try:
            parsed = JobSettings.from_dict(json.loads(settings))
        except json.JSONDecodeError as exc:
            raise ApiError(422, f"the settings are not JSON ({exc}); send e.g. "
                                "{\"job\": \"accompany\", \"style\": \"chorale\"}") from None
        if parsed.job == "continue" and parsed.bars > config.max_new_bars:
            raise ApiError(422, f"bars={parsed.bars}: this server adds at most {config.max_new_bars} bars")
        if (parsed.style is None) == (reference is None):
            raise ApiError(422, "give either a style (name, mix or description) or a reference piece, not both "
                                "or neither")
        if parsed.style is not None:
            from symbolic.styles.mix import resolve_style

            resolve_style(parsed.style, all_styles)  # unknown styles fail here, before any work
        if parsed.tracks is not None:
            from symbolic.styles.texture import parse_instruments

            parse_instruments(parsed.tracks)
        data = await _read_limited(midi, config.max_upload_bytes, "the MIDI file")
        score = await run_in_threadpool(read_upload, data, "the MIDI file", config)  # MusicXML may take seconds
        if parsed.melody_track is not None and not 0 <= parsed.melody_track < len(score.tracks):
            raise ConfigError(f"melody track {parsed.melody_track} does not exist; the file has tracks "
                              f"0..{len(score.tracks) - 1}")
        if parsed.chords is not None:
            from symbolic.analysis.chords import parse_chord_chart

            parse_chord_chart(parsed.chords, score)  # a bad chart fails here, before any work
        ref_data = None
        if reference is not None:
            ref_data = await _read_limited(reference, config.max_upload_bytes, "the reference piece")
            ref_data = upload_midi_bytes(ref_data, await run_in_threadpool(read_upload, ref_data, "the reference piece",
                                                                           config))
        client = request.client.host if request.client else "unknown"
        if store.count_unfinished(client) >= config.max_queued_per_client:
            raise ApiError(429, f"you have {config.max_queued_per_client} unfinished jobs; wait for one to "
                                "finish or cancel one")
        store.expire(config.result_ttl_seconds)
        job_id = store.create(client, {k: v for k, v in json.loads(settings).items()})
        folder = store.folder(job_id)
        from symbolic.utils import atomic_write_bytes

        atomic_write_bytes(folder / "input.mid", upload_midi_bytes(data, score))
        if parsed.chords is None and score.annotations.chords:  # a MusicXML lead sheet's chord symbols
            from symbolic.analysis.chords import chord_rows_text

            atomic_write_bytes(folder / "chords.txt", chord_rows_text(score).encode("utf-8"))
        if ref_data is not None:
            atomic_write_bytes(folder / "reference.mid", ref_data)
        state["queue"].submit(job_id)
        return _job_view(store.get(job_id))

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict:
        """A job's state, progress (bars done / total), message and, when done, its files."""
        return _job_view(job_or_404(job_id))

    @app.get("/api/jobs/{job_id}/{name}")
    def job_file(job_id: str, name: str):
        """One of a finished job's files: result.mid, result.ogg, result.wav, original.ogg, original.wav,
        roll.png, report.json."""
        job = job_or_404(job_id)
        if name not in RESULT_FILES:
            raise ApiError(404, f"no file {name!r}; a job has {', '.join(RESULT_FILES)}")
        path = store.folder(job["id"]) / name
        if job["state"] != "done" or not path.is_file():
            raise ApiError(404, f"job {job_id} has no {name} (state: {job['state']})")
        return FileResponse(path, media_type=RESULT_FILES[name], filename=f"{job_id[:8]}-{name}")

    @app.delete("/api/jobs/{job_id}")
    def delete(job_id: str) -> dict:
        """Cancel an unfinished job (a running one stops at its next bar), or remove a finished one."""
        job = job_or_404(job_id)
        if job["state"] in UNFINISHED:
            store.cancel(job["id"])
            return _job_view(store.get(job["id"]))
        store.remove(job["id"])
        return {"id": job["id"], "state": "removed"}

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    def api_docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="symbolic API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=_swagger_ui_files()), name="docs-assets")
    return app
