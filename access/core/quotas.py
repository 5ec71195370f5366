"""Preflight of IAM and EKS limits across every environment that shares an AWS account or cluster.

One stack applies one environment, but quotas are per account: config knows all environments, so the
check runs over all of them before anything is applied. Each failure is one line naming the user,
group, role or account, its size, the limit, and what to change.
"""

from __future__ import annotations

from collections import defaultdict

from access.core import iam, names
from access.core.config.nodes import Node
from access.core.model import (
    ACCESS_ENTRIES_PER_CLUSTER,
    GROUP_INLINE_POLICY_CHARS,
    GROUPS_PER_USER,
    MAX_GROUPS_PER_ACCOUNT,
    MAX_ROLES_PER_ACCOUNT,
    MAX_TRUST_POLICY_CHARS,
    PERMISSION_SET_INLINE_POLICY_CHARS,
    PERMISSION_SETS_PER_ACCOUNT,
    PERMISSION_SETS_PER_INSTANCE,
    Organisation,
    RoleKind,
)
from access.core.plan.groups import (
    account_team_groups,
    build_group_policies,
    build_permission_sets,
    people_environments,
)
from access.core.plan.roles import build_roles
from access.core.plan.types import RolePlan
from access.errors import ConfigError


def preflight(org: Organisation) -> None:
    """Raise ConfigError for the first limit the organisation would exceed."""
    roles_by_env = {env: build_roles(org, env) for env in sorted(org.environments)}
    _groups_per_user(org)
    for account in sorted(org.accounts.values(), key=lambda a: a.id):
        envs = [e for e in sorted(org.environments) if org.environments[e].account == account.id]
        quota_node = Node(org.files["environments.yaml"], f"accounts.{account.id}.quotas", None)
        where = f"account {account.id} ({account.account_id})"
        role_count = sum(len(roles_by_env[e]) for e in envs)
        if role_count > account.quotas.roles_per_account:
            raise quota_node.child("roles_per_account", None).error(
                f"{where} needs {role_count} IAM roles across {', '.join(envs)}; the quota is "
                f"{account.quotas.roles_per_account}: "
                + _raise_or_split("IAM roles per account", role_count, MAX_ROLES_PER_ACCOUNT, "environments")
            )
        group_count = len(account_team_groups(org, account.id))
        if group_count > account.quotas.groups_per_account:
            raise quota_node.child("groups_per_account", None).error(
                f"{where} needs {group_count} IAM groups (one per team); the quota is "
                f"{account.quotas.groups_per_account}: "
                + _raise_or_split("IAM groups per account", group_count, MAX_GROUPS_PER_ACCOUNT, "teams")
            )
        # Group policies are on the groups of the people account: an identity account carries every environment's.
        _group_policy_sizes(org, people_environments(org, account.id), roles_by_env)
        # The largest trust policy of the account decides the quota to declare: name it, not the first one over.
        account_roles = [role for env in envs for role in roles_by_env[env]]
        if account_roles:
            largest = max(account_roles, key=lambda r: iam.policy_size(r.trust_policy))
            _trust_policy_size(org, account.quotas.role_trust_policy_chars, account.id, largest)
    _access_entries_per_cluster(org, roles_by_env)
    _identity_center(org, roles_by_env)


def _raise_or_split(quota: str, needed: int, ceiling: int, what: str) -> str:
    if needed > ceiling:
        return f"that is more than the {ceiling} AWS allows at most: split the {what} across accounts"
    return f"raise '{quota}' to at least {needed} (max {ceiling}) and declare it here"


def _groups_per_user(org: Organisation) -> None:
    """A user may be in at most 10 IAM groups (not adjustable); eks-access makes one per team and account."""
    for account in sorted(org.accounts):
        by_user: dict[str, list[str]] = defaultdict(list)
        for team in account_team_groups(org, account):
            for user in org.teams[team].members:
                by_user[user.lower()].append(team)
        for user_key, user_teams in sorted(by_user.items()):
            if len(user_teams) > GROUPS_PER_USER:
                team = user_teams[-1]
                index = [m.lower() for m in org.teams[team].members].index(user_key)
                user = org.teams[team].members[index]
                raise ConfigError(
                    org.files["teams.yaml"],
                    f"teams.{team}.members[{index}]",
                    f"user {user!r} would be in {len(user_teams)} IAM groups in account {account} "
                    f"({', '.join(names.iam_group_name(org.naming, t) for t in user_teams)}); IAM allows "
                    f"{GROUPS_PER_USER} per user and this cannot be raised: merge teams or remove memberships",
                )


