"""The plan: what one environment's stack should create, computed purely from the organisation.

Everything is sorted and keyed by stable ids, so reordering config changes nothing and the same
config always gives the same plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from access.core import iam, names
from access.core.model import ACCESS_ENTRIES_PER_CLUSTER, AccessLevel, AuthMode, NodeRole, NodeType, Organisation
from access.core.plan import rbac
from access.errors import ConfigError

MANAGED_BY = "eks-access"


class RoleKind:
    HUMAN = "human"
    ADMIN = "admin"
    MONITORING = "monitoring"
    CI = "ci"


@dataclass(frozen=True)
class RolePlan:
    key: str  # stable id, e.g. "human/projecta/operate", "admin", "ci/jenkins"
    kind: str
    name: str
    path: str
    arn: str
    trust_policy: iam.PolicyDocument
    max_session_duration: int
    permissions_boundary: str | None
    managed_policy_arns: tuple[str, ...]
    tags: dict[str, str]
    username: str  # Kubernetes username template ({{SessionName}} filled in by EKS)
    kubernetes_groups: tuple[str, ...]
    project: str | None = None
    level: str | None = None
    teams: tuple[str, ...] = ()  # teams whose members may assume it


@dataclass(frozen=True)
class GroupPlan:
    team: str
    name: str
    path: str


@dataclass(frozen=True)
class GroupPolicyPlan:
    team: str
    group_name: str
    policy_name: str
    role_keys: tuple[str, ...]
    role_arns: tuple[str, ...]  # the same roles' ARNs as the plan computes them (the shell uses Outputs)

    @property
    def document(self) -> iam.PolicyDocument:
        return iam.assume_roles_policy(self.role_arns)


@dataclass(frozen=True)
class MembershipPlan:
    user: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class MapEntry:
    """One aws-auth mapRoles/mapUsers entry."""

    arn: str  # as written in aws-auth (role path stripped)
    username: str
    groups: tuple[str, ...]
    source: str  # node | human | admin | break-glass | monitoring | ci | user


@dataclass(frozen=True)
class AccessPolicyPlan:
    policy_arn: str
    scope: str  # cluster | namespace
    namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessEntryPlan:
    key: str
    principal_arn: str
    role_key: str | None  # set when the principal is a role of this stack
    type: str  # STANDARD | EC2_LINUX | EC2_WINDOWS | FARGATE_LINUX
    username: str | None
    kubernetes_groups: tuple[str, ...]
    policies: tuple[AccessPolicyPlan, ...] = ()


@dataclass(frozen=True)
class Binding:
    """What a Kubernetes group may do: a level's rules in a namespace, or cluster-wide."""

    group: str
    namespace: str | None  # None: cluster-wide
    level: str
    rules_ref: str  # Role/ClusterRole name the binding points at


@dataclass
class EnvironmentPlan:
    environment: str
    account_id: str
    account: str
    cluster: str
    cluster_name: str
    auth_mode: AuthMode
    owns_account_iam: bool
    owns_cluster_objects: bool  # node/break-glass access entries and cluster-scoped RBAC (the cluster's home env)
    roles: list[RolePlan]
    groups: list[GroupPlan]
    group_policies: list[GroupPolicyPlan]
    memberships: list[MembershipPlan]
    users_to_create: list[str]
    map_roles: list[MapEntry]
    map_users: list[MapEntry]
    access_entries: list[AccessEntryPlan]
    manifests: list[dict[str, Any]]
    bindings: list[Binding]
    namespaces: dict[str, str]  # project -> namespace
    levels: dict[str, AccessLevel]
    keep_map_roles: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def role(self, key: str) -> RolePlan:
        for role in self.roles:
            if role.key == key:
                return role
        raise KeyError(key)


NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
FARGATE_USERNAME = "system:node:{{SessionName}}"
NODE_GROUPS = ("system:bootstrappers", "system:nodes")
ACCESS_ENTRY_TYPES = {NodeType.EC2: "EC2_LINUX", NodeType.WINDOWS: "EC2_WINDOWS", NodeType.FARGATE: "FARGATE_LINUX"}
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
BREAK_GLASS_USERNAME = "break-glass:{{SessionName}}"


