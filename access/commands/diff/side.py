"""``python -m access diff-snapshot``: this checkout's stacks as one side of a diff (hidden; ``diff`` runs it).

Interface (version 1, kept stable because a newer ``diff`` runs an older base's copy of it)::

    python -m access diff-snapshot --project-dir DIR [--stack NAME] [--label-prefix TEXT] [--config DIR]

prints the snapshot document of :mod:`access.commands.diff.snapshot` on standard output; bad input is one
``error:`` line on standard error and exit code 2, as for every command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from access.commands.diff.snapshot import empty_stack_document, side_document, stack_document
from access.core import config, quotas
from access.core.loading import config_location, plan_stack, read_settings
from access.core.model import Organisation


def stacks_in(project_dir: Path) -> list[str]:
    if not project_dir.is_dir():
        return []
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def side(project_dir: Path, only_stack: str | None, label_prefix: str, override: Path | None) -> dict[str, Any]:
    names = [s for s in stacks_in(project_dir) if only_stack in (None, s)]
    environments: list[str] = []
    stacks = {}
    # Stacks sharing a config directory (the usual case) share one load and one preflight.
    orgs: dict[tuple[Path, str], Organisation] = {}
    for name in names:
        settings = read_settings(project_dir, name)
        directory, label = config_location(settings, project_dir, override)
        if not directory.is_dir():
            stacks[name] = empty_stack_document(settings.environment)  # a base from before the config existed
            continue
        shown = label if override else label_prefix + label
        org = orgs.get((directory.resolve(), shown))
        if org is None:
            org = orgs[(directory.resolve(), shown)] = config.load(directory, label=shown)
            quotas.preflight(org)
        environments = environments or list(org.environments)
        if settings.environment not in org.environments:
            stacks[name] = empty_stack_document(settings.environment)
            continue
        loaded = plan_stack(settings, org)
        stacks[name] = stack_document(loaded.plan, loaded.org, settings.region, loaded.evaluation)
    return side_document(environments, stacks)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "diff-snapshot",
        description="One side of `diff`: this checkout's stacks as versioned JSON (run by `diff` itself).",
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."))
    parser.add_argument("--stack")
    parser.add_argument("--label-prefix", default="")
    parser.add_argument("--config", type=Path, default=None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    document = side(args.project_dir, args.stack, args.label_prefix, args.config)
    json.dump(document, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")
    return 0
