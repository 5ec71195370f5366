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


def rule(
    api_groups: tuple[str, ...],
    resources: tuple[str, ...],
    verbs: tuple[str, ...],
    resource_names: tuple[str, ...] = (),
) -> PolicyRule:
    return PolicyRule(
        api_groups=api_groups,
        resources=tuple(sorted(resources)),
        verbs=tuple(sorted(verbs)),
        resource_names=tuple(sorted(resource_names)),
    )


READ = ("get", "list", "watch")
WRITE = ("create", "delete", "get", "list", "patch", "update", "watch")

# What each level is for is said as the kubectl, Helm and Pulumi commands it must allow and refuse
# (access/core/workflows.py); docs/levels.md is generated from both, and tests/core/test_levels.py holds them to it.

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
                "replicationcontrollers",
                "serviceaccounts",
                "services",
            ),
            READ,
        ),
        rule(("",), ("pods/log",), ("get",)),
        rule(("apps",), ("daemonsets", "deployments", "replicasets", "statefulsets"), READ),
        rule(("batch",), ("cronjobs", "jobs"), READ),
        rule(("autoscaling",), ("horizontalpodautoscalers",), READ),
        rule(("policy",), ("poddisruptionbudgets",), READ),
        rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), READ),
        rule(("discovery.k8s.io",), ("endpointslices",), READ),
        rule(("events.k8s.io",), ("events",), READ),
    ),
)

# The seeds' "human users" Role (get services, deployments, jobs, cronjobs; get/list pods; exec; pod logs), with the
# deprecated extensions group dropped, and the reads that make `kubectl get`, `describe`, `rollout status` and
# `logs` work on what it touches: list/watch of the same objects, the replica sets, stateful sets and daemon sets
# behind their pods, events (core and events.k8s.io: `describe` lists them) and endpoints (`describe service`).
# `get` on pods/exec too: a WebSocket exec (kubectl 1.30+) is authorised as `get` up to Kubernetes 1.34.
OPERATE = AccessLevel(
    "operate",
    (
        rule(("",), ("endpoints", "events", "pods", "services"), READ),
        rule(("",), ("pods/log",), ("get",)),
        rule(("",), ("pods/exec",), ("create", "get")),
        rule(("apps",), ("daemonsets", "deployments", "replicasets", "statefulsets"), READ),
        rule(("batch",), ("cronjobs", "jobs"), READ),
        rule(("discovery.k8s.io",), ("endpointslices",), READ),
        rule(("events.k8s.io",), ("events",), READ),
    ),
)

# What a deployer's tools need in its namespace (Helm 3, kubectl apply/diff, server-side apply, Pulumi):
# - every object kind it manages read and written: client-side apply and Pulumi's refresh read the live object,
#   server-side apply is a `patch` (and `create` when absent), kubectl diff a dry-run `patch`;
# - secrets read and written: Helm 3 keeps every release in a Secret of the namespace (get/list to find it,
#   create/update/delete to record it). Reading them adds nothing real: whoever may create pods or workloads
#   may mount any secret of the namespace and print it (sensitivity.py: secrets through workloads);
# - pods written (Helm test hooks and bare pods), scale subresources (`kubectl scale`), and the reads behind
#   rollouts (replica sets, controller revisions, events, endpoints) that `helm --wait` and Pulumi's await use;
# - no RBAC objects, no exec, no tokens: a chart that ships Roles needs admin or a custom level.
DEPLOY = AccessLevel(
    "deploy",
    (
        rule(("",), ("configmaps", "persistentvolumeclaims", "pods", "secrets", "serviceaccounts", "services"), WRITE),
        rule(("",), ("endpoints", "events"), READ),
        rule(("",), ("pods/log",), ("get",)),
        rule(("apps",), ("daemonsets", "deployments", "statefulsets"), WRITE),
        rule(("apps",), ("deployments/scale", "statefulsets/scale"), ("get", "patch", "update")),
        rule(("apps",), ("controllerrevisions", "replicasets"), READ),
        rule(("batch",), ("cronjobs", "jobs"), WRITE),
        rule(("autoscaling",), ("horizontalpodautoscalers",), WRITE),
        rule(("policy",), ("poddisruptionbudgets",), WRITE),
        rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), WRITE),
        rule(("discovery.k8s.io",), ("endpointslices",), READ),
        rule(("events.k8s.io",), ("events",), READ),
    ),
)


def ci_token_rule(service_account: str) -> PolicyRule:
    """``kubectl create token <sa>`` (``POST .../serviceaccounts/<sa>/token``) for one ServiceAccount only: the name
    is in the URL, so RBAC's resourceNames can limit a create on this subresource (it cannot for a plain create)."""
    return rule(("",), ("serviceaccounts/token",), ("create",), (service_account,))


# Namespace admin: bound to Kubernetes' built-in ``admin`` ClusterRole (aggregated, kept current by the cluster).
ADMIN_LEVEL = "admin"
ADMIN = AccessLevel(ADMIN_LEVEL, (rule(("*",), ("*",), ("*",)),))
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