def _group_policy_sizes(org: Organisation, envs: list[str], roles_by_env: dict[str, tuple[RolePlan, ...]]) -> None:
    """All of a group's inline policies (one per environment) count against one 5,120-character budget."""
    totals: dict[str, int] = defaultdict(int)
    parts: dict[str, list[str]] = defaultdict(list)
    for env in envs:
        for policy in build_group_policies(org, env, roles_by_env[env]):
            size = iam.policy_size(policy.document)
            totals[policy.team] += size
            parts[policy.team].append(f"{policy.policy_name}={size}")
    granted_teams = {g.team for g in org.grants}
    for team, total in sorted(totals.items()):
        if total > GROUP_INLINE_POLICY_CHARS:
            raise ConfigError(
                org.files["access.yaml"],
                f"grants.{team}" if team in granted_teams else "cluster_admins.teams",
                f"IAM group {names.iam_group_name(org.naming, team)!r} would carry {total} characters of inline "
                f"policy ({', '.join(parts[team])}); IAM allows {GROUP_INLINE_POLICY_CHARS} per group and this "
                "cannot be raised: split the team or shorten role paths and names",
            )


def _trust_policy_size(org: Organisation, limit: int, account: str, role: RolePlan) -> None:
    size = iam.policy_size(role.trust_policy)
    if size <= limit:
        return
    # Name the config that makes this trust policy long.
    if role.kind == RoleKind.MONITORING:
        file, path, fewer = "access.yaml", "monitoring", "trust fewer monitoring roles or services"
    elif role.kind == RoleKind.CI:
        file, path, fewer = "access.yaml", f"ci.{role.key.split('/', 1)[1]}", "shorten the CI trust"
    else:
        file, path, fewer = "settings.yaml", "roles.trusted_principals", "trust fewer principals"
    if size > MAX_TRUST_POLICY_CHARS:
        fix = f"{fewer}; AWS allows at most {MAX_TRUST_POLICY_CHARS}"
    else:
        fix = (
            f"{fewer}, or raise 'Role trust policy length' to at least {size} (max {MAX_TRUST_POLICY_CHARS}) "
            f"and declare accounts.{account}.quotas.role_trust_policy_chars"
        )
    raise ConfigError(
        org.files[file],
        path,
        f"trust policy of role {role.name!r} is {size} characters; the account {account} quota is {limit}: {fix}",
    )


def _access_entries_per_cluster(org: Organisation, roles_by_env: dict[str, tuple[RolePlan, ...]]) -> None:
    """Every environment on a cluster adds its roles; node roles and break-glass count once per cluster."""
    per_cluster: dict[str, int] = defaultdict(int)
    for env_id, roles in roles_by_env.items():
        per_cluster[org.environments[env_id].cluster] += len(roles)
    for cluster_id, count in sorted(per_cluster.items()):
        cluster = org.clusters[cluster_id]
        total = count + len(cluster.node_roles) + (1 if cluster.break_glass_role_arn else 0)
        if total > ACCESS_ENTRIES_PER_CLUSTER:
            raise ConfigError(
                org.files["environments.yaml"],
                f"clusters.{cluster_id}",
                f"cluster {cluster.name!r} would need {total} principals; EKS allows {ACCESS_ENTRIES_PER_CLUSTER} "
                "access entries per cluster: split projects across clusters",
            )


def _identity_center(org: Organisation, roles_by_env: dict[str, tuple[RolePlan, ...]]) -> None:
    """IAM Identity Center quotas ("IAM Identity Center quotas", IAM Identity Center User Guide): permission sets
    per instance (2,000), provisioned per account (250), and 10,240 non-whitespace characters of inline policy per
    permission set (not adjustable). eks-access makes one permission set per Identity Center team and environment."""
    if org.people.identity_center is None:
        return
    per_account: dict[str, list[str]] = defaultdict(list)
    total = 0
    for env in sorted(org.environments):
        for permission_set in build_permission_sets(org, env, roles_by_env[env]):
            total += 1
            per_account[org.environments[env].account].append(permission_set.name)
            size = iam.policy_size(permission_set.document)
            if size > PERMISSION_SET_INLINE_POLICY_CHARS:
                raise ConfigError(
                    org.files["access.yaml"],
                    f"grants.{permission_set.team}",
                    f"permission set {permission_set.name!r} would carry {size} characters of inline policy; IAM "
                    f"Identity Center allows {PERMISSION_SET_INLINE_POLICY_CHARS} and this cannot be raised: split "
                    "the team or shorten role paths and names",
                )
    for account, sets in sorted(per_account.items()):
        if len(sets) > PERMISSION_SETS_PER_ACCOUNT:
            raise ConfigError(
                org.files["environments.yaml"],
                f"accounts.{account}",
                f"account {account} would have {len(sets)} eks-access permission sets provisioned; IAM Identity "
                f"Center allows {PERMISSION_SETS_PER_ACCOUNT} per account by default (others count too): raise "
                "'Number of provisioned permission sets allowed per AWS account' or use fewer Identity Center teams",
            )
    if total > PERMISSION_SETS_PER_INSTANCE:
        raise ConfigError(
            org.files["environments.yaml"],
            "people.identity_center",
            f"eks-access would create {total} permission sets; IAM Identity Center allows "
            f"{PERMISSION_SETS_PER_INSTANCE} per instance by default: raise 'Number of permission sets allowed in IAM "
            "Identity Center' or use fewer Identity Center teams or environments",
        )
