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

import json
import os
import time
import uuid
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
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

__all__ = ["BuildConfig", "BuildResult", "build_dataset", "merge_shards", "shard_of", "select_pieces",
           "combine_pieces", "split_of", "assign_splits",
           "SPLIT_NAMES", "EMPTY_PIECE_REASON"]

SPLIT_NAMES = ("train", "valid", "test")
MANIFEST_FORMAT = "symbolic.dataset/1"
SPLIT_RULE = "hash-with-style-floor/1"  # part of the fingerprint: a new rule rebuilds the shards
EMPTY_PIECE_REASON = "no notes: an empty piece teaches nothing, so it is left out"


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a data-set build.

    Attributes:
        workers: processes that convert and tokenize (0: :func:`symbolic.threads.worker_processes` decides:
            one per core).
        valid_percent, test_percent: share of pieces, by id hash, in each held-out split.
        limit_per_style: keep at most this many pieces per style (chosen by id hash; ``None``: all).
        shard_index, shard_count: build only the pieces whose id hashes to shard ``shard_index`` of
            ``shard_count`` (:func:`shard_of`); with ``shard_count > 1`` the build stops at the piece log and
            :func:`merge_shards` makes the data set of all shards.  ``0`` of ``1``: the whole selection.
    """

    workers: int = 0
    valid_percent: int = 10
    test_percent: int = 10
    limit_per_style: int | None = None
    shard_index: int = 0
    shard_count: int = 1

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise ConfigError(f"workers={self.workers} must be >= 0 (0: one per core)")
        if not (0 <= self.valid_percent and 0 <= self.test_percent and self.valid_percent + self.test_percent < 100):
            raise ConfigError("valid_percent and test_percent must be >= 0 and leave some pieces for training")
        if self.limit_per_style is not None and self.limit_per_style < 1:
            raise ConfigError(f"limit_per_style={self.limit_per_style} must be at least 1 (or None for all)")
        if self.shard_count < 1 or not 0 <= self.shard_index < self.shard_count:
            raise ConfigError(f"shard {self.shard_index} of {self.shard_count}: the count must be at least 1 and "
                              f"the index from 0 to count - 1")


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
        shard: ``(index, count)`` of a shard build, which ends at its piece log (no splits: ``n_pieces`` and
            ``n_tokens`` then hold the shard's totals under ``"all"``); ``None`` for a whole build.
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
    shard: tuple[int, int] | None = None


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


def shard_of(piece_id: str, shard_count: int) -> int:
    """The shard (``0 .. shard_count - 1``) that builds a piece, from a hash of its id (for a MIDI folder: the
    file's path relative to the folder), so every machine agrees without talking to the others."""
    return stable_hash("shard:" + piece_id) % shard_count


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

    Pieces are tokenized in worker processes and appended one by one to a piece log
    (:class:`~symbolic.data.piecelog.PieceLog`, ``out_dir/pieces``), then the split shards are written
    from the log piece by piece, so memory holds the list of pieces and a few pieces' tokens, never the
    whole set.  A killed build resumes from its log.  With ``config.shard_count > 1`` only this shard's
    pieces are built and the build stops at the log; :func:`merge_shards` then writes the data set.

    Args:
        pieces: what to build from (see :mod:`symbolic.data.corpus`).
        out_dir: output folder; an earlier build there is resumed or reused.
        tokenizer: the event tokenizer; its styles must include every piece's style.
        config: build settings.
        progress: show tqdm progress bars.

    Returns:
        A :class:`BuildResult`; failures are listed there and in ``manifest.json``.

    Raises:
        StyleError: a piece's style is not among the tokenizer's.
        DataError: another build holds ``out_dir``.
        SymbolicError: interrupted (Ctrl-C) or a worker died; the message says how much is kept.
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


_WORKER_TOKENIZER: EventTokenizer | None = None


def _worker_init(parent: int, tokenizer_config: dict | None = None) -> None:
    import signal

    global _WORKER_TOKENIZER
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    if tokenizer_config is not None:
        from symbolic.tokenization.vocab import EventTokenizerConfig

        _WORKER_TOKENIZER = EventTokenizer(EventTokenizerConfig.from_dict(tokenizer_config))


def _run_pool(task, items: list, workers: int, on_result, stopped, desc: str, progress: bool,
              tokenizer: EventTokenizer | None = None) -> None:
    """Run ``task(*item)`` for every item in worker processes, calling ``on_result`` in the parent as each ends.

    At most four tasks per worker are in flight, so finished results never pile up in memory.  Ctrl-C (or a
    dead worker) kills the workers at once and raises :class:`SymbolicError` with ``stopped(why)``, which
    says what is kept.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=desc, unit="piece", disable=not progress)
    n_workers = worker_processes(workers, len(items))
    pool = ProcessPoolExecutor(max_workers=n_workers, initializer=_worker_init,
                               initargs=(os.getpid(), tokenizer.config.to_dict() if tokenizer else None))
    pending: set = set()
    queue = iter(items)
    try:
        while True:
            for item in queue:
                pending.add(pool.submit(task, *item))
                if len(pending) >= 4 * n_workers:
                    break
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_result(future.result())
                bar.update(1)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # work in flight is lost; its temporary file is removed next start
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "a worker died"
        raise SymbolicError(f"{why}: {stopped()}; run the same command again to do the rest") from None
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


def _tokenize_piece(order: int, piece: CorpusPiece, cache_dir: str) -> tuple[dict, np.ndarray | None, bool]:
    """Worker: read and tokenize one piece; ``(log record, int32 ids or None, cache entry rebuilt)``.

    A cache entry that no longer loads is converted again.  A piece that fails gets a record with
    its ``failure`` reason and no ids.
    """
    cache = Path(cache_dir)
    record = {"id": piece.id, "style": piece.style, "order": order}
    rebuilt = False
    try:
        try:
            score, where = _read_piece(piece, cache)
        except (SymbolicError, ValueError, KeyError, UnicodeDecodeError):
            if _is_midi(piece):
                raise
            name = _cache_name(piece.id)
            (cache / f"{name}.mid").unlink(missing_ok=True)
            (cache / f"{name}.fail.json").unlink(missing_ok=True)
            _convert(piece, cache_dir)
            rebuilt = True
            score, where = _read_piece(piece, cache)
        if score is None:
            return {**record, "failure": where}, None, rebuilt
        if score.n_notes == 0:
            return {**record, "failure": EMPTY_PIECE_REASON}, None, rebuilt
        ids = _WORKER_TOKENIZER.encode(score, style=piece.style)
    except SymbolicError as exc:
        return {**record, "failure": str(exc)}, None, rebuilt
    except Exception as exc:  # a bad piece must never stop the build
        return {**record, "failure": f"{type(exc).__name__}: {exc}"}, None, rebuilt
    record.update(notes=score.n_notes, midi=str(Path(where).resolve()))
    return record, np.asarray(ids, dtype=np.int32), rebuilt


def _log_meta(fingerprint: str, set_fingerprint: str, n_selected: int, tokenizer: EventTokenizer,
              config: BuildConfig) -> dict:
    return {"fingerprint": fingerprint, "set_fingerprint": set_fingerprint, "shard_index": config.shard_index,
            "shard_count": config.shard_count, "n_selected": n_selected, "tokenizer": tokenizer.config.to_dict(),
            "config": asdict(config), "split_rule": SPLIT_RULE}


def _build_locked(pieces: list[CorpusPiece], out: Path, tokenizer: EventTokenizer, config: BuildConfig,
                  progress: bool) -> BuildResult:
    import shutil

    from symbolic.data.piecelog import PieceLog

    start = time.perf_counter()
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # we hold the lock: any temporary here was left by a killed build
    remove_stale_temporaries(cache)
    set_fingerprint = _fingerprint(pieces, tokenizer, config)
    sharded = config.shard_count > 1
    mine = [(order, p) for order, p in enumerate(pieces)
            if not sharded or shard_of(p.id, config.shard_count) == config.shard_index]
    n_midi = sum(_is_midi(p) for _, p in mine)
    old = None if sharded else _reusable(out, set_fingerprint)
    if old is not None:
        shutil.rmtree(out / "pieces", ignore_errors=True)  # left by a kill after the manifest was written
        return BuildResult(out, old["n_pieces"], old["n_tokens"], 0, 0, old["failures"],
                           time.perf_counter() - start, reused=True, midi_files=0,
                           split_counts=old.get("split_counts", {}), moved=old.get("moved", []))

    # 1. Convert what is not cached yet (music21 sources), in parallel.
    todo = [p for _, p in mine if not _is_midi(p) and not _is_cached(cache, p)]
    if todo:
        _run_pool(_convert, [(p, str(cache)) for p in todo], config.workers, lambda _: None,
                  lambda: f"{sum(_is_cached(cache, p) for p in todo)} of {len(todo)} pieces were converted and "
                          f"cached in {cache}", "converting", progress)

    # 2. Read and tokenize every piece not yet in the log, in parallel, appending each as it ends.
    fingerprint = f"{stable_hash(f'{set_fingerprint}|{config.shard_index}/{config.shard_count}'):016x}"
    meta = _log_meta(fingerprint, set_fingerprint, len(pieces), tokenizer, config)
    rebuilt = 0
    with PieceLog(out / "pieces", meta) as log:
        if not log.meta.get("complete"):
            def keep(result: tuple[dict, np.ndarray | None, bool]) -> None:
                nonlocal rebuilt
                record, ids, was_rebuilt = result
                log.append(record, ids)
                rebuilt += was_rebuilt

            missing = [(order, p, str(cache)) for order, p in mine if p.id not in log]
            if missing:
                _run_pool(_tokenize_piece, missing, config.workers, keep,
                          lambda: f"{len(log)} of {len(mine)} pieces are tokenized and kept in {log.folder}",
                          "tokenizing", progress, tokenizer)
            log.complete(converted=len(todo), cached=len(mine) - n_midi - len(todo), midi_files=n_midi,
                         rebuilt=rebuilt)
        sources = log.meta["counts"]
        if sharded:
            kept = [r for r in log.records if "failure" not in r]
            failures = [{"id": r["id"], "reason": r["failure"]} for r in sorted(log.records, key=_order)
                        if "failure" in r]
            return BuildResult(out, {"all": len(kept)}, {"all": sum(r["length"] for r in kept)},
                               sources["converted"], sources["cached"], failures, time.perf_counter() - start,
                               midi_files=sources["midi_files"], rebuilt=sources["rebuilt"],
                               shard=(config.shard_index, config.shard_count))
        result = _write_dataset(out, [log], tokenizer, config, set_fingerprint, sources)
    shutil.rmtree(out / "pieces")  # the shards hold it all now
    result.seconds = time.perf_counter() - start
    return result


def _order(record: dict) -> int:
    return record["order"]


def _write_split(path: Path, members: list, build_id: str, tokenizer: EventTokenizer) -> tuple[int, int]:
    """Write one split's ``.npz`` atomically from ``(log, record)`` pairs, one piece in memory at a time.

    The arrays are those :func:`numpy.savez` would write (``tokens`` int32, ``offsets`` int64 ``(N+1,)``,
    ``styles`` int64, ``ids`` str, ``build_id``), streamed into an uncompressed zip.  Returns
    ``(pieces, tokens)``.
    """
    from symbolic.utils import atomic_writer

    lengths = np.asarray([record["length"] for _, record in members], dtype=np.int64)
    offsets = np.zeros(len(members) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    arrays = {"offsets": offsets,
              "styles": np.asarray([tokenizer.vocab.styles.index(r["style"]) for _, r in members], dtype=np.int64),
              "ids": np.asarray([r["id"] for _, r in members], dtype=str), "build_id": np.asarray(build_id)}
    with atomic_writer(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("tokens.npy", "w", force_zip64=True) as entry:
            np.lib.format.write_array_header_1_0(entry, {"descr": np.lib.format.dtype_to_descr(np.dtype("<i4")),
                                                         "fortran_order": False, "shape": (int(offsets[-1]),)})
            for log, record in members:
                entry.write(log.tokens(record).tobytes())
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)
    return len(members), int(offsets[-1])


def _write_dataset(out: Path, logs: list, tokenizer: EventTokenizer, config: BuildConfig, fingerprint: str,
                   sources: dict) -> BuildResult:
    """Split the pieces of complete piece logs and write the shards, ``tokenizer.json`` and ``manifest.json``.

    Pieces keep the order of the selection they were listed in (their ``order``), whichever log holds
    them, so the shards of a merged build equal those of a build on one machine.
    """
    entries = sorted(((log, record) for log in logs for record in log.records), key=lambda e: _order(e[1]))
    kept = [(log, record) for log, record in entries if "failure" not in record]
    failures = [{"id": record["id"], "reason": record["failure"]} for _, record in entries if "failure" in record]
    splits, moved = assign_splits([(record["id"], record["style"]) for _, record in kept], config)
    build_id = uuid.uuid4().hex
    split_counts: dict[str, dict[str, int]] = {}
    records = []
    for _, record in kept:
        split = splits[record["id"]]
        counts = split_counts.setdefault(record["style"], {s: 0 for s in SPLIT_NAMES})
        counts[split] += 1
        records.append({"id": record["id"], "style": record["style"], "split": split, "notes": record["notes"],
                        "tokens": record["length"], "midi": record["midi"]})
    n_pieces, n_tokens = {}, {}
    for split in SPLIT_NAMES:
        members = [(log, record) for log, record in kept if splits[record["id"]] == split]
        n_pieces[split], n_tokens[split] = _write_split(out / f"{split}.npz", members, build_id, tokenizer)
    tokenizer.save_spec(out / "tokenizer.json")
    atomic_write_json(out / "manifest.json", {
        "format": MANIFEST_FORMAT, "fingerprint": fingerprint, "build_id": build_id, "config": asdict(config),
        "styles": list(tokenizer.vocab.styles), "n_pieces": n_pieces, "n_tokens": n_tokens,
        "sources": sources, "split_rule": SPLIT_RULE, "split_counts": split_counts, "moved": moved,
        "failures": failures, "pieces": records,
    })
    return BuildResult(out, n_pieces, n_tokens, sources["converted"], sources["cached"], failures, 0.0,
                       midi_files=sources["midi_files"], rebuilt=sources["rebuilt"], split_counts=split_counts,
                       moved=moved)


def merge_shards(shard_dirs: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> BuildResult:
    """Combine the outputs of a sharded build (one folder per shard) into one data set in ``out_dir``.

    The result equals a build of the whole selection on one machine: the same pieces in the same
    splits, in the same order, with the same tokens (only the build id, the source counts and the
    MIDI paths of shards built elsewhere differ).

    Args:
        shard_dirs: the output folder of every shard (``shard_index`` 0 to ``shard_count - 1``), each copied
            from its machine whole (``pieces/`` is what is read).
        out_dir: where the data set goes (not one of the shard folders).

    Raises:
        DataError: a folder is not a finished shard, shards are missing or repeated, or they come from
            different selections, tokenizers or split shares (the message names the folders).
    """
    from symbolic.data.piecelog import PieceLog
    from symbolic.tokenization.vocab import EventTokenizerConfig

    start = time.perf_counter()
    folders = [Path(d) for d in shard_dirs]
    out = Path(out_dir)
    if not folders:
        raise DataError("name the shard folders to merge")
    metas = []
    for folder in folders:
        if folder.resolve() == out.resolve():
            raise DataError(f"{out}: the merged data set needs its own folder, not one of the shards'")
        meta = PieceLog.read_meta(folder / "pieces")
        if not meta.get("complete"):
            raise DataError(f"{folder}: shard {meta['shard_index']} of {meta['shard_count']} is not finished; "
                            "run its build again to finish it, then merge")
        metas.append(meta)
    first = metas[0]
    for folder, meta in zip(folders, metas):
        for key, what in (("set_fingerprint", "pieces (the folder or its files differ)"),
                          ("shard_count", "shard count"), ("tokenizer", "tokenizer"),
                          ("split_rule", "split rule")):
            if meta[key] != first[key]:
                raise DataError(f"{folder} and {folders[0]} were built with different {what}; build every "
                                "shard from the same pieces with the same settings")
        if {k: v for k, v in meta["config"].items() if k not in ("workers", "shard_index")} != \
                {k: v for k, v in first["config"].items() if k not in ("workers", "shard_index")}:
            raise DataError(f"{folder} and {folders[0]} were built with different split shares or limits; "
                            "build every shard with the same settings")
    indices = sorted(m["shard_index"] for m in metas)
    count = first["shard_count"]
    if indices != list(range(count)):
        missing = sorted(set(range(count)) - set(indices))
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        raise DataError(f"the shards given are {indices} of {count}: "
                        + (f"missing {missing}" if missing else "") + ("; " if missing and repeated else "")
                        + (f"repeated {repeated}" if repeated else "") + "; give each shard's folder once")
    tokenizer = EventTokenizer(EventTokenizerConfig.from_dict(first["tokenizer"]))
    config_fields = {k: v for k, v in first["config"].items() if k not in ("shard_index", "shard_count")}
    config = BuildConfig(**config_fields)
    sources = {key: sum(m["counts"][key] for m in metas) for key in first["counts"]}
    logs = [PieceLog(folder / "pieces", meta) for folder, meta in zip(folders, metas)]
    try:
        ids = [record["id"] for log in logs for record in log.records]
        if len(ids) != len(set(ids)):
            raise DataError("a piece is in two shards; build every shard from the same pieces with the same count")
        with folder_lock(out, "a data-set build"):
            remove_stale_temporaries(out)
            result = _write_dataset(out, logs, tokenizer, config, first["set_fingerprint"], sources)
    finally:
        for log in logs:
            log.close()
    result.seconds = time.perf_counter() - start
    return result
