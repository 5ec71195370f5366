"""``eks-access <command>`` (or ``python -m access <command>``): the tools people run around the stacks.

Every command is a package of ``access.commands`` whose ``command`` module has ``register(subparsers)``, which
sets ``func`` on its parser; ``func(args)`` returns the exit code. Bad input is one line on stderr and exit
code 2; so is anything unexpected, with a note that it is a bug to report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from access.commands.diff import command as diff
from access.commands.kubeconfig import command as kubeconfig
from access.commands.plan import command as plan
from access.commands.preview_guard import command as preview_guard
from access.commands.whois import command as whois
from access.errors import user_message

EXIT_BAD_INPUT = 2
COMMANDS = (plan, diff, kubeconfig, whois, preview_guard)


def build_parser(prog: str = "eks-access") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="eks-access tools: offline plans, access diffs, kubeconfig contexts, audit attribution.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "eks-access") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        code: int = args.func(args)
    except Exception as error:  # the project's refusals as they are; anything else one line too, never a traceback
        print(f"error: {user_message(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def _close_mock_runtime() -> None:
    """A command that ran the program under mocks shuts its event loop down cleanly before the process exits."""
    offline = sys.modules.get("access.stack.offline")
    if offline is not None:
        offline.close_runtime()


def exit_with(prog: str = "eks-access") -> None:
    """A whole process: the ``eks-access`` console script and ``python -m access``.

    In-process callers (the tests) use :func:`main`: the mock runtime's event loop is closed only here, once per
    process, since a later run in the same process would find it closed.
    """
    code = main(prog=prog)
    _close_mock_runtime()
    sys.exit(code)
