"""The plan's vocabulary: frozen records of what one environment's stack should create."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from access.core import iam
from access.core.model import AuthMode, RoleKind

MANAGED_BY = "eks-access"
AccessEntryType = Literal["STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX"]
AccessScope = Literal["cluster", "namespace"]
Manifest = dict[str, Any]


@dataclass(frozen=True)
class RolePlan:
    key: str  # stable id, e.g. "human/projecta/operate", "admin", "ci/jenkins"
    kind: RoleKind
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
class PermissionSetPlan:
    """An Identity Center team's permission set for one environment, assigned to its group in the environment's
    account: its inline policy allows exactly the team's roles there."""

    team: str
    name: str  # eks.<team>.<env>
    group: str  # the Identity Center group's DisplayName
    account_id: str  # where it is assigned (and its role provisioned): the environment's account
    role_keys: tuple[str, ...]
    role_arns: tuple[str, ...]

    @property
    def document(self) -> iam.PolicyDocument:
        return iam.permission_set_policy(self.role_arns)


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
    scope: AccessScope
    namespaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessEntryPlan:
    key: str
    principal_arn: str
    role_key: str | None  # set when the principal is a role of this stack
    type: AccessEntryType
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


@dataclass(frozen=True)
class EnvironmentPlan:
    """Everything one environment's stack declares, computed from the organisation alone."""

    environment: str
    account_id: str
    account: str
    cluster: str
    cluster_name: str
    auth_mode: AuthMode
    owns_account_iam: bool  # the stack owns the team groups and memberships of the people account
    owns_cluster_objects: bool  # node/break-glass access entries and cluster-scoped RBAC (the cluster's home env)
    roles: tuple[RolePlan, ...]
    groups: tuple[GroupPlan, ...]
    group_policies: tuple[GroupPolicyPlan, ...]
    memberships: tuple[MembershipPlan, ...]
    users_to_create: tuple[str, ...]
    map_roles: tuple[MapEntry, ...]
    map_users: tuple[MapEntry, ...]
    access_entries: tuple[AccessEntryPlan, ...]
    manifests: tuple[Manifest, ...]
    bindings: tuple[Binding, ...]
    namespaces: dict[str, str]  # project -> namespace
    keep_map_roles: tuple[str, ...] = ()
    retired_node_roles: tuple[str, ...] = ()  # live node mappings config removes explicitly
    # How messages raised while applying (the live aws-auth merge) name the config files.
    environments_file: str = "config/environments.yaml"
    access_file: str = "config/access.yaml"
    # Where the people (IAM users) and the team groups this stack writes policies on live: the environment's own
    # account, or the central identity account (people.account in environments.yaml).
    people_account: str = ""
    people_account_id: str = ""
    permission_sets: tuple[PermissionSetPlan, ...] = ()
    # The Identity Center instance the permission sets are in (None without Identity Center teams).
    identity_center_instance_arn: str = ""
    identity_store_id: str = ""
    identity_center_account_id: str = ""

    @property
    def people_elsewhere(self) -> bool:
        """The team groups are in another account than the roles: the stack writes them through a second provider."""
        return bool(self.people_account_id) and self.people_account_id != self.account_id

    @property
    def identity_account_id(self) -> str:
        """The account the identity provider reaches ("" when the stack needs none): the people account when it is
        not this one, else the Identity Center administrator account when this stack has permission sets."""
        if self.people_elsewhere:
            return self.people_account_id
        if self.permission_sets and self.identity_center_account_id != self.account_id:
            return self.identity_center_account_id
        return ""

    def role(self, key: str) -> RolePlan:
        for role in self.roles:
            if role.key == key:
                return role
        raise KeyError(key)
