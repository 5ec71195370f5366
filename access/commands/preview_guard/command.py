"""``python -m access preview-guard``: fail a ``pulumi preview --json`` that deletes or replaces what access needs.

IAM roles, aws-auth, access entries and their policy associations, namespaces; and an aws-auth update that drops
a node role's mapping (``steps``).

Exit 1 when such a step is planned and ``--allow`` is not given, 0 otherwise, 2 when the file is not a preview.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from access.commands.preview_guard.steps import ALLOW_LABEL, destructive_steps, report
from access.errors import PreviewError

EXIT_REFUSED = 1


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "preview-guard",
        help="fail a `pulumi preview --json` that deletes or replaces what access depends on",
        description="Fail when `pulumi preview --json` would delete or replace an IAM role, aws-auth, an EKS access "
        "entry or its policy association, or a namespace, or drop a node role's mapping from aws-auth.",
    )
    parser.add_argument("preview", help="file with `pulumi preview --json` output, or - for standard input")
    parser.add_argument("--stack", help="stack name, for the report")
    parser.add_argument("--allow", action="store_true", help=f"report but do not fail (the PR has {ALLOW_LABEL})")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        raw = sys.stdin.read() if args.preview == "-" else Path(args.preview).read_text()
    except OSError as error:
        raise PreviewError(f"{args.preview}: {error.strerror}") from None
    if not raw.strip():
        raise PreviewError(f"{args.preview}: empty input: did `pulumi preview --json` fail?")
    try:
        preview = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PreviewError(
            f"{args.preview}: not JSON ({exc.msg} at line {exc.lineno}); did `pulumi preview --json` fail?"
        ) from None
    try:
        found = destructive_steps(preview)
    except PreviewError as error:
        raise PreviewError(f"{args.preview}: {error}") from None
    print(report(found, args.stack, args.allow, args.format), end="")
    return EXIT_REFUSED if found and not args.allow else 0
