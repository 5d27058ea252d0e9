"""Build a cached, style-labelled, tokenized data set from a collection of pieces.

Output folder layout::

    DIR/tokenizer.json            the event tokenizer spec used (styles included)
    DIR/manifest.json             settings, counts, every piece (id, style, split, notes, tokens), failures
    DIR/{train,valid,test}.npz    tokens (int32, flat), offsets (int64, N+1), styles (int64), ids (str)
    DIR/cache/<piece>.mid         each converted piece (music21 sources only)
    DIR/cache/<piece>.fail.json   why a piece could not be converted

Conversion runs in worker processes and writes every piece atomically as it
finishes, so an interrupted build resumes where it stopped; a second build of
the same selection only loads.  The split is a hash of each piece's id, so it
never depends on which other pieces are present.
"""

from __future__ import annotations

import io
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from symbolic.data.corpus import CorpusPiece
from symbolic.errors import ConfigError, SymbolicError
from symbolic.inputs.midi import is_midi_path
from symbolic.tokenization.events import EventTokenizer
from symbolic.utils import atomic_write_bytes, atomic_write_json, stable_hash

__all__ = ["BuildConfig", "BuildResult", "build_dataset", "select_pieces", "split_of", "SPLIT_NAMES"]

SPLIT_NAMES = ("train", "valid", "test")
MANIFEST_FORMAT = "symbolic.dataset/1"


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a data-set build.

    Attributes:
        workers: conversion processes (default: every core).
        valid_percent, test_percent: share of pieces, by id hash, in each held-out split.
        limit_per_style: keep at most this many pieces per style (chosen by id hash; ``None``: all).
    """

    workers: int = max(1, os.cpu_count() or 1)
    valid_percent: int = 10
    test_percent: int = 10
    limit_per_style: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers={self.workers} must be at least 1")
        if not (0 <= self.valid_percent and 0 <= self.test_percent and self.valid_percent + self.test_percent < 100):
            raise ConfigError("valid_percent and test_percent must be >= 0 and leave some pieces for training")
        if self.limit_per_style is not None and self.limit_per_style < 1:
            raise ConfigError(f"limit_per_style={self.limit_per_style} must be at least 1 (or None for all)")


@dataclass
class BuildResult:
    """What a build did: counts per split, pieces converted now, from cache, failed; seconds."""

    out_dir: Path
    n_pieces: dict[str, int]
    n_tokens: dict[str, int]
    converted: int
    cached: int
    failures: list[dict]
    seconds: float
    reused: bool = False


def split_of(piece_id: str, config: BuildConfig) -> str:
    """The split of a piece: ``"train"``, ``"valid"`` or ``"test"``, from a hash of its id."""
    bucket = stable_hash("split:" + piece_id) % 100
    if bucket < config.valid_percent:
        return "valid"
    if bucket < config.valid_percent + config.test_percent:
        return "test"
    return "train"


def select_pieces(pieces: list[CorpusPiece], limit_per_style: int | None) -> list[CorpusPiece]:
    """At most ``limit_per_style`` pieces of each style, chosen by id hash (spread over collections)."""
    if limit_per_style is None:
        return list(pieces)
    by_style: dict[str, list[CorpusPiece]] = {}
    for piece in pieces:
        by_style.setdefault(piece.style, []).append(piece)
    chosen = []
    for group in by_style.values():
        chosen += sorted(group, key=lambda p: stable_hash("select:" + p.id))[:limit_per_style]
    return sorted(chosen, key=lambda p: p.id)


def _cache_name(piece_id: str) -> str:
    return piece_id.replace("/", "__").replace("#", "_x")


def _is_midi(piece: CorpusPiece) -> bool:
    return is_midi_path(piece.path)


def _convert(piece: CorpusPiece, cache_dir: str) -> tuple[str, bool, str]:
    """Worker: convert one piece and cache it as MIDI.  Returns (id, ok, reason)."""
    from symbolic.data.corpus import load_piece
    from symbolic.outputs.midi import midi_bytes

    import warnings

    warnings.simplefilter("ignore")  # music21's notes on overfull measures would flood the progress bar
    name = _cache_name(piece.id)
    try:
        score = load_piece(piece)
        atomic_write_bytes(Path(cache_dir) / f"{name}.mid", midi_bytes(score))
        return piece.id, True, ""
    except SymbolicError as exc:
        reason = str(exc)
    except Exception as exc:  # a bad piece must never stop the build
        reason = f"{type(exc).__name__}: {exc}"
    atomic_write_json(Path(cache_dir) / f"{name}.fail.json", {"id": piece.id, "reason": reason})
    return piece.id, False, reason


def _fingerprint(pieces: list[CorpusPiece], tokenizer: EventTokenizer, config: BuildConfig) -> str:
    def identity(p: CorpusPiece) -> str:
        if _is_midi(p):  # a user's file may change under the same name
            st = os.stat(p.path)
            return f"{p.id}|{p.style}|{st.st_size}|{st.st_mtime_ns}"
        return f"{p.id}|{p.style}"

    payload = json.dumps({"ids": [identity(p) for p in pieces], "tok": tokenizer.config.to_dict(),
                          "valid": config.valid_percent, "test": config.test_percent}, sort_keys=True)
    return f"{stable_hash(payload):016x}"


def build_dataset(pieces: list[CorpusPiece], out_dir: str | os.PathLike[str], tokenizer: EventTokenizer,
                  config: BuildConfig | None = None, progress: bool = True) -> BuildResult:
    """Convert, cache, tokenize and split ``pieces`` into ``out_dir``.

    Args:
        pieces: what to build from (see :mod:`symbolic.data.corpus`).
        out_dir: output folder; an earlier build there is resumed or reused.
        tokenizer: the event tokenizer; its styles must include every piece's style.
        config: build settings.
        progress: show tqdm progress bars.

    Returns:
        A :class:`BuildResult`; failures are listed there and in ``manifest.json``.
    """
    from tqdm import tqdm

    config = config or BuildConfig()
    start = time.perf_counter()
    out = Path(out_dir)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for style in sorted({p.style for p in pieces}):
        tokenizer.check_style(style)
    pieces = select_pieces(pieces, config.limit_per_style)
    fingerprint = _fingerprint(pieces, tokenizer, config)
    manifest_path = out / "manifest.json"
    if manifest_path.is_file() and all((out / f"{s}.npz").is_file() for s in SPLIT_NAMES):
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = {}
        if old.get("fingerprint") == fingerprint:
            return BuildResult(out, old["n_pieces"], old["n_tokens"], 0, len(pieces) - len(old["failures"]),
                               old["failures"], time.perf_counter() - start, reused=True)

    # 1. Convert what is not cached yet (music21 sources), in parallel.
    todo = [p for p in pieces if not _is_midi(p) and not (cache / f"{_cache_name(p.id)}.mid").is_file()
            and not (cache / f"{_cache_name(p.id)}.fail.json").is_file()]
    cached = len(pieces) - len(todo)
    if todo:
        bar = tqdm(total=len(todo), desc="converting", unit="piece", disable=not progress)
        pool = ProcessPoolExecutor(max_workers=min(config.workers, len(todo)))
        try:
            futures = [pool.submit(_convert, p, str(cache)) for p in todo]
            for future in as_completed(futures):
                future.result()
                bar.update(1)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            bar.close()
            raise SymbolicError(f"interrupted; {bar.n} of {len(todo)} pieces were converted and cached in "
                                f"{cache}: run the same command again to resume") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()

    # 2. Tokenize every piece from its cache (fast) and write the shards.
    from symbolic.inputs.midi import read_midi

    shards: dict[str, dict[str, list]] = {s: {"tokens": [], "styles": [], "ids": []} for s in SPLIT_NAMES}
    records, failures = [], []
    for piece in tqdm(pieces, desc="tokenizing", unit="piece", disable=not progress):
        name = _cache_name(piece.id)
        fail = cache / f"{name}.fail.json"
        if fail.is_file():
            failures.append(json.loads(fail.read_text(encoding="utf-8")))
            continue
        midi_path = Path(piece.path) if _is_midi(piece) else cache / f"{name}.mid"
        try:
            score = read_midi(midi_path)
            ids = tokenizer.encode(score, style=piece.style)
        except SymbolicError as exc:
            failures.append({"id": piece.id, "reason": str(exc)})
            continue
        split = split_of(piece.id, config)
        shard = shards[split]
        shard["tokens"].append(np.asarray(ids, dtype=np.int32))
        shard["styles"].append(tokenizer.vocab.styles.index(piece.style))
        shard["ids"].append(piece.id)
        records.append({"id": piece.id, "style": piece.style, "split": split, "notes": score.n_notes,
                        "tokens": len(ids), "midi": str(midi_path.resolve())})

    n_pieces, n_tokens = {}, {}
    for split, shard in shards.items():
        lengths = [len(t) for t in shard["tokens"]]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.concatenate(shard["tokens"]) if lengths else np.zeros(0, dtype=np.int32)
        buffer = io.BytesIO()
        np.savez(buffer, tokens=tokens, offsets=offsets, styles=np.asarray(shard["styles"], dtype=np.int64),
                 ids=np.asarray(shard["ids"], dtype=str))
        atomic_write_bytes(out / f"{split}.npz", buffer.getvalue())
        n_pieces[split], n_tokens[split] = len(lengths), int(offsets[-1])
    tokenizer.save_spec(out / "tokenizer.json")
    atomic_write_json(manifest_path, {
        "format": MANIFEST_FORMAT, "fingerprint": fingerprint, "config": asdict(config),
        "styles": list(tokenizer.vocab.styles), "n_pieces": n_pieces, "n_tokens": n_tokens,
        "failures": failures, "pieces": records,
    })
    return BuildResult(out, n_pieces, n_tokens, len(todo), cached, failures, time.perf_counter() - start)
