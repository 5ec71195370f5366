"""Kubernetes RBAC manifests for one environment: namespaces, a ClusterRole per level, RoleBindings to groups.

Manifests are plain dicts in the Kubernetes schema; the shell hands them to pulumi-kubernetes as they are.

Each level is one ClusterRole per environment (``eks-access:<env>:<level>``), bound in each namespace by a
RoleBinding: a RoleBinding that references a ClusterRole grants its rules only inside the binding's own namespace
(Kubernetes, "Using RBAC Authorization": RoleBinding and ClusterRoleBinding). The environment is in the name so that
every stack owns the objects its bindings reference (environments sharing a cluster stay independent: applying,
changing or destroying one never changes another's access), and a cluster that becomes shared renames nothing.
"""

from __future__ import annotations

from access.core import names
from access.core.catalog import ADMIN_CLUSTER_ROLE, ADMIN_LEVEL, MONITORING_RULES, ci_token_rule
from access.core.model import AccessLevel, CiDeployer, Organisation, PolicyRule, RoleKind
from access.core.plan.types import Binding, Manifest, RolePlan

RBAC_API = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PREFIX = "eks-access"
CLUSTER_ADMIN_BINDING = f"{PREFIX}:cluster-admins"
MONITORING_CLUSTER_ROLE = f"{PREFIX}:monitoring"
CI_LEVEL = "deploy"  # what a CI deployer gets in the namespaces it deploys to


def level_role_name(env: str, level: str) -> str:
    """The ClusterRole of a level in one environment (Kubernetes' own ``admin`` for the admin level)."""
    return ADMIN_CLUSTER_ROLE if level == ADMIN_LEVEL else f"{PREFIX}:{env}:{level}"


def ci_role_name(env: str, ci: str) -> str:
    """The ClusterRole of a CI deployer with ServiceAccounts: ``deploy`` plus minting its own ServiceAccount's token."""
    return f"{PREFIX}:{env}:ci:{ci}"


# A binding's name says what it references. roleRef is immutable, so a binding whose roleRef changed would be
# replaced, and a replacement deletes first (delete_before_replace: the name is unique in its namespace): its
# subjects would lose their access until the new one exists, and for good if the apply stops in between. With the
# reference in the name, a change of level or ServiceAccounts is a new binding created before the old one is
# deleted (the engine deletes what left the program only after every create). The ``:`` separators also keep
# these names apart from the ``eks-access-humans-<level>``/``eks-access-ci-<id>`` bindings of earlier versions,
# which referenced per-namespace Roles, so the move to ClusterRoles drops no access either.


def human_binding_name(level: str) -> str:
    """The people's binding of a level in a namespace (its roleRef: ``level_role_name`` of the environment)."""
    return f"{PREFIX}:humans:{level}"


def ci_binding_name(ci: str, service_accounts: bool) -> str:
    """A CI deployer's binding: to its own ClusterRole with ServiceAccounts, else to the ``deploy`` level."""
    return f"{PREFIX}:ci:{ci}" if service_accounts else f"{PREFIX}:ci:{ci}:{CI_LEVEL}"


def labels(**extra: str) -> dict[str, str]:
    values = {MANAGED_BY_LABEL: PREFIX}
    values.update({f"{PREFIX}/{k}": v for k, v in sorted(extra.items())})
    return values


def rules_manifest(rules: tuple[PolicyRule, ...]) -> list[dict[str, list[str]]]:
    out: list[dict[str, list[str]]] = []
    for r in rules:
        manifest = {"apiGroups": list(r.api_groups), "resources": list(r.resources), "verbs": list(r.verbs)}
        if r.resource_names:
            manifest["resourceNames"] = list(r.resource_names)
        out.append(manifest)
    return out


def namespace_manifest(name: str, project: str, env: str, team: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(project=project, environment=env, team=team)},
    }


def level_rules(org: Organisation, level: str) -> tuple[PolicyRule, ...]:
    return org.levels[level].rules


def ci_rules(org: Organisation, ci: CiDeployer) -> tuple[PolicyRule, ...]:
    """What a CI deployer's binding grants: the deploy level, and with ServiceAccounts the token of its own one."""
    rules = level_rules(org, CI_LEVEL)
    if ci.service_accounts:
        rules += (ci_token_rule(names.ci_service_account(ci.id)),)
    return rules


def cluster_role_manifest(name: str, rules: tuple[PolicyRule, ...], **label: str) -> Manifest:
    return {
        "apiVersion": RBAC_API,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels(**label)},
        "rules": rules_manifest(rules),
    }


def level_cluster_role(env: str, level: AccessLevel) -> Manifest:
    return cluster_role_manifest(level_role_name(env, level.id), level.rules, environment=env, level=level.id)


def group_subject(group: str) -> dict[str, str]:
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": group}


