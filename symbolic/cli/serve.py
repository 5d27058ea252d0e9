"""``symbolic serve``: the web page and HTTP API (see docs/serve.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from symbolic.serve.config import ServeConfig

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
    s.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from symbolic.serve.app import create_app

    config = ServeConfig(data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers,
                         model=args.model)
    print(f"symbolic serve: open http://{config.host}:{config.port}/ (API docs at /docs); data in {config.data_dir}")
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")
    return 0
