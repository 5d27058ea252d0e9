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
never depends on which other pieces are present, with one exception for small
folders: every style with three or more pieces gets at least one piece in each
held-out split, and every style at least one training piece (see
:func:`assign_splits`).

Robustness (see ``docs/robustness.md``): one build at a time holds ``DIR/.lock``
(a second one is refused with the holder's pid); the shards and the manifest
carry the same build id, and a set whose ids differ is rebuilt, never reused;
workers die with the build process and ignore Ctrl-C, which the parent answers
by stopping them at once and counting what is really cached; temporaries left
by a kill are removed at the next start; a cache entry that no longer loads is
converted again.  Pieces without notes are skipped with their reason.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from symbolic.data.piece import CorpusPiece
from symbolic.errors import ConfigError, DataError, SymbolicError
from symbolic.inputs.midi import is_midi_path
from symbolic.threads import worker_processes
from symbolic.tokenization.events import EventTokenizer
from symbolic.utils import (atomic_write_bytes, atomic_write_json, die_with_parent, folder_lock,
                            remove_stale_temporaries, stable_hash)

__all__ = ["BuildConfig", "BuildResult", "build_dataset", "select_pieces", "combine_pieces", "split_of", "assign_splits",
           "SPLIT_NAMES", "EMPTY_PIECE_REASON"]

SPLIT_NAMES = ("train", "valid", "test")
MANIFEST_FORMAT = "symbolic.dataset/1"
SPLIT_RULE = "hash-with-style-floor/1"  # part of the fingerprint: a new rule rebuilds the shards
EMPTY_PIECE_REASON = "no notes: an empty piece teaches nothing, so it is left out"


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a data-set build.

    Attributes:
        workers: conversion processes (0: :func:`symbolic.threads.worker_processes` decides: one per core).
        valid_percent, test_percent: share of pieces, by id hash, in each held-out split.
        limit_per_style: keep at most this many pieces per style (chosen by id hash; ``None``: all).
    """

    workers: int = 0
    valid_percent: int = 10
    test_percent: int = 10
    limit_per_style: int | None = None

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ConfigError(f"workers={self.workers} must be >= 0 (0: one per core)")
        if not (0 <= self.valid_percent and 0 <= self.test_percent and self.valid_percent + self.test_percent < 100):
            raise ConfigError("valid_percent and test_percent must be >= 0 and leave some pieces for training")
        if self.limit_per_style is not None and self.limit_per_style < 1:
            raise ConfigError(f"limit_per_style={self.limit_per_style} must be at least 1 (or None for all)")


@dataclass
class BuildResult:
    """What a build did.

    Attributes:
        out_dir: the output folder.
        n_pieces, n_tokens: per split.
        converted: corpus pieces converted by this run.
        cached: corpus pieces loaded from the cache of an earlier run.
        failures: pieces left out, each ``{"id", "reason"}`` (unreadable, unconvertible or empty).
        seconds: wall time of the build.
        reused: the whole earlier build was reused (nothing converted or tokenized).
        midi_files: MIDI files read as they are (a MIDI folder needs no conversion).
        rebuilt: cache entries that failed to load and were converted again.
        split_counts: style -> split -> pieces.
        moved: pieces moved off their hash split so each style is in every split (see :func:`assign_splits`),
            each ``{"id", "from", "to"}``.
    """

    out_dir: Path
    n_pieces: dict[str, int]
    n_tokens: dict[str, int]
    converted: int
    cached: int
    failures: list[dict]
    seconds: float
    reused: bool = False
    midi_files: int = 0
    rebuilt: int = 0
    split_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    moved: list[dict] = field(default_factory=list)


def split_of(piece_id: str, config: BuildConfig) -> str:
    """The split of a piece: ``"train"``, ``"valid"`` or ``"test"``, from a hash of its id."""
    bucket = stable_hash("split:" + piece_id) % 100
    if bucket < config.valid_percent:
        return "valid"
    if bucket < config.valid_percent + config.test_percent:
        return "test"
    return "train"


def assign_splits(pieces: list[tuple[str, str]], config: BuildConfig) -> tuple[dict[str, str], list[dict]]:
    """The split of each piece: its hash split (:func:`split_of`), with a floor per style.

    The hash split alone can leave a small style out of validation (30 pieces, 10%: often a
    single validation piece, of one style).  So, per style: with three or more pieces, each
    held-out split whose share is above 0 gets at least one piece, taken from the fullest
    other split; with any pieces, the training split gets at least one.  A piece moved into
    a held-out split is the one whose hash lies nearest to that split's hash range (the
    lowest hash bucket); one moved into training has the highest.  Large styles are
    unchanged, so the split stays a function of the id there.

    Args:
        pieces: ``(piece id, style)`` of every piece that made it into the data set.
        config: the split shares.

    Returns:
        ``({piece id: split}, moved)``, ``moved`` listing ``{"id", "from", "to"}`` per moved piece.
    """
    splits = {piece_id: split_of(piece_id, config) for piece_id, _ in pieces}
    by_style: dict[str, list[str]] = {}
    for piece_id, style in pieces:
        by_style.setdefault(style, []).append(piece_id)
    moved: list[dict] = []

    def rank(piece_id: str) -> tuple[int, int]:
        return stable_hash("split:" + piece_id) % 100, stable_hash("split:" + piece_id)

    for style in sorted(by_style):
        ids = by_style[style]
        held_out = [s for s, share in (("valid", config.valid_percent), ("test", config.test_percent)) if share > 0]
        for target in (held_out if len(ids) >= 3 else []) + ["train"]:
            members = {s: [i for i in ids if splits[i] == s] for s in SPLIT_NAMES}
            if members[target]:
                continue
            donor = max((s for s in SPLIT_NAMES if s != target), key=lambda s: (len(members[s]), s == "train"))
            choose = max if target == "train" else min
            piece_id = choose(members[donor], key=rank)
            splits[piece_id] = target
            moved.append({"id": piece_id, "from": donor, "to": target})
    return splits, moved


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


def combine_pieces(*collections: list[CorpusPiece]) -> list[CorpusPiece]:
    """The pieces of several collections (the music21 corpus and POP909, say) as one list sorted by id.

    Each collection keeps its own styles; the build then splits every piece by a hash of its id, so a
    piece lands in the same split as in a build of its collection alone.

    Raises:
        DataError: a piece id in more than one collection (the message names it).
    """
    seen: dict[str, CorpusPiece] = {}
    for collection in collections:
        for piece in collection:
            if piece.id in seen:
                raise DataError(f"piece {piece.id!r} is in two of the collections being combined; "
                                f"each piece id must be unique")
            seen[piece.id] = piece
    return sorted(seen.values(), key=lambda p: p.id)


def _cache_name(piece_id: str) -> str:
    return piece_id.replace("/", "__").replace("#", "_x")


def _is_midi(piece: CorpusPiece) -> bool:
    return is_midi_path(piece.path)


def _convert(piece: CorpusPiece, cache_dir: str) -> tuple[str, bool, str]:
    """Worker: convert one piece and cache it as MIDI.  Returns (id, ok, reason)."""
    from symbolic.data.corpus import load_piece
    from symbolic.outputs.midi import midi_bytes

    name = _cache_name(piece.id)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # music21's notes on overfull measures would flood the progress bar
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
                          "valid": config.valid_percent, "test": config.test_percent, "split": SPLIT_RULE},
                         sort_keys=True)
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
    config = config or BuildConfig()
    out = Path(out_dir)
    for style in sorted({p.style for p in pieces}):
        tokenizer.check_style(style)
    with folder_lock(out, "a data-set build"):
        return _build_locked(select_pieces(pieces, config.limit_per_style), out, tokenizer, config, progress)


def _is_cached(cache: Path, piece: CorpusPiece) -> bool:
    name = _cache_name(piece.id)
    return (cache / f"{name}.mid").is_file() or (cache / f"{name}.fail.json").is_file()


def _shard_build_id(path: Path) -> str | None:
    """The build id stored in a shard, or ``None`` when it has none or does not load."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return str(data["build_id"]) if "build_id" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _reusable(out: Path, fingerprint: str) -> dict | None:
    """The manifest of a complete earlier build of the same selection whose shards all belong to it."""
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if old.get("fingerprint") != fingerprint or not old.get("build_id"):
        return None
    if any(_shard_build_id(out / f"{s}.npz") != old["build_id"] for s in SPLIT_NAMES):
        return None  # shards from another (or an interrupted) build: tokenize again from the cache
    return old


