"""The ``symbolic`` command: subcommands that mirror the Python API, files in and files out."""

from __future__ import annotations

import argparse
import sys

from symbolic.errors import SymbolicError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from symbolic import __version__
    from symbolic.cli import analyze, audio, bench, classify, data, demo, jobs, models, quantize, tokenize

    parser = argparse.ArgumentParser(
        prog="symbolic",
        description="Symbolic (MIDI) music modeling on a laptop CPU: read, tokenize, build data sets, train, "
                    "generate, render, evaluate, benchmark.",
        epilog="Run 'symbolic COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"symbolic {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tokenize.register(commands)
    data.register(commands)
    models.register(commands)
    jobs.register(commands)
    audio.register(commands)
    bench.register(commands)
    classify.register(commands)
    demo.register(commands)
    quantize.register(commands)
    analyze.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 check failed, 2 error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "threads"):  # the user's limit, read by symbolic.threads wherever work is split
            from symbolic.threads import set_thread_limit

            set_thread_limit(args.threads)
        return int(args.handler(args) or 0)
    except SymbolicError as exc:
        print(f"symbolic {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head and the like
        sys.stderr.close()
        return 0
    except OSError as exc:  # the file system refused something the up-front path checks could not foresee
        from symbolic.paths import describe_os_error

        print(f"symbolic {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"symbolic {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
