"""Access levels in ``access.yaml``: custom levels' RBAC rules, checked against real resource names and verbs."""

from __future__ import annotations

from access.core import names
from access.core.catalog import ADMIN_LEVEL, BUILTIN_LEVELS, CLUSTER_SCOPED, KNOWN_RESOURCES, KNOWN_VERBS
from access.core.config.nodes import Node, unique_ids
from access.core.model import AccessLevel, PolicyRule
from access.core.sensitivity import opt_in_reasons


def custom_levels(node: Node) -> dict[str, AccessLevel]:
    """``levels:``: custom levels by id, and built-in levels extended with ``extra_rules`` (custom resources such as
    a team's cert-manager ``certificates``), both checked by :func:`rules` with the same escalation opt-in."""
    out: dict[str, AccessLevel] = {}
    for lid, lnode in unique_ids(node, "level"):
        if lid in BUILTIN_LEVELS:
            out[lid] = _extended(lid, lnode)
            continue
        m = lnode.mapping({"rules", "allow_escalation", "description", "extra_rules"}, required=("rules",))
        if "extra_rules" in m:
            raise m["extra_rules"].error(
                "extra_rules extends a built-in level (view, operate, deploy); a custom level lists all its rules "
                "under rules"
            )
        if "description" in m:
            m["description"].string()
        allow = m["allow_escalation"].boolean() if "allow_escalation" in m else False
        out[lid] = AccessLevel(lid, rules(m["rules"], allow, cluster_scope=False), builtin=False)
    return out


def _extended(lid: str, node: Node) -> AccessLevel:
    builtin = BUILTIN_LEVELS[lid]
    if lid == ADMIN_LEVEL:
        raise node.error(
            "admin is Kubernetes' own admin ClusterRole; extend it the Kubernetes way, with a ClusterRole labelled "
            'rbac.authorization.k8s.io/aggregate-to-admin: "true" (or define a custom level)'
        )
    m = node.mapping({"extra_rules", "allow_escalation", "description", "rules"})
    if "rules" in m:
        raise m["rules"].error(
            f"{lid!r} is a built-in level; its own rules are fixed (docs/levels.md): add to them with extra_rules, "
            "or pick another id for a custom level"
        )
    m = node.mapping({"extra_rules", "allow_escalation", "description"}, required=("extra_rules",))
    if "description" in m:
        m["description"].string()
    allow = m["allow_escalation"].boolean() if "allow_escalation" in m else False
    extra = rules(m["extra_rules"], allow, cluster_scope=False)
    return AccessLevel(lid, builtin.rules + extra, builtin=True)


def rules(node: Node, allow_escalation: bool, cluster_scope: bool) -> tuple[PolicyRule, ...]:
    out: list[PolicyRule] = []
    for rnode in node.items():
        m = rnode.mapping({"api_groups", "resources", "verbs"}, required=("api_groups", "resources", "verbs"))
        groups = []
        for g in m["api_groups"].items():
            if not isinstance(g.value, str):
                raise g.error('API group must be a string ("" is the core group)')
            groups.append(g.value)
        resources = [n.string() for n in m["resources"].strings()]
        verbs = [n.string() for n in m["verbs"].strings()]
        for i, verb in enumerate(verbs):
            if verb not in KNOWN_VERBS:
                raise (
                    m["verbs"]
                    .child(i, verb)
                    .error(f"unknown verb {verb!r}; expected one of {', '.join(sorted(KNOWN_VERBS))}")
                )
        for i, resource in enumerate(resources):
            for group in groups:
                _check_resource(m["resources"].child(i, resource), group, resource, cluster_scope)
        rule = PolicyRule(tuple(groups), tuple(sorted(resources)), tuple(sorted(verbs)))
        danger = opt_in_reasons(rule)
        if danger and not allow_escalation:
            raise rnode.error(
                f"grants {', '.join(danger)}, an escalation path; "
                "set allow_escalation: true on the level if that is really intended"
            )
        out.append(rule)
    if not out:
        raise node.error("a level needs at least one rule")
    return tuple(out)


def _check_resource(node: Node, group: str, resource: str, cluster_scope: bool) -> None:
    """A Role naming ``configmap`` (singular) grants nothing and the API server accepts it silently."""
    if resource == "*" or group == "*":
        return
    known = KNOWN_RESOURCES.get(group)
    if known is not None and resource not in known:
        hint = f" (did you mean {resource + 's'!r}?)" if resource + "s" in known else ""
        raise node.error(
            f"{resource!r} is not a resource of API group {group or 'core'!r}{hint}; "
            "RBAC uses plural resource names and would grant nothing"
        )
    if known is None and not names.RFC1123_LABEL_RE.match(resource.split("/", maxsplit=1)[0]):
        raise node.error(f"{resource!r} is not a valid resource name")
    if not cluster_scope and (group, resource) in CLUSTER_SCOPED:
        raise node.error(f"{resource!r} is cluster-scoped; a namespaced Role cannot grant it")
