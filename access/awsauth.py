"""The aws-auth ConfigMap: render mapRoles/mapUsers safely and merge with what the cluster already has.

One YAML error in mapRoles makes EKS drop the whole key, node roles included, so the text is produced
by a YAML serializer, parsed back the way aws-iam-authenticator reads it, and compared before use.
Live entries this stack does not know are never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import yaml

from access.plan import MapEntry

NAMESPACE = "kube-system"
NAME = "aws-auth"
OWNER_ANNOTATION = "eks-access/owner"
MANAGED_ANNOTATION = "eks-access/managed-arns"  # ARNs this stack wrote last time (lower-cased, JSON list)


class AwsAuthError(Exception):
    """A refusal to write aws-auth; the message is one line saying what and how to fix it."""


@dataclass(frozen=True)
class MergedAwsAuth:
    map_roles: str
    map_users: str | None
    annotations: dict[str, str]
    kept: tuple[str, ...]  # live role ARNs carried over because config says keep


class _Dumper(yaml.SafeDumper):
    """Block-style lists indented under their key, as kubectl and eksctl write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _entry_dict(entry: MapEntry, arn_key: str) -> dict[str, object]:
    return {arn_key: entry.arn, "username": entry.username, "groups": list(entry.groups)}


def render(entries: Iterable[MapEntry], arn_key: str = "rolearn") -> str:
    """Serialize entries for aws-auth and prove the authenticator reads back exactly these entries."""
    items = list(entries)
    text = yaml.dump(
        [_entry_dict(e, arn_key) for e in items],
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=False,
        width=1000,
    )
    parsed = parse(text, arn_key)
    expected = [(e.arn, e.username, tuple(e.groups)) for e in items]
    if parsed != expected:  # pragma: no cover - a serializer bug would be caught here, never shipped
        raise AwsAuthError(f"rendered {arn_key} entries do not parse back to the plan; refusing to write aws-auth")
    return text


def parse(text: str | None, arn_key: str = "rolearn") -> list[tuple[str, str, tuple[str, ...]]]:
    """Read mapRoles/mapUsers as aws-iam-authenticator does: a YAML list of {rolearn, username, groups}."""
    if text is None or not text.strip():
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AwsAuthError(
            f"live aws-auth {arn_key} entries are not valid YAML ({str(exc).splitlines()[0]}); "
            "EKS ignores the whole key in this state: fix it by hand before eks-access writes it"
        ) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise AwsAuthError(f"live aws-auth {arn_key} is not a YAML list; fix it by hand before eks-access writes it")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get(arn_key), str):
            raise AwsAuthError(f"live aws-auth {arn_key} entry {i} has no {arn_key}; fix it by hand first")
        groups = item.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise AwsAuthError(f"live aws-auth entry {item[arn_key]} has groups that are not a list of strings")
        username = item.get("username", "")
        out.append((item[arn_key], str(username), tuple(groups)))
    return out


def owner_id(project: str, stack: str) -> str:
    return f"{project}/{stack}"


def merge(
    planned_roles: list[MapEntry],
    planned_users: list[MapEntry],
    live_data: Mapping[str, str] | None,
    live_annotations: Mapping[str, str] | None,
    owner: str,
    keep: Iterable[str],
    manage_users: bool,
) -> MergedAwsAuth:
    """The aws-auth content to write, given the live ConfigMap (None when it does not exist yet).

    Refuses when another stack owns the ConfigMap, when the live map does not parse, and when a live
    entry is neither planned, nor written by this stack before, nor listed to keep.
    """
    annotations = dict(live_annotations or {})
    current_owner = annotations.get(OWNER_ANNOTATION)
    if current_owner and current_owner != owner:
        raise AwsAuthError(
            f"kube-system/aws-auth is owned by stack {current_owner!r}, not {owner!r}; one stack "
            "owns mapRoles per cluster (use access:authMode api for environments sharing a cluster)"
        )
    previously = _managed_arns(annotations.get(MANAGED_ANNOTATION))
    data = dict(live_data or {})
    keep_set = {arn.lower() for arn in keep}
    kept: list[MapEntry] = []

    def carry_over(planned: list[MapEntry], arn_key: str, key: str) -> list[MapEntry]:
        planned_arns = {e.arn.lower() for e in planned}
        unknown = []
        carried = []
        for arn, username, groups in parse(data.get(key), arn_key):
            low = arn.lower()
            if low in planned_arns or low in previously:
                continue
            if low in keep_set:
                carried.append(MapEntry(arn, username, groups, "kept"))
                continue
            unknown.append(arn)
        if unknown:
            raise AwsAuthError(
                f"live aws-auth {key} has entries eks-access did not write and config does not list: "
                f"{', '.join(sorted(unknown))}; add them to clusters.<id>.node_roles or keep_map_roles in "
                "config/environments.yaml (EKS adds node-group roles itself)"
            )
        return carried

    kept = carry_over(planned_roles, "rolearn", "mapRoles")
    roles = planned_roles + kept
    users_text = None
    users: list[MapEntry] = []
    if manage_users:
        users = planned_users + carry_over(planned_users, "userarn", "mapUsers")
        users_text = render(users, "userarn")
    managed = sorted({e.arn.lower() for e in planned_roles + planned_users})
    return MergedAwsAuth(
        map_roles=render(roles),
        map_users=users_text,
        annotations={OWNER_ANNOTATION: owner, MANAGED_ANNOTATION: json.dumps(managed, separators=(",", ":"))},
        kept=tuple(e.arn for e in kept),
    )


def _managed_arns(value: str | None) -> set[str]:
    if not value:
        return set()
    try:
        arns = json.loads(value)
    except json.JSONDecodeError:
        raise AwsAuthError(
            f"annotation {MANAGED_ANNOTATION} on kube-system/aws-auth is not a JSON list; "
            "remove it by hand so eks-access re-checks every entry"
        ) from None
    if not isinstance(arns, list):
        raise AwsAuthError(f"annotation {MANAGED_ANNOTATION} on kube-system/aws-auth is not a JSON list")
    return {str(a).lower() for a in arns}
