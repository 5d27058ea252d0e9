"""``symbolic serve``: the web page and HTTP API (see docs/serve.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from symbolic.serve.config import QUEUE_BACKENDS, ServeConfig

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    s = commands.add_parser(
        "serve", help="start the web app: upload a MIDI file, choose a job and a style, listen, download",
        description="A local web page and HTTP API for convert, accompany and continue.  Open the printed "
                    "address in a browser; the API is documented at /docs.",
    )
    s.add_argument("--host", default=ServeConfig.host, help=f"address to listen on (default {ServeConfig.host}, "
                                                            "this machine only)")
    s.add_argument("--port", type=int, default=ServeConfig.port, help=f"port (default {ServeConfig.port})")
    s.add_argument("--data-dir", type=Path, default=ServeConfig.data_dir,
                   help=f"folder of the job store and results (default {ServeConfig.data_dir})")
    s.add_argument("--workers", type=int, default=ServeConfig.workers,
                   help=f"worker processes, one model each (default {ServeConfig.workers})")
    s.add_argument("--model", default=ServeConfig.model, help="a shipped model name or a checkpoint folder")
    s.add_argument("--queue", choices=QUEUE_BACKENDS, default=ServeConfig.queue_backend,
                   help=f"where jobs run: pool (--workers processes here) or rq (a Redis queue served by "
                        f"'symbolic serve --worker' on any machine) (default {ServeConfig.queue_backend})")
    _redis_arguments(s)

    s.add_argument("--worker", action="store_true",
                   help="instead of the web app, run jobs of the rq queue (start as many as you like, here or "
                        "on other machines that reach Redis; each loads --model once)")
    s.add_argument("--burst", action="store_true", help="with --worker: stop once the queue is empty")
    s.set_defaults(handler=run_serve)


def _redis_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis-url", default=ServeConfig.redis_url,
                        help=f"the Redis server of the rq queue (default {ServeConfig.redis_url})")
    parser.add_argument("--rq-queue", default=ServeConfig.rq_queue_name,
                        help=f"name of the RQ queue (default {ServeConfig.rq_queue_name})")


def run_serve(args: argparse.Namespace) -> int:
    if args.worker:
        return run_serve_worker(args)
    import uvicorn

    from symbolic.serve.app import create_app

    config = ServeConfig(data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers,
                         model=args.model, queue_backend=args.queue, redis_url=args.redis_url,
                         rq_queue_name=args.rq_queue)
    app = create_app(config)
    print(f"symbolic serve: open http://{config.host}:{config.port}/ (API docs at /docs); data in {config.data_dir}")
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    return 0


def run_serve_worker(args: argparse.Namespace) -> int:
    from symbolic.serve.queue import run_rq_worker

    config = ServeConfig(model=args.model, queue_backend="rq", redis_url=args.redis_url, rq_queue_name=args.rq_queue)
    print(f"symbolic serve --worker: model {config.model}, queue {config.rq_queue_name!r} at {config.redis_url}")
    run_rq_worker(config, burst=args.burst)
    return 0
