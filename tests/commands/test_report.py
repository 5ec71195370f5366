"""`python -m access plan`: the text and markdown a person reads show the plan's real content."""

from __future__ import annotations

import pytest

from access.commands.cli import main
from tests.helpers import REPO

OPERATE_RULES = (
    "create,get pods/exec; get pods/log; get,list,watch apps/daemonsets apps/deployments apps/replicasets "
    "apps/statefulsets batch/cronjobs batch/jobs discovery.k8s.io/endpointslices endpoints events events.k8s.io/events "
    "pods services"
)


def plan_output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["plan", "--project-dir", str(REPO), *args]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_markdown_rows_name_person_role_identity_and_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    out = plan_output(capsys, "--stack", "dev", "--format", "markdown")
    lines = out.splitlines()
    assert lines[0] == "### eks-access plan: `dev`"
    assert lines[2] == (
        "Environment **dev**, account `111122223333`, cluster `eks-dev` (auth mode `config_map`), 33 resources."
    )
    assert "| `aws:iam/role:Role` | 5 |" in lines
    assert "| `aws:iam/userGroupMembership:UserGroupMembership` | 5 |" in lines
    assert (
        f"| `alice` | `projecta-dev-humans` | `projecta:dev:alice` | `projecta:dev` | `projecta-dev` | `operate` | "
        f"`{OPERATE_RULES}` |"
    ) in lines
    assert (
        "| `erin` | `dev-cluster-admins` | `cluster-admin:erin` | `eks-access:cluster-admins` | `*` | "
        "`cluster-admin` | `everything (cluster-admin)` |"
    ) in lines
    # carol (search) never reaches projecta
    assert not [line for line in lines if line.startswith("| `carol` |") and "projecta" in line]
    map_roles = out[out.index("```yaml") + len("```yaml\n") : out.index("```", out.index("```yaml") + 3)]
    assert map_roles.startswith(
        "- rolearn: 'arn:aws:iam::111122223333:role/eks-dev-nodes'\n"
        "  username: 'system:node:{{EC2PrivateDNSName}}'\n"
        "  groups:\n"
        "    - 'system:bootstrappers'\n"
        "    - 'system:nodes'\n"
    )


def test_text_shows_resources_mapping_rbac_and_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    out = plan_output(capsys, "--stack", "dev")
    assert out.startswith(
        "eks-access plan stack dev: environment dev, account 111122223333, cluster eks-dev (auth mode config_map, "
        "cluster source existing)\n"
    )
    for expected in (
        "Resources (33)",
        "aws-auth mapRoles (patched in place, never deleted)",
        "  username: 'projecta:dev:{{SessionName}}'",
        "RoleBinding/projecta-dev/eks-access:humans:operate",
        "ClusterRole eks-access:dev:operate -> Group projecta:dev",
        "Effective access (who can do what, where)",
        "│ alice ",
        "projecta:dev:alice",
        "dev-monitoring",  # the role the monitoring system assumes
    ):
        assert expected in out, expected


def test_api_stack_shows_access_entries_not_map_roles(capsys: pytest.CaptureFixture[str]) -> None:
    out = plan_output(capsys, "--stack", "prod")
    assert "EKS access entries" in out
    assert "aws-auth mapRoles" not in out
    assert "AmazonEKSClusterAdminPolicy" in out  # the break-glass entry's policy association
