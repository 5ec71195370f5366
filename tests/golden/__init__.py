"""Golden files: reviewed renders of the sample organisation, one directory per stack.

A test compares its render with the file byte for byte and fails on any difference, printing a diff.
After reviewing an intended change, regenerate with ``EKS_ACCESS_UPDATE_GOLDEN=1 pytest tests`` and
commit the files with the change, so the review shows what each stack would write.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
import yaml

from access.core import stack_settings as stack_config
from access.core.model import Organisation
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from tests.helpers import REPO

GOLDEN_DIR = Path(__file__).resolve().parent
UPDATE_ENV = "EKS_ACCESS_UPDATE_GOLDEN"
STACKS = ("dev", "staging", "prod")


def check_golden(name: str, actual: str) -> None:
    """Fail unless ``actual`` equals ``tests/golden/<name>`` exactly (or rewrite it when regenerating)."""
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"golden file tests/golden/{name} is missing; create it with {UPDATE_ENV}=1")
    expected = path.read_text()
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"tests/golden/{name}",
                tofile="rendered",
            )
        )
        pytest.fail(f"render differs from tests/golden/{name}; if intended, regenerate with {UPDATE_ENV}=1\n{diff}")


class _ReviewDumper(yaml.SafeDumper):
    """Multi-line strings (mapRoles inside the ConfigMap) as literal blocks, so reviews read them as written."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReviewDumper.add_representer(str, _str)


def to_yaml(*documents: object) -> str:
    """Documents as reviewable YAML (keys in manifest order, multi-line strings as blocks)."""
    return yaml.dump_all(documents, Dumper=_ReviewDumper, sort_keys=False, default_flow_style=False, width=1000)


def stack_settings(stack: str) -> stack_config.StackSettings:
    return stack_config.parse(stack, stack_config.read_stack_file(REPO, stack))


def stack_plan(org: Organisation, stack: str) -> EnvironmentPlan:
    """The plan a stack file selects (its environment and auth mode) for the given organisation."""
    settings = stack_settings(stack)
    return plan_environment(org, settings.environment, settings.auth_mode, stack)
