"""``python -m access plan``: what a stack would do, offline, as text, JSON or markdown.

Runs the real program under Pulumi's mock runtime (no CLI, no credentials) and describes the result:
resources by type, the aws-auth mapRoles, RBAC objects, and the effective-access matrix.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from access.commands.jsontext import write_json
from access.commands.plan.document import plan_document
from access.commands.plan.render import SUMMARY_ABOVE, markdown, print_text
from access.core.loading import LoadedStack, load_stack
from access.errors import UsageError
from access.stack import collector

FORMATS = ("text", "json", "markdown")

EXAMPLE = """examples:
  python -m access plan --stack dev
  python -m access plan --stack prod --format json > plan.json
  python -m access plan --stack staging --format markdown   # for a pull-request comment
  python -m access plan --stack prod --full                  # every row of a large stack
  python -m access plan --stack prod --principal alice       # one person's access
  python -m access plan --stack prod --namespace projecta-prod
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help="show what a stack would create (offline, no credentials)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (overrides access:configDir)")
    text = parser.add_argument_group(
        "text output",
        f"a stack with more than {SUMMARY_ABOVE} access rows or RBAC objects prints a summary by default "
        "(counts, roles, dangerous access, the widest access)",
    )
    text.add_argument("--full", action="store_true", help="print everything, however large the stack")
    text.add_argument(
        "--principal", metavar="NAME", help="only this person's or machine's access (as the plan names it)"
    )
    text.add_argument(
        "--namespace", metavar="NS", help="only access in this namespace ('cluster-wide' for cluster-wide)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.format != "text" and (args.full or args.principal or args.namespace):
        raise UsageError(f"--full, --principal and --namespace shape the text output; --format {args.format} is whole")
    # No cyclic collection for the whole command (access/stack/collector.py): it is one short process that loads,
    # runs the program, evaluates and prints, and nothing it allocates is cyclic garbage worth walking the
    # program's objects for; at 1,000 project-environments full collections were a third of describing the plan.
    with collector.paused():
        with progress(args.stack) as say:
            loaded = load_stack(args.project_dir, args.stack, args.config)
            say("running the program under Pulumi's mocks")
            run_result = _run_program(args.project_dir, loaded)
            say("describing the plan")
            document = plan_document(loaded, run_result.resource_counts(), run_result.outputs)
        if args.format == "json":
            write_json(document, sys.stdout.write)  # json.dumps(document, indent=2, sort_keys=True), streamed
            sys.stdout.write("\n")
        elif args.format == "markdown":
            print(markdown(document))
        else:
            print_text(document, args.full, args.principal, args.namespace)
    return 0


PROGRESS_AFTER = 2.0  # seconds: a quick plan shows no spinner at all


def shows_progress() -> bool:
    """A person is watching: stderr is a terminal and this is not a CI job."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress(stack: str, after: float = PROGRESS_AFTER) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the step, for runs that take longer than ``after`` seconds, only when a person
    is watching (:func:`shows_progress`); yields the function that names the next step. Never on stdout."""
    if not shows_progress():
        yield lambda step: None
        return
    from rich.console import Console

    status = Console(stderr=True).status(f"{stack}: loading and checking config…")
    lock = threading.Lock()
    state = {"done": False, "started": False}

    def start() -> None:
        with lock:
            if not state["done"]:
                status.start()
                state["started"] = True

    timer = threading.Timer(after, start)
    timer.daemon = True
    timer.start()
    try:
        yield lambda step: status.update(f"{stack}: {step}…")
    finally:
        with lock:
            state["done"] = True
            timer.cancel()
            if state["started"]:
                status.stop()


class _ProgramResult:
    def __init__(self, counts: Counter[str], outputs: dict[str, Any]) -> None:
        self._counts = counts
        self.outputs = outputs

    def resource_counts(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))


def _run_program(project_dir: Path, loaded: LoadedStack) -> _ProgramResult:
    """The real program under mocks, on the stack already loaded."""
    from pulumi import RunError

    from access.stack.offline import run_program

    try:
        result = run_program(project_dir, loaded.settings.stack, loaded=loaded)
    except RunError as refusal:
        raise UsageError(str(refusal)) from None
    counts = Counter(r.type for r in result.created())
    return _ProgramResult(counts, result.outputs)
