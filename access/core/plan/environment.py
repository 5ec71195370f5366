"""One environment's plan: orchestration only; each part is computed by its own module."""

from __future__ import annotations

from access.core import names
from access.core.model import AuthMode, Cluster, Organisation
from access.core.plan import rbac
from access.core.plan.auth import build_access_entries, build_map_roles, build_map_users
from access.core.plan.groups import account_groups, build_group_policies, build_permission_sets
from access.core.plan.roles import build_roles
from access.core.plan.types import EnvironmentPlan, GroupPlan, MembershipPlan
from access.errors import ConfigError


def stack_config_error(stack: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"Pulumi.{stack}.yaml", f"config.{key}", message)


def plan_environment(
    org: Organisation, env_id: str, auth_mode: AuthMode = AuthMode.CONFIG_MAP, stack: str | None = None
) -> EnvironmentPlan:
    """Everything the stack of ``env_id`` owns. Raises ConfigError for choices that cannot work."""
    stack = stack or env_id
    if env_id not in org.environments:
        raise stack_config_error(
            stack,
            "access:environment",
            f"unknown environment {env_id!r}; {org.files['environments.yaml']} has "
            f"{', '.join(sorted(org.environments))}",
        )
    env = org.environments[env_id]
    account = org.accounts[env.account]
    cluster = org.clusters[env.cluster]
    sharing = sorted(e.id for e in org.environments.values() if e.cluster == env.cluster)
    if len(sharing) > 1 and auth_mode.writes_config_map:
        raise stack_config_error(
            stack,
            "access:authMode",
            f"cluster {cluster.name!r} is shared by environments {', '.join(sharing)}; aws-auth mapRoles has one "
            "writer, so environments sharing a cluster must use access:authMode api",
        )

    roles = build_roles(org, env_id)
    group_policies = build_group_policies(org, env_id, roles)
    permission_sets = build_permission_sets(org, env_id, roles)
    center = org.people.identity_center
    people = org.accounts[org.people_account(env_id)]
    owns_account_iam = people.home_environment == env_id
    groups: tuple[GroupPlan, ...] = ()
    memberships: tuple[MembershipPlan, ...] = ()
    if owns_account_iam:
        groups, memberships = account_groups(org, people.id)
    users_to_create = tuple(sorted(m.user for m in memberships)) if org.create_users else ()

    map_roles = build_map_roles(org, env_id, roles) if auth_mode.writes_config_map else ()
    map_users = build_map_users(org, env_id) if auth_mode.writes_config_map else ()
    access_entries = build_access_entries(org, env_id, roles) if auth_mode.writes_access_entries else ()

    manifests, bindings = rbac.build(org, env_id, roles)
    check_admin_path(org, cluster)
    return EnvironmentPlan(
        environment=env_id,
        account_id=account.account_id,
        account=env.account,
        cluster=env.cluster,
        cluster_name=cluster.name,
        auth_mode=auth_mode,
        owns_account_iam=owns_account_iam,
        owns_cluster_objects=cluster.home_environment == env_id,
        roles=roles,
        groups=groups,
        group_policies=group_policies,
        memberships=memberships,
        users_to_create=users_to_create,
        map_roles=map_roles,
        map_users=map_users,
        access_entries=access_entries,
        manifests=tuple(manifests),
        bindings=tuple(bindings),
        namespaces={
            p.id: names.namespace(org.naming, p.id, env_id)
            for p in sorted(org.projects.values(), key=lambda p: p.id)
            if env_id in p.environments
        },
        keep_map_roles=cluster.keep_map_roles,
        retired_node_roles=cluster.retired_node_roles,
        environments_file=org.files["environments.yaml"],
        access_file=org.files["access.yaml"],
        people_account=people.id,
        people_account_id=people.account_id,
        permission_sets=permission_sets,
        identity_center_instance_arn=center.instance_arn if center and permission_sets else "",
        identity_store_id=center.identity_store_id if center and permission_sets else "",
        identity_center_account_id=org.accounts[center.account].account_id if center and permission_sets else "",
    )


def check_admin_path(org: Organisation, cluster: Cluster) -> None:
    """Somebody must be able to administer the cluster: a person in an admin team, or a break-glass role.

    Counted in people, not teams: an admin team without members is no path. A cluster administered outside
    eks-access says so explicitly (``external_admins``), so the gap is a reviewed decision, never an accident.
    """
    if cluster.break_glass_role_arn or cluster.external_admins:
        return
    if not org.admin_teams:
        raise ConfigError(
            org.files["access.yaml"],
            "cluster_admins",
            f"cluster {cluster.name!r} would have no admin path; list admin teams under "
            "cluster_admins.teams or set a break_glass_role",
        )
    if not any(org.teams[team].members or org.teams[team].identity_center_group for team in org.admin_teams):
        raise ConfigError(
            org.files["access.yaml"],
            "cluster_admins.teams",
            f"cluster {cluster.name!r} would have no admin path: admin team(s) {', '.join(org.admin_teams)} have no "
            f"members in {org.files['teams.yaml']}; add a member, set a break_glass_role, or say who administers "
            f"it under clusters.{cluster.id}.external_admins in {org.files['environments.yaml']}",
        )
