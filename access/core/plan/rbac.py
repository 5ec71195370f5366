"""Kubernetes RBAC manifests for one environment: namespaces, Roles by level, bindings to groups.

Manifests are plain dicts in the Kubernetes schema; the shell hands them to pulumi-kubernetes as they are.
"""

from __future__ import annotations

from access.core import names
from access.core.catalog import ADMIN_CLUSTER_ROLE, MONITORING_RULES
from access.core.model import AccessLevel, Organisation, PolicyRule, RoleKind
from access.core.plan.types import Binding, Manifest, RolePlan

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PREFIX = "eks-access"
CLUSTER_ADMIN_BINDING = f"{PREFIX}:cluster-admins"
MONITORING_CLUSTER_ROLE = f"{PREFIX}:monitoring"


def role_name(level: str) -> str:
    return f"{PREFIX}-{level}"


def human_binding_name(level: str) -> str:
    # The level is part of the name: roleRef is immutable, so a level change is a new binding (a replacement).
    return f"{PREFIX}-humans-{level}"


def ci_binding_name(ci: str) -> str:
    return f"{PREFIX}-ci-{ci}"


def ci_service_account(ci: str) -> str:
    return f"{ci}-deployer"


def labels(**extra: str) -> dict[str, str]:
    values = {MANAGED_BY_LABEL: PREFIX}
    values.update({f"{PREFIX}/{k}": v for k, v in sorted(extra.items())})
    return values


def rules_manifest(rules: tuple[PolicyRule, ...]) -> list[dict[str, list[str]]]:
    return [{"apiGroups": list(r.api_groups), "resources": list(r.resources), "verbs": list(r.verbs)} for r in rules]


def namespace_manifest(name: str, project: str, env: str, team: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(project=project, environment=env, team=team)},
    }


def role_manifest(namespace: str, level: AccessLevel) -> Manifest:
    return {
        "apiVersion": RBAC_API,
        "kind": "Role",
        "metadata": {"name": role_name(level.id), "namespace": namespace, "labels": labels(level=level.id)},
        "rules": rules_manifest(level.rules),
    }


def group_subject(group: str) -> dict[str, str]:
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": group}


def role_binding(namespace: str, name: str, level: str, subjects: list[dict[str, str]]) -> Manifest:
    if level == "admin":
        ref = {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ADMIN_CLUSTER_ROLE}
    else:
        ref = {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role_name(level)}
    return {
        "apiVersion": RBAC_API,
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(level=level)},
        "roleRef": ref,
        "subjects": subjects,
    }


