"""Guardrails: checks on the properties of resources a stack would declare, independent of how they were made.

The plan already refuses these mistakes; the guardrails check the result again, the way an auditor would,
on the inputs the Pulumi engine sees (camelCase property names). The policy pack in ``policy/`` is a thin
adapter over :func:`check_resource`; tests run the same checks on the resources the real program declares.

Pure: no pulumi import. Properties may be plain dicts or pulumi-policy's read-only proxies (``Mapping`` and
``Sequence``); only the properties a check needs are read, so an unknown value elsewhere does not stop it.

What property checks cannot see: whether the engine would delete or replace a resource (a policy pack sees
the desired state, never the step), and the ``retainOnDelete`` option (pulumi-policy exposes ``protect``,
``ignoreChanges``, ``deleteBeforeReplace``, aliases and timeouts only). ``access.commands.preview_guard`` covers
deletes and replacements from ``pulumi preview --json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from access.core import awsauth
from access.core.iam import GITHUB_OIDC_HOST
from access.core.model import Naming, Organisation
from access.core.plan.auth import FARGATE_USERNAME, NODE_GROUPS, NODE_USERNAME
from access.core.plan.types import MapEntry
from access.core.sensitivity import CLUSTER_ADMIN_POLICY, is_system_name
from access.errors import AwsAuthError

ROLE = "aws:iam/role:Role"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CONFIG_MAP_PATCH = "kubernetes:core/v1:ConfigMapPatch"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"

NO_WILDCARD_TRUST = "no-wildcard-trust-principal"
NO_HUMANS_IN_SYSTEM_GROUPS = "no-humans-in-system-groups"
CLUSTER_ADMIN_ONLY_FOR_ADMINS = "cluster-admin-only-for-admin-group"
AWS_AUTH_PATCHED_NOT_OWNED = "aws-auth-patched-never-owned"

# Rule -> (resource types it applies to, what it enforces). The policy pack registers one policy per rule.
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    NO_WILDCARD_TRUST: (
        (ROLE,),
        "An IAM role's trust policy names who may assume it: never '*', a wildcard ARN, NotPrincipal, or GitHub's "
        "OIDC provider without a repository-pinned sub condition.",
    ),
    NO_HUMANS_IN_SYSTEM_GROUPS: (
        (CONFIG_MAP_PATCH, CONFIG_MAP, ROLE_BINDING, CLUSTER_ROLE_BINDING, ACCESS_ENTRY),
        "Only node roles and the cluster's break-glass role are mapped to system:* groups in aws-auth; "
        "bindings never name system:* groups; access entries never use system:* names.",
    ),
    CLUSTER_ADMIN_ONLY_FOR_ADMINS: (
        (CLUSTER_ROLE_BINDING, ACCESS_POLICY_ASSOCIATION),
        "cluster-admin is bound only to the admin group; AmazonEKSClusterAdminPolicy is associated only with "
        "the break-glass role.",
    ),
    AWS_AUTH_PATCHED_NOT_OWNED: (
        (CONFIG_MAP,),
        "kube-system/aws-auth is patched (ConfigMapPatch), never owned by a ConfigMap resource, which would "
        "replace the node entries EKS writes and delete the map on destroy.",
    ),
}

# Groups node entries carry (EC2 Linux, Windows, Fargate); a node entry with any other group is not a node entry.
NODE_ENTRY_GROUPS = frozenset({*NODE_GROUPS, "system:node-proxier", "eks:kube-proxy-windows"})
NODE_USERNAMES = frozenset({NODE_USERNAME, FARGATE_USERNAME})


@dataclass(frozen=True)
class GuardrailSettings:
    """What the organisation allows by name. The defaults allow the least: the default admin group, no break-glass."""

    admin_groups: frozenset[str] = frozenset({Naming().admin_group})
    break_glass_arns: frozenset[str] = field(default_factory=frozenset)  # authenticator keys (lower, no path)

    def is_break_glass(self, arn: str) -> bool:
        return awsauth.authenticator_key(arn) in self.break_glass_arns


def settings_from_org(org: Organisation) -> GuardrailSettings:
    return GuardrailSettings(
        admin_groups=frozenset({org.naming.admin_group}),
        break_glass_arns=frozenset(
            awsauth.authenticator_key(c.break_glass_role_arn) for c in org.clusters.values() if c.break_glass_role_arn
        ),
    )


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str


def check_resource(resource_type: str, props: Mapping[str, Any], settings: GuardrailSettings) -> list[Finding]:
    """Every rule's findings for one resource's input properties (as the engine names them)."""
    return [
        Finding(rule, message)
        for rule, (types, _) in RULES.items()
        if resource_type in types
        for message in rule_findings(rule, resource_type, props, settings)
    ]


def rule_findings(rule: str, resource_type: str, props: Mapping[str, Any], settings: GuardrailSettings) -> list[str]:
    """One rule's findings; none for a resource type the rule does not cover."""
    types, _ = RULES[rule]
    if resource_type not in types:
        return []
    if rule == NO_WILDCARD_TRUST:
        return trust_policy_findings(props.get("assumeRolePolicy"))
    if rule == NO_HUMANS_IN_SYSTEM_GROUPS:
        if resource_type in (CONFIG_MAP, CONFIG_MAP_PATCH):
            return aws_auth_system_group_findings(props, settings) if is_aws_auth(props) else []
        if resource_type == ACCESS_ENTRY:
            return access_entry_system_findings(props)
        return binding_system_group_findings(props)
    if rule == CLUSTER_ADMIN_ONLY_FOR_ADMINS:
        if resource_type == ACCESS_POLICY_ASSOCIATION:
            return cluster_admin_policy_findings(props, settings)
        return cluster_admin_binding_findings(props, settings)
    return aws_auth_owner_findings(props)  # AWS_AUTH_PATCHED_NOT_OWNED


