"""How long a segmented job would take with every core to itself: the CPU time of its critical path.

    python benchmarks/segment_critical_path.py SONG.mid [--job convert|accompany] [--style chorale] [--threads 2]

On a shared machine the wall time of two processes says more about the neighbours than about the code.  This
runs one job in this process (``symbolic.jobs.arrange``, the CLI's defaults, ``--threads`` segments at once)
and reports the CPU seconds of: the start (imports, reading the song, loading the model), this process's
share of the decoding, and the forked workers' share (``resource.getrusage(RUSAGE_CHILDREN)``).  With a core
each, the wall time would be about the start plus the larger of the two shares (less if memory bandwidth
were free, more if the two processes slow each other down through the shared cache): the "critical path".
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("song", type=Path)
    parser.add_argument("--job", choices=("convert", "accompany"), default="convert")
    parser.add_argument("--style", default="chorale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    wall = time.perf_counter()
    from symbolic.inputs.midi import read_midi
    from symbolic.jobs.arrange import accompany, convert
    from symbolic.jobs.config import JobConfig
    from symbolic.models.pretrained import load_decoder
    from symbolic.threads import set_thread_limit, use_threads

    set_thread_limit(args.threads)
    use_threads(args.threads)
    score = read_midi(args.song)
    model, tokenizer, _ = load_decoder("default")
    start_cpu = time.process_time()  # the start: imports, the song, the model
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    config = JobConfig(seed=args.seed)
    if args.job == "convert":
        convert(model, tokenizer, score, {args.style: 1.0}, config)
    else:
        accompany(model, tokenizer, score, {args.style: 1.0}, config)
    own = time.process_time() - start_cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    wall = time.perf_counter() - wall
    print(f"{args.song.name} {args.job} --threads {args.threads}: start {start_cpu:.1f} s CPU, this process's "
          f"decoding {own:.1f} s, workers' {workers:.1f} s; critical path {start_cpu + max(own, workers):.1f} s, "
          f"all CPU {start_cpu + own + workers:.1f} s, wall {wall:.1f} s")


if __name__ == "__main__":
    main()