def node_map_entry(node: NodeRole) -> MapEntry:
    arn = names.strip_role_path(node.arn)
    if node.type is NodeType.FARGATE:
        return MapEntry(arn, FARGATE_USERNAME, (*NODE_GROUPS, "system:node-proxier"), "node")
    if node.type is NodeType.WINDOWS:
        return MapEntry(arn, NODE_USERNAME, (*NODE_GROUPS, "eks:kube-proxy-windows"), "node")
    return MapEntry(arn, NODE_USERNAME, NODE_GROUPS, "node")


def _tags(org: Organisation, env: str, **extra: str) -> dict[str, str]:
    tags = dict(org.roles.tags)
    tags.update({"managed-by": MANAGED_BY, "environment": env})
    tags.update({k: v for k, v in extra.items() if v})
    return dict(sorted(tags.items()))


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
            f"unknown environment {env_id!r}; config/environments.yaml has {', '.join(sorted(org.environments))}",
        )
    env = org.environments[env_id]
    account = org.accounts[env.account]
    cluster = org.clusters[env.cluster]
    naming = org.naming

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
    owns_account_iam = account.home_environment == env_id
    groups: list[GroupPlan] = []
    memberships: list[MembershipPlan] = []
    users_to_create: list[str] = []
    if owns_account_iam:
        account_groups = account_team_groups(org, env.account)
        groups = [GroupPlan(team, names.iam_group_name(naming, team), naming.group_path) for team in account_groups]
        by_user: dict[str, tuple[str, set[str]]] = {}
        for team in account_groups:
            for user in org.teams[team].members:
                entry = by_user.setdefault(user.lower(), (user, set()))
                entry[1].add(names.iam_group_name(naming, team))
        memberships = [MembershipPlan(user, tuple(sorted(gs))) for user, gs in sorted(by_user.values())]
        if org.create_users:
            users_to_create = sorted(user for user, _ in by_user.values())

    map_roles = build_map_roles(org, env_id, roles) if auth_mode.writes_config_map else []
    map_users = build_map_users(org, env_id) if auth_mode.writes_config_map else []
    access_entries = build_access_entries(org, env_id, roles) if auth_mode.writes_access_entries else []

    manifests, bindings = rbac.build(org, env_id, roles)
    if not (org.admin_teams or cluster.break_glass_role_arn):
        raise ConfigError(
            org.files["access.yaml"],
            "cluster_admins",
            f"cluster {cluster.name!r} would have no admin path; list admin teams under "
            "cluster_admins.teams or set a break_glass_role",
        )
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
        manifests=manifests,
        bindings=bindings,
        namespaces={
            p.id: names.namespace(naming, p.id, env_id)
            for p in sorted(org.projects.values(), key=lambda p: p.id)
            if env_id in p.environments
        },
        levels=org.levels,
        keep_map_roles=cluster.keep_map_roles,
    )


def build_roles(org: Organisation, env_id: str) -> list[RolePlan]:
    """The IAM roles of one environment: humans per project (and level), then admin, monitoring, CI."""
    env = org.environments[env_id]
    account = org.accounts[env.account]
    naming = org.naming
    settings = org.roles

    def role(
        key: str,
        kind: str,
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
    human_trust = iam.human_trust_policy(account.account_id, settings)
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
                human_trust,
                _tags(org, env_id, project=project, team=org.projects[project].owner, level=level),
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
                human_trust,
                _tags(org, env_id, purpose="cluster-admin"),
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
                iam.monitoring_trust_policy(org.monitoring),
                _tags(org, env_id, purpose="monitoring"),
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
                    _tags(org, env_id, purpose="ci-deployer", ci=ci.id),
                    names.fill(naming.ci_username, ci=ci.id),
                    names.fill(naming.ci_group, ci=ci.id),
                )
            )
    return roles


def build_group_policies(org: Organisation, env_id: str, roles: list[RolePlan]) -> list[GroupPolicyPlan]:
    """Per team, the inline policy (named after the environment) allowing exactly its roles here."""
    naming = org.naming
    # IAM groups are per team and account; this stack writes the inline policy for its own environment's roles.
    group_roles: dict[str, list[RolePlan]] = defaultdict(list)
    for role in roles:
        for team in role.teams:
            group_roles[team].append(role)
    return [
        GroupPolicyPlan(
            team=team,
            group_name=names.iam_group_name(naming, team),
            policy_name=f"{MANAGED_BY}-{env_id}",
            role_keys=tuple(r.key for r in sorted(rs, key=lambda r: r.arn)),
            role_arns=tuple(sorted(r.arn for r in rs)),
        )
        for team, rs in sorted(group_roles.items())
    ]


