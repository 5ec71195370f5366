"""Kubernetes RBAC: namespaces, levels, bindings, cluster-wide roles and CI; every manifest schema-valid.

kubernetes-validate (strict: unknown fields refused) is the independent checker for the manifests,
against Kubernetes 1.30, the oldest version in EKS standard support when this was written.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import kubernetes_validate
import pytest

from access.core import awsauth, names
from access.core.catalog import BUILTIN_LEVELS
from access.core.evaluate.types import expand
from access.core.model import AuthMode, Organisation, PolicyRule
from access.core.plan import rbac
from access.core.plan.environment import plan_environment
from access.core.plan.types import EnvironmentPlan
from access.core.sensitivity import rules_sensitivity
from access.errors import ConfigError
from tests.golden import GOLDEN_DIR, STACKS, check_golden, stack_plan, to_yaml
from tests.helpers import ConfigTree

KUBERNETES_VERSION = "1.30"
RBAC_GROUP = "rbac.authorization.k8s.io"
ALL_MODES = list(AuthMode)


def all_plans(org: Organisation) -> list[EnvironmentPlan]:
    return [plan_environment(org, env, mode) for env in sorted(org.environments) for mode in ALL_MODES]


def of_kind(plan: EnvironmentPlan, kind: str) -> list[dict[str, Any]]:
    return [m for m in plan.manifests if m["kind"] == kind]


def rules(level: str) -> list[dict[str, list[str]]]:
    return rbac.rules_manifest(BUILTIN_LEVELS[level].rules)


# --- golden and schema ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_manifests_per_stack_match_golden_file(sample_org: Organisation, stack: str) -> None:
    check_golden(f"{stack}/manifests.yaml", to_yaml(*stack_plan(sample_org, stack).manifests))


def test_every_manifest_is_valid_for_kubernetes_strictly(sample_org: Organisation) -> None:
    checked = 0
    for plan in all_plans(sample_org):
        documents = list(plan.manifests)
        if plan.map_roles:
            merged = awsauth.merge(plan.map_roles, plan.map_users, None, None, "eks-access/x", ())
            documents.append(awsauth.configmap_manifest(merged))
        for manifest in documents:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
            checked += 1
    assert checked > 100


def test_custom_level_manifests_are_valid_too(tree: ConfigTree) -> None:
    level = {
        "rules": [
            {"api_groups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"api_groups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch", "get"]},
        ]
    }

    def grant_scaler(data: dict[str, Any]) -> None:
        data["levels"] = {"scaler": level}
        data["grants"]["payments"]["projecta"]["dev"] = "scaler"

    tree.edit("access.yaml", grant_scaler)
    plan = plan_environment(tree.load(), "dev")
    role = next(m for m in of_kind(plan, "ClusterRole") if m["metadata"]["name"] == "eks-access:dev:scaler")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
    ]
    kubernetes_validate.validate(role, KUBERNETES_VERSION, strict=True)


def test_the_validator_catches_a_misspelt_field(sample_org: Organisation) -> None:
    """A negative control: strict validation really refuses what Kubernetes would drop or reject."""
    binding = dict(of_kind(plan_environment(sample_org, "dev"), "RoleBinding")[0])
    binding["roleref"] = binding.pop("roleRef")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(binding, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("stack", STACKS)
def test_golden_manifests_pass_the_kubernetes_validate_cli(stack: str) -> None:
    files = [GOLDEN_DIR / stack / "manifests.yaml"]
    if (GOLDEN_DIR / stack / "aws-auth.yaml").exists():
        files.append(GOLDEN_DIR / stack / "aws-auth.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "INFO" in result.stdout and "ERROR" not in result.stdout


# --- namespaces ------------------------------------------------------------------------------------------------------


def test_a_labelled_namespace_per_project_environment(sample_org: Organisation) -> None:
    assert of_kind(plan_environment(sample_org, "staging"), "Namespace") == [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": f"{project}-staging",
                "labels": {
                    "app.kubernetes.io/managed-by": "eks-access",
                    "eks-access/environment": "staging",
                    "eks-access/project": project,
                    "eks-access/team": team,
                },
            },
        }
        for project, team in (("projecta", "payments"), ("projectb", "search"))
    ]


def test_namespace_names_and_label_values_are_valid(sample_org: Organisation) -> None:
    for plan in all_plans(sample_org):
        for ns in of_kind(plan, "Namespace"):
            assert names.namespace_problem(ns["metadata"]["name"]) is None
            for value in ns["metadata"]["labels"].values():
                assert names.label_value_problem(value) is None


def test_invalid_label_value_is_refused(tree: ConfigTree) -> None:
    long_team = "t" * 64
    tree.edit("teams.yaml", lambda d: d["teams"].update({long_team: {"members": ["zed"]}}))
    tree.edit("projects.yaml", lambda d: d["projects"]["projecta"].update(owner=long_team))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert "label value" in str(error.value) and "at most 63 characters" in str(error.value)


# --- levels ----------------------------------------------------------------------------------------------------------


# The seeds' "human users" Role (seeds/004), extensions group dropped: operate grants at least this.
SEED_HUMAN_USERS = (
    PolicyRule(("",), ("services",), ("get",)),
    PolicyRule(("apps",), ("deployments",), ("get",)),
    PolicyRule(("batch",), ("cronjobs", "jobs"), ("get",)),
    PolicyRule(("",), ("pods",), ("get", "list")),
    PolicyRule(("",), ("pods/exec",), ("create",)),
    PolicyRule(("",), ("pods/log",), ("get",)),
)


def test_operate_is_the_seeds_human_users_role_plus_the_reads_kubectl_needs() -> None:
    operate = expand(BUILTIN_LEVELS["operate"].rules, "ns")
    assert expand(SEED_HUMAN_USERS, "ns") <= operate
    assert rules("operate") == [
        {
            "apiGroups": [""],
            "resources": ["endpoints", "events", "pods", "services"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
        {
            "apiGroups": ["apps"],
            "resources": ["daemonsets", "deployments", "replicasets", "statefulsets"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": ["batch"], "resources": ["cronjobs", "jobs"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    ]
    # a shell, and nothing written
    assert {p.verb for p in operate if p.resource != "pods/exec"} == {"get", "list", "watch"}


def test_view_reads_workloads_and_never_secrets_or_shells() -> None:
    view = rules("view")
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in view)
    granted = {(g, res) for r in view for g in r["apiGroups"] for res in r["resources"]}
    assert {("", "pods"), ("", "pods/log"), ("apps", "deployments"), ("batch", "jobs"), ("", "services")} <= granted
    assert not {res for _, res in granted} & {"secrets", "pods/exec", "pods/attach", "pods/portforward", "*"}


def test_deploy_writes_workloads_and_release_secrets_without_rbac_exec_or_tokens() -> None:
    deploy = rules("deploy")
    write = ["create", "delete", "get", "list", "patch", "update", "watch"]
    core = next(r for r in deploy if "secrets" in r["resources"])
    assert core == {
        "apiGroups": [""],
        "resources": ["configmaps", "persistentvolumeclaims", "pods", "secrets", "serviceaccounts", "services"],
        "verbs": write,
    }
    for rule in deploy:
        assert RBAC_GROUP not in rule["apiGroups"] and "*" not in rule["apiGroups"] and "*" not in rule["verbs"]
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"])
        assert not {"pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token", "nodes/proxy"} & set(
            rule["resources"]
        )
    assert {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments", "statefulsets"], "verbs": write} in deploy


def test_admin_binds_the_builtin_admin_cluster_role_in_the_namespace(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(dev="admin"))
    plan = plan_environment(tree.load(), "dev")
    binding = next(m for m in of_kind(plan, "RoleBinding") if m["metadata"]["name"] == "eks-access:humans:admin")
    assert binding["metadata"]["namespace"] == "projecta-dev"
    assert binding["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "admin"}
    assert "eks-access:dev:admin" not in {m["metadata"]["name"] for m in of_kind(plan, "ClusterRole")}


# --- bindings --------------------------------------------------------------------------------------------------------


def test_human_binding_exactly(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "dev")
    binding = next(m for m in of_kind(plan, "RoleBinding") if m["metadata"]["name"] == "eks-access:humans:operate")
    assert binding == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": "eks-access:humans:operate",
            "namespace": "projecta-dev",
            "labels": {"app.kubernetes.io/managed-by": "eks-access", "eks-access/level": "operate"},
        },
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "eks-access:dev:operate"},
        "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": "projecta:dev"}],
    }


def test_one_cluster_role_per_level_per_environment(sample_org: Organisation) -> None:
    """Bound by RoleBindings, a ClusterRole grants only in each binding's namespace; one object per level."""
    plan = plan_environment(sample_org, "dev")
    roles = {m["metadata"]["name"]: m for m in of_kind(plan, "ClusterRole")}
    assert roles["eks-access:dev:operate"] == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": "eks-access:dev:operate",
            "labels": {
                "app.kubernetes.io/managed-by": "eks-access",
                "eks-access/environment": "dev",
                "eks-access/level": "operate",
            },
        },
        "rules": rules("operate"),
    }
    assert of_kind(plan, "Role") == []
    refs = {(m["metadata"]["namespace"], m["roleRef"]["name"]) for m in of_kind(plan, "RoleBinding")}
    assert refs == {
        ("projecta-dev", "eks-access:dev:operate"),
        ("projectb-dev", "eks-access:dev:operate"),
        ("projecta-dev", "eks-access:dev:ci:jenkins"),
        ("projectb-dev", "eks-access:dev:ci:jenkins"),
    }


