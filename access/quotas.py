"""Preflight of IAM and EKS limits across every environment that shares an AWS account or cluster.

One stack applies one environment, but quotas are per account: config knows all environments, so the
check runs over all of them before anything is applied. Each failure is one line naming the user,
group, role or account, its size, the limit, and what to change.
"""

from __future__ import annotations

from collections import defaultdict

from access import iam, names
from access.config import Node
from access.errors import ConfigError
from access.model import (
    ACCESS_ENTRIES_PER_CLUSTER,
    GROUP_INLINE_POLICY_CHARS,
    GROUPS_PER_USER,
    MAX_GROUPS_PER_ACCOUNT,
    MAX_ROLES_PER_ACCOUNT,
    MAX_TRUST_POLICY_CHARS,
    Organisation,
)
from access.plan import RolePlan, account_team_groups, build_group_policies, build_roles


def preflight(org: Organisation) -> None:
    """Raise ConfigError for the first limit the organisation would exceed."""
    roles_by_env = {env: build_roles(org, env) for env in sorted(org.environments)}
    _users_per_group_limit(org)
    for account in sorted(org.accounts.values(), key=lambda a: a.id):
        envs = [e for e in sorted(org.environments) if org.environments[e].account == account.id]
        quota_node = Node(org.files["environments.yaml"], f"accounts.{account.id}.quotas", None)
        role_count = sum(len(roles_by_env[e]) for e in envs)
        if role_count > account.quotas.roles_per_account:
            raise quota_node.child("roles_per_account", None).error(
                f"account {account.id} ({account.account_id}) needs {role_count} IAM roles across "
                f"{', '.join(envs)}; the quota is {account.quotas.roles_per_account}: raise 'IAM roles per account' "
                f"to at least {role_count} (max {MAX_ROLES_PER_ACCOUNT}) and declare it here"
            )
        group_count = len(account_team_groups(org, account.id))
        if group_count > account.quotas.groups_per_account:
            raise quota_node.child("groups_per_account", None).error(
                f"account {account.id} ({account.account_id}) needs {group_count} IAM groups (one per team); the "
                f"quota is {account.quotas.groups_per_account}: raise 'IAM groups per account' to at least "
                f"{group_count} (max {MAX_GROUPS_PER_ACCOUNT}) and declare it here"
            )
        _group_policy_sizes(org, envs, roles_by_env)
        for env in envs:
            for role in roles_by_env[env]:
                _trust_policy_size(org, account.quotas.role_trust_policy_chars, account.id, role)
    _access_entries_per_cluster(org, roles_by_env)


def _users_per_group_limit(org: Organisation) -> None:
    """A user may be in at most 10 IAM groups (not adjustable); groups are per team and account."""
    for account in sorted(org.accounts):
        teams = account_team_groups(org, account)
        by_user: dict[str, list[str]] = defaultdict(list)
        for team in teams:
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


def _group_policy_sizes(org: Organisation, envs: list[str], roles_by_env: dict[str, list[RolePlan]]) -> None:
    """All of a group's inline policies (one per environment) count against one 5,120-character budget."""
    totals: dict[str, int] = defaultdict(int)
    parts: dict[str, list[str]] = defaultdict(list)
    for env in envs:
        for policy in build_group_policies(org, env, roles_by_env[env]):
            size = iam.policy_size(policy.document)
            totals[policy.team] += size
            parts[policy.team].append(f"{policy.policy_name}={size}")
    for team, total in sorted(totals.items()):
        if total > GROUP_INLINE_POLICY_CHARS:
            raise ConfigError(
                org.files["access.yaml"],
                f"grants.{team}",
                f"IAM group {names.iam_group_name(org.naming, team)!r} would carry {total} characters of inline "
                f"policy ({', '.join(parts[team])}); IAM allows {GROUP_INLINE_POLICY_CHARS} per group: split the "
                "team or shorten role paths and names",
            )


def _trust_policy_size(org: Organisation, limit: int, account: str, role: RolePlan) -> None:
    size = iam.policy_size(role.trust_policy)
    if size > limit:
        raise ConfigError(
            org.files["settings.yaml"],
            "roles.trusted_principals",
            f"trust policy of role {role.name!r} is {size} characters; the account {account} quota is {limit}: "
            f"trust fewer principals, or raise 'Role trust policy length' (max {MAX_TRUST_POLICY_CHARS}) and "
            f"declare accounts.{account}.quotas.role_trust_policy_chars",
        )


def _access_entries_per_cluster(org: Organisation, roles_by_env: dict[str, list[RolePlan]]) -> None:
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
