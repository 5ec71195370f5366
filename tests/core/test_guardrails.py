"""Guardrails (access/guardrails.py) and the policy pack adapters over them (policy/__main__.py).

The checks must pass everything the real program declares (no false alarms on our own stacks) and catch
each mistake they exist for, with the exact message a reviewer reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from policyuniverse.policy import Policy as UniversePolicy
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from access.core import guardrails
from access.core.guardrails import (
    ACCESS_ENTRY,
    ACCESS_POLICY_ASSOCIATION,
    AWS_AUTH_PATCHED_NOT_OWNED,
    CLUSTER_ADMIN_ONLY_FOR_ADMINS,
    CLUSTER_ROLE_BINDING,
    CONFIG_MAP,
    CONFIG_MAP_PATCH,
    NO_HUMANS_IN_SYSTEM_GROUPS,
    NO_WILDCARD_TRUST,
    ROLE,
    ROLE_BINDING,
    Finding,
    GuardrailSettings,
    check_resource,
    settings_from_org,
    trust_policy_findings,
)
from access.core.model import Organisation
from access.core.sensitivity import CLUSTER_ADMIN_POLICY
from access.stack.offline import run_program
from tests.helpers import REPO, ConfigTree, load_policy_pack

ACCOUNT = "111122223333"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/eks-prod-break-glass"
SETTINGS = GuardrailSettings(
    admin_groups=frozenset({"eks-access:cluster-admins"}), break_glass_arns=frozenset({BREAK_GLASS})
)
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def aws_auth(map_roles: str | None = None, map_users: str | None = None, namespace: str | None = "kube-system") -> dict:
    data = {k: v for k, v in (("mapRoles", map_roles), ("mapUsers", map_users)) if v is not None}
    metadata: dict[str, str] = {"name": "aws-auth"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"metadata": metadata, "data": data}


def entry(arn: str, username: str, *groups: str) -> str:
    lines = [f"- rolearn: {arn}", f"  username: {username}", "  groups:"]
    return "\n".join(lines + [f"    - {g}" for g in groups]) + "\n"


NODES = entry(
    f"arn:aws:iam::{ACCOUNT}:role/eks-nodes",
    "system:node:{{EC2PrivateDNSName}}",
    "system:bootstrappers",
    "system:nodes",
)
FARGATE = entry(
    f"arn:aws:iam::{ACCOUNT}:role/fargate",
    "system:node:{{SessionName}}",
    "system:bootstrappers",
    "system:nodes",
    "system:node-proxier",
)
WINDOWS = entry(
    f"arn:aws:iam::{ACCOUNT}:role/windows",
    "system:node:{{EC2PrivateDNSName}}",
    "system:bootstrappers",
    "system:nodes",
    "eks:kube-proxy-windows",
)


# --- the real program passes ----------------------------------------------------------------------------------


def test_settings_from_the_sample_org(sample_org: Organisation) -> None:
    assert settings_from_org(sample_org) == SETTINGS


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_resource_the_program_declares_passes(stack: str, sample_org: Organisation) -> None:
    run = run_program(REPO, stack)
    settings = settings_from_org(sample_org)
    findings = [(r.type, r.name, f) for r in run.created() for f in check_resource(r.type, r.inputs, settings)]
    assert findings == []
    # Not vacuous: the stack declares what the rules look at.
    checked = {r.type for r in run.created()} & {t for types, _ in guardrails.RULES.values() for t in types}
    expected = {ROLE, ROLE_BINDING, CLUSTER_ROLE_BINDING}
    expected |= {CONFIG_MAP_PATCH} if stack != "prod" else {ACCESS_ENTRY, ACCESS_POLICY_ASSOCIATION}
    assert expected <= checked


def test_github_oidc_deployer_and_trusted_principals_pass(tree: ConfigTree) -> None:
    def github_ci(data: dict[str, Any]) -> None:
        data["ci"]["gha"] = {
            "github": {"repository": "acme/payments", "branch": "main"},
            "deploys": {"projecta": ["dev"]},
        }

    tree.edit("access.yaml", github_ci)
    tree.edit(
        "settings.yaml",
        lambda d: d["roles"].update(trusted_principals=[f"arn:aws:iam::{ACCOUNT}:role/sso-admins"]),
    )
    run = run_program(tree.project(), "dev")
    roles = run.of_type(ROLE)
    assert "gha-dev-deployer" in {r.inputs["name"] for r in roles}
    for role in roles:
        assert trust_policy_findings(role.inputs["assumeRolePolicy"]) == [], role.name
        assert not UniversePolicy(json.loads(role.inputs["assumeRolePolicy"])).is_internet_accessible()


# --- trust policies -------------------------------------------------------------------------------------------

WILDCARDS = [
    (allow("*"), 'statement 0: Principal "*" lets any AWS account assume the role'),
    (allow({"AWS": "*"}), 'statement 0: Principal AWS "*" is a wildcard; name the exact principal'),
    (
        allow({"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]}),
        'statement 0: Principal AWS "*" is a wildcard; name the exact principal',
    ),
    (
        allow({"AWS": "arn:aws:iam::*:root"}, Sid="AnyAccount"),
        'statement AnyAccount: Principal AWS "arn:aws:iam::*:root" is a wildcard; name the exact principal',
    ),
]


@pytest.mark.parametrize(("statement", "message"), WILDCARDS)
def test_wildcard_principals_are_refused(statement: dict[str, Any], message: str) -> None:
    document = trust(statement)
    assert trust_policy_findings(document) == [message]
    # policyuniverse, an independent checker, agrees these are open to any account.
    assert UniversePolicy(json.loads(document)).is_internet_accessible()


def test_wildcard_role_name_inside_the_account_is_refused_too() -> None:
    assert trust_policy_findings(trust(allow({"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"}))) == [
        f'statement 0: Principal AWS "arn:aws:iam::{ACCOUNT}:role/*" is a wildcard; name the exact principal'
    ]


def test_not_principal_in_an_allow_is_refused() -> None:
    statement = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    assert trust_policy_findings(trust(statement)) == [
        "statement 0: Allow with NotPrincipal trusts every principal except the ones listed"
    ]


def test_deny_statements_and_exact_principals_pass() -> None:
    document = trust(
        allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root", "Service": "pods.eks.amazonaws.com"}),
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
    )
    assert trust_policy_findings(document) == []
    assert trust_policy_findings(json.loads(document)) == []


def test_github_oidc_must_pin_a_repository() -> None:
    def github(condition: dict[str, Any] | None) -> str:
        statement = {"Effect": "Allow", "Principal": {"Federated": GITHUB}, "Action": "sts:AssumeRoleWithWebIdentity"}
        if condition is not None:
            statement["Condition"] = condition
        return trust(statement)

    aud = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert trust_policy_findings(github({"StringEquals": aud})) == [
        "statement 0: trusts GitHub's OIDC provider without a token.actions.githubusercontent.com:sub condition: "
        "any GitHub workflow may assume it"
    ]
    assert trust_policy_findings(
        github({"StringEquals": aud, "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/*:*"}})
    ) == [
        'statement 0: token.actions.githubusercontent.com:sub "repo:acme/*:*" does not pin one repository '
        "(repo:<owner>/<name>:...)"
    ]
    pinned = {"token.actions.githubusercontent.com:sub": "repo:acme/payments:ref:refs/heads/main"}
    assert trust_policy_findings(github({"StringEquals": {**aud, **pinned}})) == []
    any_ref = {"token.actions.githubusercontent.com:sub": "repo:acme/payments:*"}
    assert trust_policy_findings(github({"StringLike": any_ref})) == []


def test_unreadable_trust_policy_is_a_finding() -> None:
    assert trust_policy_findings("{not json") == [
        "assumeRolePolicy is not valid JSON (Expecting property name enclosed in double quotes at character 1)"
    ]
    assert trust_policy_findings(None) == ["assumeRolePolicy is not a policy document"]


# --- system:* groups ------------------------------------------------------------------------------------------


def test_node_entries_and_the_configured_break_glass_pass() -> None:
    break_glass = entry(BREAK_GLASS, "break-glass:{{SessionName}}", "system:masters")
    humans = entry(f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans", "projecta:dev:{{SessionName}}", "projecta:dev")
    props = aws_auth(NODES + FARGATE + WINDOWS + humans + break_glass)
    assert check_resource(CONFIG_MAP_PATCH, props, SETTINGS) == []


def test_break_glass_is_only_the_configured_role() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/someone-elses-admin"
    props = aws_auth(NODES + entry(other, "break-glass:{{SessionName}}", "system:masters"))
    assert check_resource(CONFIG_MAP_PATCH, props, SETTINGS) == [
        Finding(
            NO_HUMANS_IN_SYSTEM_GROUPS,
            f"aws-auth mapRoles maps {other} to system:masters: only node roles and the cluster's break_glass_role "
            "may be in system:* (people get their own groups, bound by RBAC)",
        )
    ]
    # Without config the pack allows no break-glass role at all (fails closed).
    assert (
        len(check_resource(CONFIG_MAP_PATCH, aws_auth(entry(BREAK_GLASS, "b", "system:masters")), GuardrailSettings()))
        == 1
    )


def test_a_node_entry_with_an_extra_group_is_not_a_node_entry() -> None:
    sneaky = entry(
        f"arn:aws:iam::{ACCOUNT}:role/eks-nodes",
        "system:node:{{EC2PrivateDNSName}}",
        "system:nodes",
        "system:masters",
    )
    (finding,) = check_resource(CONFIG_MAP_PATCH, aws_auth(sneaky), SETTINGS)
    assert finding.message.startswith(
        f"aws-auth mapRoles maps arn:aws:iam::{ACCOUNT}:role/eks-nodes to "
        "username system:node:{{EC2PrivateDNSName}}, system:nodes, system:masters:"
    )


def test_humans_in_system_groups_are_refused_in_map_roles_and_map_users() -> None:
    human = entry(f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans", "projecta:{{SessionName}}", "system:masters")
    user = f"- userarn: arn:aws:iam::{ACCOUNT}:user/nico\n  username: nico\n  groups:\n    - system:masters\n"
    findings = check_resource(CONFIG_MAP_PATCH, aws_auth(NODES + human, user), SETTINGS)
    assert [f.message.split(":", 1)[0] for f in findings] == [
        "aws-auth mapRoles maps arn",
        "aws-auth mapUsers maps arn",
    ]
    assert f"maps arn:aws:iam::{ACCOUNT}:user/nico to system:masters:" in findings[1].message
    # The same data in a ConfigMap (or with no namespace, which the provider may default) is checked too.
    assert len(check_resource(CONFIG_MAP, aws_auth(human, namespace=None), SETTINGS)) == 2  # + ownership
    assert check_resource(CONFIG_MAP_PATCH, aws_auth(human, namespace="default"), SETTINGS) == []


def test_map_roles_the_authenticator_would_drop_is_refused() -> None:
    (finding,) = check_resource(CONFIG_MAP_PATCH, aws_auth("- rolearn: [unclosed\n"), SETTINGS)
    assert finding.rule == NO_HUMANS_IN_SYSTEM_GROUPS
    assert finding.message.startswith("aws-auth mapRoles would not be read by aws-iam-authenticator: live aws-auth")


def test_bindings_never_name_system_groups() -> None:
    binding = {
        "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [
            {"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"},
            {"kind": "ServiceAccount", "name": "deployer", "namespace": "projecta-dev"},
            {"kind": "Group", "name": "projecta:dev", "apiGroup": "rbac.authorization.k8s.io"},
        ],
    }
    assert check_resource(ROLE_BINDING, binding, SETTINGS) == [
        Finding(
            NO_HUMANS_IN_SYSTEM_GROUPS,
            "binds group system:authenticated: every identity in a system:* group (for system:authenticated, every "
            "person) would get this role; eks-access binds only its own groups",
        )
    ]


def test_access_entries_never_use_system_names() -> None:
    props = {"principalArn": "arn:aws:iam::1:role/x", "kubernetesGroups": ["system:masters"], "userName": "x"}
    assert [f.message for f in check_resource(ACCESS_ENTRY, props, SETTINGS)] == [
        "access entry for arn:aws:iam::1:role/x uses system:masters: EKS rejects system:* names in access entries "
        "and no person belongs in them"
    ]
    node = {"principalArn": "arn:aws:iam::1:role/nodes", "type": "EC2_LINUX"}
    assert check_resource(ACCESS_ENTRY, node, SETTINGS) == []


# --- cluster-admin ----------------------------------------------------------------------------------------------


def cluster_admin_binding(*subjects: dict[str, str]) -> dict[str, Any]:
    return {
        "roleRef": {"kind": "ClusterRole", "name": "cluster-admin", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": list(subjects),
    }


def test_cluster_admin_is_for_the_admin_group_only() -> None:
    admins = {"kind": "Group", "name": "eks-access:cluster-admins", "apiGroup": "rbac.authorization.k8s.io"}
    assert check_resource(CLUSTER_ROLE_BINDING, cluster_admin_binding(admins), SETTINGS) == []
    alice = {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}
    team = {"kind": "Group", "name": "projecta:dev", "apiGroup": "rbac.authorization.k8s.io"}
    assert [
        f.message for f in check_resource(CLUSTER_ROLE_BINDING, cluster_admin_binding(admins, alice, team), SETTINGS)
    ] == [
        "binds cluster-admin to User alice; only the admin group (eks-access:cluster-admins) may have it",
        "binds cluster-admin to Group projecta:dev; only the admin group (eks-access:cluster-admins) may have it",
    ]
    view = {**cluster_admin_binding(team), "roleRef": {"kind": "ClusterRole", "name": "view"}}
    assert check_resource(CLUSTER_ROLE_BINDING, view, SETTINGS) == []


def test_eks_cluster_admin_policy_is_for_break_glass_only() -> None:
    association = {"policyArn": CLUSTER_ADMIN_POLICY, "principalArn": BREAK_GLASS, "accessScope": {"type": "cluster"}}
    assert check_resource(ACCESS_POLICY_ASSOCIATION, association, SETTINGS) == []
    humans = f"arn:aws:iam::{ACCOUNT}:role/projecta-prod-humans"
    assert check_resource(ACCESS_POLICY_ASSOCIATION, {**association, "principalArn": humans}, SETTINGS) == [
        Finding(
            CLUSTER_ADMIN_ONLY_FOR_ADMINS,
            f"associates AmazonEKSClusterAdminPolicy with {humans}; only a cluster's break_glass_role may have it "
            "(admins get the admin group, bound to cluster-admin by RBAC)",
        )
    ]


# --- aws-auth ownership -----------------------------------------------------------------------------------------


def test_aws_auth_is_never_owned_by_a_config_map_resource() -> None:
    owned = check_resource(CONFIG_MAP, aws_auth(NODES), SETTINGS)
    assert owned == [
        Finding(
            AWS_AUTH_PATCHED_NOT_OWNED,
            "declares kube-system/aws-auth as a ConfigMap resource: it would overwrite the entries EKS adds for node "
            "roles and delete the map on destroy, cutting every node off; patch it with ConfigMapPatch instead",
        )
    ]
    assert check_resource(CONFIG_MAP_PATCH, aws_auth(NODES), SETTINGS) == []
    other = {"metadata": {"name": "app-settings", "namespace": "kube-system"}, "data": {"mapRoles": "- x"}}
    assert check_resource(CONFIG_MAP, other, SETTINGS) == []


# --- the policy pack adapters -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pack() -> ModuleType:
    return load_policy_pack()


def analyze(pack: ModuleType, resource_type: str, props: dict[str, Any], settings: GuardrailSettings) -> list[Any]:
    """Run the pack the way the engine does: an AnalyzeRequest through pulumi-policy's servicer."""
    servicer = _PolicyAnalyzerServicer(
        pack.PACK_NAME,
        "1.0.0",
        pack.policies(settings),
        EnforcementLevel.MANDATORY,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
    request = proto.AnalyzeRequest(
        type=resource_type,
        urn=f"urn:pulumi:dev::eks-access::{resource_type}::example",
        name="example",
        properties=json_format.ParseDict(props, struct_pb2.Struct()),
    )
    return list(servicer.Analyze(request, None).diagnostics)


def test_pack_registers_one_mandatory_policy_per_rule(pack: ModuleType) -> None:
    policies = pack.policies(SETTINGS)
    assert [p.name for p in policies] == list(guardrails.RULES)
    assert {p.enforcement_level for p in policies} == {EnforcementLevel.MANDATORY}


def test_pack_reports_findings_as_mandatory_violations(pack: ModuleType) -> None:
    (diagnostic,) = analyze(pack, ROLE, {"assumeRolePolicy": trust(allow("*"))}, SETTINGS)
    assert diagnostic.policyName == NO_WILDCARD_TRUST
    # pulumi-policy prefixes the policy's description to each violation.
    description = guardrails.RULES[NO_WILDCARD_TRUST][1]
    assert diagnostic.message == f'{description}\nstatement 0: Principal "*" lets any AWS account assume the role'
    assert diagnostic.enforcementLevel == proto.analyzer_pb2.MANDATORY
    assert (
        analyze(pack, ROLE, {"assumeRolePolicy": trust(allow({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))}, SETTINGS) == []
    )


def test_pack_checks_only_the_types_a_rule_covers(pack: ModuleType) -> None:
    props = aws_auth(NODES)
    assert [d.policyName for d in analyze(pack, CONFIG_MAP, props, SETTINGS)] == [AWS_AUTH_PATCHED_NOT_OWNED]
    assert analyze(pack, CONFIG_MAP_PATCH, props, SETTINGS) == []


def test_pack_cannot_judge_unknown_values_and_says_so(pack: ModuleType) -> None:
    (diagnostic,) = analyze(pack, ROLE, {"assumeRolePolicy": UNKNOWN_STRING_VALUE}, SETTINGS)
    assert diagnostic.enforcementLevel == proto.analyzer_pb2.ADVISORY
    assert "can't run policy 'no-wildcard-trust-principal'" in diagnostic.message
    assert "string value at .assumeRolePolicy can't be known during preview" in diagnostic.message


def test_pack_settings_come_from_config_and_fail_closed(pack: ModuleType, tmp_path: Path) -> None:
    assert pack.load_settings(REPO / "config") == SETTINGS
    assert pack.load_settings(tmp_path / "missing") == GuardrailSettings()