def test_environments_sharing_a_cluster_own_their_cluster_roles(tree: ConfigTree) -> None:
    """Per-environment names: each stack owns what its bindings reference, so stacks stay independent."""

    def share(data: dict[str, Any]) -> None:
        data["environments"]["staging"]["cluster"] = "dev"
        data["clusters"]["dev"]["home_environment"] = "dev"
        del data["clusters"]["staging"]

    tree.edit("environments.yaml", share)
    org = tree.load()
    dev, staging = (plan_environment(org, env, AuthMode.API) for env in ("dev", "staging"))
    dev_roles = {m["metadata"]["name"] for m in of_kind(dev, "ClusterRole")}
    staging_roles = {m["metadata"]["name"] for m in of_kind(staging, "ClusterRole")}
    assert staging_roles == {"eks-access:staging:operate", "eks-access:staging:ci:jenkins"}
    assert dev_roles == {"eks-access:dev:operate", "eks-access:dev:ci:jenkins", "eks-access:monitoring"}
    for plan in (dev, staging):
        own = {m["metadata"]["name"] for m in of_kind(plan, "ClusterRole")} | {"admin", "cluster-admin"}
        assert {m["roleRef"]["name"] for m in of_kind(plan, "RoleBinding")} <= own


def test_every_group_subject_is_a_group_with_the_rbac_api_group(sample_org: Organisation) -> None:
    for plan in all_plans(sample_org):
        for binding in of_kind(plan, "RoleBinding") + of_kind(plan, "ClusterRoleBinding"):
            for subject in binding["subjects"]:
                if subject["kind"] == "Group":
                    assert subject["apiGroup"] == RBAC_GROUP
                else:
                    assert subject["kind"] == "ServiceAccount" and "apiGroup" not in subject


