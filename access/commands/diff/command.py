"""``python -m access diff --base <git ref or directory>``: the access change between two configs.

For every stack (environment), each side is planned offline by its own code, in its own process (``run``,
``base``, ``side``), and the two are compared: who gains or loses which permission where (the effective-access
matrix, :mod:`access.core.evaluate`), which people and machines may assume which roles, new and removed principals,
roles and namespaces, the aws-auth / access-entry mappings, and the stack outputs. Changes touching
cluster-admin, ``system:*``, ``pods/exec`` (attach, port-forward, ephemeral containers), secrets, RBAC
escalation paths or trust policies, and any change to the code itself, are called out first.

Exit code 1 when a change is flagged in one of the ``--fail-on`` categories, 0 otherwise, 2 for bad input.
What counts: permissions *gained* in a category; any added, removed or changed aws-auth entry or access
entry in ``system:*`` (a node role removed cuts its nodes off) or with cluster-admin power; any changed
trust policy; any changed code. Permissions lost are listed (and sensitive ones called out) but never fail.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from access.commands.diff import side
from access.commands.diff.flags import CATEGORIES, CATEGORY_HELP
from access.commands.diff.render import dangerous, document, markdown, text
from access.commands.diff.run import diff_stacks
from access.commands.markdown import COMMENT_BUDGET

FORMATS = ("markdown", "text", "json")
EXIT_DANGEROUS = 1

DESCRIPTION = """\
Plans every stack (or one) offline for the base and the head, each with its own code in its own process, and
compares them: who gains or loses which permission where, who may assume which role, new and removed principals,
roles and namespaces, aws-auth and access-entry mappings, stack outputs. Changes touching cluster-admin,
system:* groups, pods/exec (attach, port-forward), secrets, RBAC escalation, trust policies or the code itself
are listed first.

Exit code 1 when such a change is in a --fail-on category (permissions gained, mapping changes, trust changes,
code changes; losses never fail), 0 otherwise, 2 for bad input."""

EXAMPLE = """examples:
  python -m access diff --base origin/main                     # every stack, markdown for a PR comment
  python -m access diff --base main --stack prod --format text
  python -m access diff --base ../eks-access-main --format json  # a checkout of the base branch
  python -m access diff --base origin/main --fail-on cluster-admin,system
  python -m access diff --base "$BASE_SHA" --head "$HEAD_SHA" --head-snapshot head.json --report-dir report
"""


def parse_fail_on(value: str) -> list[str]:
    from access.errors import UsageError

    if value.strip().lower() == "none":
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in CATEGORIES]
    if unknown:
        raise UsageError(
            f"--fail-on: unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
            f"expected a comma-separated list of {', '.join(CATEGORIES)}, or none"
        )
    return [c for c in CATEGORIES if c in items]


def register(sub: argparse._SubParsersAction) -> None:
    categories = "\n".join(f"  {c:<14}{h}" for c, h in CATEGORY_HELP.items())
    parser = sub.add_parser(
        "diff",
        help="the access change between a base config (git ref or directory) and the working tree",
        description=DESCRIPTION,
        epilog=f"categories:\n{categories}\n\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base", required=True, help="git ref (branch, tag, commit) or directory of the base config")
    parser.add_argument("--head", help="git ref of the head (default: the working tree of --project-dir)")
    parser.add_argument(
        "--head-snapshot",
        type=Path,
        help="the head's stacks as printed by `python -m access diff-snapshot` with the head's own code "
        "(read as data: this process then never runs the head's code)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stack", help="one stack (Pulumi.<stack>.yaml); default: every stack")
    which.add_argument("--all", action="store_true", help="every stack (the default)")
    parser.add_argument("--format", choices=FORMATS, default="markdown")
    parser.add_argument(
        "--fail-on",
        default=",".join(CATEGORIES),
        help=f"categories that make the exit code 1 (default: all: {','.join(CATEGORIES)}; 'none' never fails)",
    )
    parser.add_argument("--max-bytes", type=int, help="cut the markdown to this many bytes, the least important first")
    parser.add_argument(
        "--report-dir",
        type=Path,
        help=f"also write access-diff.md (complete), access-diff.json and comment.md (at most {COMMENT_BUDGET} bytes)",
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.set_defaults(func=run)
    side.register(sub)


def run(args: argparse.Namespace) -> int:
    from access.errors import UsageError

    fail_on = parse_fail_on(args.fail_on)
    if args.max_bytes is not None and args.max_bytes < 2000:
        raise UsageError(f"--max-bytes {args.max_bytes}: too small for a verdict and a summary (at least 2000)")
    result = diff_stacks(args.base, args.project_dir, args.stack, args.head, args.head_snapshot)
    if args.report_dir is not None:
        args.report_dir.mkdir(parents=True, exist_ok=True)
        (args.report_dir / "access-diff.md").write_text(markdown(result, fail_on))
        (args.report_dir / "access-diff.json").write_text(
            json.dumps(document(result, fail_on), indent=2, sort_keys=True) + "\n"
        )
        (args.report_dir / "comment.md").write_text(markdown(result, fail_on, COMMENT_BUDGET))
    if args.format == "json":
        print(json.dumps(document(result, fail_on), indent=2, sort_keys=True))
    elif args.format == "text":
        print(text(result, fail_on), end="")
    else:
        print(markdown(result, fail_on, args.max_bytes), end="")
    return EXIT_DANGEROUS if dangerous(result, fail_on) else 0
