"""The invariant: effective access equals declared access, or the stack is refused with one line.

For every principal of a cluster, its effective permissions (from the rendered documents) must be covered by what
config declares for it, and every declared permission must be effective. Permissions are compared as RBAC
matches them (a wildcard covers what it matches; cluster-wide covers every namespace). The first difference is
reported at the config key that causes it: the grant, team or setting that gives the principal the way in, with
the route (role, Kubernetes group, binding) and what config declares instead.

Nodes and Kubernetes' own groups are checked apart: every node role of the cluster is mapped as a node (or it
would leave the cluster), and nothing but a node role or the break-glass role is mapped into a ``system:`` group.
"""

from __future__ import annotations

from collections.abc import Iterable

from access.core import names
from access.core.evaluate.authenticator import AUTHENTICATED, role_identity
from access.core.evaluate.effective import Evaluation, Reach
from access.core.evaluate.intent import Intent
from access.core.evaluate.types import (
    CLUSTER_WIDE,
    SUPERUSER,
    CoverIndex,
    Permission,
    Principal,
    PrincipalKind,
)
from access.core.model import Organisation
from access.core.sensitivity import SUPERUSER_GROUP, is_system_name
from access.errors import ConfigError

SHOWN = 3  # permissions named in a message before "and N more"


# People first (a message names the person whose access is wrong), the open-trust account principal last.
REPORT_ORDER = (
    PrincipalKind.USER,
    PrincipalKind.IDENTITY_CENTER,
    PrincipalKind.ROLE,
    PrincipalKind.FEDERATED,
    PrincipalKind.SERVICE,
    PrincipalKind.SERVICE_ACCOUNT,
    PrincipalKind.ACCOUNT,
)


def _report_order(principal: Principal) -> tuple[int, str]:
    return REPORT_ORDER.index(principal.kind), principal.id


def uncovered(wanted: Iterable[Permission], have: frozenset[Permission]) -> list[Permission]:
    """The permissions of ``wanted`` that nothing in ``have`` covers (exact matches are the fast path; the rest are
    looked up by the groups that could cover them, :class:`CoverIndex`)."""
    index = CoverIndex(have)
    return sorted(w for w in wanted if w not in have and not index.covered(w))


def verify(org: Organisation, evaluation: Evaluation, intent: Intent) -> None:
    """Raise ConfigError at the first principal whose effective access is not exactly its declared access."""
    _nodes_and_system_groups(org, evaluation)
    principals = sorted(set(evaluation.reaches) | set(intent.principals), key=_report_order)
    differing: list[tuple[Principal, frozenset[Permission], frozenset[Permission]]] = []
    for principal in principals:
        effective = evaluation.permissions(principal)
        declared = intent.principals[principal].permissions if principal in intent.principals else frozenset()
        if effective != declared:  # equal sets are the healthy case: nothing to match
            differing.append((principal, effective, declared))
    for principal, effective, declared in differing:
        extra = uncovered(effective, declared)
        if extra:
            raise _over_grant(org, evaluation, intent, principal, extra)
    for principal, effective, declared in differing:
        missing = uncovered(declared, effective)
        if missing:
            raise _under_grant(org, evaluation, intent, principal, missing)


def _describe(permissions: list[Permission]) -> str:
    if SUPERUSER in permissions:
        return "everything cluster-wide (cluster-admin)"
    shown = [
        f"{p.verb} {p.api_group + '/' if p.api_group else ''}{p.resource}"
        + (f" ({', '.join(p.names)})" if p.names else "")
        + (" cluster-wide" if p.scope == CLUSTER_WIDE else f" in {p.scope}")
        for p in permissions[:SHOWN]
    ]
    more = f" and {len(permissions) - SHOWN} more" if len(permissions) > SHOWN else ""
    return ", ".join(shown) + more


def _declared(intent: Intent, principal: Principal) -> str:
    entry = intent.principals.get(principal)
    if entry is None:
        return "config grants it nothing here"
    return "config grants " + ", ".join(sorted({what for _, _, what in entry.grants}))


def _reach_text(reach: Reach, permission: Permission) -> str:
    parts = []
    if reach.role is not None:
        parts.append(f"role {reach.role.name}")
    else:
        parts.append(f"{reach.identity.via} entry for {reach.arn}")
    groups = [g for g in reach.identity.groups if g != AUTHENTICATED]
    if groups:
        parts.append(f"Kubernetes group{'s' if len(groups) > 1 else ''} {', '.join(groups)}")
    parts.append(reach.permissions[permission])
    return ", ".join(parts)


