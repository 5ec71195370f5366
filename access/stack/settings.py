"""The stack's selectors as the engine hands them to a process it runs: the program, or the policy pack.

Pulumi gives both the stack's config (``pulumi.Config``) and its name (``pulumi.get_stack()``): the program's from
the language host, the pack's from the engine's ``ConfigureStack`` call (``policy/__main__.py`` puts them into the
runtime) or, with older engines, ``PULUMI_CONFIG`` and ``PULUMI_STACK``. Only pulumi is imported here, so the
pack can read the same settings without loading the providers' SDKs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi

from access.core import stack_settings as stack_config
from access.core.stack_settings import StackSettings


def read_settings(project_dir: Path | None = Path(".")) -> StackSettings:
    """The stack's settings from the engine's config. With ``project_dir`` (the program: the CLI runs it in the
    project directory) the stack file's own keys and types are checked too."""
    stack = pulumi.get_stack()
    values: dict[str, Any] = {}
    if project_dir is not None:
        # The engine hands the program only the keys it asks for, so a misspelt access:* key in the stack file
        # would silently fall back to its default: check the file's keys too.
        stack_file = project_dir / f"Pulumi.{stack}.yaml"
        if os.path.lexists(stack_file):
            values = stack_config.read_stack_file(project_dir, stack)
        # The engine's values below are strings whatever the file says (42 becomes "42"): check the file's own types.
        stack_config.check_types(stack, values)
    access = pulumi.Config("access")
    for key in stack_config.KEYS:
        value = access.get(key)
        if value is not None:
            values[f"access:{key}"] = value
    aws_config = pulumi.Config("aws")
    for key in ("region", "allowedAccountIds"):
        value = aws_config.get(key)
        if value is not None:
            values[f"aws:{key}"] = value
    return stack_config.parse(stack, values)
