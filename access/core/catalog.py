"""What Kubernetes RBAC understands: real resource names, verbs, and the dangerous combinations.

Plain data. A Role naming ``configmap`` (singular) or ``deployment`` grants nothing and the API
server accepts it silently, so custom rules are checked against these names.
"""

from __future__ import annotations

from access.core.model import AccessLevel, PolicyRule

# API group -> namespaced and cluster-scoped resources (plural names and subresources) of a current EKS cluster.
KNOWN_RESOURCES: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "bindings",
            "componentstatuses",
            "configmaps",
            "endpoints",
            "events",
            "limitranges",
            "namespaces",
            "namespaces/finalize",
            "namespaces/status",
            "nodes",
            "nodes/proxy",
            "nodes/status",
            "nodes/stats",
            "nodes/log",
            "nodes/metrics",
            "nodes/spec",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "persistentvolumes",
            "persistentvolumes/status",
            "pods",
            "pods/attach",
            "pods/binding",
            "pods/ephemeralcontainers",
            "pods/eviction",
            "pods/exec",
            "pods/log",
            "pods/portforward",
            "pods/proxy",
            "pods/status",
            "podtemplates",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
            "secrets",
            "serviceaccounts",
            "serviceaccounts/token",
            "services",
            "services/proxy",
            "services/status",
        }
    ),
    "apps": frozenset(
        {
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
        }
    ),
    "batch": frozenset({"cronjobs", "cronjobs/status", "jobs", "jobs/status"}),
    "autoscaling": frozenset({"horizontalpodautoscalers", "horizontalpodautoscalers/status"}),
    "policy": frozenset({"poddisruptionbudgets", "poddisruptionbudgets/status"}),
    "networking.k8s.io": frozenset({"ingresses", "ingresses/status", "ingressclasses", "networkpolicies"}),
    "discovery.k8s.io": frozenset({"endpointslices"}),
    "rbac.authorization.k8s.io": frozenset({"clusterrolebindings", "clusterroles", "rolebindings", "roles"}),
    "storage.k8s.io": frozenset({"csidrivers", "csinodes", "storageclasses", "volumeattachments"}),
    "coordination.k8s.io": frozenset({"leases"}),
    "events.k8s.io": frozenset({"events"}),
    "metrics.k8s.io": frozenset({"nodes", "pods"}),
    "apiextensions.k8s.io": frozenset({"customresourcedefinitions"}),
    "admissionregistration.k8s.io": frozenset({"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}),
    "certificates.k8s.io": frozenset({"certificatesigningrequests"}),
    "scheduling.k8s.io": frozenset({"priorityclasses"}),
    "node.k8s.io": frozenset({"runtimeclasses"}),
}

CLUSTER_SCOPED = frozenset(
    {
        ("", "namespaces"),
        ("", "nodes"),
        ("", "nodes/proxy"),
        ("", "persistentvolumes"),
        ("", "componentstatuses"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "volumeattachments"),
        ("networking.k8s.io", "ingressclasses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("node.k8s.io", "runtimeclasses"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    }
)

KNOWN_VERBS = frozenset(
    {
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "escalate",
        "bind",
        "impersonate",
        "approve",
        "sign",
        "use",
        "*",
    }
)


def rule(api_groups: tuple[str, ...], resources: tuple[str, ...], verbs: tuple[str, ...]) -> PolicyRule:
    return PolicyRule(api_groups=api_groups, resources=tuple(sorted(resources)), verbs=tuple(sorted(verbs)))


READ = ("get", "list", "watch")
WRITE = ("create", "delete", "get", "list", "patch", "update", "watch")

VIEW = AccessLevel(
    "view",
    (
        rule(
            ("",),
            (
                "configmaps",
                "endpoints",
                "events",
                "persistentvolumeclaims",
                "pods",
                "pods/log",
                "replicationcontrollers",
                "serviceaccounts",
                "services",
            ),
            READ,
        ),
        rule(("apps",), ("daemonsets", "deployments", "replicasets", "statefulsets"), READ),
        rule(("batch",), ("cronjobs", "jobs"), READ),
        rule(("autoscaling",), ("horizontalpodautoscalers",), READ),
        rule(("policy",), ("poddisruptionbudgets",), READ),
        rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), READ),
        rule(("discovery.k8s.io",), ("endpointslices",), READ),
    ),
)

# The seeds' "human users" Role, with the deprecated extensions group dropped.
OPERATE = AccessLevel(
    "operate",
    (
        rule(("",), ("services",), ("get",)),
        rule(("apps",), ("deployments",), ("get",)),
        rule(("batch",), ("cronjobs", "jobs"), ("get",)),
        rule(("",), ("pods",), ("get", "list")),
        rule(("",), ("pods/exec",), ("create",)),
        rule(("",), ("pods/log",), ("get",)),
    ),
)

# What a deployer needs in its namespace: workloads and their config, secrets write-only, no RBAC objects.
DEPLOY = AccessLevel(
    "deploy",
    (
        rule(("",), ("configmaps", "persistentvolumeclaims", "serviceaccounts", "services"), WRITE),
        rule(("",), ("secrets",), ("create", "delete", "patch", "update")),
        rule(("",), ("events", "pods", "pods/log"), READ),
        rule(("apps",), ("daemonsets", "deployments", "statefulsets"), WRITE),
        rule(("apps",), ("replicasets",), READ),
        rule(("batch",), ("cronjobs", "jobs"), WRITE),
        rule(("autoscaling",), ("horizontalpodautoscalers",), WRITE),
        rule(("policy",), ("poddisruptionbudgets",), WRITE),
        rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), WRITE),
    ),
)

# Namespace admin: bound to Kubernetes' built-in ``admin`` ClusterRole (aggregated, kept current by the cluster).
ADMIN = AccessLevel("admin", (rule(("*",), ("*",), ("*",)),))
ADMIN_CLUSTER_ROLE = "admin"

BUILTIN_LEVELS: dict[str, AccessLevel] = {level.id: level for level in (VIEW, OPERATE, DEPLOY, ADMIN)}

# Cluster-wide read-only access for a monitoring system: no secrets, exec, attach, port-forward, node proxy or tokens.
MONITORING_RULES: tuple[PolicyRule, ...] = (
    rule(
        ("",),
        (
            "configmaps",
            "endpoints",
            "events",
            "namespaces",
            "nodes",
            "nodes/metrics",
            "nodes/stats",
            "persistentvolumeclaims",
            "persistentvolumes",
            "pods",
            "pods/log",
            "replicationcontrollers",
            "resourcequotas",
            "limitranges",
            "serviceaccounts",
            "services",
        ),
        READ,
    ),
    rule(("apps",), ("daemonsets", "deployments", "replicasets", "statefulsets"), READ),
    rule(("batch",), ("cronjobs", "jobs"), READ),
    rule(("autoscaling",), ("horizontalpodautoscalers",), READ),
    rule(("policy",), ("poddisruptionbudgets",), READ),
    rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), READ),
    rule(("discovery.k8s.io",), ("endpointslices",), READ),
    rule(("storage.k8s.io",), ("storageclasses",), READ),
    rule(("metrics.k8s.io",), ("nodes", "pods"), READ),
)
