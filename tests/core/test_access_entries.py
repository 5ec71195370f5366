"""EKS access entries: the plan per auth mode, and EKS's rules checked before any API call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from access.core.model import ACCESS_ENTRIES_PER_CLUSTER, AuthMode, Organisation
from access.core.plan.auth import validate_access_entries
from access.core.plan.environment import plan_environment
from access.core.plan.types import AccessEntryPlan, AccessEntryType, AccessPolicyPlan
from access.core.sensitivity import CLUSTER_ADMIN_POLICY
from access.errors import ConfigError
from tests.golden import STACKS, check_golden, stack_plan, to_yaml
from tests.helpers import ConfigTree

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"


def entries_doc(entries: Sequence[AccessEntryPlan]) -> list[dict[str, object]]:
    """Access entries with the EKS API's property names (CreateAccessEntry / AssociateAccessPolicy)."""
    return [
        {
            "principalArn": e.principal_arn,
            "type": e.type,
            **({"username": e.username} if e.username is not None else {}),
            **({"kubernetesGroups": list(e.kubernetes_groups)} if e.kubernetes_groups else {}),
            **(
                {
                    "accessPolicies": [
                        {
                            "policyArn": p.policy_arn,
                            "accessScope": {
                                "type": p.scope,
                                **({"namespaces": list(p.namespaces)} if p.namespaces else {}),
                            },
                        }
                        for p in e.policies
                    ]
                }
                if e.policies
                else {}
            ),
        }
        for e in entries
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_access_entries_per_stack_match_golden_file(sample_org: Organisation, stack: str) -> None:
    plan = stack_plan(sample_org, stack)
    if not plan.auth_mode.writes_access_entries:
        assert plan.access_entries == ()
        return
    check_golden(f"{stack}/access-entries.yaml", to_yaml(entries_doc(plan.access_entries)))


def test_prod_entries_exactly(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "prod", AuthMode.API)
    assert [(e.key, e.type, e.username, e.kubernetes_groups, e.policies) for e in plan.access_entries] == [
        ("node/eks-prod-nodes", "EC2_LINUX", None, (), ()),
        ("node/eks-prod-windows-nodes", "EC2_WINDOWS", None, (), ()),
        ("human/projecta/view", "STANDARD", "projecta:prod:{{SessionName}}", ("projecta:prod",), ()),
        ("human/projectb/view", "STANDARD", "projectb:prod:{{SessionName}}", ("projectb:prod",), ()),
        ("admin", "STANDARD", "cluster-admin:{{SessionName}}", ("eks-access:cluster-admins",), ()),
        ("monitoring", "STANDARD", "monitoring:{{SessionName}}", ("eks-access:monitoring",), ()),
        ("ci/jenkins", "STANDARD", "ci:jenkins:{{SessionName}}", ("ci:jenkins",), ()),
        (
            "break-glass",
            "STANDARD",
            "break-glass:{{SessionName}}",
            (),
            (AccessPolicyPlan(CLUSTER_ADMIN_POLICY, "cluster"),),
        ),
    ]
    assert CLUSTER_ADMIN_POLICY == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    # Each principal once; roles are this stack's (wired to the role resources), nodes and break-glass are given.
    assert len({e.principal_arn.lower() for e in plan.access_entries}) == len(plan.access_entries)
    assert [e.role_key for e in plan.access_entries if e.role_key] == [
        "human/projecta/view",
        "human/projectb/view",
        "admin",
        "monitoring",
        "ci/jenkins",
    ]


@pytest.mark.parametrize(
    ("mode", "config_map", "entries"),
    [(AuthMode.CONFIG_MAP, True, False), (AuthMode.API_AND_CONFIG_MAP, True, True), (AuthMode.API, False, True)],
)
def test_what_each_auth_mode_writes(sample_org: Organisation, mode: AuthMode, config_map: bool, entries: bool) -> None:
    plan = plan_environment(sample_org, "dev", mode)
    assert bool(plan.map_roles) is config_map
    assert bool(plan.access_entries) is entries
    if config_map and entries:
        # Both carry the same people with the same Kubernetes identities, so switching mode changes nobody's access.
        mapped = {(e.username, e.groups) for e in plan.map_roles if e.source != "node"}
        entered = {(e.username, e.kubernetes_groups) for e in plan.access_entries if e.type == "STANDARD"}
        assert mapped == entered


def test_path_is_kept_in_access_entries(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(path="/teams/"))
    plan = plan_environment(tree.load(), "prod", AuthMode.API)
    assert plan.access_entries[2].principal_arn == f"{ROLE}/teams/projecta-prod-humans"


# --- EKS's rules, before any API call ------------------------------------------------------------------------------


def standard(
    key: str = "human/p/x",
    username: str | None = "p:dev:{{SessionName}}",
    groups: tuple[str, ...] = ("p:dev",),
    arn: str = f"{ROLE}/p-dev-humans",
    policies: tuple[AccessPolicyPlan, ...] = (),
) -> AccessEntryPlan:
    return AccessEntryPlan(key, arn, None, "STANDARD", username, groups, policies)


def node(arn: str = f"{ROLE}/nodes", kind: AccessEntryType = "EC2_LINUX") -> AccessEntryPlan:
    return AccessEntryPlan("node/nodes", arn, None, kind, None, ())


def refusal(org: Organisation, *entries: AccessEntryPlan) -> str:
    with pytest.raises(ConfigError) as error:
        validate_access_entries(org, "dev", list(entries))
    return str(error.value)


def test_valid_entries_pass(sample_org: Organisation) -> None:
    validate_access_entries(sample_org, "dev", [node(), node(f"{ROLE}/fargate", "FARGATE_LINUX"), standard()])


@pytest.mark.parametrize("prefix", ["system:", "eks:", "aws:", "amazon:", "iam:"])
def test_reserved_prefixes_are_refused_in_usernames_and_groups(sample_org: Organisation, prefix: str) -> None:
    assert refusal(sample_org, standard(username=f"{prefix}x:{{{{SessionName}}}}")) == (
        f"config/settings.yaml: naming.username: Kubernetes username '{prefix}x:{{{{SessionName}}}}' starts with "
        f"{prefix!r}, "
        "which EKS reserves for itself (access entry human/p/x in eks-dev)"
    )
    assert refusal(sample_org, standard(groups=("ok", f"{prefix}team"))) == (
        f"config/settings.yaml: naming.kubernetes_group: Kubernetes group '{prefix}team' starts with {prefix!r}, "
        "which EKS reserves for itself (access entry human/p/x in eks-dev)"
    )


@pytest.mark.parametrize("username", ["p-{{SessionName}}", "{{SessionName}}", "p:dev-{{SessionName}}"])
def test_session_name_needs_a_colon_before_it(sample_org: Organisation, username: str) -> None:
    assert refusal(sample_org, standard(username=username)) == (
        f"config/settings.yaml: naming.username: Kubernetes username {username!r} needs a ':' right before "
        "{{SessionName}} (EKS rejects it otherwise) (access entry human/p/x in eks-dev)"
    )


def test_seeds_username_form_works_with_aws_auth_only(tree: ConfigTree) -> None:
    """`<project>-{{SessionName}}` (the seeds' form) is fine in aws-auth; only access entries need the ':'."""
    tree.edit("settings.yaml", lambda d: d["naming"].update({"username": "{project}-{{SessionName}}"}))
    org = tree.load()
    dev = plan_environment(org, "dev", AuthMode.CONFIG_MAP)
    assert [e.username for e in dev.map_roles if e.source == "human"] == [
        "projecta-{{SessionName}}",
        "projectb-{{SessionName}}",
    ]
    with pytest.raises(ConfigError) as error:
        plan_environment(org, "prod", AuthMode.API)
    assert str(error.value) == (
        "config/settings.yaml: naming.username: Kubernetes username 'projecta-{{SessionName}}' needs a ':' right "
        "before {{SessionName}} (EKS rejects it otherwise) (access entry human/projecta/view in eks-prod)"
    )


@pytest.mark.parametrize(
    "entry",
    [
        replace(node(), username="system:node:{{EC2PrivateDNSName}}"),
        replace(node(), kubernetes_groups=("system:nodes",)),
        replace(node(), policies=(AccessPolicyPlan(CLUSTER_ADMIN_POLICY, "cluster"),)),
    ],
)
def test_node_entries_carry_nothing_but_their_type(sample_org: Organisation, entry: AccessEntryPlan) -> None:
    assert refusal(sample_org, entry) == (
        "config/environments.yaml: clusters.dev.node_roles: node access entry node/nodes (EC2_LINUX) may not carry "
        "a username, groups or policies; EKS assigns them"
    )


def test_node_role_must_be_a_role_in_the_clusters_account(sample_org: Organisation) -> None:
    other = "arn:aws:iam::444455556666:role/nodes"
    assert refusal(sample_org, node(other)) == (
        f"config/environments.yaml: clusters.dev.node_roles: node role {other!r} must be an IAM role in the "
        "cluster's account 111122223333 for a EC2_LINUX access entry"
    )


def test_sts_session_is_not_a_principal(sample_org: Organisation) -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/p-dev-humans/alice"
    assert refusal(sample_org, standard(arn=session)) == (
        f"config/environments.yaml: clusters.dev: access entry principal {session!r} must be an IAM role or user ARN "
        "(not an STS session or a group)"
    )


def test_one_entry_per_principal(sample_org: Organisation) -> None:
    assert refusal(sample_org, node(f"{ROLE}/Shared"), standard(key="admin", arn=f"{ROLE}/shared")) == (
        f"config/environments.yaml: clusters.dev: two access entries for principal '{ROLE}/shared' "
        "(node/nodes and admin); EKS allows one entry per principal"
    )


def test_policy_rules(sample_org: Organisation) -> None:
    bad_arn = AccessPolicyPlan("arn:aws:iam::aws:policy/AdministratorAccess", "cluster")
    assert refusal(sample_org, standard(policies=(bad_arn,))) == (
        "config/environments.yaml: clusters.dev: 'arn:aws:iam::aws:policy/AdministratorAccess' is not an EKS "
        "access policy ARN"
    )
    no_namespaces = AccessPolicyPlan(CLUSTER_ADMIN_POLICY, "namespace")
    assert refusal(sample_org, standard(policies=(no_namespaces,))) == (
        "config/environments.yaml: clusters.dev: access policy scope 'namespace' of entry human/p/x: use cluster, "
        "or namespace with at least one namespace"
    )


def test_unknown_type(sample_org: Organisation) -> None:
    unknown = replace(node(), type="HYBRID")  # type: ignore[arg-type]
    assert refusal(sample_org, unknown) == (
        "config/environments.yaml: clusters.dev: unknown access entry type 'HYBRID' (node/nodes)"
    )


def test_at_most_3000_entries_per_cluster(sample_org: Organisation) -> None:
    many = [standard(key=f"k{i}", arn=f"{ROLE}/r{i}") for i in range(ACCESS_ENTRIES_PER_CLUSTER)]
    validate_access_entries(sample_org, "dev", many)
    assert refusal(sample_org, *many, node()) == (
        "config/environments.yaml: clusters.dev: cluster 'eks-dev' would need 3001 access entries; EKS allows 3000 "
        "per cluster: split projects across clusters"
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "kubernetes_group",
            "amazon:{project}",
            "config/settings.yaml: naming.kubernetes_group: Kubernetes group 'amazon:{project}' starts with 'amazon:', "
            "which EKS reserves for itself",
        ),
    ],
)
def test_bad_names_are_refused_when_config_loads(tree: ConfigTree, key: str, value: str, message: str) -> None:
    """The loader applies the same rules to the naming templates, so a bad name never reaches a preview."""
    tree.edit("settings.yaml", lambda d: d["naming"].update({key: value}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == message


def test_eks_managed_node_roles_get_no_access_entry_but_stay_in_aws_auth(tree: ConfigTree) -> None:
    """EKS creates the entries of managed node groups and Fargate profiles itself; a second create would fail."""
    tree.edit("environments.yaml", lambda d: d["clusters"]["prod"]["node_roles"][0].update({"eks_managed": True}))
    org = tree.load()
    entries = plan_environment(org, "prod", AuthMode.API_AND_CONFIG_MAP)
    node_entries = [(e.principal_arn, e.type) for e in entries.access_entries if e.key.startswith("node/")]
    assert node_entries == [(f"{ROLE}/eks-prod-windows-nodes", "EC2_WINDOWS")]
    assert [e.arn for e in entries.map_roles if e.source == "node"] == [
        f"{ROLE}/eks-prod-nodes",
        f"{ROLE}/eks-prod-windows-nodes",
    ]


def test_environments_sharing_a_cluster_declare_cluster_wide_objects_once(tree: ConfigTree) -> None:
    """EKS allows one entry per principal and a ClusterRoleBinding exists once: only the home environment's
    stack declares node and break-glass entries and cluster RBAC; the others still get those bindings."""
    from access.core.evaluate import effective_access
    from access.core.plan.rbac import manifest_id

    def share(data: dict) -> None:
        data["environments"]["staging"]["cluster"] = "prod"
        data["clusters"]["prod"]["home_environment"] = "prod"

    tree.edit("environments.yaml", share)
    org = tree.load()
    prod = plan_environment(org, "prod", AuthMode.API)
    staging = plan_environment(org, "staging", AuthMode.API)
    assert prod.owns_cluster_objects and not staging.owns_cluster_objects
    assert [e.key for e in prod.access_entries if e.role_key is None] == [
        "node/eks-prod-nodes",
        "node/eks-prod-windows-nodes",
        "break-glass",
    ]
    assert [e.key for e in staging.access_entries] == [
        "human/projecta/operate",
        "human/projectb/operate",
        "admin",
        "monitoring",
        "ci/jenkins",
    ]
    cluster_scoped = {
        "ClusterRoleBinding/eks-access:cluster-admins",
        "ClusterRole/eks-access:monitoring",
        "ClusterRoleBinding/eks-access:monitoring",
    }
    assert cluster_scoped <= {manifest_id(m) for m in prod.manifests}
    assert not cluster_scoped & {manifest_id(m) for m in staging.manifests}
    admin_rows = [r for r in effective_access(staging, org) if r.principal == "erin"]
    assert [(r.role, r.namespace, r.level) for r in admin_rows] == [("staging-cluster-admins", "*", "cluster-admin")]
    for writes_aws_auth in (AuthMode.CONFIG_MAP, AuthMode.API_AND_CONFIG_MAP):
        with pytest.raises(ConfigError) as error:
            plan_environment(org, "staging", writes_aws_auth)
        assert str(error.value) == (
            "Pulumi.staging.yaml: config.access:authMode: cluster 'eks-prod' is shared by environments prod, staging; "
            "aws-auth mapRoles has one writer, so environments sharing a cluster must use access:authMode api"
        )
