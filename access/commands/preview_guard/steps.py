"""Refuse a preview that would delete or replace an IAM role or the aws-auth patch, unless allowed.

Reads the output of ``pulumi preview --json`` (the engine's steps), which a policy pack never sees: policies
are shown each resource's desired state, not whether the engine will delete or replace it. Deleting a role
takes away everyone's access through it; replacing one gives it a new unique id, so trust and resource
policies elsewhere that name it keep pointing at the old one; deleting or replacing the aws-auth patch
stops eks-access from managing the map (or, were the patch not retained, removes the mappings).

    pulumi preview --json --stack dev > preview.json
    python -m access preview-guard preview.json --stack dev [--allow] [--format markdown]

Exit 1 when such a step is planned and ``--allow`` is not given (the PR workflow passes it when the PR has
the ``allow-destructive-access-change`` label), 0 otherwise, 2 when the file is not a preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from access.errors import PreviewError

ROLE = "aws:iam/role:Role"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
CONFIG_MAP_PATCH = "kubernetes:core/v1:ConfigMapPatch"
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced", "import-replacement"})
DELETE_OPS = frozenset({"delete"})
ALLOW_LABEL = "allow-destructive-access-change"


@dataclass(frozen=True)
class Destructive:
    action: str  # delete | replace
    type: str
    name: str  # the cloud name (role name, ConfigMap name) when known, else the Pulumi resource name
    urn: str
    reasons: tuple[str, ...]  # properties forcing a replacement
    retained: bool  # retainOnDelete: the cloud object stays, Pulumi stops managing it

    @property
    def what(self) -> str:
        return "IAM role" if self.type == ROLE else "aws-auth patch" if self.type == CONFIG_MAP_PATCH else "aws-auth"

    def describe(self) -> str:
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


def _protected_name(typ: str, state: Mapping[str, Any], fallback: str) -> str | None:
    """The object's name when it is one the guard protects, else None."""
    inputs = state.get("inputs") or state.get("outputs")
    if isinstance(inputs, Mapping):
        if typ == ROLE:
            return str(inputs.get("name") or fallback)
        metadata = inputs.get("metadata")
        if isinstance(metadata, Mapping) and metadata.get("name") is not None:
            is_aws_auth = metadata.get("name") == "aws-auth" and metadata.get("namespace") in ("kube-system", None)
            return "kube-system/aws-auth" if is_aws_auth else None
    if typ == ROLE:
        return fallback
    return "kube-system/aws-auth" if "aws-auth" in fallback else None


def destructive_steps(preview: Any) -> list[Destructive]:
    """Deletes and replacements of IAM roles and of kube-system/aws-auth, one per resource, in step order."""
    if not isinstance(preview, Mapping):
        raise PreviewError("not a `pulumi preview --json` document (expected a JSON object)")
    steps = preview.get("steps")
    steps = [] if steps is None else steps
    if not isinstance(steps, list):
        raise PreviewError("`steps` is not a list; is this `pulumi preview --json` output?")
    found: dict[str, Destructive] = {}
    for step in steps:
        if not isinstance(step, Mapping) or not isinstance(step.get("op"), str) or not isinstance(step.get("urn"), str):
            raise PreviewError("a step without `op` and `urn`; is this `pulumi preview --json` output?")
        op, urn = step["op"], step["urn"]
        if op not in REPLACE_OPS | DELETE_OPS:
            continue
        old, new = _state(step, "oldState"), _state(step, "newState")
        if old.get("external") or new.get("external"):
            continue  # a read (`.get()`), not something this stack manages
        urn_type, urn_name = _type_and_name(urn)
        typ = str(new.get("type") or old.get("type") or urn_type)
        if typ not in (ROLE, CONFIG_MAP, CONFIG_MAP_PATCH):
            continue
        names = [_protected_name(typ, st, urn_name) for st in (old, new) if st] or [_protected_name(typ, {}, urn_name)]
        if all(n is None for n in names):
            continue
        name = " -> ".join(dict.fromkeys(n for n in names if n is not None))  # a rename shows both
        action = "replace" if op in REPLACE_OPS else "delete"
        reasons = tuple(str(r) for r in step.get("replaceReasons") or ())
        previous = found.get(urn)
        if previous is not None:
            action = "replace" if "replace" in (action, previous.action) else action
            reasons = previous.reasons or reasons
        retained = bool(old.get("retainOnDelete") or new.get("retainOnDelete"))
        found[urn] = Destructive(action, typ, name, urn, reasons, retained or bool(previous and previous.retained))
    return list(found.values())


def report(found: list[Destructive], stack: str | None, allowed: bool, fmt: str) -> str:
    where = f"stack `{stack}`" if stack else "this preview"
    if fmt == "markdown":
        if not found:
            return f"#### Destructive-change guard: {where}\n\nNo IAM role or aws-auth deletion or replacement.\n"
        verdict = (
            f"Allowed by the `{ALLOW_LABEL}` label."
            if allowed
            else f"**Blocked.** Add the `{ALLOW_LABEL}` label to the PR if this is intended."
        )
        lines = [f"#### Destructive-change guard: {where}", "", verdict, "", "| change | resource |", "|---|---|"]
        lines += [f"| {d.describe()} | `{d.urn}` |" for d in found]
        return "\n".join(lines) + "\n"
    if not found:
        return f"{where}: no IAM role or aws-auth deletion or replacement\n"
    head = f"{where}: {len(found)} destructive change(s) " + (
        f"allowed by the {ALLOW_LABEL} label" if allowed else f"refused (label the PR {ALLOW_LABEL} if intended)"
    )
    return "\n".join([head, *[f"  {d.describe()}  [{d.urn}]" for d in found]]) + "\n"
