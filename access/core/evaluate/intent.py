"""What config grants in one cluster, from the organisation alone (never from the plan's bookkeeping).

For every person (an IAM user, through the teams it is in) and every machine principal (monitoring systems, CI
deployers and their ServiceAccounts, the break-glass role, trusted principals, ``map_users``), which level in
which namespace of which environment, or which cluster-wide role; each with the config key that grants it, so a
difference from the effective access can be reported at the key that causes it.

An account-root trust ("open", the default for project roles) declares one more principal: any IAM user of the
account whose own policies allow ``sts:AssumeRole`` on the role. It is declared here because config chose it
(``roles.trust``), and the plan shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access.core import iam, names
from access.core.catalog import ADMIN_LEVEL, MONITORING_RULES
from access.core.evaluate.builtin_roles import ADMIN_RULES
from access.core.evaluate.types import (
    CLUSTER_WIDE,
    SUPERUSER,
    Permission,
    Principal,
    PrincipalKind,
    expanded,
    identity_center_group,
    role,
    user,
)
from access.core.model import Organisation, PolicyRule

# ADMIN_LEVEL is bound to Kubernetes' own admin ClusterRole: intended as Kubernetes defines it.


@dataclass
class Declared:
    """One principal's declared access in the cluster: the permission sets of its grants (shared between
    principals with the same grants; their union is computed once, when asked)."""

    principal: Principal
    parts: list[frozenset[Permission]] = field(default_factory=list)
    grants: list[tuple[str, str, str]] = field(default_factory=list)  # (file, key path, what), in config order
    _union: frozenset[Permission] | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        if self._union is None:
            self._union = frozenset().union(*self.parts)
        return self._union


@dataclass
class Intent:
    cluster: str
    principals: dict[Principal, Declared] = field(default_factory=dict)
    groups: dict[str, Declared] = field(default_factory=dict)  # Kubernetes group -> what config binds to it

    def declare(
        self, principal: Principal, permissions: frozenset[Permission], file: str, path: str, what: str
    ) -> None:
        entry = self.principals.setdefault(principal, Declared(principal))
        entry.parts.append(permissions)
        entry.grants.append((file, path, what))

    def declare_group(self, group: str, permissions: frozenset[Permission], file: str, path: str, what: str) -> None:
        entry = self.groups.setdefault(group, Declared(Principal(PrincipalKind.ROLE, group)))
        entry.parts.append(permissions)
        entry.grants.append((file, path, what))


def level_permissions(org: Organisation, level: str, namespace: str) -> frozenset[Permission]:
    rules: tuple[PolicyRule, ...] = ADMIN_RULES if level == ADMIN_LEVEL else org.levels[level].rules
    return expanded(rules, namespace)


def monitoring_permissions(org: Organisation) -> frozenset[Permission]:
    extra = org.monitoring.extra_rules if org.monitoring else ()
    return expanded(MONITORING_RULES + extra, CLUSTER_WIDE)


SUPERUSER_ONLY = frozenset({SUPERUSER})


def intent(org: Organisation, cluster_id: str) -> Intent:
    result = Intent(cluster_id)
    envs = sorted(e for e, env in org.environments.items() if env.cluster == cluster_id)
    for env in envs:
        _people(org, env, result)
        _machines(org, env, result)
    _break_glass(org, cluster_id, result)
    _trusted_principals(org, envs, result)
    _map_users(org, cluster_id, result)
    return result


def _people(org: Organisation, env: str, result: Intent) -> None:
    """Team members, through their teams' grants; with ``roles.trust_account_root: false`` the roles admit no IAM
    user of the account (people come through ``roles.trusted_principals``), so members are declared nothing."""
    members_may_assume = org.roles.trust_account_root
    access_file = org.files["access.yaml"]
    # People are IAM users of the people account: the environment's own, or the central identity account.
    account_id = org.accounts[org.people_account(env)].account_id
    workload_id = org.accounts[org.environments[env].account].account_id
    open_to_account = Principal(PrincipalKind.ACCOUNT, account_id)
    for grant in org.grants:
        if grant.environment != env:
            continue
        namespace = names.namespace(org.naming, grant.project, env)
        permissions = level_permissions(org, grant.level, namespace)
        path = f"grants.{grant.team}.{grant.project}.{grant.environment}"
        what = f"{grant.level} in {namespace}"
        granted = org.teams[grant.team]
        if granted.identity_center_group:
            # The group's members, through the team's permission set assigned in the environment's account.
            sso = identity_center_group(workload_id, granted.identity_center_group)
            key = f"teams.{granted.id}.identity_center_group"
            result.declare(sso, permissions, org.files["teams.yaml"], key, what)
        for member in granted.members if members_may_assume else ():
            result.declare(user(account_id, member), permissions, access_file, path, what)
        group = names.kubernetes_group(org.naming, grant.project, env, grant.level)
        result.declare_group(group, permissions, access_file, path, what)
        if members_may_assume and org.roles.trust == "account" and not granted.identity_center_group:
            result.declare(open_to_account, permissions, org.files["settings.yaml"], "roles.trust", what)
    if org.admin_teams:
        for team in org.admin_teams:
            center_group = org.teams[team].identity_center_group
            if center_group:
                result.declare(
                    identity_center_group(workload_id, center_group),
                    SUPERUSER_ONLY,
                    access_file,
                    "cluster_admins.teams",
                    "cluster-admin",
                )
        for team in org.admin_teams if members_may_assume else ():
            for member in org.teams[team].members:
                result.declare(
                    user(account_id, member), SUPERUSER_ONLY, access_file, "cluster_admins.teams", "cluster-admin"
                )
        result.declare_group(
            org.naming.admin_group, SUPERUSER_ONLY, access_file, "cluster_admins.teams", "cluster-admin"
        )
        if members_may_assume and org.admin_trust == "account" and any(org.teams[t].members for t in org.admin_teams):
            result.declare(open_to_account, SUPERUSER_ONLY, access_file, "cluster_admins.trust", "cluster-admin")


def _machines(org: Organisation, env: str, result: Intent) -> None:
    access_file = org.files["access.yaml"]
    account_id = org.accounts[org.environments[env].account].account_id
    if org.monitoring is not None:
        permissions = monitoring_permissions(org)
        for arn in org.monitoring.trusted_roles:
            result.declare(role(arn), permissions, access_file, "monitoring", "monitoring")
        for service in org.monitoring.trusted_services:
            principal = Principal(PrincipalKind.SERVICE, service)
            result.declare(principal, permissions, access_file, "monitoring", "monitoring")
        result.declare_group(org.naming.monitoring_group, permissions, access_file, "monitoring", "monitoring")
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        if ci.github is not None:
            subject = iam.github_subject(ci.github)
            principal = Principal(
                PrincipalKind.FEDERATED, f"{iam.github_provider_arn(account_id, ci.github)}|{subject}"
            )
        else:
            assert ci.trusted_role_arn is not None
            principal = role(ci.trusted_role_arn)
        group = names.fill(org.naming.ci_group, ci=ci.id)
        for project, deployed in ci.deploys:
            if deployed != env:
                continue
            namespace = names.namespace(org.naming, project, env)
            permissions = level_permissions(org, "deploy", namespace)
            path, what = f"ci.{ci.id}.deploys.{project}", f"deploy in {namespace}"
            if ci.service_accounts:
                # `kubectl create token <ci>-deployer`: a token of its own ServiceAccount, in this namespace only.
                # The ServiceAccount shares the binding, so it may mint its own token too: nothing it could not do
                # already, since deploy may run a pod as that ServiceAccount and read the token the kubelet mounts.
                sa = names.ci_service_account(ci.id)
                permissions |= {Permission(namespace, "", "serviceaccounts/token", "create", (sa,))}
                what = f"deploy and the token of ServiceAccount {sa} in {namespace}"
            result.declare(principal, permissions, access_file, path, what)
            result.declare_group(group, permissions, access_file, path, what)
            if ci.service_accounts:
                account = Principal(PrincipalKind.SERVICE_ACCOUNT, f"{namespace}/{names.ci_service_account(ci.id)}")
                result.declare(account, permissions, access_file, f"ci.{ci.id}.service_accounts", what)


def _break_glass(org: Organisation, cluster_id: str, result: Intent) -> None:
    arn = org.clusters[cluster_id].break_glass_role_arn
    if arn:
        principal = role(arn)
        file = org.files["environments.yaml"]
        result.declare(principal, SUPERUSER_ONLY, file, f"clusters.{cluster_id}.break_glass_role", "cluster-admin")


def _trusted_principals(org: Organisation, envs: list[str], result: Intent) -> None:
    """``roles.trusted_principals`` are trusted by every human role and the admin role (docs/config.md)."""
    parts = [
        level_permissions(org, g.level, names.namespace(org.naming, g.project, g.environment))
        for g in org.grants
        if g.environment in envs
    ]
    if org.admin_teams:
        parts.append(SUPERUSER_ONLY)
    permissions = frozenset().union(*parts)
    for arn in org.roles.trusted_principals:
        result.declare(
            _principal_of(arn), permissions, org.files["settings.yaml"], "roles.trusted_principals", "human roles"
        )


def _principal_of(arn: str) -> Principal:
    if names.is_sso_role_arn(arn):
        # Trusted by pattern (iam.sso_principal_patterns): whatever suffix Identity Center gives it next time.
        return role(iam.sso_principal_patterns([arn])[0])
    parts = arn.split(":")
    if parts[5] == "root":
        return Principal(PrincipalKind.ACCOUNT, parts[4])
    if parts[5].startswith("user/"):
        return user(parts[4], parts[5].rsplit("/", 1)[-1])
    return role(arn)


def _map_users(org: Organisation, cluster_id: str, result: Intent) -> None:
    """A ``map_users`` entry is declared to be in its groups: it gets what config binds to those groups."""
    for index, entry in enumerate(org.map_users.get(cluster_id, ())):
        principal = _principal_of(entry.user_arn)
        permissions = frozenset().union(*(result.groups[g].permissions for g in entry.groups if g in result.groups))
        path = f"map_users.{cluster_id}[{index}]"
        result.declare(principal, permissions, org.files["access.yaml"], path, f"groups {', '.join(entry.groups)}")
