"""Effective access: every principal's permissions in a cluster, from the rendered documents alone.

A principal reaches the cluster through a role it may assume (IAM: :mod:`access.core.evaluate.iam`), or directly
when a mapping names its own ARN (the break-glass role, ``map_users``, roles config keeps); the cluster sees it as
an identity (:mod:`access.core.evaluate.authenticator`), and RBAC decides what that identity may do
(:mod:`access.core.evaluate.rbac`). ServiceAccounts bound by the manifests are principals of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access.core import names
from access.core.evaluate import authenticator, rbac
from access.core.evaluate.authenticator import MACHINE_SESSION, Mappings
from access.core.evaluate.documents import ClusterDocuments, RoleDocument
from access.core.evaluate.iam import who_may_assume
from access.core.evaluate.types import Identity, Permission, Principal, PrincipalKind, Route, role, user


@dataclass(frozen=True)
class Reach:
    """One way a principal reaches the cluster: through a role (``role`` set) or by its own ARN."""

    principal: Principal
    role: RoleDocument | None
    arn: str  # the ARN the cluster maps: the role's, or the principal's own
    route: Route | None
    identity: Identity
    permissions: dict[Permission, str]  # permission -> the binding or policy granting it


@dataclass
class Evaluation:
    documents: ClusterDocuments
    mappings: Mappings
    assumers: dict[str, dict[Principal, Route]]
    reaches: dict[Principal, list[Reach]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)  # what grants a permission -> the level it stands for

    def permissions(self, principal: Principal) -> frozenset[Permission]:
        return frozenset().union(*(reach.permissions.keys() for reach in self.reaches.get(principal, ())))


def session_of(principal: Principal) -> str:
    """The session name a principal signs with: IAM users their own name (the trust pins it), machines any."""
    return principal.label if principal.kind is PrincipalKind.USER else MACHINE_SESSION


def evaluate(documents: ClusterDocuments) -> Evaluation:
    m = authenticator.mappings(documents)
    auth = rbac.authorizer(documents.manifests)
    result = Evaluation(documents, m, who_may_assume(documents), levels=rbac.levels(auth))
    cache: dict[Identity, dict[Permission, str]] = {}

    def reach(principal: Principal, role: RoleDocument | None, arn: str, route: Route | None, ident: Identity) -> None:
        if ident not in cache:
            cache[ident] = rbac.permissions(auth, ident)
        result.reaches.setdefault(principal, []).append(Reach(principal, role, arn, route, ident, cache[ident]))

    role_arns = set()
    for document in documents.roles:
        role_arns.add(names.strip_role_path(document.arn).lower())
        for principal, route in result.assumers.get(document.arn, {}).items():
            identity = authenticator.role_identity(m, document.arn, session_of(principal))
            if identity is not None:
                reach(principal, document, document.arn, route, identity)
    for arn in _mapped_arns(m):
        if names.strip_role_path(arn).lower() in role_arns:
            continue
        direct = _direct_principal(arn)
        identity = (
            authenticator.user_identity(m, arn)
            if direct.kind is PrincipalKind.USER
            else authenticator.role_identity(m, arn, MACHINE_SESSION)
        )
        if identity is not None:
            reach(direct, None, arn, None, identity)
    for namespace, name in _service_accounts(auth):
        principal = Principal(PrincipalKind.SERVICE_ACCOUNT, f"{namespace}/{name}")
        reach(principal, None, "", None, rbac.service_account_identity(namespace, name))
    return result


def _mapped_arns(m: Mappings) -> list[str]:
    """Every ARN a mapping names (as written), so principals mapped by their own ARN are evaluated too."""
    arns = [e.arn for e in m.map_roles.values()] + [e.arn for e in m.map_users.values()]
    arns += [e.principal_arn for e in m.entries.values()]
    return sorted(set(arns))


def _direct_principal(arn: str) -> Principal:
    if ":user/" in arn:
        return user(arn.split(":")[4], arn.rsplit("/", 1)[-1])
    return role(arn)


def _service_accounts(auth: rbac.Authorizer) -> list[tuple[str, str]]:
    found = {tuple(key[1].split("/", 1)) for key in auth.by_subject if key[0] == "ServiceAccount"}
    return sorted((ns, name) for ns, name in found)