def build(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[list[Manifest], list[Binding]]:
    """Namespaces, then each namespace's Roles, then its bindings; cluster-scoped objects last."""
    bindings: list[Binding] = []
    levels_by_namespace: dict[str, set[str]] = {}
    manifests = _namespaces(org, env_id, levels_by_namespace)
    namespaced = _human_bindings(org, env_id, roles, levels_by_namespace, bindings)
    namespaced += _ci_bindings(org, env_id, levels_by_namespace, bindings)
    for ns, levels in sorted(levels_by_namespace.items()):
        for level in sorted(levels):
            if level != "admin":
                manifests.append(role_manifest(ns, org.levels[level]))
    manifests.extend(sorted(namespaced, key=_sort_key))
    cluster_scoped = _cluster_scoped(org, bindings)
    # Cluster-scoped objects exist once per cluster: only its home environment's stack declares them (other
    # environments sharing the cluster still get their bindings in the effective-access matrix).
    if org.clusters[org.environments[env_id].cluster].home_environment == env_id:
        manifests.extend(cluster_scoped)
    return manifests, bindings


def _namespaces(org: Organisation, env_id: str, levels_by_namespace: dict[str, set[str]]) -> list[Manifest]:
    manifests = []
    for project in sorted((p for p in org.projects.values() if env_id in p.environments), key=lambda p: p.id):
        ns = names.namespace(org.naming, project.id, env_id)
        manifests.append(namespace_manifest(ns, project.id, env_id, project.owner))
        levels_by_namespace[ns] = set()
    return manifests


def _human_bindings(
    org: Organisation,
    env_id: str,
    roles: tuple[RolePlan, ...],
    levels_by_namespace: dict[str, set[str]],
    bindings: list[Binding],
) -> list[Manifest]:
    namespaced = []
    for role in roles:
        if role.kind != RoleKind.HUMAN:
            continue
        assert role.project is not None and role.level is not None
        ns = names.namespace(org.naming, role.project, env_id)
        levels_by_namespace[ns].add(role.level)
        group = role.kubernetes_groups[0]
        namespaced.append(role_binding(ns, human_binding_name(role.level), role.level, [group_subject(group)]))
        bindings.append(Binding(group, ns, role.level, _ref_name(role.level)))
    return namespaced


def _ci_bindings(
    org: Organisation, env_id: str, levels_by_namespace: dict[str, set[str]], bindings: list[Binding]
) -> list[Manifest]:
    namespaced: list[Manifest] = []
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        group = names.fill(org.naming.ci_group, ci=ci.id)
        for deployed, env in ci.deploys:
            if env != env_id:
                continue
            ns = names.namespace(org.naming, deployed, env_id)
            levels_by_namespace[ns].add("deploy")
            namespaced.append(role_binding(ns, ci_binding_name(ci.id), "deploy", [group_subject(group)]))
            bindings.append(Binding(group, ns, "deploy", role_name("deploy")))
            if ci.service_accounts:
                sa = ci_service_account(ci.id)
                namespaced.append(
                    {
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": sa, "namespace": ns, "labels": labels(ci=ci.id)},
                        # No long-lived token: the pipeline requests short-lived ones (kubectl create token).
                        "automountServiceAccountToken": False,
                    }
                )
                subject = {"kind": "ServiceAccount", "name": sa, "namespace": ns}
                namespaced.append(role_binding(ns, f"{ci_binding_name(ci.id)}-sa", "deploy", [subject]))
                bindings.append(Binding(f"serviceaccount:{ns}:{sa}", ns, "deploy", role_name("deploy")))
    return namespaced


def _cluster_scoped(org: Organisation, bindings: list[Binding]) -> list[Manifest]:
    naming = org.naming
    cluster_scoped: list[Manifest] = []
    if org.admin_teams:
        cluster_scoped.append(
            {
                "apiVersion": RBAC_API,
                "kind": "ClusterRoleBinding",
                "metadata": {"name": CLUSTER_ADMIN_BINDING, "labels": labels()},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [group_subject(naming.admin_group)],
            }
        )
        bindings.append(Binding(naming.admin_group, None, "cluster-admin", "cluster-admin"))
    if org.monitoring is not None:
        cluster_scoped.append(
            {
                "apiVersion": RBAC_API,
                "kind": "ClusterRole",
                "metadata": {"name": MONITORING_CLUSTER_ROLE, "labels": labels()},
                "rules": rules_manifest(MONITORING_RULES + org.monitoring.extra_rules),
            }
        )
        cluster_scoped.append(
            {
                "apiVersion": RBAC_API,
                "kind": "ClusterRoleBinding",
                "metadata": {"name": MONITORING_CLUSTER_ROLE, "labels": labels()},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": MONITORING_CLUSTER_ROLE},
                "subjects": [group_subject(naming.monitoring_group)],
            }
        )
        bindings.append(Binding(naming.monitoring_group, None, "monitoring", MONITORING_CLUSTER_ROLE))
    return cluster_scoped


def _ref_name(level: str) -> str:
    return ADMIN_CLUSTER_ROLE if level == "admin" else role_name(level)


def _sort_key(manifest: Manifest) -> tuple[str, str, str]:
    meta = manifest["metadata"]
    return (meta.get("namespace", ""), manifest["kind"], meta["name"])


def manifest_id(manifest: Manifest) -> str:
    """Stable id of a manifest: kind, namespace and name."""
    meta = manifest["metadata"]
    ns = meta.get("namespace")
    return f"{manifest['kind']}/{ns}/{meta['name']}" if ns else f"{manifest['kind']}/{meta['name']}"
