"""The README's plan command works on the sample organisation for every stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from access.commands.cli import main
from tests.helpers import REPO, ConfigTree


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_plan_json_for_each_stack(stack: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "access", "plan", "--stack", stack, "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    # The bytes of json.dumps(indent=2, sort_keys=True), as docs/plan-json.md promises (access/commands/jsontext.py).
    assert result.stdout == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["environment"] == stack
    role_names = {r["name"] for r in doc["roles"]}
    assert {f"projecta-{stack}-humans", f"projectb-{stack}-humans", f"{stack}-cluster-admins"} <= role_names
    assert doc["resources"]["aws:iam/role:Role"] == len(doc["roles"])


def test_stack_must_allow_only_its_environments_account(tree: ConfigTree, capsys: pytest.CaptureFixture[str]) -> None:
    """Every ARN eks-access writes comes from config's account id: credentials of another account must be refused
    by the AWS provider (aws:allowedAccountIds), and the stack file must say the same account as config."""
    project = tree.project()
    stack_file = project / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text().replace('["111122223333"]', '["444455556666"]'))
    assert main(["plan", "--stack", "prod", "--project-dir", str(project)]) == 2
    assert capsys.readouterr().err == (
        "error: Pulumi.prod.yaml: config.aws:allowedAccountIds: ['444455556666'] does not match account 'main' "
        "(111122223333) of environment 'prod' in config/environments.yaml; set it to [\"111122223333\"]\n"
    )


def test_misspelt_access_key_in_the_stack_file_is_refused_by_the_program(tree: ConfigTree) -> None:
    """The engine only hands the program the keys it asks for; the program reads the stack file to catch typos."""
    from access.errors import ConfigError
    from access.stack.offline import run_program

    project = tree.project()
    stack_file = project / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text() + "  access:authmode: api\n")
    with pytest.raises(ConfigError) as error:
        run_program(project, "dev")
    assert str(error.value).startswith("Pulumi.dev.yaml: config.access:authmode: unknown key; expected one of: ")
