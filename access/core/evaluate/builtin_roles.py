"""What the cluster's own user-facing ClusterRoles grant, for evaluating bindings that reference them.

From Kubernetes' bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy, testdata/cluster-roles.yaml;
docs "Using RBAC Authorization", user-facing roles): ``view`` ⊂ ``edit`` ⊂ ``admin`` through aggregation, and
``cluster-admin`` is everything. ``view`` reads no secrets and reaches no shell; ``edit`` and ``admin`` do both.
Clusters may aggregate more rules into them (CRDs labelled ``aggregate-to-*``); those are not eks-access's to
evaluate, so the sets here are the floor every cluster has.
"""

from __future__ import annotations

from access.core.model import PolicyRule

READ = ("get", "list", "watch")
WRITE = ("create", "delete", "deletecollection", "patch", "update")


def _rule(groups: tuple[str, ...], resources: tuple[str, ...], verbs: tuple[str, ...]) -> PolicyRule:
    return PolicyRule(groups, tuple(sorted(resources)), tuple(sorted(verbs)))


VIEW_RULES: tuple[PolicyRule, ...] = (
    _rule(
        ("",),
        (
            "bindings",
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "namespaces",
            "namespaces/status",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "pods/log",
            "pods/status",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
            "serviceaccounts",
            "services",
            "services/status",
        ),
        READ,
    ),
    _rule(("discovery.k8s.io",), ("endpointslices",), READ),
    _rule(
        ("apps",),
        (
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ),
        READ,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers", "horizontalpodautoscalers/status"), READ),
    _rule(("batch",), ("cronjobs", "cronjobs/status", "jobs", "jobs/status"), READ),
    _rule(("policy",), ("poddisruptionbudgets", "poddisruptionbudgets/status"), READ),
    _rule(("networking.k8s.io",), ("ingresses", "ingresses/status", "networkpolicies"), READ),
)

EDIT_RULES: tuple[PolicyRule, ...] = (
    *VIEW_RULES,
    _rule(("",), ("pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"), READ),
    _rule(("",), ("serviceaccounts",), ("impersonate",)),
    _rule(("",), ("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"), WRITE),
    _rule(("",), ("pods/eviction",), ("create",)),
    _rule(
        ("",),
        (
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ),
        WRITE,
    ),
    _rule(("",), ("serviceaccounts/token",), ("create",)),
    _rule(
        ("apps",),
        (
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ),
        WRITE,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers",), WRITE),
    _rule(("batch",), ("cronjobs", "jobs"), WRITE),
    _rule(("policy",), ("poddisruptionbudgets",), WRITE),
    _rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), WRITE),
    _rule(("coordination.k8s.io",), ("leases",), (*READ, *WRITE)),
)

ADMIN_RULES: tuple[PolicyRule, ...] = (
    *EDIT_RULES,
    _rule(("authorization.k8s.io",), ("localsubjectaccessreviews",), ("create",)),
    _rule(("rbac.authorization.k8s.io",), ("rolebindings", "roles"), (*READ, *WRITE)),
)

EVERYTHING: tuple[PolicyRule, ...] = (PolicyRule(("*",), ("*",), ("*",)),)

CLUSTER_ROLES: dict[str, tuple[PolicyRule, ...]] = {
    "cluster-admin": EVERYTHING,
    "admin": ADMIN_RULES,
    "edit": EDIT_RULES,
    "view": VIEW_RULES,
}