def _over_grant(
    org: Organisation, evaluation: Evaluation, intent: Intent, principal: Principal, extra: list[Permission]
) -> ConfigError:
    first = extra[0]
    reach = next(r for r in evaluation.reaches[principal] if first in r.permissions)
    file, path = _source(org, intent, principal, reach, evaluation.documents.cluster)
    return ConfigError(
        file,
        path,
        f"{principal.label} would get {_describe(extra)} through {_reach_text(reach, first)}; "
        f"{_declared(intent, principal)}. Effective access must equal what config grants: "
        "make the ids or naming templates tell these apart",
    )


def _under_grant(
    org: Organisation, evaluation: Evaluation, intent: Intent, principal: Principal, missing: list[Permission]
) -> ConfigError:
    file, path, _ = intent.principals[principal].grants[0]
    reaches = evaluation.reaches.get(principal, [])
    how = "; it reaches the cluster through " + "; ".join(
        sorted({f"role {r.role.name}" if r.role else f"{r.identity.via} entry {r.arn}" for r in reaches})
    )
    return ConfigError(
        file,
        path,
        f"{principal.label} would not get {_describe(missing)} that config grants"
        + (how if reaches else ": nothing maps it into the cluster")
        + " (a binding no principal of it reaches, or a mapping that does not match)",
    )


def _source(org: Organisation, intent: Intent, principal: Principal, reach: Reach, cluster: str) -> tuple[str, str]:
    """The config key that gives ``principal`` the way in it used: the grant of the role it assumed, its own
    declaration, or (for a principal config never names) the key behind the role or mapping it came through."""
    entry = intent.principals.get(principal)
    if reach.role is not None:
        role_key = reach.role.key
        if entry is not None:
            for file, path, _ in entry.grants:
                if _grant_makes_role(path, reach.role.environment, role_key):
                    return file, path
        return _role_source(org, reach.role.environment, role_key)
    if entry is not None:
        return entry.grants[0][0], entry.grants[0][1]
    return org.files["environments.yaml"], f"clusters.{cluster}"


def _grant_makes_role(path: str, environment: str, role_key: str) -> bool:
    parts = path.split(".")
    if role_key.startswith("human/") and parts[0] == "grants" and len(parts) == 4:
        project = role_key.split("/")[1]
        return parts[2] == project and parts[3] == environment
    return (role_key == "admin" and path == "cluster_admins.teams") or (
        role_key.startswith("ci/") and path.startswith(f"ci.{role_key[3:]}.")
    )


def _role_source(org: Organisation, environment: str, role_key: str) -> tuple[str, str]:
    if role_key.startswith("human/"):
        _, project, level = role_key.split("/")
        team = next(
            (g.team for g in org.grants if (g.project, g.environment, g.level) == (project, environment, level)), ""
        )
        return org.files["access.yaml"], f"grants.{team}.{project}.{environment}"
    if role_key == "admin":
        return org.files["access.yaml"], "cluster_admins"
    if role_key == "monitoring":
        return org.files["access.yaml"], "monitoring"
    if role_key.startswith("ci/"):
        return org.files["access.yaml"], f"ci.{role_key.split('/', 1)[-1]}"
    # A role config does not make (the policy pack found it among the resources applied): the environment's stack.
    return org.files["environments.yaml"], f"environments.{environment}"


def _nodes_and_system_groups(org: Organisation, evaluation: Evaluation) -> None:
    cluster = org.clusters[evaluation.documents.cluster]
    file = org.files["environments.yaml"]
    node_keys = {names.strip_role_path(n.arn).lower() for n in cluster.node_roles}
    break_glass = names.strip_role_path(cluster.break_glass_role_arn).lower() if cluster.break_glass_role_arn else ""
    for index, node in enumerate(cluster.node_roles):
        if node.eks_managed and not evaluation.documents.reads_aws_auth:
            continue  # EKS creates the access entry of a managed node group itself
        identity = role_identity(evaluation.mappings, node.arn, "node")
        if identity is None or "system:nodes" not in identity.groups:
            raise ConfigError(
                file,
                f"clusters.{cluster.id}.node_roles[{index}]",
                f"node role {node.arn} would not be mapped as a node (system:nodes) in cluster {cluster.name}: its "
                "nodes could not join or would leave the cluster",
            )
    for principal, reaches in sorted(evaluation.reaches.items(), key=lambda item: (item[0].kind, item[0].id)):
        for reach in reaches:
            system = [g for g in reach.identity.groups if is_system_name(g) and g != AUTHENTICATED]
            key = names.strip_role_path(reach.arn).lower()
            if not system and not is_system_name(reach.identity.username):
                continue
            if (key in node_keys and "system:nodes" in system) or (key == break_glass and system == [SUPERUSER_GROUP]):
                continue
            if principal.kind is PrincipalKind.SERVICE_ACCOUNT:
                continue
            raise ConfigError(
                file,
                f"clusters.{cluster.id}",
                f"{principal.label} would be mapped into {', '.join(system) or reach.identity.username} through "
                f"{reach.identity.via} ({reach.arn}): only node roles and the break-glass role belong in system: "
                "groups",
            )