def test_a_level_change_is_a_different_binding(tree: ConfigTree) -> None:
    """roleRef is immutable: the level is in the binding's name, so a change creates a new binding."""
    before = plan_environment(tree.load(), "prod")
    tree.edit("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(prod="operate"))
    after = plan_environment(tree.load(), "prod")

    def ids(plan: EnvironmentPlan) -> set[str]:
        return {
            rbac.manifest_id(m) for m in of_kind(plan, "RoleBinding") if m["metadata"]["namespace"] == "projecta-prod"
        }

    assert ids(before) - ids(after) == {"RoleBinding/projecta-prod/eks-access:humans:view"}
    assert ids(after) - ids(before) == {"RoleBinding/projecta-prod/eks-access:humans:operate"}


@pytest.mark.parametrize("mode", ALL_MODES)
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_mapped_group_is_bound_and_every_bound_group_is_mapped(
    sample_org: Organisation, env: str, mode: AuthMode
) -> None:
    plan = plan_environment(sample_org, env, mode)
    mapped = {g for e in plan.map_roles + plan.map_users if e.source not in ("node", "break-glass") for g in e.groups}
    mapped |= {g for e in plan.access_entries if e.type == "STANDARD" for g in e.kubernetes_groups}
    bound = {b.group for b in plan.bindings if not b.group.startswith("serviceaccount:")}
    subjects = {
        s["name"]
        for m in of_kind(plan, "RoleBinding") + of_kind(plan, "ClusterRoleBinding")
        for s in m["subjects"]
        if s["kind"] == "Group"
    }
    assert mapped == bound == subjects
    assert not any(g.startswith("system:") for g in mapped)


# --- cluster-wide ----------------------------------------------------------------------------------------------------


def test_platform_admins_get_cluster_admin_never_system_masters(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "prod")
    assert of_kind(plan, "ClusterRoleBinding")[0] == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "eks-access:cluster-admins", "labels": {"app.kubernetes.io/managed-by": "eks-access"}},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": "eks-access:cluster-admins"}],
    }
    admin = plan.role("admin")
    assert admin.kubernetes_groups == ("eks-access:cluster-admins",)


