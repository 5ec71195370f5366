"""``python -m access <command>``: the tools people run around the stacks.

Each command lives in its own module exposing ``register(subparsers)``, which sets ``func`` on its
parser; ``func(args)`` returns the exit code. Bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from access.errors import ConfigError

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """A bad command-line argument or input file: one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from access.commands import plan as report

    parser = argparse.ArgumentParser(
        prog="python -m access",
        description="eks-access tools: offline plans, access diffs, kubeconfig contexts, audit attribution.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (report,):
        module.register(sub)
    _register_optional(sub)
    return parser


def _register_optional(sub: argparse._SubParsersAction) -> None:
    """Commands added by their own modules (diff, kubeconfig, whois) when present."""
    import importlib

    for name in ("access.commands.diff", "access.commands.kubeconfig", "access.commands.whois"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (ConfigError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code