def account_team_groups(org: Organisation, account: str) -> list[str]:
    """Teams that need an IAM group in this account: those with any role to assume there."""
    teams = {g.team for g in org.grants if org.environments[g.environment].account == account}
    if any(e.account == account for e in org.environments.values()):
        teams.update(org.admin_teams)
    return sorted(teams)


def build_map_roles(org: Organisation, env_id: str, roles: list[RolePlan]) -> list[MapEntry]:
    """Node roles first, then humans, admins, monitoring and CI; then break-glass. Paths stripped."""
    cluster = org.clusters[org.environments[env_id].cluster]
    entries = [node_map_entry(n) for n in cluster.node_roles]
    order = {RoleKind.HUMAN: 0, RoleKind.ADMIN: 1, RoleKind.MONITORING: 2, RoleKind.CI: 3}
    for role in sorted(roles, key=lambda r: (order[r.kind], r.name)):
        entries.append(MapEntry(names.strip_role_path(role.arn), role.username, role.kubernetes_groups, role.kind))
    if cluster.break_glass_role_arn:
        # The one deliberate system:masters: an emergency role outside RBAC, never a team's.
        entries.append(
            MapEntry(
                names.strip_role_path(cluster.break_glass_role_arn),
                BREAK_GLASS_USERNAME,
                ("system:masters",),
                "break-glass",
            )
        )
    check_unique_arns(org, entries, f"clusters.{cluster.id}")
    return entries


def check_unique_arns(org: Organisation, entries: list[MapEntry], where: str = "clusters") -> None:
    """The authenticator compares ARNs lower-cased and without path; the last duplicate would silently win."""
    seen: dict[str, MapEntry] = {}
    for entry in entries:
        key = entry.arn.lower()
        if key in seen:
            raise ConfigError(
                org.files["environments.yaml"],
                where,
                f"aws-auth would map {entry.arn!r} twice ({seen[key].source} and {entry.source}); "
                "role ARNs are compared without path and ignoring case, so one would silently win",
            )
        seen[key] = entry


def build_map_users(org: Organisation, env_id: str) -> list[MapEntry]:
    """aws-auth mapUsers (discouraged: long-lived user keys; kept for setups that still need it)."""
    cluster = org.environments[env_id].cluster
    entries = [MapEntry(u.user_arn, u.username, u.groups, "user") for u in org.map_users.get(cluster, ())]
    seen: dict[str, MapEntry] = {}
    for entry in entries:
        if entry.username.startswith("system:"):
            raise ConfigError(
                org.files["access.yaml"],
                f"map_users.{cluster}",
                f"username {entry.username!r} of {entry.arn!r} is a system: name; people may not pose as nodes "
                "or Kubernetes components",
            )
        key = entry.arn.lower()
        if key in seen:
            raise ConfigError(
                org.files["access.yaml"],
                f"map_users.{cluster}",
                f"aws-auth would map user {entry.arn!r} twice; ARNs are compared ignoring case, so one would "
                "silently win",
            )
        seen[key] = entry
    return entries


def build_access_entries(org: Organisation, env_id: str, roles: list[RolePlan]) -> list[AccessEntryPlan]:
    """One EKS access entry per principal: nodes (typed, nothing else), this stack's roles, break-glass.

    Node roles marked ``eks_managed`` get none: EKS creates those entries itself, and a second create fails.
    Node and break-glass entries exist once per cluster, so only the cluster's home environment declares them.
    """
    cluster = org.clusters[org.environments[env_id].cluster]
    owns_cluster = cluster.home_environment == env_id
    entries = [
        AccessEntryPlan(
            key=f"node/{names.strip_role_path(n.arn).rsplit('/', 1)[-1]}",
            principal_arn=n.arn,
            role_key=None,
            type=ACCESS_ENTRY_TYPES[n.type],
            username=None,
            kubernetes_groups=(),
        )
        for n in cluster.node_roles
        if owns_cluster and not n.eks_managed
    ]
    for role in roles:
        entries.append(
            AccessEntryPlan(
                key=role.key,
                principal_arn=role.arn,
                role_key=role.key,
                type="STANDARD",
                username=role.username,
                kubernetes_groups=role.kubernetes_groups,
            )
        )
    if cluster.break_glass_role_arn and owns_cluster:
        entries.append(
            AccessEntryPlan(
                key="break-glass",
                principal_arn=cluster.break_glass_role_arn,
                role_key=None,
                type="STANDARD",
                username=BREAK_GLASS_USERNAME,
                kubernetes_groups=(),
                policies=(AccessPolicyPlan(CLUSTER_ADMIN_POLICY, "cluster"),),
            )
        )
    validate_access_entries(org, cluster.id, entries)
    return entries


