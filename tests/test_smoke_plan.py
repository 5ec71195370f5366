"""The README's plan command works on the sample organisation for every stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_plan_json_for_each_stack(stack: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "access", "plan", "--stack", stack, "--format", "json"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["environment"] == stack
    role_names = {r["name"] for r in doc["roles"]}
    assert {f"projecta-{stack}-humans", f"projectb-{stack}-humans", f"{stack}-cluster-admins"} <= role_names
    assert doc["resources"]["aws:iam/role:Role"] == len(doc["roles"])