def test_monitoring_is_read_only_without_secrets_shells_or_tokens(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "dev")
    role = next(m for m in of_kind(plan, "ClusterRole") if m["metadata"]["name"] == "eks-access:monitoring")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert not resources & {
        "secrets",
        "pods/exec",
        "pods/attach",
        "pods/portforward",
        "nodes/proxy",
        "serviceaccounts/token",
        "*",
    }
    rules = tuple(PolicyRule(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"])) for r in role["rules"])
    assert rules_sensitivity(rules, cluster_wide=True) == set()
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in role["rules"])
    binding = next(m for m in of_kind(plan, "ClusterRoleBinding") if m["metadata"]["name"] == "eks-access:monitoring")
    assert binding["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "eks-access:monitoring"}
    assert binding["subjects"] == [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": "eks-access:monitoring"}]


def test_monitoring_extra_rules_cannot_add_secrets(tree: ConfigTree) -> None:
    extra = [{"api_groups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    tree.edit("access.yaml", lambda d: d["monitoring"].update(extra_rules=extra))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert "secrets" in str(error.value)


# --- CI --------------------------------------------------------------------------------------------------------------


def test_ci_is_bound_only_in_the_namespaces_it_deploys_to(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["ci"]["jenkins"]["deploys"].update(projectb=["dev"]))
    org = tree.load()
    for env, namespaces in (("dev", {"projecta-dev", "projectb-dev"}), ("prod", {"projecta-prod"})):
        plan = plan_environment(org, env)
        ci_bindings = [
            m
            for m in of_kind(plan, "RoleBinding")
            if any(s["kind"] == "Group" and s["name"] == "ci:jenkins" for s in m["subjects"])
        ]
        assert {m["metadata"]["namespace"] for m in ci_bindings} == namespaces
        ref = {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": f"eks-access:{env}:ci:jenkins"}
        assert all(m["roleRef"] == ref for m in ci_bindings)
        for crb in of_kind(plan, "ClusterRoleBinding"):
            assert "ci:jenkins" not in {s["name"] for s in crb["subjects"]}


def test_ci_service_account_has_no_token_and_only_a_namespaced_binding(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "dev")
    accounts = of_kind(plan, "ServiceAccount")
    assert accounts[0] == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "jenkins-deployer",
            "namespace": "projecta-dev",
            "labels": {"app.kubernetes.io/managed-by": "eks-access", "eks-access/ci": "jenkins"},
        },
        "automountServiceAccountToken": False,
    }
    assert [a["metadata"]["namespace"] for a in accounts] == ["projecta-dev", "projectb-dev"]
    assert of_kind(plan, "Secret") == []  # no long-lived token secrets
    # one binding per CI namespace, for the group and the ServiceAccount
    ci_bindings = [m for m in of_kind(plan, "RoleBinding") if m["metadata"]["name"].startswith("eks-access:ci:")]
    assert [m["metadata"]["namespace"] for m in ci_bindings] == ["projecta-dev", "projectb-dev"]
    assert ci_bindings[0]["subjects"] == [
        {"kind": "Group", "apiGroup": RBAC_GROUP, "name": "ci:jenkins"},
        {"kind": "ServiceAccount", "name": "jenkins-deployer", "namespace": "projecta-dev"},
    ]
    assert all(s["kind"] == "Group" for m in of_kind(plan, "ClusterRoleBinding") for s in m["subjects"])
    # `kubectl create token jenkins-deployer`, and no other ServiceAccount's token
    role = next(m for m in of_kind(plan, "ClusterRole") if m["metadata"]["name"] == "eks-access:dev:ci:jenkins")
    assert role["rules"] == [
        *rules("deploy"),
        {
            "apiGroups": [""],
            "resources": ["serviceaccounts/token"],
            "verbs": ["create"],
            "resourceNames": ["jenkins-deployer"],
        },
    ]


def test_ci_service_accounts_are_optional(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["ci"]["jenkins"].update(service_accounts=False))
    plan = plan_environment(tree.load(), "dev")
    assert of_kind(plan, "ServiceAccount") == []
    assert not any(s["kind"] == "ServiceAccount" for m in of_kind(plan, "RoleBinding") for s in m["subjects"])
    # without a ServiceAccount there is no token to mint: the CI is bound to the plain deploy level
    ci = next(m for m in of_kind(plan, "RoleBinding") if m["metadata"]["name"] == "eks-access:ci:jenkins:deploy")
    assert ci["roleRef"]["name"] == "eks-access:dev:deploy"
    assert not any("serviceaccounts/token" in r["resources"] for m in of_kind(plan, "ClusterRole") for r in m["rules"])


def test_ci_cluster_role_binding_is_refused(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["ci"]["jenkins"].update(cluster_role_binding=True))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/access.yaml: ci.jenkins.cluster_role_binding: CI deployers are bound per namespace only; "
        "a ClusterRoleBinding would reach every namespace"
    )


# --- custom rules ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        (
            {"api_groups": [""], "resources": ["configmap"], "verbs": ["get"]},
            "'configmap' is not a resource of API group 'core' (did you mean 'configmaps'?)",
        ),
        (
            {"api_groups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]},
            "grants verb 'escalate', an escalation path",
        ),
        ({"api_groups": [""], "resources": ["*"], "verbs": ["get"]}, "resource '*'"),
    ],
)
def test_custom_rules_are_checked(tree: ConfigTree, rule: dict[str, Any], fragment: str) -> None:
    tree.edit("access.yaml", lambda d: d.update(levels={"custom": {"rules": [rule]}}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert fragment in str(error.value)


def test_escalation_is_allowed_only_when_declared(tree: ConfigTree) -> None:
    rule = {"api_groups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["bind", "create"]}
    tree.edit("access.yaml", lambda d: d.update(levels={"custom": {"rules": [rule], "allow_escalation": True}}))
    assert tree.load().levels["custom"].rules[0].verbs == ("bind", "create")


def _binding_refs(plan: Any) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (m["metadata"].get("namespace", ""), m["metadata"]["name"]): (m["roleRef"]["kind"], m["roleRef"]["name"])
        for m in plan.manifests
        if m["kind"] in ("RoleBinding", "ClusterRoleBinding")
    }


@pytest.mark.parametrize(
    "change",
    [
        ("access.yaml", lambda d: d["ci"]["jenkins"].update(service_accounts=False)),
        ("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(dev="view")),
        ("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(dev="deploy")),
        ("access.yaml", lambda d: d["grants"]["payments"]["projecta"].update(dev="admin")),
    ],
    ids=["ci-service-accounts-off", "level-view", "level-deploy", "level-admin"],
)
def test_a_binding_never_keeps_its_name_with_another_role(tree: ConfigTree, change: tuple[str, Any]) -> None:
    """roleRef is immutable: a binding that kept its name would be replaced delete-first, and its subjects would
    lose access until the new one exists (for good if the apply stopped there). A changed reference is a binding of
    another name, created before the old one is deleted."""
    before = _binding_refs(plan_environment(tree.load(), "dev"))
    tree.edit(*change)
    after = _binding_refs(plan_environment(tree.load(), "dev"))
    assert before != after
    assert {key: (before[key], after[key]) for key in before.keys() & after.keys() if before[key] != after[key]} == {}


def test_bindings_of_earlier_versions_are_never_reused_for_cluster_roles(sample_org: Organisation) -> None:
    """Before one ClusterRole per level, bindings named eks-access-humans-<level> and eks-access-ci-<id> referenced
    per-namespace Roles; a binding of today may not reuse those names, or the upgrade would replace it delete-first."""
    binding_names = {name for _, name in _binding_refs(stack_plan(sample_org, "dev"))}
    assert binding_names and not {n for n in binding_names if n.startswith(("eks-access-humans-", "eks-access-ci-"))}
