"""The ``privrobust`` command line: one subcommand per module of privrobust.commands.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their command runs, so ``privrobust account`` never loads torch.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from privrobust import __version__
from privrobust.commands import COMMANDS


def _command_module(name: str):
    return importlib.import_module(f"privrobust.commands.{COMMANDS[name][0]}")


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="privrobust", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"privrobust {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            _command_module(name).add_arguments(p)
        else:  # parsed only for --help listing; the real parser is built for the selected command
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((a for a in argv if a in COMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(_command_module(args.command).run(args) or 0)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as err:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(err), "type": type(err).__name__}))
        else:
            print(f"privrobust {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
