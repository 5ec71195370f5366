"""The validated organisation: frozen, fully resolved, keyed by normalised ids.

Built only by :mod:`access.core.config`; everything downstream may assume every reference resolves
and every derived name is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthMode(StrEnum):
    """EKS cluster authentication modes; changes are one-way in this order."""

    CONFIG_MAP = "config_map"
    API_AND_CONFIG_MAP = "api_and_config_map"
    API = "api"

    @property
    def writes_config_map(self) -> bool:
        return self is not AuthMode.API

    @property
    def writes_access_entries(self) -> bool:
        return self is not AuthMode.CONFIG_MAP


class Trust(StrEnum):
    """Who an account-root trust admits: any IAM user of the account its own policies allow (``account``), or
    only the members of the teams the role is for (``members``). Both also need eks-access's group policy."""

    ACCOUNT = "account"
    MEMBERS = "members"


class RoleKind(StrEnum):
    """The roles eks-access creates: per project-environment for people, and once per environment for the rest."""

    HUMAN = "human"
    ADMIN = "admin"
    MONITORING = "monitoring"
    CI = "ci"


class NodeType(StrEnum):
    EC2 = "ec2"
    WINDOWS = "windows"
    FARGATE = "fargate"


@dataclass(frozen=True)
class Quotas:
    """IAM quotas of one account. Defaults are AWS's; raised ones are declared in config."""

    roles_per_account: int = 1000
    groups_per_account: int = 300
    role_trust_policy_chars: int = 2048


# Hard IAM limits (not adjustable) and the ceilings adjustable quotas can be raised to.
GROUPS_PER_USER = 10
GROUP_INLINE_POLICY_CHARS = 5120
MANAGED_POLICY_CHARS = 6144
MAX_ROLES_PER_ACCOUNT = 5000
MAX_GROUPS_PER_ACCOUNT = 500
MAX_TRUST_POLICY_CHARS = 4096
ACCESS_ENTRIES_PER_CLUSTER = 3000


@dataclass(frozen=True)
class Account:
    id: str  # config id, e.g. "main"
    account_id: str  # 12 digits
    quotas: Quotas
    home_environment: str  # the environment whose stack owns account-wide IAM (groups, memberships)


@dataclass(frozen=True)
class IdentityCenter:
    """The IAM Identity Center instance whose groups may be teams (``people.identity_center``)."""

    instance_arn: str  # arn:aws:sso:::instance/ssoins-...
    identity_store_id: str  # d-...
    account: str  # accounts key of the management or delegated administrator account that manages it


# IAM Identity Center quotas ("IAM Identity Center quotas", IAM Identity Center User Guide)
PERMISSION_SETS_PER_INSTANCE = 2000
PERMISSION_SETS_PER_ACCOUNT = 250  # provisioned permission sets per AWS account
PERMISSION_SET_INLINE_POLICY_CHARS = 10240  # non-whitespace characters; not adjustable
PERMISSION_SET_NAME_MAX = 32


@dataclass(frozen=True)
class People:
    """Where the IAM users that are team members live (``people`` in environments.yaml).

    By default (``account`` empty) each environment's people are IAM users of the environment's own account, with
    the team groups there. With a central identity account, the groups and memberships exist once, in that
    account, owned by the stack of ``home_environment``; every environment's stack puts its group policy on them
    and its roles trust that account."""

    account: str = ""  # accounts key of the identity account; "" = each environment's own account
    home_environment: str = ""  # with an identity account: the environment whose stack owns its groups
    identity_center: IdentityCenter | None = None


@dataclass(frozen=True)
class NodeRole:
    arn: str
    type: NodeType
    # Role of an EKS managed node group or Fargate profile: in API auth modes EKS creates its access entry itself.
    eks_managed: bool = False


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str  # EKS cluster name
    account: str
    node_roles: tuple[NodeRole, ...]
    keep_map_roles: tuple[str, ...]  # live aws-auth role ARNs to carry over untouched
    break_glass_role_arn: str | None
    # The environment whose stack owns what exists once per cluster: node and break-glass access entries and
    # cluster-scoped RBAC. Required in config when environments share the cluster; "" for an unused cluster.
    home_environment: str = ""
    # Node roles whose live mappings may go: the explicit decision that removes a node's aws-auth entry.
    retired_node_roles: tuple[str, ...] = ()
    # Who administers the cluster outside eks-access, when eks-access gives nobody an admin path ("" = not declared).
    external_admins: str = ""


