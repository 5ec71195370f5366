"""How the cluster learns who a role is: aws-auth mapRoles/mapUsers entries or EKS access entries.

Node roles are always mapped; EKS's own rules for access entries are checked here, before any API call.
"""

from __future__ import annotations

from collections.abc import Sequence

from access.core import names
from access.core.model import ACCESS_ENTRIES_PER_CLUSTER, NodeRole, NodeType, Organisation, RoleKind
from access.core.plan.types import AccessEntryPlan, AccessEntryType, AccessPolicyPlan, MapEntry, RolePlan
from access.core.sensitivity import CLUSTER_ADMIN_POLICY
from access.errors import ConfigError

NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
FARGATE_USERNAME = "system:node:{{SessionName}}"
NODE_GROUPS = ("system:bootstrappers", "system:nodes")
ACCESS_ENTRY_TYPES: dict[NodeType, AccessEntryType] = {
    NodeType.EC2: "EC2_LINUX",
    NodeType.WINDOWS: "EC2_WINDOWS",
    NodeType.FARGATE: "FARGATE_LINUX",
}
BREAK_GLASS_USERNAME = "break-glass:{{SessionName}}"


def node_map_entry(node: NodeRole) -> MapEntry:
    arn = names.strip_role_path(node.arn)
    if node.type is NodeType.FARGATE:
        return MapEntry(arn, FARGATE_USERNAME, (*NODE_GROUPS, "system:node-proxier"), "node")
    if node.type is NodeType.WINDOWS:
        return MapEntry(arn, NODE_USERNAME, (*NODE_GROUPS, "eks:kube-proxy-windows"), "node")
    return MapEntry(arn, NODE_USERNAME, NODE_GROUPS, "node")


def build_map_roles(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[MapEntry, ...]:
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
    return tuple(entries)


def check_unique_arns(org: Organisation, entries: Sequence[MapEntry], where: str = "clusters") -> None:
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


def build_map_users(org: Organisation, env_id: str) -> tuple[MapEntry, ...]:
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
    return tuple(entries)


def build_access_entries(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[AccessEntryPlan, ...]:
    """One EKS access entry per principal: nodes (typed, nothing else), this stack's roles, break-glass.

    Node roles marked ``eks_managed`` get none: EKS creates those entries itself, and a second create fails.
    Node and break-glass entries exist once per cluster, so only the cluster's home environment declares them.
    """
    cluster = org.clusters[org.environments[env_id].cluster]
    owns_cluster = cluster.home_environment == env_id
    entries = [
        AccessEntryPlan(
            key=node_entry_key(n.arn),
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
    return tuple(entries)


def node_entry_key(arn: str) -> str:
    """A node role's access entry key: by role name (unique per account, whatever the path)."""
    return f"node/{names.strip_role_path(arn).rsplit('/', 1)[-1]}"


ACCESS_POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
NODE_ENTRY_TYPES = frozenset(ACCESS_ENTRY_TYPES.values())


def validate_access_entries(org: Organisation, cluster_id: str, entries: Sequence[AccessEntryPlan]) -> None:
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
        if entry.type in NODE_ENTRY_TYPES:
            _check_node_entry(environments_file, where, account_id, entry)
        elif entry.type == "STANDARD":
            _check_standard_entry(org, where, cluster.name, entry)
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


def _principal_kind(arn: str) -> tuple[str | None, str | None]:
    """(IAM resource type, account id) of a principal ARN; (None, None) when it is not an IAM ARN."""
    match = names.ARN_RE.match(arn)
    if not match or match.group(2) != "iam":
        return None, None
    return match.group(4), match.group(3)


def _check_node_entry(file: str, where: str, account_id: str, entry: AccessEntryPlan) -> None:
    if entry.username is not None or entry.kubernetes_groups or entry.policies:
        raise ConfigError(
            file,
            f"{where}.node_roles",
            f"node access entry {entry.key} ({entry.type}) may not carry a username, groups or policies; "
            "EKS assigns them",
        )
    kind, account = _principal_kind(entry.principal_arn)
    if kind != "role" or account != account_id:
        raise ConfigError(
            file,
            f"{where}.node_roles",
            f"node role {entry.principal_arn!r} must be an IAM role in the cluster's account {account_id} "
            f"for a {entry.type} access entry",
        )


def _check_standard_entry(org: Organisation, where: str, cluster_name: str, entry: AccessEntryPlan) -> None:
    file = org.files["environments.yaml"]
    kind, _ = _principal_kind(entry.principal_arn)
    if kind not in ("role", "user"):
        raise ConfigError(
            file,
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
                f"{problem} (access entry {entry.key} in {cluster_name})",
            )
    for policy in entry.policies:
        if not policy.policy_arn.startswith(ACCESS_POLICY_PREFIX):
            raise ConfigError(file, where, f"{policy.policy_arn!r} is not an EKS access policy ARN")
        if policy.scope not in ("cluster", "namespace") or (policy.scope == "namespace") != bool(policy.namespaces):
            raise ConfigError(
                file,
                where,
                f"access policy scope {policy.scope!r} of entry {entry.key}: use cluster, or namespace "
                "with at least one namespace",
            )


def _naming_key(entry_key: str, what: str) -> str:
    """The settings.yaml template an access entry's username or group comes from."""
    kind = entry_key.split("/", 1)[0]
    prefix = {"human": "", "admin": "admin_", "monitoring": "monitoring_", "ci": "ci_"}.get(kind)
    if prefix is None:
        return "naming"
    if what == "Kubernetes username":
        return f"naming.{prefix}username"
    return "naming.kubernetes_group" if kind == "human" else f"naming.{prefix}group"