# --- trust policies -------------------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [v for v in value if isinstance(v, str)]
    return []


def trust_policy_findings(document: Any) -> list[str]:
    """Wildcard principals in a trust policy (JSON text, as ``assumeRolePolicy`` holds it, or a mapping)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            return [f"assumeRolePolicy is not valid JSON ({exc.msg} at character {exc.pos})"]
    if not isinstance(document, Mapping):
        return ["assumeRolePolicy is not a policy document"]
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    findings: list[str] = []
    for index, statement in enumerate(statements):
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
            findings += _allow_statement_findings(f"statement {statement.get('Sid') or index}", statement)
    return findings


def _allow_statement_findings(where: str, statement: Mapping[str, Any]) -> list[str]:
    findings = []
    if "NotPrincipal" in statement:
        findings.append(f"{where}: Allow with NotPrincipal trusts every principal except the ones listed")
    principal = statement.get("Principal")
    if principal == "*":
        return [*findings, f'{where}: Principal "*" lets any AWS account assume the role']
    if not isinstance(principal, Mapping):
        return findings
    for kind in sorted(principal):
        for value in _strings(principal[kind]):
            if "*" in value:
                findings.append(f'{where}: Principal {kind} "{value}" is a wildcard; name the exact principal')
    federated = _strings(principal.get("Federated"))
    if any(v.endswith(f"oidc-provider/{GITHUB_OIDC_HOST}") for v in federated):
        findings.extend(_github_subject_findings(where, statement.get("Condition")))
    return findings


def _github_subject_findings(where: str, condition: Any) -> list[str]:
    """GitHub's OIDC provider issues tokens to every repository on GitHub: the sub condition is what limits it."""
    key = f"{GITHUB_OIDC_HOST}:sub"
    subjects: list[str] = []
    if isinstance(condition, Mapping):
        for operator in ("StringEquals", "StringLike"):
            block = condition.get(operator)
            if isinstance(block, Mapping) and key in block:
                subjects.extend(_strings(block[key]))
    if not subjects:
        return [f"{where}: trusts GitHub's OIDC provider without a {key} condition: any GitHub workflow may assume it"]
    loose = [s for s in subjects if not _pinned_github_subject(s)]
    return [f'{where}: {key} "{s}" does not pin one repository (repo:<owner>/<name>:...)' for s in loose]


def _pinned_github_subject(subject: str) -> bool:
    parts = subject.split(":", 2)
    if len(parts) < 3 or parts[0] != "repo":
        return False
    owner, _, name = parts[1].partition("/")
    return bool(owner and name) and "*" not in owner and "*" not in name and "?" not in parts[1]


# --- system:* groups ------------------------------------------------------------------------------------------


def is_aws_auth(props: Mapping[str, Any]) -> bool:
    """The ConfigMap (or patch) is kube-system/aws-auth. No namespace counts: the provider's default may be it."""
    metadata = props.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("name") != awsauth.NAME:
        return False
    return metadata.get("namespace") in (awsauth.NAMESPACE, None)