@dataclass(frozen=True)
class Environment:
    id: str
    account: str
    cluster: str


@dataclass(frozen=True)
class Team:
    id: str
    members: tuple[str, ...]  # IAM user names, as written (IAM names keep their case)
    # An IAM Identity Center group (its DisplayName) instead of IAM users: exclusive with members.
    identity_center_group: str | None = None


@dataclass(frozen=True)
class Project:
    id: str
    owner: str  # team id
    environments: tuple[str, ...]


@dataclass(frozen=True)
class PolicyRule:
    """One Kubernetes RBAC rule. ``resource_names`` (``resourceNames``) limits it to the named objects; empty: all."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessLevel:
    id: str
    rules: tuple[PolicyRule, ...]
    builtin: bool = True


@dataclass(frozen=True)
class Grant:
    """Team -> project -> environment -> access level."""

    team: str
    project: str
    environment: str
    level: str


@dataclass(frozen=True)
class Mfa:
    required: bool = False
    max_age_seconds: int = 86400


@dataclass(frozen=True)
class RoleSettings:
    path: str = "/"
    max_session_duration: int = 3600
    permissions_boundary: str | None = None
    session_name_condition: bool = True
    mfa: Mfa = Mfa()
    trust_account_root: bool = True
    trust: Trust = Trust.ACCOUNT  # project roles; the admin role has its own (Organisation.admin_trust)
    trusted_principals: tuple[str, ...] = ()
    # Foreign account roots trusted without sts:ExternalId, each acknowledged in config with a reason.
    trusted_without_external_id: tuple[str, ...] = ()
    external_id: str | None = None
    managed_policy_arns: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Naming:
    """Name templates. Fields: {project} {env} {team} {level} {ci}; ``{{SessionName}}`` passes through."""

    role: str = "{project}-{env}-humans"
    kubernetes_group: str = "{project}:{env}"
    username: str = "{project}:{env}:{{SessionName}}"
    namespace: str = "{project}-{env}"
    iam_group: str = "eks-access-{team}"
    group_path: str = "/"
    admin_role: str = "{env}-cluster-admins"
    admin_group: str = "eks-access:cluster-admins"
    admin_username: str = "cluster-admin:{{SessionName}}"
    monitoring_role: str = "{env}-monitoring"
    monitoring_group: str = "eks-access:monitoring"
    monitoring_username: str = "monitoring:{{SessionName}}"
    ci_role: str = "{ci}-{env}-deployer"
    ci_group: str = "ci:{ci}"
    ci_username: str = "ci:{ci}:{{SessionName}}"


@dataclass(frozen=True)
class Monitoring:
    trusted_roles: tuple[str, ...]
    trusted_services: tuple[str, ...]
    extra_rules: tuple[PolicyRule, ...] = ()


@dataclass(frozen=True)
class GithubOidc:
    repository: str  # owner/name
    branch: str | None
    environment: str | None  # GitHub deployment environment
    provider_arn: str | None  # default: the account's token.actions.githubusercontent.com provider


@dataclass(frozen=True)
class CiDeployer:
    id: str
    trusted_role_arn: str | None
    github: GithubOidc | None
    deploys: tuple[tuple[str, str], ...]  # (project, environment)
    service_accounts: bool


@dataclass(frozen=True)
class MapUser:
    """A discouraged aws-auth mapUsers entry (kept for the seeds' setups that still need it)."""

    user_arn: str
    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Organisation:
    accounts: dict[str, Account]
    clusters: dict[str, Cluster]
    environments: dict[str, Environment]
    teams: dict[str, Team]
    projects: dict[str, Project]
    levels: dict[str, AccessLevel]
    grants: tuple[Grant, ...]
    admin_teams: tuple[str, ...]
    monitoring: Monitoring | None
    ci: dict[str, CiDeployer]
    map_users: dict[str, tuple[MapUser, ...]]  # by cluster id
    naming: Naming
    roles: RoleSettings
    create_users: bool
    admin_trust: Trust = Trust.MEMBERS
    people: People = field(default_factory=People)
    # where each piece came from, for error messages raised after loading (e.g. quotas)
    files: dict[str, str] = field(default_factory=dict, compare=False)

    def people_account(self, env_id: str) -> str:
        """The accounts key of the account whose IAM users are the people of ``env_id`` (and where the team groups
        its stack writes policies on live): the identity account, or the environment's own account."""
        return self.people.account or self.environments[env_id].account
