"""What an identity may do in the cluster: Kubernetes RBAC over the rendered manifests, and EKS access policies.

Kubernetes (plugin/pkg/auth/authorizer/rbac, pkg/registry/rbac/validation ``VisitRulesFor``): every
ClusterRoleBinding applies cluster-wide; a RoleBinding applies only in its own namespace, also when it refers to
a ClusterRole; a subject matches by kind: ``User`` the username, ``Group`` any of the identity's groups,
``ServiceAccount`` its namespace and name. ``system:masters`` is a superuser group checked before any authorizer
(it cannot be revoked by RBAC). A roleRef that names nothing grants nothing. EKS access policies (EKS user guide,
"Review access policy permissions") add their rules to RBAC's, cluster-wide or in the listed namespaces.

This is the one function that decides "what may group G do in namespace N": :func:`permissions` of an identity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from access.core.evaluate.builtin_roles import ADMIN_RULES, CLUSTER_ROLES, EDIT_RULES, EVERYTHING, VIEW_RULES
from access.core.evaluate.types import CLUSTER_WIDE, SUPERUSER, Identity, Permission, expanded
from access.core.model import PolicyRule
from access.core.plan.types import Manifest
from access.core.sensitivity import SUPERUSER_GROUP

ACCESS_POLICIES: dict[str, tuple[PolicyRule, ...]] = {
    "AmazonEKSClusterAdminPolicy": EVERYTHING,
    "AmazonEKSAdminPolicy": ADMIN_RULES,
    "AmazonEKSEditPolicy": EDIT_RULES,
    "AmazonEKSViewPolicy": VIEW_RULES,
    "AmazonEKSAdminViewPolicy": (PolicyRule(("*",), ("*",), ("get", "list", "watch")),),
}
RuleSet = tuple[tuple[PolicyRule, tuple[str, ...]], ...]  # (rule, resourceNames)
LEVEL_LABEL = "eks-access/level"
SUPERUSER_SOURCE = f"group {SUPERUSER_GROUP} (superuser, outside RBAC)"
POLICY_SOURCE = "access policy "


@dataclass(frozen=True)
class Binding:
    id: str  # "RoleBinding/<ns>/<name>" or "ClusterRoleBinding/<name>"
    scope: str  # the binding's namespace, or CLUSTER_WIDE
    role_kind: str
    role_name: str


@dataclass
class Authorizer:
    """The cluster's RBAC objects, indexed for lookups by subject."""

    roles: dict[tuple[str, str], RuleSet] = field(default_factory=dict)  # (namespace, name)
    cluster_roles: dict[str, RuleSet] = field(default_factory=dict)
    by_subject: dict[tuple[str, str], list[Binding]] = field(default_factory=lambda: defaultdict(list))
    role_levels: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (kind, namespace, name) -> level
    # What a set of groups and access policies grants, computed once: many identities share them.
    by_groups: dict[tuple[tuple[str, ...], tuple[Any, ...]], dict[Permission, str]] = field(default_factory=dict)

    def rules_of(self, binding: Binding) -> RuleSet:
        if binding.role_kind == "Role":
            return self.roles.get((binding.scope, binding.role_name), ())
        return self.cluster_roles.get(binding.role_name, ())


def _rules(manifest: Manifest) -> RuleSet:
    out = []
    for rule in manifest.get("rules") or []:
        if not rule.get("resources"):
            continue  # nonResourceURLs rules grant no API objects
        out.append(
            (
                PolicyRule(
                    tuple(rule.get("apiGroups") or ()), tuple(rule["resources"]), tuple(rule.get("verbs") or ())
                ),
                tuple(rule.get("resourceNames") or ()),
            )
        )
    return tuple(out)