def _worker_init(parent: int) -> None:
    import signal

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers


def _convert_all(todo: list[CorpusPiece], cache: Path, workers: int, progress: bool) -> None:
    """Convert ``todo`` into ``cache`` in worker processes; Ctrl-C stops them at once and says what is cached."""
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="converting", unit="piece", disable=not progress)
    pool = ProcessPoolExecutor(max_workers=worker_processes(workers, len(todo)), initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(_convert, p, str(cache)) for p in todo]
        for future in as_completed(futures):
            future.result()
            bar.update(1)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # a conversion in flight is lost; its temporary file is removed next start
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        done = sum(_is_cached(cache, p) for p in todo)
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "a conversion worker died"
        raise SymbolicError(f"{why}: {done} of {len(todo)} pieces were converted and cached in {cache}; "
                            "run the same command again to convert the rest") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def _read_piece(piece: CorpusPiece, cache: Path):
    """``(score, midi path)`` of a piece, or ``(None, reason)`` when it failed to convert.

    Raises:
        SymbolicError: the file does not read (for a cache entry: the entry is broken).
        ValueError: a cached failure record does not parse (a broken entry).
    """
    from symbolic.inputs.midi import read_midi

    if _is_midi(piece):
        return read_midi(piece.path), Path(piece.path)
    name = _cache_name(piece.id)
    fail = cache / f"{name}.fail.json"
    if fail.is_file():
        return None, str(json.loads(fail.read_text(encoding="utf-8"))["reason"])
    return read_midi(cache / f"{name}.mid"), cache / f"{name}.mid"


