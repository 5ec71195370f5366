"""Refuse a preview that would take away what access depends on, unless allowed.

Reads the output of ``pulumi preview --json`` (the engine's steps), which a policy pack never sees: policies
are shown each resource's desired state, not whether the engine will delete or replace it. What it refuses:

- a deleted or replaced **IAM role**: everyone's access through it goes; a replacement gets a new unique id, so
  trust and resource policies elsewhere that name it keep pointing at the old one;
- a deleted or replaced **aws-auth** (the ``ConfigMapPatch`` eks-access writes, or a ``ConfigMap``): eks-access
  stops managing the map, or (were it not retained) the mappings go;
- a deleted or replaced **EKS access entry** or **access-policy association**: in ``api`` mode they are the
  mappings, so deleting one locks its role out (a node role's: its nodes; break-glass: the admins);
- a **node mapping that disappears from mapRoles** in an update of aws-auth: the nodes of that role can no longer
  join or stay in the cluster (aws-iam-authenticator matches the role ARN without its path, lower-cased);
- a deleted or replaced **namespace** (``Namespace``, ``NamespacePatch``): every workload in it goes.

    pulumi preview --json --stack dev > preview.json
    python -m access preview-guard preview.json --stack dev [--allow] [--format markdown]

Exit 1 when such a step is planned and ``--allow`` is not given (the PR workflow passes it when the PR has
the ``allow-destructive-access-change`` label), 0 otherwise, 2 when the file is not a preview.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from access.core import awsauth
from access.errors import AwsAuthError, PreviewError

ROLE = "aws:iam/role:Role"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CONFIG_MAP_PATCH = "kubernetes:core/v1:ConfigMapPatch"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
NAMESPACE = "kubernetes:core/v1:Namespace"
NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "import-replacement"})
DELETE_OPS = frozenset({"delete"})
UPDATE_OPS = frozenset({"update"})
ALLOW_LABEL = "allow-destructive-access-change"
AWS_AUTH = "kube-system/aws-auth"
# The engine's placeholder for a value not known until apply (sdk/go/common/resource/plugin: UnknownStringValue).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

WHAT = {
    ROLE: "IAM role",
    CONFIG_MAP: "aws-auth",
    CONFIG_MAP_PATCH: "aws-auth patch",
    ACCESS_ENTRY: "access entry",
    POLICY_ASSOCIATION: "access policy association",
    NAMESPACE: "namespace",
    NAMESPACE_PATCH: "namespace",
}


@dataclass(frozen=True)
class Destructive:
    action: str  # delete | replace | drop (a node mapping leaves mapRoles)
    type: str
    name: str  # the cloud name (role name, principal ARN, namespace) when known, else the Pulumi resource name
    urn: str
    reasons: tuple[str, ...]  # properties forcing a replacement; for a drop, the node role ARNs
    retained: bool  # retainOnDelete: the cloud object stays, Pulumi stops managing it

    @property
    def what(self) -> str:
        return WHAT.get(self.type, self.type)

    def describe(self) -> str:
        if self.action == "drop":
            return f"update {self.what} {self.name}: node role mapping removed from mapRoles: {', '.join(self.reasons)}"
        text = f"{self.action} {self.what} {self.name}"
        if self.reasons:
            text += f" (replaced because {', '.join(self.reasons)} changes)"
        if self.retained:
            text += " (retainOnDelete: the object stays in the cluster, unmanaged)"
        return text


def _type_and_name(urn: str) -> tuple[str, str]:
    """``urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`` -> (type, name)."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", urn
    return parts[2].rsplit("$", 1)[-1], "::".join(parts[3:])


