"""The IAM roles of one environment: one per project-environment for people (and level, when the naming says
so), then the cluster admins', monitoring's and each CI deployer's."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from access.core import iam, names
from access.core.model import Organisation, RoleKind, Trust
from access.core.plan.types import MANAGED_BY, RolePlan


def role_tags(org: Organisation, env: str, **extra: str) -> dict[str, str]:
    tags = dict(org.roles.tags)
    tags.update({"managed-by": MANAGED_BY, "environment": env})
    tags.update({k: v for k, v in extra.items() if v})
    return dict(sorted(tags.items()))


def build_roles(org: Organisation, env_id: str) -> tuple[RolePlan, ...]:
    """The IAM roles of one environment: humans per project (and level), then admin, monitoring, CI."""
    env = org.environments[env_id]
    account = org.accounts[env.account]
    naming = org.naming
    settings = org.roles

    def role(
        key: str,
        kind: RoleKind,
        name: str,
        trust: iam.PolicyDocument,
        tags: dict[str, str],
        username: str,
        group: str,
        managed_policy_arns: tuple[str, ...] = (),
        **human: Any,  # project, level, teams
    ) -> RolePlan:
        """A role of this environment; path, ARN, session length and boundary are the same for every kind."""
        return RolePlan(
            key=key,
            kind=kind,
            name=name,
            path=settings.path,
            arn=names.role_arn(account.account_id, settings.path, name),
            trust_policy=trust,
            max_session_duration=settings.max_session_duration,
            permissions_boundary=settings.permissions_boundary,
            managed_policy_arns=managed_policy_arns,
            tags=tags,
            username=username,
            kubernetes_groups=(group,),
            **human,
        )

    roles: list[RolePlan] = []
    # People roles trust the account the people live in: this one, or the central identity account.
    people_id = org.accounts[org.people_account(env_id)].account_id
    open_trust = iam.human_trust_policy(people_id, settings)

    def human_trust(teams: Iterable[str], trust: Trust) -> iam.PolicyDocument:
        """Open trust is the same for every role (computed once); closed trust names the teams' members; Identity
        Center teams add their permission sets' roles in this account."""
        teams = tuple(teams)
        permission_sets = tuple(
            names.permission_set_name(t, env_id) for t in sorted(teams) if org.teams[t].identity_center_group
        )
        sso = (account.account_id, permission_sets) if permission_sets else None
        users = [t for t in teams if not org.teams[t].identity_center_group]
        if trust is Trust.ACCOUNT and sso is None:
            return open_trust
        if trust is Trust.ACCOUNT:
            return iam.human_trust_policy(people_id, settings, sso=sso, users=bool(users))
        members = tuple(sorted({m for team in teams for m in org.teams[team].members}, key=str.lower))
        return iam.human_trust_policy(people_id, settings, members, sso=sso, users=bool(users) or sso is None)

    # Human roles: one per project-environment (and level, when the naming template includes {level}).
    teams_by_role: dict[tuple[str, str], set[str]] = defaultdict(set)
    for grant in org.grants:
        if grant.environment == env_id:
            teams_by_role[(grant.project, grant.level)].add(grant.team)
    for (project, level), teams in sorted(teams_by_role.items()):
        roles.append(
            role(
                f"human/{project}/{level}",
                RoleKind.HUMAN,
                names.role_name(naming, project, env_id, level),
                human_trust(teams, settings.trust),
                role_tags(org, env_id, project=project, team=org.projects[project].owner, level=level),
                names.kubernetes_username(naming, project, env_id, level),
                names.kubernetes_group(naming, project, env_id, level),
                managed_policy_arns=settings.managed_policy_arns,
                project=project,
                level=level,
                teams=tuple(sorted(teams)),
            )
        )
    if org.admin_teams:
        roles.append(
            role(
                "admin",
                RoleKind.ADMIN,
                names.fill(naming.admin_role, env=env_id),
                human_trust(org.admin_teams, org.admin_trust),
                role_tags(org, env_id, purpose="cluster-admin"),
                naming.admin_username,
                naming.admin_group,
                teams=org.admin_teams,
            )
        )
    if org.monitoring is not None:
        roles.append(
            role(
                "monitoring",
                RoleKind.MONITORING,
                names.fill(naming.monitoring_role, env=env_id),
                iam.monitoring_trust_policy(org.monitoring, account.account_id),
                role_tags(org, env_id, purpose="monitoring"),
                naming.monitoring_username,
                naming.monitoring_group,
            )
        )
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        if any(e == env_id for _, e in ci.deploys):
            roles.append(
                role(
                    f"ci/{ci.id}",
                    RoleKind.CI,
                    names.fill(naming.ci_role, ci=ci.id, env=env_id),
                    iam.ci_trust_policy(account.account_id, ci),
                    role_tags(org, env_id, purpose="ci-deployer", ci=ci.id),
                    names.fill(naming.ci_username, ci=ci.id),
                    names.fill(naming.ci_group, ci=ci.id),
                )
            )
    return tuple(roles)
