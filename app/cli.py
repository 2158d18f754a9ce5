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
    from app.batch.command import add_command as add_batch
    from app.bench import add_command as add_benchmark
    from app.commands import add_commands as add_app_commands
    from app.smooth import add_command as add_smooth

    add_app_commands(sub)
    add_batch(sub)
    add_smooth(sub)
    add_benchmark(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):       # a file name that is not UTF-8 prints, with ? for its bytes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    from app.stop import describe, on_sigterm

    on_sigterm()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:                      # the subcommand's own usage, not the top-level one
        sub = _subparser(parser, args)
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, RuntimeError, ImportError) as e:
        print(f"ssapose {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        word, _, code = describe(e)
        print(word, file=sys.stderr)
        return code
    except BrokenPipeError:        # the reader went away (``ssapose doctor | head -1``): stop quietly
        return 1


def _subparser(parser: argparse.ArgumentParser, args) -> argparse.ArgumentParser | None:
    """The parser of the command given (and of its action, for ``engine build``)."""
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        sub = action.choices.get(getattr(args, "command", None) or "")
        if sub is None:
            continue
        nested = getattr(args, "engine_command", None)
        if nested and sub._subparsers:
            for inner in sub._subparsers._group_actions:
                return inner.choices.get(nested, sub)
        return sub
    return None


if __name__ == "__main__":
    sys.exit(main())