def role_binding(namespace: str, name: str, level: str, role: str, subjects: list[dict[str, str]]) -> Manifest:
    return {
        "apiVersion": RBAC_API,
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(level=level)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def build(org: Organisation, env_id: str, roles: tuple[RolePlan, ...]) -> tuple[list[Manifest], list[Binding]]:
    """Namespaces, the environment's ClusterRoles, then each namespace's bindings; cluster-wide objects last."""
    bindings: list[Binding] = []
    levels: set[str] = set()
    manifests = _namespaces(org, env_id)
    namespaced = _human_bindings(org, env_id, roles, levels, bindings)
    ci_roles: list[Manifest] = []
    namespaced += _ci_bindings(org, env_id, levels, ci_roles, bindings)
    manifests += [level_cluster_role(env_id, org.levels[level]) for level in sorted(levels - {ADMIN_LEVEL})]
    manifests += ci_roles
    manifests.extend(sorted(namespaced, key=_sort_key))
    cluster_scoped = _cluster_scoped(org, bindings)
    # Cluster-wide objects exist once per cluster: only its home environment's stack declares them (other
    # environments sharing the cluster still get their bindings in the effective-access matrix).
    if org.clusters[org.environments[env_id].cluster].home_environment == env_id:
        manifests.extend(cluster_scoped)
    return manifests, bindings


def _namespaces(org: Organisation, env_id: str) -> list[Manifest]:
    manifests = []
    for project in sorted((p for p in org.projects.values() if env_id in p.environments), key=lambda p: p.id):
        ns = names.namespace(org.naming, project.id, env_id)
        manifests.append(namespace_manifest(ns, project.id, env_id, project.owner))
    return manifests


def _human_bindings(
    org: Organisation, env_id: str, roles: tuple[RolePlan, ...], levels: set[str], bindings: list[Binding]
) -> list[Manifest]:
    namespaced = []
    for role in roles:
        if role.kind != RoleKind.HUMAN:
            continue
        assert role.project is not None and role.level is not None
        ns = names.namespace(org.naming, role.project, env_id)
        levels.add(role.level)
        group = role.kubernetes_groups[0]
        ref = level_role_name(env_id, role.level)
        namespaced.append(role_binding(ns, human_binding_name(role.level), role.level, ref, [group_subject(group)]))
        bindings.append(Binding(group, ns, role.level, ref))
    return namespaced


def _ci_bindings(
    org: Organisation, env_id: str, levels: set[str], ci_roles: list[Manifest], bindings: list[Binding]
) -> list[Manifest]:
    """One RoleBinding per namespace a CI deployer deploys to, for its group and (when asked for) its ServiceAccount;
    the ServiceAccount only where ``service_accounts: true``. With ServiceAccounts the binding references the CI's
    own ClusterRole (deploy + ``create serviceaccounts/token`` on ``<ci>-deployer`` only), so the pipeline can run
    ``kubectl create token <ci>-deployer`` in exactly the namespaces it deploys to."""
    namespaced: list[Manifest] = []
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        group = names.fill(org.naming.ci_group, ci=ci.id)
        deployed = [project for project, env in ci.deploys if env == env_id]
        if not deployed:
            continue
        if ci.service_accounts:
            ref = ci_role_name(env_id, ci.id)
            ci_roles.append(cluster_role_manifest(ref, ci_rules(org, ci), ci=ci.id, environment=env_id, level=CI_LEVEL))
        else:
            ref = level_role_name(env_id, CI_LEVEL)
            levels.add(CI_LEVEL)
        for project in deployed:
            ns = names.namespace(org.naming, project, env_id)
            subjects = [group_subject(group)]
            bindings.append(Binding(group, ns, CI_LEVEL, ref))
            if ci.service_accounts:
                sa = names.ci_service_account(ci.id)
                namespaced.append(
                    {
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": sa, "namespace": ns, "labels": labels(ci=ci.id)},
                        # No long-lived token: the pipeline requests short-lived ones (kubectl create token).
                        "automountServiceAccountToken": False,
                    }
                )
                subjects.append({"kind": "ServiceAccount", "name": sa, "namespace": ns})
                bindings.append(Binding(f"serviceaccount:{ns}:{sa}", ns, CI_LEVEL, ref))
            namespaced.append(role_binding(ns, ci_binding_name(ci.id, ci.service_accounts), CI_LEVEL, ref, subjects))
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


def _sort_key(manifest: Manifest) -> tuple[str, str, str]:
    meta = manifest["metadata"]
    return (meta.get("namespace", ""), manifest["kind"], meta["name"])


def manifest_id(manifest: Manifest) -> str:
    """Stable id of a manifest: kind, namespace and name."""
    meta = manifest["metadata"]
    ns = meta.get("namespace")
    return f"{manifest['kind']}/{ns}/{meta['name']}" if ns else f"{manifest['kind']}/{meta['name']}"
