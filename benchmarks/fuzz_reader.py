"""Mutation fuzzer over the MIDI reader: every input is read or refused with a SymbolicError, in bounded time and memory.

Seeds are the edge-case files in ``tests/data`` and every real MIDI file given with ``--seeds``
(POP909, ``/work/real-midi``).  Each round takes a seed, applies 1-8 random mutations (flip,
overwrite with a boundary byte, insert, delete, duplicate a span, truncate, splice two seeds,
rewrite a chunk length or a varlen), in 70% of rounds inside one track whose chunk length is
then written back (so the reader gets past the framing to the events) and runs ``parse_midi_bytes`` in a child process with a
memory cap (``--memory-mb``) and a time limit per input (``--timeout``).  Anything else than a
score or a ``SymbolicError`` (another exception, a hang, a memory blow-up, a crash) is a
finding: the input is saved in ``tests/data/fuzz_crashes/`` (which the test suite reads back)
and listed in the summary.

Usage:
    python benchmarks/fuzz_reader.py --minutes 3 --seeds ../shared/data/pop909 /work/real-midi
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import random
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CRASHES = ROOT / "tests" / "data" / "fuzz_crashes"
BOUNDARY = [0x00, 0x01, 0x7F, 0x80, 0x81, 0xF0, 0xF7, 0xFF, 0x2F, 0x51, 0x90, 0xB0, 0xC0, 0xE0]


def mutate(data: bytes, other: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not buf:
            buf = bytearray(other[:64] or b"\x00")
        i = rng.randrange(len(buf))
        op = rng.randrange(9)
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i] = rng.choice(BOUNDARY)
        elif op == 2:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 3:
            del buf[i:i + rng.randint(1, 16)]
        elif op == 4:
            j = min(len(buf), i + rng.randint(1, 64))
            buf[j:j] = buf[i:j] * rng.randint(1, 4)
        elif op == 5:
            del buf[i:]
        elif op == 6:
            j = rng.randrange(len(other)) if other else 0
            buf = buf[:i] + bytearray(other[j:j + rng.randint(1, 512)]) + buf[i:]
        elif op == 7:  # a chunk length: header length, track count or an MTrk length
            k = buf.find(b"MTrk", rng.randrange(len(buf)))
            k = 4 if k < 0 else k + 4
            buf[k:k + 4] = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32)]).to_bytes(4, "big")
        else:  # a long varlen where a delta stands
            buf[i:i] = bytes([0xFF, 0xFF, 0xFF, 0x7F])
    return bytes(buf)


def chunks(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(header chunk, track bodies) of a well-formed file, or None."""
    if data[:4] != b"MThd" or len(data) < 14:
        return None
    pos = 8 + int.from_bytes(data[4:8], "big")
    head, bodies = data[:pos], []
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        bodies.append(data[pos + 8:pos + 8 + length])
        pos += 8 + length
    return head, bodies


def mutate_inside(data: bytes, other: bytes, rng: random.Random) -> bytes:
    """Mutate the events of one track and write its chunk length back, so the reader goes past the framing."""
    parts = chunks(data)
    if parts is None or not parts[1]:
        return mutate(data, other, rng)
    head, bodies = parts
    k = rng.randrange(len(bodies))
    bodies[k] = mutate(bodies[k], other, rng)
    return head + b"".join(b"MTrk" + len(b).to_bytes(4, "big") + b for b in bodies)


def _worker(inbox: mp.Queue, outbox: mp.Queue, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import warnings

    from symbolic.errors import SymbolicError
    from symbolic.inputs.midi import parse_midi_bytes

    warnings.simplefilter("ignore")
    while True:
        data = inbox.get()
        if data is None:
            return
        try:
            score = parse_midi_bytes(data, "fuzz.mid")
            outbox.put(("read", score.n_notes))
        except SymbolicError:
            outbox.put(("refused", 0))
        except MemoryError:
            outbox.put(("crash", "MemoryError"))
        except Exception as exc:  # noqa: BLE001 - any other exception is the finding
            outbox.put(("crash", f"{type(exc).__name__}: {exc}"[:300]))


class Runner:
    """One child process that reads inputs; restarted after a hang or a hard crash."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self.inbox, self.outbox = ctx.Queue(), ctx.Queue()
        self.proc = ctx.Process(target=_worker, args=(self.inbox, self.outbox, self.memory_mb), daemon=True)
        self.proc.start()

    def run(self, data: bytes, timeout: float) -> tuple[str, object]:
        import queue

        self.inbox.put(data)
        try:
            return self.outbox.get(timeout=timeout)
        except queue.Empty:
            alive = self.proc.is_alive()
            self.proc.kill()
            self.proc.join()
            self._start()
            return ("crash", "hang (no answer in time)" if alive else f"child died (exit {self.proc.exitcode})")

    def close(self) -> None:
        self.inbox.put(None)
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="fuzzing time (default 3)")
    parser.add_argument("--seeds", nargs="*", default=[], help="folders of real MIDI files to mutate")
    parser.add_argument("--max-seeds", type=int, default=400, help="real seed files drawn at most (default 400)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds one input may take (default 10)")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space cap of the reader (default 1024)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    paths = sorted((ROOT / "tests" / "data").glob("*.mid"))
    real = sorted(p for folder in args.seeds for p in Path(folder).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    rng.shuffle(real)
    paths += real[: args.max_seeds]
    seeds = [p.read_bytes() for p in paths]
    runner = Runner(args.memory_mb)
    counts = {"read": 0, "refused": 0, "crash": 0}
    findings: list[dict] = []
    slowest = 0.0
    deadline = time.monotonic() + 60 * args.minutes
    try:
        while time.monotonic() < deadline:
            mutator = mutate_inside if rng.random() < 0.7 else mutate
            data = mutator(rng.choice(seeds), rng.choice(seeds), rng)
            start = time.monotonic()
            outcome, detail = runner.run(data, args.timeout)
            slowest = max(slowest, time.monotonic() - start)
            counts[outcome] += 1
            if outcome == "crash":
                CRASHES.mkdir(parents=True, exist_ok=True)
                name = f"crash-{hashlib.sha256(data).hexdigest()[:12]}.mid"
                (CRASHES / name).write_bytes(data)
                findings.append({"file": name, "problem": detail})
                print(f"finding: {name}: {detail}", file=sys.stderr)
    finally:
        runner.close()
    total = sum(counts.values())
    result = {"inputs": total, **counts, "seeds": len(seeds), "minutes": args.minutes,
              "slowest_input_seconds": round(slowest, 3), "memory_cap_mb": args.memory_mb, "findings": findings}
    out = HERE / "out" / "fuzz_reader.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{total} inputs from {len(seeds)} seeds in {args.minutes:g} min: {counts['read']} read, "
          f"{counts['refused']} refused with a SymbolicError, {counts['crash']} findings; slowest input {slowest:.2f} s")
    return 1 if counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
