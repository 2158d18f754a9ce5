"""The ``ssapose`` console script: gathers the subcommands of every layer.

Layers register their own commands (engines: import-ir, eval, export, engine;
app: video, app, benchmark). Qt is imported only by the ``app`` command itself.
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from engines.cli import add_commands as add_engine_commands

    parser = argparse.ArgumentParser(prog="ssapose", description="SSA-Pose: real-time multi-person 2D pose "
                                     "estimation (OpenPose-style PAFs with resolution-irrelevant encoding).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_engine_commands(sub)
    from app.bench import add_command as add_benchmark
    from app.commands import add_commands as add_app_commands

    add_app_commands(sub)
    add_benchmark(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as e:
        print(f"ssapose {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