def _build_locked(pieces: list[CorpusPiece], out: Path, tokenizer: EventTokenizer, config: BuildConfig,
                  progress: bool) -> BuildResult:
    from tqdm import tqdm

    start = time.perf_counter()
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # we hold the lock: any temporary here was left by a killed build
    remove_stale_temporaries(cache)
    fingerprint = _fingerprint(pieces, tokenizer, config)
    n_midi = sum(_is_midi(p) for p in pieces)
    old = _reusable(out, fingerprint)
    if old is not None:
        return BuildResult(out, old["n_pieces"], old["n_tokens"], 0, 0, old["failures"],
                           time.perf_counter() - start, reused=True, midi_files=0,
                           split_counts=old.get("split_counts", {}), moved=old.get("moved", []))

    # 1. Convert what is not cached yet (music21 sources), in parallel.
    todo = [p for p in pieces if not _is_midi(p) and not _is_cached(cache, p)]
    if todo:
        _convert_all(todo, cache, config.workers, progress)

    # 2. Read and tokenize every piece (a cache entry that no longer loads is converted again).
    kept, failures, rebuilt = [], [], 0
    for piece in tqdm(pieces, desc="tokenizing", unit="piece", disable=not progress):
        try:
            try:
                score, where = _read_piece(piece, cache)
            except (SymbolicError, ValueError, KeyError, UnicodeDecodeError):
                if _is_midi(piece):
                    raise
                name = _cache_name(piece.id)
                (cache / f"{name}.mid").unlink(missing_ok=True)
                (cache / f"{name}.fail.json").unlink(missing_ok=True)
                _convert(piece, str(cache))
                rebuilt += 1
                score, where = _read_piece(piece, cache)
            if score is None:
                failures.append({"id": piece.id, "reason": where})
                continue
            if score.n_notes == 0:
                failures.append({"id": piece.id, "reason": EMPTY_PIECE_REASON})
                continue
            ids = tokenizer.encode(score, style=piece.style)
        except SymbolicError as exc:
            failures.append({"id": piece.id, "reason": str(exc)})
            continue
        kept.append((piece, ids, score.n_notes, where))

    # 3. Split (hash of the id, with a floor per style) and write the shards, then the manifest.
    splits, moved = assign_splits([(piece.id, piece.style) for piece, *_ in kept], config)
    build_id = uuid.uuid4().hex
    shards: dict[str, dict[str, list]] = {s: {"tokens": [], "styles": [], "ids": []} for s in SPLIT_NAMES}
    records = []
    split_counts: dict[str, dict[str, int]] = {}
    for piece, ids, n_notes, midi_path in kept:
        split = splits[piece.id]
        shard = shards[split]
        shard["tokens"].append(np.asarray(ids, dtype=np.int32))
        shard["styles"].append(tokenizer.vocab.styles.index(piece.style))
        shard["ids"].append(piece.id)
        counts = split_counts.setdefault(piece.style, {s: 0 for s in SPLIT_NAMES})
        counts[split] += 1
        records.append({"id": piece.id, "style": piece.style, "split": split, "notes": n_notes,
                        "tokens": len(ids), "midi": str(Path(midi_path).resolve())})

    n_pieces, n_tokens = {}, {}
    for split, shard in shards.items():
        lengths = [len(t) for t in shard["tokens"]]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = np.concatenate(shard["tokens"]) if lengths else np.zeros(0, dtype=np.int32)
        buffer = io.BytesIO()
        np.savez(buffer, tokens=tokens, offsets=offsets, styles=np.asarray(shard["styles"], dtype=np.int64),
                 ids=np.asarray(shard["ids"], dtype=str), build_id=np.asarray(build_id))
        atomic_write_bytes(out / f"{split}.npz", buffer.getvalue())
        n_pieces[split], n_tokens[split] = len(lengths), int(offsets[-1])
    tokenizer.save_spec(out / "tokenizer.json")
    converted = len(todo)
    cached = len(pieces) - n_midi - converted
    atomic_write_json(out / "manifest.json", {
        "format": MANIFEST_FORMAT, "fingerprint": fingerprint, "build_id": build_id, "config": asdict(config),
        "styles": list(tokenizer.vocab.styles), "n_pieces": n_pieces, "n_tokens": n_tokens,
        "sources": {"converted": converted, "cached": cached, "midi_files": n_midi, "rebuilt": rebuilt},
        "split_rule": SPLIT_RULE, "split_counts": split_counts, "moved": moved,
        "failures": failures, "pieces": records,
    })
    return BuildResult(out, n_pieces, n_tokens, converted, cached, failures, time.perf_counter() - start,
                       midi_files=n_midi, rebuilt=rebuilt, split_counts=split_counts, moved=moved)
