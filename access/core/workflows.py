"""What the tools people run ask the API server for: kubectl, Helm 3 and Pulumi commands as RBAC requests.

Plain data, the yardstick of the access levels: ``docs/levels.md`` is generated from it and the levels
(``tools/levels_doc.py``), ``tests/core/test_levels.py`` asserts per level which commands must work and which must
be refused, and the end-to-end suite asks a real API server the same questions (``kubectl auth can-i``).

Where the requests come from (upstream source and documentation):

- kubectl ``get`` lists (``-w`` adds watch), ``describe`` gets the object and lists its events (and a deployment's
  replica sets, a service's endpoints); ``logs`` gets the pod and ``pods/log`` (for ``deploy/<name>`` it gets the
  deployment and lists pods); ``rollout status`` lists and watches the one object (an informer with a name field
  selector); ``exec`` gets the pod and opens ``pods/exec`` (``create`` over SPDY, ``get`` over WebSocket up to
  Kubernetes 1.34); ``scale`` patches the scale subresource; ``rollout restart`` patches the object.
- client-side ``kubectl apply`` gets the live object, then creates or patches it; ``kubectl apply --server-side``
  is one ``patch`` (apply patch) that creates an absent object, for which the API server also checks ``create``;
  ``kubectl diff`` is a server-side dry-run ``patch`` after a ``get``.
- ``kubectl create token <sa>`` is one ``POST .../serviceaccounts/<sa>/token`` (``create`` on the
  ``serviceaccounts/token`` subresource, the ServiceAccount's name in the URL, so RBAC's ``resourceNames`` apply).
- Helm 3 stores each release revision in a Secret of the release namespace (its default ``secrets`` storage
  driver: get, list by label, create, update, delete) and applies the chart's objects like client-side apply.
- Pulumi (pulumi-kubernetes) applies with server-side apply, reads every object it manages on refresh and, while
  waiting for a Deployment to become ready, watches it, its replica sets and pods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from access.core.catalog import ADMIN_LEVEL, BUILTIN_LEVELS, ci_token_rule
from access.core.evaluate.builtin_roles import ADMIN_RULES
from access.core.evaluate.types import CLUSTER_WIDE, Permission, covers, expanded

NAMESPACE = "<namespace>"  # the namespace a level is bound in
OTHER_NAMESPACE = "<other-namespace>"  # any namespace it is not bound in
CI_SERVICE_ACCOUNT = "<ci>-deployer"
CI_COLUMN = "CI deployer"
NAMED_GROUPS = frozenset({"apps", "batch", "autoscaling", "policy"})  # API groups without a dot in their name


@dataclass(frozen=True)
class Request:
    verb: str
    resource: str  # "pods", "apps/deployments", "pods/log": API group before the slash unless it is the core group
    name: str = ""  # the object named in the URL, for resourceNames
    namespace: str = NAMESPACE  # CLUSTER_WIDE for cluster-scoped resources

    @property
    def api_group(self) -> str:
        first = self.resource.split("/", 1)[0]
        return first if "." in first or first in NAMED_GROUPS else ""

    @property
    def plain_resource(self) -> str:
        return self.resource.split("/", 1)[1] if self.api_group else self.resource

    def permission(self, namespace: str) -> Permission:
        scope = namespace if self.namespace == NAMESPACE else self.namespace
        return Permission(scope, self.api_group, self.plain_resource, self.verb, (self.name,) if self.name else ())

    def can_i(self) -> str:
        """The same question as ``kubectl auth can-i`` arguments (without namespace and identity)."""
        resource, _, sub = self.plain_resource.partition("/")
        target = f"{resource}.{self.api_group}" if self.api_group else resource
        if self.name:
            target += f"/{self.name}"
        return f"{self.verb} {target}" + (f" --subresource={sub}" if sub else "")


@dataclass(frozen=True)
class Command:
    text: str
    requests: tuple[Request, ...]
    what: str = ""  # the workflow it stands for, as docs/levels.md groups them


def _r(verb: str, *resources: str, name: str = "", namespace: str = NAMESPACE) -> tuple[Request, ...]:
    return tuple(Request(verb, r, name, namespace) for r in resources)


def _apply(*resources: str) -> tuple[Request, ...]:
    return tuple(q for r in resources for q in (*_r("get", r), *_r("create", r), *_r("patch", r)))


READ = "reading"
OPERATE = "operating"
DEPLOY = "deploying"
ESCALATE = "escalation, and beyond the namespace"

COMMANDS: tuple[Command, ...] = (
    Command(
        "kubectl get pods,services,deployments,replicasets,jobs",
        (*_r("list", "pods", "services", "apps/deployments", "apps/replicasets", "batch/jobs"),),
        READ,
    ),
    Command("kubectl get pods --watch", (*_r("list", "pods"), *_r("watch", "pods")), READ),
    Command("kubectl get events", _r("list", "events"), READ),
    Command("kubectl describe pod <pod>", (*_r("get", "pods"), *_r("list", "events")), READ),
    Command(
        "kubectl describe deployment <name>",
        (
            *_r("get", "apps/deployments"),
            *_r("list", "apps/replicasets", "events"),
        ),
        READ,
    ),
    Command("kubectl logs <pod>", (*_r("get", "pods"), *_r("get", "pods/log")), READ),
    Command(
        "kubectl logs deployment/<name>",
        (
            *_r("get", "apps/deployments"),
            *_r("list", "pods"),
            *_r("get", "pods/log"),
        ),
        READ,
    ),
    Command(
        "kubectl rollout status deployment/<name>",
        (
            *_r("list", "apps/deployments"),
            *_r("watch", "apps/deployments"),
        ),
        READ,
    ),
    Command("kubectl get configmaps", _r("list", "configmaps"), READ),
    Command(
        "kubectl exec -it <pod> -- sh",
        (
            *_r("get", "pods"),
            *_r("create", "pods/exec"),
            *_r("get", "pods/exec"),
        ),
        OPERATE,
    ),
    Command("kubectl port-forward <pod> 8080", (*_r("get", "pods"), *_r("create", "pods/portforward")), OPERATE),
    Command(
        "kubectl debug <pod> --image=busybox", (*_r("get", "pods"), *_r("patch", "pods/ephemeralcontainers")), OPERATE
    ),
    Command("kubectl get secrets", _r("list", "secrets"), DEPLOY),
    Command(
        "kubectl apply -f app.yaml (Deployment, Service, ConfigMap, Secret)",
        _apply(
            "apps/deployments",
            "services",
            "configmaps",
            "secrets",
        ),
        DEPLOY,
    ),
    Command(
        "kubectl apply --server-side -f app.yaml",
        (
            *_r("patch", "apps/deployments", "services", "configmaps"),
            *_r("create", "apps/deployments", "services", "configmaps"),
        ),
        DEPLOY,
    ),
    Command("kubectl diff -f app.yaml", (*_r("get", "apps/deployments"), *_r("patch", "apps/deployments")), DEPLOY),
    Command(
        "kubectl scale deployment <name> --replicas=3",
        (
            *_r("get", "apps/deployments/scale"),
            *_r("patch", "apps/deployments/scale"),
        ),
        DEPLOY,
    ),
    Command(
        "kubectl rollout restart deployment/<name>",
        (
            *_r("get", "apps/deployments"),
            *_r("patch", "apps/deployments"),
        ),
        DEPLOY,
    ),
    Command("kubectl delete pod <pod>", _r("delete", "pods"), DEPLOY),
    Command(
        "helm upgrade --install <release> <chart>",
        (
            *_r("list", "secrets"),
            *_r("get", "secrets"),
            *_r("create", "secrets"),
            *_r("update", "secrets"),
            *_apply("apps/deployments", "services", "configmaps", "batch/jobs", "networking.k8s.io/ingresses"),
        ),
        DEPLOY,
    ),
    Command(
        "helm upgrade --install --wait <release> <chart>",
        (
            *_r("list", "secrets"),
            *_r("get", "secrets"),
            *_r("create", "secrets"),
            *_r("update", "secrets"),
            *_apply("apps/deployments"),
            *_r("list", "apps/deployments", "apps/replicasets", "pods"),
            *_r("watch", "apps/deployments", "pods"),
        ),
        DEPLOY,
    ),
    Command("helm list / helm history <release>", _r("list", "secrets"), DEPLOY),
    Command(
        "helm rollback <release> / helm uninstall <release>",
        (
            *_r("list", "secrets"),
            *_r("get", "secrets"),
            *_r("update", "secrets"),
            *_r("delete", "secrets"),
            *_r("create", "secrets"),
            *_r("delete", "apps/deployments", "services"),
        ),
        DEPLOY,
    ),
    Command(
        "pulumi up (pulumi-kubernetes, server-side apply, await)",
        (
            *_r("get", "apps/deployments", "services"),
            *_r("patch", "apps/deployments", "services"),
            *_r("create", "apps/deployments", "services"),
            *_r("list", "apps/deployments", "apps/replicasets", "pods"),
            *_r("watch", "apps/deployments", "apps/replicasets", "pods"),
        ),
        DEPLOY,
    ),
    Command(
        "pulumi refresh (reads what it manages)",
        _r(
            "get",
            "apps/deployments",
            "services",
            "configmaps",
            "secrets",
            "serviceaccounts",
            "networking.k8s.io/ingresses",
            "batch/cronjobs",
        ),
        DEPLOY,
    ),
    Command(
        f"kubectl create token {CI_SERVICE_ACCOUNT}",
        _r("create", "serviceaccounts/token", name=CI_SERVICE_ACCOUNT),
        DEPLOY,
    ),
    Command("kubectl create token default", _r("create", "serviceaccounts/token", name="default"), ESCALATE),
    Command(
        "kubectl create rolebinding ... --clusterrole=admin",
        _r("create", "rbac.authorization.k8s.io/rolebindings"),
        ESCALATE,
    ),
    Command("kubectl get pods --as=<someone>", _r("impersonate", "users", namespace=CLUSTER_WIDE), ESCALATE),
    Command(
        "kubectl get --raw /api/v1/nodes/<node>/proxy/... (kubelet)",
        _r("get", "nodes/proxy", namespace=CLUSTER_WIDE),
        ESCALATE,
    ),
    Command("kubectl get nodes", _r("list", "nodes", namespace=CLUSTER_WIDE), ESCALATE),
    Command("kubectl create namespace <name>", _r("create", "namespaces", namespace=CLUSTER_WIDE), ESCALATE),
    Command("kubectl get pods -n <other-namespace>", _r("list", "pods", namespace=OTHER_NAMESPACE), ESCALATE),
)


def command(text: str) -> Command:
    for c in COMMANDS:
        if c.text == text:
            return c
    raise KeyError(text)


def refused(command: Command, granted: Iterable[Permission], namespace: str = NAMESPACE) -> list[Request]:
    """The requests of ``command`` that ``granted`` does not allow in ``namespace`` (RBAC matching, as verify does)."""
    have = list(granted)
    return [q for q in command.requests if not any(covers(g, q.permission(namespace)) for g in have)]


def works(command: Command, granted: Iterable[Permission], namespace: str = NAMESPACE) -> bool:
    return not refused(command, granted, namespace)


def level_permissions(namespace: str = NAMESPACE) -> dict[str, frozenset[Permission]]:
    """The built-in levels as bound in ``namespace``, and a CI deployer with ServiceAccounts (deploy plus minting
    its own ServiceAccount's token), in the order docs/levels.md shows them."""
    out = {level: expanded(BUILTIN_LEVELS[level].rules, namespace) for level in ("view", "operate", "deploy")}
    out[CI_COLUMN] = expanded((*BUILTIN_LEVELS["deploy"].rules, ci_token_rule(CI_SERVICE_ACCOUNT)), namespace)
    out[ADMIN_LEVEL] = expanded(ADMIN_RULES, namespace)
    return out
