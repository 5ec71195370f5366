"""The evaluator's vocabulary: who (principals), as whom the cluster sees them (identities), what (permissions)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from access.core import names
from access.core.model import PolicyRule
from access.core.sensitivity import granting, granting_resources

CLUSTER_WIDE = "*"
ANY = "*"


class PrincipalKind(StrEnum):
    """Who can act: people and machines, as AWS and Kubernetes know them."""

    USER = "user"  # an IAM user: id "<account id>/<name>" (the name as IAM compares it, lower-cased)
    ROLE = "role"  # an IAM role that is not eks-access's (trusted, monitoring, CI agent, break-glass): its ARN
    ACCOUNT = "account"  # any IAM user of an account whose own policies allow it (an account-root trust): the id
    FEDERATED = "federated"  # a web identity: "<provider ARN>|<subject>"
    SERVICE = "service"  # an AWS service principal, e.g. pods.eks.amazonaws.com
    SERVICE_ACCOUNT = "service-account"  # a Kubernetes ServiceAccount: "<namespace>/<name>"
    # The members of an IAM Identity Center group, through a permission set's role: "<account id>/<group>"
    IDENTITY_CENTER = "identity-center"


@dataclass(frozen=True, order=True)
class Principal:
    kind: PrincipalKind
    id: str

    @property
    def label(self) -> str:
        """How the plan and the diff name it: IAM users by name, the rest by what identifies them."""
        if self.kind is PrincipalKind.USER:
            return self.id.split("/", 1)[1]
        if self.kind is PrincipalKind.ACCOUNT:
            return f"account {self.id} (any IAM user its own policies allow)"
        if self.kind is PrincipalKind.IDENTITY_CENTER:
            return f"Identity Center group {self.id.split('/', 1)[1]}"
        if self.kind is PrincipalKind.SERVICE_ACCOUNT:
            return f"serviceaccount:{self.id.replace('/', ':')}"
        if self.kind is PrincipalKind.FEDERATED:
            return self.id.split("|", 1)[1]
        return self.id


def user(account_id: str, name: str) -> Principal:
    """An IAM user: names are unique in an account ignoring case, so that is how they are compared."""
    return Principal(PrincipalKind.USER, f"{account_id}/{name.lower()}")


def identity_center_group(account_id: str, group: str) -> Principal:
    """The members of an Identity Center group, in the account where its permission set is assigned."""
    return Principal(PrincipalKind.IDENTITY_CENTER, f"{account_id}/{group}")


def role(arn: str) -> Principal:
    """An IAM role, by its ARN without path and lower-cased: role names are unique in an account ignoring case
    and whatever the path, so ``role/teams/x`` and ``role/x`` are one role."""
    return Principal(PrincipalKind.ROLE, names.strip_role_path(arn).lower())


class Permission(NamedTuple):
    """A (scope, API group, resource, verb) an identity may use, wildcards kept as the rule wrote them.

    ``names`` is a rule's resourceNames (empty: every object). A NamedTuple: plans hold hundreds of thousands."""

    scope: str  # a namespace, or CLUSTER_WIDE
    api_group: str
    resource: str
    verb: str
    names: tuple[str, ...] = ()


SUPERUSER = Permission(CLUSTER_WIDE, ANY, ANY, ANY)


def expand(rules: Iterable[PolicyRule], scope: str, names: tuple[str, ...] = ()) -> set[Permission]:
    """Each rule's permissions in ``scope``, limited to its own resourceNames or else to ``names``."""
    return {
        Permission(scope, group, resource, verb, rule.resource_names or names)
        for rule in rules
        for group in rule.api_groups
        for resource in rule.resources
        for verb in rule.verbs
    }


_EXPANDED: dict[tuple[tuple[PolicyRule, ...], str, tuple[str, ...]], frozenset[Permission]] = {}


def expanded(rules: tuple[PolicyRule, ...], scope: str, names: tuple[str, ...] = ()) -> frozenset[Permission]:
    """:func:`expand`, remembered: the same level is expanded in every namespace of every plan."""
    key = (rules, scope, names)
    found = _EXPANDED.get(key)
    if found is None:
        if len(_EXPANDED) > 100_000:
            _EXPANDED.clear()
        found = _EXPANDED[key] = frozenset(expand(rules, scope, names))
    return found


def covers(granted: Permission, wanted: Permission) -> bool:
    """Whether ``granted`` allows everything ``wanted`` allows (a wildcard in ``wanted`` needs one in ``granted``)."""
    if granted.scope not in (CLUSTER_WIDE, wanted.scope):
        return False
    if granted.api_group not in granting(wanted.api_group) or granted.verb not in granting(wanted.verb):
        return False
    if granted.resource not in granting_resources(wanted.resource):
        return False
    if granted.names:
        return bool(wanted.names) and set(wanted.names) <= set(granted.names)
    return True


class CoverIndex:
    """Permissions grouped by (API group, resource, verb): whether one is covered looks at the few groups that
    could cover it (:func:`granting`, :func:`granting_resources`), never at every permission held."""

    def __init__(self, have: Iterable[Permission]) -> None:
        self._by_rule: dict[tuple[str, str, str], list[Permission]] = {}
        for permission in have:
            self._by_rule.setdefault((permission.api_group, permission.resource, permission.verb), []).append(
                permission
            )

    def covered(self, wanted: Permission) -> bool:
        """``any(covers(h, wanted) for h in have)``, by lookups."""
        for group in granting(wanted.api_group):
            for resource in granting_resources(wanted.resource):
                for verb in granting(wanted.verb):
                    for held in self._by_rule.get((group, resource, verb), ()):
                        if covers(held, wanted):
                            return True
        return False


@dataclass(frozen=True)
class Identity:
    """A principal as the cluster sees it once authenticated: username and groups (system:authenticated
    included), and EKS access policies associated with its access entry."""

    username: str
    groups: tuple[str, ...]
    policies: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (policy ARN, cluster|namespace, namespaces)
    via: str = ""  # aws-auth mapRoles | aws-auth mapUsers | access entry


@dataclass(frozen=True)
class Route:
    """How a principal reaches a role: which trust statement let it in and which identity policy allowed it."""

    role_arn: str
    trust_statement: str
    identity_policy: str = ""  # "<group>/<policy>" when the principal needed its own policy


@dataclass
class Access:
    """Everything one principal may do in the cluster, with how it gets there (for messages)."""

    principal: Principal
    permissions: set[Permission] = field(default_factory=set)
    # permission -> (role ARN or "", identity, binding id), the first route found
    routes: dict[Permission, tuple[str, Identity, str]] = field(default_factory=dict)