def is_node_entry(entry: MapEntry) -> bool:
    return (
        entry.username in NODE_USERNAMES and "system:nodes" in entry.groups and set(entry.groups) <= NODE_ENTRY_GROUPS
    )


def aws_auth_system_group_findings(props: Mapping[str, Any], settings: GuardrailSettings) -> list[str]:
    data = props.get("data")
    if not isinstance(data, Mapping):
        return []
    findings: list[str] = []
    for key, arn_key in ((awsauth.ROLES_KEY, awsauth.ROLE_ARN_KEY), (awsauth.USERS_KEY, awsauth.USER_ARN_KEY)):
        if key not in data:
            continue
        text = data[key]
        if not isinstance(text, str):
            findings.append(f"aws-auth {key} is not a string")
            continue
        try:
            entries = awsauth.parse(text, arn_key)
        except AwsAuthError as refusal:
            findings.append(f"aws-auth {key} would not be read by aws-iam-authenticator: {refusal}")
            continue
        for entry in entries:
            system = [g for g in entry.groups if is_system_name(g)]
            if is_system_name(entry.username):
                system.insert(0, f"username {entry.username}")
            if not system or (arn_key == awsauth.ROLE_ARN_KEY and is_node_entry(entry)):
                continue
            break_glass = entry.groups == ("system:masters",) and settings.is_break_glass(entry.arn)
            if arn_key == awsauth.ROLE_ARN_KEY and break_glass:
                continue
            findings.append(
                f"aws-auth {key} maps {entry.arn} to {', '.join(system)}: only node roles and the cluster's "
                "break_glass_role may be in system:* (people get their own groups, bound by RBAC)"
            )
    return findings


def binding_system_group_findings(props: Mapping[str, Any]) -> list[str]:
    subjects = props.get("subjects")
    if not isinstance(subjects, Sequence):
        return []
    return [
        f"binds group {s.get('name')}: every identity in a system:* group (for system:authenticated, every "
        "person) would get this role; eks-access binds only its own groups"
        for s in subjects
        if isinstance(s, Mapping) and s.get("kind") == "Group" and is_system_name(str(s.get("name", "")))
    ]


def access_entry_system_findings(props: Mapping[str, Any]) -> list[str]:
    names = [*_strings(props.get("kubernetesGroups")), *_strings(props.get("userName"))]
    return [
        f"access entry for {props.get('principalArn')} uses {name}: EKS rejects system:* names in access entries "
        "and no person belongs in them"
        for name in names
        if is_system_name(name)
    ]


# --- cluster-admin ----------------------------------------------------------------------------------------------


def cluster_admin_binding_findings(props: Mapping[str, Any], settings: GuardrailSettings) -> list[str]:
    ref = props.get("roleRef")
    if not isinstance(ref, Mapping) or ref.get("kind") != "ClusterRole" or ref.get("name") != "cluster-admin":
        return []
    subjects = props.get("subjects")
    subjects = subjects if isinstance(subjects, Sequence) else []
    allowed = ", ".join(sorted(settings.admin_groups))
    return [
        f"binds cluster-admin to {s.get('kind')} {s.get('name')}; only the admin group ({allowed}) may have it"
        for s in subjects
        if not (isinstance(s, Mapping) and s.get("kind") == "Group" and s.get("name") in settings.admin_groups)
    ]


def cluster_admin_policy_findings(props: Mapping[str, Any], settings: GuardrailSettings) -> list[str]:
    if props.get("policyArn") != CLUSTER_ADMIN_POLICY:
        return []
    principal = props.get("principalArn")
    if isinstance(principal, str) and settings.is_break_glass(principal):
        return []
    return [
        f"associates AmazonEKSClusterAdminPolicy with {principal}; only a cluster's break_glass_role may have it "
        "(admins get the admin group, bound to cluster-admin by RBAC)"
    ]


# --- aws-auth ownership -----------------------------------------------------------------------------------------


def aws_auth_owner_findings(props: Mapping[str, Any]) -> list[str]:
    if not is_aws_auth(props):
        return []
    return [
        "declares kube-system/aws-auth as a ConfigMap resource: it would overwrite the entries EKS adds for node "
        "roles and delete the map on destroy, cutting every node off; patch it with ConfigMapPatch instead"
    ]
