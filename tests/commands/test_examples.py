"""The examples plan offline, as the docs say: `python -m access plan --project-dir examples/<name> --stack <s>`."""

from __future__ import annotations

import json

import pytest

from access.commands.cli import main
from tests.helpers import REPO


@pytest.mark.parametrize(
    ("example", "stack"),
    [
        ("identity-account", "dev"),
        ("identity-account", "prod"),
        ("identity-center", "dev"),
        ("identity-center", "prod"),
    ],
)
def test_the_example_plans(example: str, stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    project = REPO / "examples" / example
    assert main(["plan", "--project-dir", str(project), "--stack", stack, "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["environment"] == stack
    if example == "identity-account":
        assert plan["peopleAccountId"] == "111111111111" != plan["accountId"]
        assert "aws:iam/user:User" not in plan["resources"]
    else:
        assert plan["resources"]["aws:ssoadmin/permissionSet:PermissionSet"] == 2
        assert any(row["principal"] == "Identity Center group Payments" for row in plan["access"])
