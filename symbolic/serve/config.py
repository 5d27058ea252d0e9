"""The server's settings and one job's settings, validated before any work starts."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from symbolic.errors import ConfigError
from symbolic.jobs.arrange import check_accompany_keep, check_keep, parse_keep
from symbolic.jobs.config import CONTINUE_BARS, JobConfig

__all__ = ["ServeConfig", "JobSettings", "JOB_KINDS", "QUEUE_BACKENDS"]

JOB_KINDS = ("convert", "accompany", "continue")
MAX_CHART_CHARACTERS = 20_000  # a chord chart in the settings: a few thousand bars
QUEUE_BACKENDS = ("pool", "rq")


@dataclass(frozen=True)
class ServeConfig:
    """How ``symbolic serve`` runs.

    Attributes:
        host, port: where the server listens (loopback only by default).
        data_dir: folder of the job store (``jobs.sqlite``) and the job folders; nothing is written outside it.
        model: a shipped model name or a checkpoint folder (as the jobs' ``--model``).
        workers: worker processes, each with its own copy of the model.
        max_upload_bytes: largest accepted upload (MIDI or reference piece), bytes.
        max_notes: most notes in an input.
        max_bars: most bars in an input (at its meters).
        max_seconds: longest input, seconds (at its tempi).
        max_new_bars: most bars a continuation adds.
        max_queued_per_client: most unfinished (submitted or running) jobs per client address.
        result_ttl_seconds: a finished job and its files are removed this long after it was submitted.
        job_timeout_seconds: a running job is stopped and failed after this long (wall time).
        job_memory_bytes: address space one job may add to its worker process (which has the model
            loaded already, about 0.6 GB with the shipped model); past it the job fails.
        queue_backend: ``"pool"`` (worker processes of this server, :class:`~symbolic.serve.queue.PoolQueue`)
            or ``"rq"`` (a Redis queue served by ``symbolic serve --worker`` processes on any machine,
            :class:`~symbolic.serve.queue.RqQueue`).
        redis_url: the Redis server of the ``"rq"`` backend (``redis://host:port/db``).
        rq_queue_name: the name of the RQ queue the jobs go to (the workers listen on it).
    """

    data_dir: Path = Path("serve-data")
    host: str = "127.0.0.1"
    port: int = 8000
    model: str = "default"
    workers: int = 1
    max_upload_bytes: int = 2_000_000
    max_notes: int = 20_000
    max_bars: int = 400
    max_seconds: float = 900.0
    max_new_bars: int = 64
    max_queued_per_client: int = 4
    result_ttl_seconds: float = 7 * 24 * 3600.0
    job_timeout_seconds: float = 1800.0
    job_memory_bytes: int = 4_000_000_000
    queue_backend: str = "pool"
    redis_url: str = "redis://127.0.0.1:6379/0"
    rq_queue_name: str = "symbolic"

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        for name in ("workers", "max_upload_bytes", "job_memory_bytes", "max_notes", "max_bars", "max_new_bars",
                     "max_queued_per_client"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be at least 1")
        for name in ("max_seconds", "result_ttl_seconds", "job_timeout_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0 seconds")
        if self.queue_backend not in QUEUE_BACKENDS:
            raise ConfigError(f"queue backend {self.queue_backend!r} is not one of {', '.join(QUEUE_BACKENDS)}")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"redis url {self.redis_url!r} must start with redis://, rediss:// or unix:// "
                              "(e.g. redis://127.0.0.1:6379/0)")
        if not self.rq_queue_name:
            raise ConfigError("the RQ queue name is empty; give one such as 'symbolic'")


@dataclass(frozen=True)
class JobSettings:
    """One job as a person asks for it (the JSON ``settings`` of ``POST /api/jobs``).

    Attributes:
        job: ``"convert"``, ``"accompany"`` or ``"continue"``.
        style: a style name, a mix (``"irish:0.7,chorale:0.3"``) or a description (``"a lively irish jig"``);
            ``None`` when a reference piece gives the style.
        temperature, top_k, top_p, guidance, seed: sampling, as :class:`~symbolic.jobs.config.JobConfig`
            (``guidance`` is its ``guidance_scale``).
        melody_track: index of the melody track (``None``: chosen automatically).
        strength, parts: convert only (share of the other tracks rewritten, parts to write).
        tracks, voices: accompany only (instrument names such as ``"piano,bass"``, or a number of parts).
        replace_accompaniment: accompany only: the new parts replace the input's accompaniment.
        keep: convert, or accompany with ``replace_accompaniment``: roles kept as they are (``"bass,drums"``).
        bars: continue only, bars to add.
        chords: convert and accompany: a chord chart the new parts follow (``"C | Am F | Dm7 G7 | C"``,
            :func:`symbolic.analysis.chords.parse_chord_chart`); ``None``: chords guessed from the melody.
    """

    job: str
    style: str | None = None
    temperature: float = JobConfig.temperature
    top_k: int | None = JobConfig.top_k
    top_p: float | None = JobConfig.top_p
    guidance: float = JobConfig.guidance_scale
    seed: int = JobConfig.seed
    melody_track: int | None = None
    strength: float = 1.0
    parts: int | None = None
    tracks: str | None = None
    voices: int | None = None
    replace_accompaniment: bool = False
    keep: str | None = None
    bars: int = CONTINUE_BARS
    chords: str | None = None

    def __post_init__(self) -> None:
        if self.job not in JOB_KINDS:
            raise ConfigError(f"job {self.job!r} is not one of {', '.join(JOB_KINDS)}")
        self.job_config()  # the sampling checks
        if not 0.0 <= self.strength <= 1.0:
            raise ConfigError(f"strength={self.strength} must be between 0 and 1")
        if self.voices is not None and not 1 <= self.voices <= 8:
            raise ConfigError(f"voices={self.voices} must be between 1 and 8")
        if self.tracks is not None and self.voices is not None:
            raise ConfigError("give either tracks (instrument names) or voices (a number), not both")
        if self.parts is not None and not 0 <= self.parts <= 8:
            raise ConfigError(f"parts={self.parts} must be between 0 and 8")
        if self.bars < 1:
            raise ConfigError(f"bars={self.bars} must be at least 1")
        if self.chords is not None and self.job == "continue":
            raise ConfigError("chords are followed by convert and accompany; continue takes none")
        if self.chords is not None and len(self.chords) > MAX_CHART_CHARACTERS:
            raise ConfigError(f"the chord chart has {len(self.chords)} characters; give at most "
                              f"{MAX_CHART_CHARACTERS}")
        if self.job == "accompany":
            check_accompany_keep(self.kept_roles(), self.replace_accompaniment)
        else:
            check_keep(self.kept_roles())

    def kept_roles(self) -> tuple[str, ...]:
        """``keep`` as the jobs take it: a tuple of role names."""
        return parse_keep(self.keep)

    @classmethod
    def from_dict(cls, data: Any) -> "JobSettings":
        """Settings from parsed JSON; unknown keys and wrong types raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("the settings must be a JSON object such as {\"job\": \"accompany\", "
                              "\"style\": \"chorale\"}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(known)}")
        if "job" not in data:
            raise ConfigError(f"the settings name no job; give \"job\": one of {', '.join(JOB_KINDS)}")
        for name, value in data.items():
            expected = known[name].type
            if value is None and "None" in expected:
                continue
            ok = (isinstance(value, bool) if expected == "bool" else
                  isinstance(value, str) if "str" in expected else
                  isinstance(value, int) and not isinstance(value, bool) if expected.startswith("int") else
                  isinstance(value, (int, float)) and not isinstance(value, bool))
            if not ok:
                raise ConfigError(f"setting {name!r} is {value!r}; it must be of type {expected}")
        return cls(**data)

    def job_config(self) -> JobConfig:
        """The :class:`~symbolic.jobs.config.JobConfig` of these settings."""
        return JobConfig(temperature=float(self.temperature), top_k=self.top_k, top_p=self.top_p,
                         guidance_scale=float(self.guidance), seed=self.seed)