ACCESS_POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
NODE_ENTRY_TYPES = frozenset(ACCESS_ENTRY_TYPES.values())


def validate_access_entries(org: Organisation, cluster_id: str, entries: list[AccessEntryPlan]) -> None:
    """EKS's CreateAccessEntry/AssociateAccessPolicy rules, checked before any API call (EKS would reject
    these half-way through an update, leaving some entries created and others not)."""
    cluster = org.clusters[cluster_id]
    account_id = org.accounts[cluster.account].account_id
    environments_file = org.files["environments.yaml"]
    where = f"clusters.{cluster_id}"
    if len(entries) > ACCESS_ENTRIES_PER_CLUSTER:
        raise ConfigError(
            environments_file,
            where,
            f"cluster {cluster.name!r} would need {len(entries)} access entries; EKS allows "
            f"{ACCESS_ENTRIES_PER_CLUSTER} per cluster: split projects across clusters",
        )
    seen: dict[str, str] = {}
    for entry in entries:
        match = names.ARN_RE.match(entry.principal_arn)
        kind = match.group(4) if match and match.group(2) == "iam" else None
        if entry.type in NODE_ENTRY_TYPES:
            if entry.username is not None or entry.kubernetes_groups or entry.policies:
                raise ConfigError(
                    environments_file,
                    f"{where}.node_roles",
                    f"node access entry {entry.key} ({entry.type}) may not carry a username, groups or policies; "
                    "EKS assigns them",
                )
            if kind != "role" or match is None or match.group(3) != account_id:
                raise ConfigError(
                    environments_file,
                    f"{where}.node_roles",
                    f"node role {entry.principal_arn!r} must be an IAM role in the cluster's account {account_id} "
                    f"for a {entry.type} access entry",
                )
        elif entry.type == "STANDARD":
            if kind not in ("role", "user"):
                raise ConfigError(
                    environments_file,
                    where,
                    f"access entry principal {entry.principal_arn!r} must be an IAM role or user ARN "
                    "(not an STS session or a group)",
                )
            named = [(entry.username, "Kubernetes username")] if entry.username is not None else []
            named += [(group, "Kubernetes group") for group in entry.kubernetes_groups]
            for value, what in named:
                problem = names.access_entry_name_problem(value, what)
                if problem:
                    raise ConfigError(
                        org.files["settings.yaml"],
                        _naming_key(entry.key, what),
                        f"{problem} (access entry {entry.key} in {cluster.name})",
                    )
            for policy in entry.policies:
                if not policy.policy_arn.startswith(ACCESS_POLICY_PREFIX):
                    raise ConfigError(
                        environments_file, where, f"{policy.policy_arn!r} is not an EKS access policy ARN"
                    )
                if policy.scope not in ("cluster", "namespace") or (policy.scope == "namespace") != bool(
                    policy.namespaces
                ):
                    raise ConfigError(
                        environments_file,
                        where,
                        f"access policy scope {policy.scope!r} of entry {entry.key}: use cluster, or namespace "
                        "with at least one namespace",
                    )
        else:
            raise ConfigError(environments_file, where, f"unknown access entry type {entry.type!r} ({entry.key})")
        key = entry.principal_arn.lower()
        if key in seen:
            raise ConfigError(
                environments_file,
                where,
                f"two access entries for principal {entry.principal_arn!r} "
                f"({seen[key]} and {entry.key}); EKS allows one entry per principal",
            )
        seen[key] = entry.key


def _naming_key(entry_key: str, what: str) -> str:
    """The settings.yaml template an access entry's username or group comes from."""
    kind = entry_key.split("/", 1)[0]
    prefix = {"human": "", "admin": "admin_", "monitoring": "monitoring_", "ci": "ci_"}.get(kind)
    if prefix is None:
        return "naming"
    if what == "Kubernetes username":
        return f"naming.{prefix}username"
    return "naming.kubernetes_group" if kind == "human" else f"naming.{prefix}group"