def _state(step: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    state = step.get(key)
    return state if isinstance(state, Mapping) else {}


def _properties(state: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("inputs", "outputs"):
        value = state.get(key)
        if isinstance(value, Mapping) and value:
            return value
    return {}


def _metadata_name(props: Mapping[str, Any]) -> tuple[str | None, str | None]:
    metadata = props.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("name") is None:
        return None, None
    namespace = metadata.get("namespace")
    return str(metadata["name"]), None if namespace is None else str(namespace)


def _aws_auth_name(props: Mapping[str, Any], fallback: str) -> str | None:
    name, namespace = _metadata_name(props)
    if name is None:
        return AWS_AUTH if "aws-auth" in fallback else None
    return AWS_AUTH if name == "aws-auth" and namespace in ("kube-system", None) else None


def _namespace_name(props: Mapping[str, Any], fallback: str) -> str:
    name, _ = _metadata_name(props)
    return name or fallback


def _field(key: str) -> Callable[[Mapping[str, Any], str], str]:
    return lambda props, fallback: str(props.get(key) or fallback)


def _association_name(props: Mapping[str, Any], fallback: str) -> str:
    if props.get("principalArn") and props.get("policyArn"):
        return f"{props['principalArn']} -> {str(props['policyArn']).rsplit('/', 1)[-1]}"
    return fallback


# Protected types: how to name the object, or None when it is not one the guard protects (a ConfigMap not aws-auth).
NAMERS: dict[str, Callable[[Mapping[str, Any], str], str | None]] = {
    ROLE: _field("name"),
    CONFIG_MAP: _aws_auth_name,
    CONFIG_MAP_PATCH: _aws_auth_name,
    ACCESS_ENTRY: _field("principalArn"),
    POLICY_ASSOCIATION: _association_name,
    NAMESPACE: _namespace_name,
    NAMESPACE_PATCH: _namespace_name,
}


def _steps(preview: Any) -> list[Mapping[str, Any]]:
    if not isinstance(preview, Mapping):
        raise PreviewError("not a `pulumi preview --json` document (expected a JSON object)")
    steps = preview.get("steps")
    steps = [] if steps is None else steps
    if not isinstance(steps, list):
        raise PreviewError("`steps` is not a list; is this `pulumi preview --json` output?")
    for step in steps:
        if not isinstance(step, Mapping) or not isinstance(step.get("op"), str) or not isinstance(step.get("urn"), str):
            raise PreviewError("a step without `op` and `urn`; is this `pulumi preview --json` output?")
    return steps


def destructive_steps(preview: Any) -> list[Destructive]:
    """Deletes and replacements of what access depends on, one per resource, and node mappings dropped from
    aws-auth by an update, in step order."""
    found: dict[str, Destructive] = {}
    for step in _steps(preview):
        op, urn = step["op"], step["urn"]
        if op not in REPLACE_OPS | DELETE_OPS | UPDATE_OPS:
            continue
        old, new = _state(step, "oldState"), _state(step, "newState")
        if old.get("external") or new.get("external"):
            continue  # a read (`.get()`), not something this stack manages
        urn_type, urn_name = _type_and_name(urn)
        typ = str(new.get("type") or old.get("type") or urn_type)
        namer = NAMERS.get(typ)
        if namer is None:
            continue
        names = [namer(_properties(st), urn_name) for st in (old, new) if st] or [namer({}, urn_name)]
        if all(n is None for n in names):
            continue
        name = " -> ".join(dict.fromkeys(n for n in names if n is not None))  # a rename shows both
        if op in UPDATE_OPS or op in REPLACE_OPS:
            dropped = dropped_node_roles(old, new) if typ in (CONFIG_MAP, CONFIG_MAP_PATCH) else ()
            if dropped and urn not in found:
                found[urn] = Destructive("drop", typ, name, urn, dropped, False)
            if op in UPDATE_OPS:
                continue
        action = "replace" if op in REPLACE_OPS else "delete"
        reasons = tuple(str(r) for r in step.get("replaceReasons") or ())
        previous = found.get(urn)
        if previous is not None and previous.action != "drop":
            action = "replace" if "replace" in (action, previous.action) else action
            reasons = previous.reasons or reasons
        retained = bool(old.get("retainOnDelete") or new.get("retainOnDelete"))
        was_retained = bool(previous and previous.action != "drop" and previous.retained)
        found[urn] = Destructive(action, typ, name, urn, reasons, retained or was_retained)
    return list(found.values())


def _map_roles(state: Mapping[str, Any]) -> str | None:
    for key in ("outputs", "inputs"):
        props = state.get(key)
        data = props.get("data") if isinstance(props, Mapping) else None
        if isinstance(data, Mapping) and "mapRoles" in data:
            value = data["mapRoles"]
            return value if isinstance(value, str) else None
    return None


def dropped_node_roles(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Node role ARNs mapped in the old aws-auth and absent from the new (compared as the authenticator does).

    A new value unknown at preview, or one the authenticator could not read, keeps no node mapping for sure:
    every old node role then counts as dropped, so the guard fails closed."""
    before = _map_roles(old)
    if not before:
        return ()
    try:
        nodes = {awsauth.authenticator_key(e.arn): e.arn for e in awsauth.parse(before) if awsauth.is_node_entry(e)}
    except AwsAuthError:
        return ()  # the old map was unreadable: nothing the authenticator matched there can be lost
    if not nodes:
        return ()
    after = _map_roles(new) if new else ""
    if after is None or UNKNOWN in (after or ""):
        return tuple(sorted(nodes.values()))
    try:
        kept = {awsauth.authenticator_key(e.arn) for e in awsauth.parse(after) if awsauth.works_as_node(e)}
    except AwsAuthError:
        kept = set()
    return tuple(sorted(arn for key, arn in nodes.items() if key not in kept))


def report(found: list[Destructive], stack: str | None, allowed: bool, fmt: str) -> str:
    if fmt == "markdown":
        return _markdown(found, stack, allowed)
    where = f"stack `{stack}`" if stack else "this preview"
    if not found:
        return f"{where}: nothing that access depends on is deleted or replaced\n"
    head = f"{where}: {len(found)} destructive change(s) " + (
        f"allowed by the {ALLOW_LABEL} label" if allowed else f"refused (label the PR {ALLOW_LABEL} if intended)"
    )
    return "\n".join([head, *[f"  {d.describe()}  [{d.urn}]" for d in found]]) + "\n"


def _markdown(found: list[Destructive], stack: str | None, allowed: bool) -> str:
    from access.commands.markdown import code, table

    where = f"stack {code(stack, False)}" if stack else "this preview"
    title = f"#### Destructive-change guard: {where}"
    if not found:
        return f"{title}\n\nNothing that access depends on is deleted or replaced.\n"
    verdict = (
        f"Allowed by the `{ALLOW_LABEL}` label."
        if allowed
        else f"**Blocked.** Add the `{ALLOW_LABEL}` label to the PR if this is intended."
    )
    rows = [[code(d.describe()), code(d.urn)] for d in found]
    return "\n".join([title, "", verdict, "", *table(["change", "resource"], rows)]) + "\n"
