"""The teams' IAM groups in an account: the groups and memberships (owned by the account's home environment) and
each environment's inline policy on them, allowing exactly that environment's roles.

The groups of an environment's people live in its people account (``Organisation.people_account``): its own
account by default, or the central identity account, which then holds every environment's group policies."""

from __future__ import annotations

from collections import defaultdict

from access.core import names
from access.core.model import PERMISSION_SET_NAME_MAX, Organisation
from access.core.plan.types import MANAGED_BY, GroupPlan, GroupPolicyPlan, MembershipPlan, PermissionSetPlan, RolePlan
from access.errors import ConfigError


def build_group_policies(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[GroupPolicyPlan, ...]:
    """Per team, the inline policy (named after the environment) allowing exactly its roles here."""
    naming = org.naming
    # IAM groups are per team and account; this stack writes the inline policy for its own environment's roles.
    group_roles: dict[str, list[RolePlan]] = defaultdict(list)
    for role in roles:
        for team in role.teams:
            if not org.teams[team].identity_center_group:  # Identity Center teams have permission sets instead
                group_roles[team].append(role)
    return tuple(
        GroupPolicyPlan(
            team=team,
            group_name=names.iam_group_name(naming, team),
            policy_name=f"{MANAGED_BY}-{env_id}",
            role_keys=tuple(r.key for r in sorted(rs, key=lambda r: r.arn)),
            role_arns=tuple(sorted(r.arn for r in rs)),
        )
        for team, rs in sorted(group_roles.items())
    )


def people_environments(org: Organisation, account: str) -> list[str]:
    """The environments whose people (and team groups, with their group policies) are in ``account``."""
    return sorted(e for e in org.environments if org.people_account(e) == account)


def account_team_groups(org: Organisation, account: str) -> list[str]:
    """Teams that need an IAM group in this account: those with any role to assume from here."""
    teams = {g.team for g in org.grants if org.people_account(g.environment) == account}
    if any(org.people_account(e) == account for e in org.environments):
        teams.update(org.admin_teams)
    return sorted(t for t in teams if not org.teams[t].identity_center_group)


def build_permission_sets(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[PermissionSetPlan, ...]:
    """Per Identity Center team with roles here, its permission set for this environment (owned by this stack)."""
    account_id = org.accounts[org.environments[env_id].account].account_id
    team_roles: dict[str, list[RolePlan]] = defaultdict(list)
    for role in roles:
        for team in role.teams:
            if org.teams[team].identity_center_group:
                team_roles[team].append(role)
    out = []
    for team, rs in sorted(team_roles.items()):
        name = names.permission_set_name(team, env_id)
        if len(name) > PERMISSION_SET_NAME_MAX:
            raise ConfigError(
                org.files["teams.yaml"],
                f"teams.{team}.identity_center_group",
                f"permission set name {name!r} (team {team!r}, environment {env_id!r}) is {len(name)} characters; "
                f"IAM Identity Center allows {PERMISSION_SET_NAME_MAX}: shorten the team or environment id",
            )
        group = org.teams[team].identity_center_group or ""
        out.append(
            PermissionSetPlan(
                team=team,
                name=name,
                group=group,
                account_id=account_id,
                role_keys=tuple(r.key for r in sorted(rs, key=lambda r: r.arn)),
                role_arns=tuple(sorted(r.arn for r in rs)),
            )
        )
    return tuple(out)


def account_groups(org: Organisation, account: str) -> tuple[tuple[GroupPlan, ...], tuple[MembershipPlan, ...]]:
    """The account's team groups and every member's memberships (one UserGroupMembership per user)."""
    naming = org.naming
    teams = account_team_groups(org, account)
    groups = tuple(GroupPlan(team, names.iam_group_name(naming, team), naming.group_path) for team in teams)
    by_user: dict[str, tuple[str, set[str]]] = {}
    for team in teams:
        for user in org.teams[team].members:
            entry = by_user.setdefault(user.lower(), (user, set()))
            entry[1].add(names.iam_group_name(naming, team))
    memberships = tuple(MembershipPlan(user, tuple(sorted(gs))) for user, gs in sorted(by_user.values()))
    return groups, memberships