def authorizer(manifests: Iterable[Manifest]) -> Authorizer:
    auth = Authorizer(cluster_roles={name: tuple((r, ()) for r in rules) for name, rules in CLUSTER_ROLES.items()})
    for manifest in manifests:
        kind, meta = manifest.get("kind"), manifest.get("metadata") or {}
        level = (meta.get("labels") or {}).get(LEVEL_LABEL)
        if kind == "Role":
            auth.roles[(meta.get("namespace", ""), meta["name"])] = _rules(manifest)
        elif kind == "ClusterRole":
            auth.cluster_roles[meta["name"]] = _rules(manifest)
        if kind in ("Role", "ClusterRole") and level:
            auth.role_levels[(str(kind), meta.get("namespace", ""), meta["name"])] = str(level)
    for manifest in manifests:
        kind, meta = manifest.get("kind"), manifest.get("metadata") or {}
        if kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        scope = meta.get("namespace", "") if kind == "RoleBinding" else CLUSTER_WIDE
        ref = manifest.get("roleRef") or {}
        binding_id = f"{kind}/{scope}/{meta['name']}" if kind == "RoleBinding" else f"{kind}/{meta['name']}"
        binding = Binding(binding_id, scope, str(ref.get("kind")), str(ref.get("name")))
        for subject in manifest.get("subjects") or []:
            auth.by_subject[_subject_key(subject, scope)].append(binding)
    return auth


def levels(auth: Authorizer) -> dict[str, str]:
    """For each binding (and the superuser group and access policies), the access level it stands for: the
    ``eks-access/level`` label of the role it references, or the role's own name (cluster-admin, admin, ...)."""
    out = {SUPERUSER_SOURCE: "cluster-admin"}
    out |= {f"{POLICY_SOURCE}{name}": name.removeprefix("AmazonEKS").removesuffix("Policy") for name in ACCESS_POLICIES}
    out[f"{POLICY_SOURCE}AmazonEKSClusterAdminPolicy"] = "cluster-admin"
    for bindings in auth.by_subject.values():
        for b in bindings:
            namespace = b.scope if b.role_kind == "Role" else ""
            level = auth.role_levels.get((b.role_kind, namespace, b.role_name))
            out[b.id] = level or b.role_name.removeprefix("eks-access:").removeprefix("eks-access-")
    return out


def _subject_key(subject: dict[str, Any], scope: str) -> tuple[str, str]:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        return ("ServiceAccount", f"{subject.get('namespace') or scope}/{subject.get('name')}")
    return (str(kind), str(subject.get("name")))


def service_account_identity(namespace: str, name: str) -> Identity:
    """A ServiceAccount's token: its username and groups as Kubernetes authenticates it."""
    groups = ("system:authenticated", "system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    return Identity(f"system:serviceaccount:{namespace}:{name}", groups, via="service account token")


def permissions(auth: Authorizer, identity: Identity) -> dict[Permission, str]:
    """Everything ``identity`` may do, each permission with the binding (or policy) that grants it first."""
    if SUPERUSER_GROUP in identity.groups:
        return {SUPERUSER: SUPERUSER_SOURCE}
    key = (identity.groups, identity.policies)
    shared = auth.by_groups.get(key)
    if shared is None:
        shared = auth.by_groups[key] = _granted(auth, [("Group", g) for g in identity.groups], identity.policies)
    personal = [("User", identity.username)]
    if identity.username.startswith("system:serviceaccount:"):
        namespace, _, name = identity.username.removeprefix("system:serviceaccount:").partition(":")
        personal.append(("ServiceAccount", f"{namespace}/{name}"))
    if not any(k in auth.by_subject for k in personal):
        return shared
    return {**_granted(auth, personal, ()), **shared}


def _granted(
    auth: Authorizer, keys: list[tuple[str, str]], policies: tuple[tuple[str, str, tuple[str, ...]], ...]
) -> dict[Permission, str]:
    out: dict[Permission, str] = {}
    for key in keys:
        for binding in auth.by_subject.get(key, ()):
            for rule, names in auth.rules_of(binding):
                for permission in expanded((rule,), binding.scope, names):
                    out.setdefault(permission, binding.id)
    for policy_arn, scope, namespaces in policies:
        rules = ACCESS_POLICIES.get(policy_arn.rsplit("/", 1)[-1], ())
        for where in (CLUSTER_WIDE,) if scope == "cluster" else namespaces:
            for permission in expanded(rules, where):
                out.setdefault(permission, f"{POLICY_SOURCE}{policy_arn.rsplit('/', 1)[-1]}")
    return out
