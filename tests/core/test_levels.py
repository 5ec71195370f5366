"""The levels against the tools people run with them (access/core/workflows.py), the escalation set, docs/levels.md,
and the resources a stack needs at the benchmark organisation's shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from access.core import workflows
from access.core.config import load
from access.core.evaluate.types import CLUSTER_WIDE, Permission
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from access.stack.offline import run_program
from bench.make_org import OrgShape, make_org
from tests.helpers import REPO

LEVELS = workflows.level_permissions()
READING = [c.text for c in workflows.COMMANDS if c.what == workflows.READ]
DEPLOYING = [c.text for c in workflows.COMMANDS if c.what == workflows.DEPLOY]
OWN_TOKEN = f"kubectl create token {workflows.CI_SERVICE_ACCOUNT}"
EXEC = "kubectl exec -it <pod> -- sh"
HELM = [c for c in DEPLOYING if c.startswith("helm")]

EXPECTED_TO_WORK: dict[str, set[str]] = {
    "view": set(READING),
    "operate": {*READING, EXEC} - {"kubectl get configmaps"},
    "deploy": {*READING, *DEPLOYING} - {OWN_TOKEN},
    workflows.CI_COLUMN: {*READING, *DEPLOYING},
}


@pytest.mark.parametrize("level", list(EXPECTED_TO_WORK))
def test_each_level_lets_exactly_its_workflows_through(level: str) -> None:
    working = {c.text for c in workflows.COMMANDS if workflows.works(c, LEVELS[level])}
    assert working == EXPECTED_TO_WORK[level]


def test_deployers_have_what_helm_apply_and_pulumi_need() -> None:
    for level in ("deploy", workflows.CI_COLUMN):
        for verb in ("get", "list", "watch", "create", "update", "delete"):  # Helm 3's release Secrets
            assert Permission(workflows.NAMESPACE, "", "secrets", verb) in LEVELS[level]
        for verb in ("get", "create", "patch"):  # client-side apply reads the live object; SSA is a patch
            assert Permission(workflows.NAMESPACE, "apps", "deployments", verb) in LEVELS[level]
    token = Permission(workflows.NAMESPACE, "", "serviceaccounts/token", "create", (workflows.CI_SERVICE_ACCOUNT,))
    assert token in LEVELS[workflows.CI_COLUMN] and token not in LEVELS["deploy"]


ESCALATION = [
    ("create", "rbac.authorization.k8s.io/rolebindings", ""),
    ("bind", "rbac.authorization.k8s.io/roles", ""),
    ("bind", "rbac.authorization.k8s.io/clusterroles", ""),
    ("escalate", "rbac.authorization.k8s.io/roles", ""),
    ("escalate", "rbac.authorization.k8s.io/clusterroles", ""),
    ("impersonate", "serviceaccounts", ""),
    ("create", "serviceaccounts/token", ""),
    ("create", "serviceaccounts/token", "default"),
    ("create", "pods/portforward", ""),
    ("patch", "pods/ephemeralcontainers", ""),
]
CLUSTER = [("impersonate", "users"), ("impersonate", "groups"), ("get", "nodes/proxy"), ("create", "nodes/proxy")]
CLUSTER += [(verb, r) for verb in ("create", "update", "patch", "delete") for r in ("namespaces", "nodes")]
CLUSTER += [("create", "rbac.authorization.k8s.io/clusterrolebindings"), ("list", "secrets")]


@pytest.mark.parametrize("level", ["view", "operate", "deploy", workflows.CI_COLUMN])
def test_no_level_but_admin_reaches_the_escalation_set(level: str) -> None:
    for verb, resource, name in ESCALATION:
        command = workflows.Command(f"{verb} {resource}", (workflows.Request(verb, resource, name),))
        assert not workflows.works(command, LEVELS[level]), (level, verb, resource, name)


@pytest.mark.parametrize("level", list(LEVELS))
def test_no_level_writes_or_reads_anything_cluster_scoped_or_elsewhere(level: str) -> None:
    assert all(p.scope == workflows.NAMESPACE for p in LEVELS[level])
    for verb, resource in CLUSTER:
        command = workflows.Command(resource, (workflows.Request(verb, resource, namespace=CLUSTER_WIDE),))
        assert not workflows.works(command, LEVELS[level]), (level, verb, resource)
    other = workflows.command("kubectl get pods -n <other-namespace>")
    assert not workflows.works(other, LEVELS[level])


def test_a_refusal_is_named_as_can_i_asks_it() -> None:
    assert workflows.refused(workflows.command(EXEC), LEVELS["view"])[0].can_i() == "create pods --subresource=exec"
    token = workflows.command("kubectl create token default")
    assert [r.can_i() for r in workflows.refused(token, LEVELS[workflows.CI_COLUMN])] == [
        "create serviceaccounts/default --subresource=token"
    ]


def test_docs_levels_md_is_the_generator_output() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "levels_doc.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    text = (REPO / "docs" / "levels.md").read_text(encoding="utf-8")
    assert "| `helm upgrade --install <release> <chart>` | **no** | **no** | yes | yes | yes |" in text


# --- resources per project-environment ---------------------------------------------------------------------------


def planned_resources(plan: EnvironmentPlan) -> int:
    """The resources the program declares for a plan, without the components, the provider and the live read."""
    return (
        len(plan.roles)
        + len(plan.groups)
        + len(plan.group_policies)
        + len(plan.memberships)
        + len(plan.users_to_create)
        + len(plan.manifests)
        + len(plan.access_entries)
        + sum(len(e.policies) for e in plan.access_entries)
        + (1 if plan.map_roles else 0)  # the aws-auth patch
    )


NOT_PLANNED = 4  # the EnvironmentIam and ClusterAccess components, the Kubernetes provider, the live aws-auth read


def test_the_count_is_what_the_program_registers(tmp_path: Path) -> None:
    make_org(tmp_path, OrgShape(teams=6, users=20, teams_per_user=(1, 2), projects=5, environments=1, seed=7))
    plan = plan_environment(load(tmp_path / "config"), "dev")
    assert len(run_program(tmp_path, "dev").resources) == planned_resources(plan) + NOT_PLANNED


def test_at_most_five_resources_per_project_environment_at_the_benchmark_shape(tmp_path: Path) -> None:
    """bench/make_org.py --projects 1000 (200 teams, 2,000 users): <= 5 per project-environment + 1 per user + 2 per
    team, the organisation's fixed objects (admin, monitoring and CI roles, ClusterRoles, aws-auth) included."""
    shape = OrgShape(projects=1000)
    make_org(tmp_path, shape)
    plan = plan_environment(load(tmp_path / "config"), "dev")
    total = planned_resources(plan) + NOT_PLANNED
    assert total <= 5 * shape.project_environments + shape.users + 2 * shape.teams + 20
    per_project = (total - shape.users - 2 * shape.teams) / shape.project_environments
    assert per_project <= 5.02, per_project
