"""``python -m access plan``: what a stack would do, offline, as text, JSON or markdown.

Runs the real program under Pulumi's mock runtime (no CLI, no credentials) and describes the result:
resources by type, the aws-auth mapRoles, RBAC objects, and the effective-access matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from access.commands.plan.document import plan_document
from access.commands.plan.render import markdown, print_text
from access.core.loading import LoadedStack, load_stack
from access.errors import UsageError

FORMATS = ("text", "json", "markdown")

EXAMPLE = """examples:
  python -m access plan --stack dev
  python -m access plan --stack prod --format json > plan.json
  python -m access plan --stack staging --format markdown   # for a pull-request comment
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_stack(args.project_dir, args.stack, args.config)
    run_result = _run_program(args.project_dir, loaded)
    document = plan_document(loaded, run_result.resource_counts(), run_result.outputs)
    if args.format == "json":
        print(json.dumps(document, indent=2, sort_keys=True))
    elif args.format == "markdown":
        print(markdown(document))
    else:
        print_text(document)
    return 0


class _ProgramResult:
    def __init__(self, counts: Counter[str], outputs: dict[str, Any]) -> None:
        self._counts = counts
        self.outputs = outputs

    def resource_counts(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))


def _run_program(project_dir: Path, loaded: LoadedStack) -> _ProgramResult:
    """The real program under mocks, on the stack already loaded; progress on stderr when a person is watching."""
    from pulumi import RunError

    from access.stack.offline import run_program

    stack = loaded.settings.stack
    status = None
    if sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status(f"running the {stack} program under Pulumi's mocks…")
        status.start()
    try:
        result = run_program(project_dir, stack, loaded=loaded)
    except RunError as refusal:
        raise UsageError(str(refusal)) from None
    finally:
        if status is not None:
            status.stop()
    counts = Counter(r.type for r in result.created())
    return _ProgramResult(counts, result.outputs)
