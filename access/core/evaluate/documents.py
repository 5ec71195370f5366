"""What would be applied to one cluster and the accounts its people come from, as plain documents.

The evaluator reads these and nothing of the plan's own bookkeeping: trust and group policies as the JSON the
shell hands to IAM (``iam.policy_json``), memberships, aws-auth ``mapRoles``/``mapUsers`` as the text the patch
writes (``awsauth.merge``), access entries, and the RBAC manifests. They are built with the same functions the
Pulumi shell uses, so a change there changes what is evaluated. Being plain data, one stack's part of them (a
:class:`StackPart`) can also be read from the resources the engine is about to apply: the policy pack does
(``applied.py``), and evaluates that part with the rest of the cluster rendered here.

One cluster is evaluated as a whole (every environment on it), since in a shared cluster one environment's
bindings could reach another's principals; its accounts' group policies come from every environment of those
accounts, since any of them could name a role of this cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from access.core import awsauth, iam
from access.core.model import AuthMode, Organisation
from access.core.plan.environment import plan_environment
from access.core.plan.groups import account_groups, build_group_policies, build_permission_sets, people_environments
from access.core.plan.roles import build_roles
from access.core.plan.types import EnvironmentPlan, Manifest, PermissionSetPlan, RolePlan

PLAN_OWNER = "eks-access/plan"  # the aws-auth owner annotation used when rendering offline


@dataclass(frozen=True)
class RoleDocument:
    arn: str
    name: str
    account_id: str
    trust: dict[str, Any]
    environment: str
    key: str  # the plan's stable id of the role, for messages only


@dataclass(frozen=True)
class GroupPolicyDocument:
    account_id: str
    group: str
    name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class PermissionSetDocument:
    """An Identity Center permission set assigned to a group in an account, with its inline policy: IAM Identity
    Center provisions it there as the role ``AWSReservedSSO_<name>_<suffix>`` under ``/aws-reserved/...``."""

    account_id: str
    name: str
    group: str
    document: dict[str, Any]


@dataclass(frozen=True)
class MembershipDocument:
    account_id: str
    user: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class AccessEntryDocument:
    principal_arn: str
    type: str
    username: str | None
    groups: tuple[str, ...]
    policies: tuple[tuple[str, str, tuple[str, ...]], ...]  # (policy ARN, cluster|namespace, namespaces)


@dataclass(frozen=True)
class ClusterDocuments:
    cluster: str  # config id
    cluster_name: str
    account_id: str
    environments: tuple[str, ...]
    reads_aws_auth: bool
    reads_access_entries: bool
    roles: tuple[RoleDocument, ...]
    group_policies: tuple[GroupPolicyDocument, ...]
    memberships: tuple[MembershipDocument, ...]
    map_roles: str
    map_users: str
    access_entries: tuple[AccessEntryDocument, ...]
    manifests: tuple[Manifest, ...]
    permission_sets: tuple[PermissionSetDocument, ...] = ()


@dataclass(frozen=True)
class StackPart:
    """What one environment's stack applies: its roles, its inline policies on the team groups, the account's
    memberships (in the account's home environment only), aws-auth (when the stack writes it), access entries and
    RBAC manifests."""

    environment: str
    roles: tuple[RoleDocument, ...]
    group_policies: tuple[GroupPolicyDocument, ...]
    memberships: tuple[MembershipDocument, ...]
    aws_auth: tuple[str, str] | None  # (mapRoles, mapUsers) as the patch writes them, when this stack writes aws-auth
    access_entries: tuple[AccessEntryDocument, ...]
    manifests: tuple[Manifest, ...]
    permission_sets: tuple[PermissionSetDocument, ...] = ()


def _json(document: dict[str, Any]) -> dict[str, Any]:
    """The policy as IAM receives it: serialised the way the shell does, read back."""
    parsed: dict[str, Any] = json.loads(iam.policy_json(document))
    return parsed


def role_document(plan_env: str, account_id: str, role: RolePlan) -> RoleDocument:
    return RoleDocument(role.arn, role.name, account_id, _json(role.trust_policy), plan_env, role.key)


def stack_part(plan: EnvironmentPlan) -> StackPart:
    """What ``plan``'s stack applies, as the shell renders it."""
    return StackPart(
        environment=plan.environment,
        roles=tuple(role_document(plan.environment, plan.account_id, role) for role in plan.roles),
        group_policies=tuple(
            GroupPolicyDocument(plan.people_account_id, p.group_name, p.policy_name, _json(p.document))
            for p in plan.group_policies
        ),
        memberships=tuple(MembershipDocument(plan.people_account_id, m.user, m.groups) for m in plan.memberships),
        aws_auth=aws_auth(plan) if plan.auth_mode.writes_config_map else None,
        access_entries=tuple(
            AccessEntryDocument(
                e.principal_arn,
                e.type,
                e.username,
                e.kubernetes_groups,
                tuple((p.policy_arn, p.scope, p.namespaces) for p in e.policies),
            )
            for e in plan.access_entries
        ),
        manifests=plan.manifests,
        permission_sets=_permission_set_documents(plan.permission_sets),
    )


def aws_auth(plan: EnvironmentPlan) -> tuple[str, str]:
    """mapRoles and mapUsers as the patch writes them (offline: without the live map to merge)."""
    merged = awsauth.merge(plan.map_roles, plan.map_users, None, None, PLAN_OWNER, ())
    return merged.map_roles, merged.map_users or ""


def render_cluster(
    org: Organisation,
    cluster_id: str,
    plans: dict[str, EnvironmentPlan],
    auth_mode: Callable[[str], AuthMode],
    applied: StackPart | None = None,
) -> ClusterDocuments:
    """The documents of ``cluster_id``. ``plans`` holds plans already computed (reused); ``auth_mode`` gives each
    environment's stack mode (environments sharing a cluster use ``api``, which the plan enforces). ``applied``
    is one environment's part as read from the resources the engine applies: it stands in for that
    environment's rendering (the policy pack); every other environment is rendered from config."""
    cluster = org.clusters[cluster_id]
    envs = tuple(sorted(e for e, env in org.environments.items() if env.cluster == cluster_id))
    env_plans = {e: plans.get(e) or plan_environment(org, e, auth_mode(e)) for e in envs}
    parts = {
        e: applied if applied is not None and applied.environment == e else stack_part(plan)
        for e, plan in env_plans.items()
    }
    modes = {plan.auth_mode for plan in env_plans.values()}
    # The accounts the cluster's people come from: where their memberships and group policies are.
    accounts = sorted({org.people_account(e) for e in envs})
    # One environment writes aws-auth per cluster (the plan refuses two).
    map_roles, map_users = next((p.aws_auth for p in parts.values() if p.aws_auth is not None), ("", ""))
    return ClusterDocuments(
        cluster=cluster_id,
        cluster_name=cluster.name,
        account_id=org.accounts[cluster.account].account_id,
        environments=envs,
        reads_aws_auth=any(m.writes_config_map for m in modes),
        reads_access_entries=any(m.writes_access_entries for m in modes),
        roles=tuple(role for _, part in sorted(parts.items()) for role in part.roles),
        group_policies=tuple(p for account in accounts for p in _group_policies(org, account, plans, applied)),
        memberships=tuple(m for account in accounts for m in _memberships(org, account, applied)),
        map_roles=map_roles,
        map_users=map_users,
        access_entries=tuple(e for part in parts.values() for e in part.access_entries),
        manifests=tuple(m for part in parts.values() for m in part.manifests),
        permission_sets=tuple(
            p
            for account in sorted({org.environments[e].account for e in envs})
            for p in _permission_sets(org, account, plans, applied)
        ),
    )


def _group_policies(
    org: Organisation, account: str, plans: dict[str, EnvironmentPlan], applied: StackPart | None
) -> list[GroupPolicyDocument]:
    """Every environment whose people are in the account puts its inline policy on the team groups; all count."""
    account_id = org.accounts[account].account_id
    out: list[GroupPolicyDocument] = []
    for env in people_environments(org, account):
        if applied is not None and applied.environment == env:
            out += applied.group_policies
            continue
        plan = plans.get(env)
        policies = plan.group_policies if plan is not None else build_group_policies(org, env, build_roles(org, env))
        out += [GroupPolicyDocument(account_id, p.group_name, p.policy_name, _json(p.document)) for p in policies]
    return out


def _memberships(org: Organisation, account: str, applied: StackPart | None) -> list[MembershipDocument]:
    """The account's home environment declares its memberships (read from the engine when that is ``applied``)."""
    if applied is not None and org.accounts[account].home_environment == applied.environment:
        return list(applied.memberships)
    account_id = org.accounts[account].account_id
    _, memberships = account_groups(org, account)
    return [MembershipDocument(account_id, m.user, m.groups) for m in memberships]


def _permission_set_documents(sets: tuple[PermissionSetPlan, ...]) -> tuple[PermissionSetDocument, ...]:
    return tuple(PermissionSetDocument(p.account_id, p.name, p.group, _json(p.document)) for p in sets)


def _permission_sets(
    org: Organisation, account: str, plans: dict[str, EnvironmentPlan], applied: StackPart | None
) -> list[PermissionSetDocument]:
    """Every environment of the account assigns its Identity Center teams' permission sets there; all count."""
    out: list[PermissionSetDocument] = []
    for env in sorted(e for e, environment in org.environments.items() if environment.account == account):
        if applied is not None and applied.environment == env:
            out += applied.permission_sets
            continue
        plan = plans.get(env)
        sets = plan.permission_sets if plan is not None else build_permission_sets(org, env, build_roles(org, env))
        out += _permission_set_documents(sets)
    return out
