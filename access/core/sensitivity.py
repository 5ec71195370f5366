"""The one classification of what is sensitive in Kubernetes access.

Used by the loader (custom levels need ``allow_escalation`` for it, monitoring may have none of it), the access
matrix (each row names what it reaches), the diff (its categories), and the guardrails and policy pack (system
groups, cluster-admin). A granted permission is matched against each sensitive target as the RBAC authorizer
matches a rule against a request (``*`` matches any API group, resource or verb; ``*/exec`` any resource's
``exec`` subresource).

Where the targets come from (Kubernetes documentation, "RBAC good practices" and "Authorization"):

- exec: ``pods/exec``, ``pods/attach`` and ``pods/portforward`` reach a shell or a port inside a pod, and with it
  the pod's mounted secrets and service-account token. WebSocket connections are authorised as ``get`` up to
  Kubernetes 1.34 and ``create`` from 1.35, so both count. ``patch``/``update`` on ``pods/ephemeralcontainers``
  runs a debug container of one's choosing in a pod (``kubectl debug``).
- secrets: ``get``, ``list`` and ``watch`` on ``secrets`` return their contents (list and watch included).
- escalation: ``bind`` and ``escalate`` on roles and cluster roles; ``impersonate`` on users, groups, service
  accounts and UIDs; any verb on ``nodes/proxy`` (the kubelet API, exec included); ``create`` on
  ``serviceaccounts/token`` (a token of any service account of the namespace, or of the ones its resourceNames
  list: a CI deployer's own); ``approve``/``sign`` on certificate signers.
- secrets through workloads: whoever may create pods (directly or through a controller) may mount any secret
  and service account of the namespace into a pod and read them through its logs.
- cluster-admin: everything cluster-wide, the ``system:masters`` group (outside RBAC, cannot be revoked), EKS's
  AmazonEKSClusterAdminPolicy.
- system: ``system:*`` Kubernetes groups and usernames belong to nodes and Kubernetes' own components.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from access.core.model import PolicyRule

RBAC_GROUP = "rbac.authorization.k8s.io"
SYSTEM_PREFIX = "system:"
SUPERUSER_GROUP = "system:masters"
CLUSTER_ADMIN_ROLE = "cluster-admin"
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
READ_VERBS = frozenset({"get", "list", "watch"})
ANY = "*"


class Sensitivity(StrEnum):
    """Classes of sensitive access, in the order reviews list them."""

    CLUSTER_ADMIN = "cluster-admin"
    SYSTEM = "system"
    EXEC = "exec"
    SECRETS = "secrets"
    ESCALATION = "escalation"
    WORKLOAD_SECRETS = "secrets-via-workloads"


HELP: dict[Sensitivity, str] = {
    Sensitivity.CLUSTER_ADMIN: "cluster-wide '*' on everything, system:masters, AmazonEKSClusterAdminPolicy",
    Sensitivity.SYSTEM: "aws-auth or access-entry mappings in system:* groups (node roles included)",
    Sensitivity.EXEC: "get or create on pods/exec, pods/attach, pods/portforward; ephemeral containers",
    Sensitivity.SECRETS: "get, list or watch on secrets",
    Sensitivity.ESCALATION: "bind, escalate, impersonate, nodes/proxy, serviceaccounts/token, certificate signers",
    Sensitivity.WORKLOAD_SECRETS: "create pods or workloads, which may mount and reveal any secret of the namespace",
}


# What the access matrix says next to a row's rules where the rules alone would mislead a reader.
NOTES: dict[Sensitivity, str] = {Sensitivity.WORKLOAD_SECRETS: "can read secrets through workloads"}


def notes(found: Iterable[str]) -> tuple[str, ...]:
    wanted = set(found)
    return tuple(text for s, text in NOTES.items() if s in wanted)


@dataclass(frozen=True)
class Target:
    """A sensitive (API group, resource) and the verbs that make it so."""

    sensitivity: Sensitivity
    api_group: str
    resource: str
    verbs: frozenset[str]
    label: str  # how the loader names a match; {verb} and {resource} are the rule's own (wildcards included)


BY_VERB = "verb '{verb}'"
BY_RESOURCE = "resource '{resource}'"
SHELL = "a shell in pods ('{resource}')"


def _targets(
    sensitivity: Sensitivity, api_group: str, resources: Iterable[str], verbs: Iterable[str], label: str
) -> tuple[Target, ...]:
    return tuple(Target(sensitivity, api_group, r, frozenset(verbs), label) for r in resources)


WORKLOAD_WRITES = frozenset({"create", "update", "patch"})
ALL_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
TARGETS: tuple[Target, ...] = (
    *_targets(Sensitivity.EXEC, "", ("pods/exec", "pods/attach", "pods/portforward"), ("get", "create"), SHELL),
    *_targets(Sensitivity.EXEC, "", ("pods/ephemeralcontainers",), ("patch", "update"), SHELL),
    *_targets(Sensitivity.SECRETS, "", ("secrets",), READ_VERBS, "reading secrets"),
    *_targets(Sensitivity.ESCALATION, RBAC_GROUP, ("roles", "clusterroles"), ("bind", "escalate"), BY_VERB),
    *_targets(Sensitivity.ESCALATION, "", ("users", "groups", "serviceaccounts"), ("impersonate",), BY_VERB),
    *_targets(Sensitivity.ESCALATION, "authentication.k8s.io", ("uids", "userextras/*"), ("impersonate",), BY_VERB),
    *_targets(Sensitivity.ESCALATION, "", ("nodes/proxy",), ALL_VERBS, BY_RESOURCE),
    *_targets(Sensitivity.ESCALATION, "", ("serviceaccounts/token",), ("create",), BY_RESOURCE),
    *_targets(Sensitivity.ESCALATION, "certificates.k8s.io", ("signers",), ("approve", "sign"), BY_VERB),
    *_targets(
        Sensitivity.WORKLOAD_SECRETS, "", ("pods", "replicationcontrollers", "podtemplates"), WORKLOAD_WRITES, ""
    ),
    *_targets(
        Sensitivity.WORKLOAD_SECRETS,
        "apps",
        ("deployments", "daemonsets", "statefulsets", "replicasets"),
        WORKLOAD_WRITES,
        "",
    ),
    *_targets(Sensitivity.WORKLOAD_SECRETS, "batch", ("jobs", "cronjobs"), WORKLOAD_WRITES, ""),
)
# Escalation and secrets need ``allow_escalation: true`` in a custom level; so does exec, a shell next to secrets.
OPT_IN = frozenset({Sensitivity.ESCALATION, Sensitivity.SECRETS, Sensitivity.EXEC, Sensitivity.CLUSTER_ADMIN})


def granting_resources(wanted: str) -> tuple[str, ...]:
    """Every granted resource that RBAC matches against ``wanted``: ``*``, the exact name, and ``*/<subresource>``
    for a subresource. A short list, so "is ``wanted`` covered" is a few set lookups, never a scan of what is
    granted (the diff and the access verifier index their grants with it)."""
    _, slash, sub = wanted.partition("/")
    return (ANY, wanted, f"*/{sub}") if slash else (ANY, wanted)


def granting(wanted: str) -> tuple[str, ...]:
    """Every granted API group or verb that matches ``wanted``: ``*`` and itself."""
    return (ANY, wanted)


def resource_matches(granted: str, wanted: str) -> bool:
    """RBAC's resource matching: ``*``, the exact name, or ``*/<subresource>`` for any resource's subresource."""
    return granted in granting_resources(wanted)


def without_names(resource: str) -> str:
    """A resource as the access matrix writes a rule limited by resourceNames, ``serviceaccounts/token[ci-deployer]``,
    without the names: a rule limited to some objects still reaches what those objects are (a token is a token)."""
    return resource.split("[", 1)[0]


def grants(api_group: str, resource: str, verb: str, target: Target) -> bool:
    """Whether a granted (API group, resource, verb), wildcards included, reaches ``target``."""
    return (
        api_group in (target.api_group, ANY)
        and resource_matches(without_names(resource), target.resource)
        and (verb == ANY or verb in target.verbs)
    )


def permission_sensitivity(api_group: str, resource: str, verb: str, cluster_wide: bool) -> set[Sensitivity]:
    found = {t.sensitivity for t in TARGETS if grants(api_group, resource, verb, t)}
    if cluster_wide and (api_group, resource, verb) == (ANY, ANY, ANY):
        found.add(Sensitivity.CLUSTER_ADMIN)
    return found


def rule_sensitivity(rule: PolicyRule, cluster_wide: bool = False) -> set[Sensitivity]:
    return {
        found
        for group in rule.api_groups
        for resource in rule.resources
        for verb in rule.verbs
        for found in permission_sensitivity(group, resource, verb, cluster_wide)
    }


def rules_sensitivity(rules: Iterable[PolicyRule], cluster_wide: bool = False) -> set[Sensitivity]:
    return {found for rule in rules for found in rule_sensitivity(rule, cluster_wide)}


def opt_in_reasons(rule: PolicyRule) -> list[str]:
    """Why a custom level's rule needs ``allow_escalation: true``: the verbs and resources that reach an
    escalation path, a shell, or secrets, as the loader names them (``verb 'bind'``, ``reading secrets``)."""
    found: set[str] = set()
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                for target in TARGETS:
                    if target.sensitivity in OPT_IN and grants(group, resource, verb, target):
                        found.add(target.label.format(verb=verb, resource=resource))
    return sorted(found)


def is_system_name(name: str) -> bool:
    """A Kubernetes group or username of nodes and Kubernetes' own components."""
    return name.startswith(SYSTEM_PREFIX)


def mapping_sensitivity(groups: Iterable[str], username: str | None, policies: Iterable[str] = ()) -> set[Sensitivity]:
    """What an aws-auth entry or access entry hands out by itself, before any RBAC binding."""
    group_list = list(groups)
    found = {Sensitivity.SYSTEM} if any(is_system_name(n) for n in [*group_list, username or ""]) else set()
    if SUPERUSER_GROUP in group_list or CLUSTER_ADMIN_POLICY in set(policies):
        found.add(Sensitivity.CLUSTER_ADMIN)
    return found


def ordered(found: Iterable[str]) -> tuple[Sensitivity, ...]:
    wanted = set(found)
    return tuple(s for s in Sensitivity if s in wanted)
