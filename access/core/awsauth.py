"""The aws-auth ConfigMap: render mapRoles/mapUsers safely and merge with what the cluster already has.

One YAML error in mapRoles makes EKS drop the whole key, node roles included, so the text is produced
by a YAML serializer, parsed back the way aws-iam-authenticator reads it, and compared before use.
Live entries this stack does not know are never dropped silently.

How aws-iam-authenticator reads the map (pkg/mapper/configmap ``ParseMap``): YAML is converted to JSON
and decoded into a list of ``{rolearn|sso, username, groups}`` (``{userarn, username, groups}`` for
mapUsers) with Go's ``encoding/json``, so keys match case-insensitively; entries are keyed by the
lower-cased ARN and the last duplicate wins; a ``rolearn`` is compared with the caller's ARN without
its IAM path. :func:`parse` follows those rules, and refuses (fails closed) wherever the authenticator
would drop or misread entries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from access.core import names
from access.core.plan.auth import NODE_GROUPS
from access.core.plan.types import MapEntry
from access.errors import AwsAuthError, escape_controls

NAMESPACE = "kube-system"
NAME = "aws-auth"
OWNER_ANNOTATION = "eks-access/owner"
MANAGED_ANNOTATION = "eks-access/managed-arns"  # ARNs this stack wrote last time (lower-cased, JSON list)
ROLES_KEY = "mapRoles"
USERS_KEY = "mapUsers"
ROLE_ARN_KEY = "rolearn"
USER_ARN_KEY = "userarn"
LIVE = "live"  # MapEntry.source of an entry read from the cluster


@dataclass(frozen=True)
class MergedAwsAuth:
    map_roles: str
    map_users: str | None  # None: this stack does not write mapUsers (the live key, if any, is left alone)
    annotations: dict[str, str]
    kept: tuple[str, ...]  # live role ARNs carried over because config says keep
    retired: tuple[str, ...] = ()  # live node mappings removed because config retires them (named in the preview)

    @property
    def data(self) -> dict[str, str]:
        """The ``data`` keys this stack writes; other keys (mapAccounts, ...) stay untouched under server-side apply."""
        out = {ROLES_KEY: self.map_roles}
        if self.map_users is not None:
            out[USERS_KEY] = self.map_users
        return out


class _Dumper(yaml.SafeDumper):
    """Block-style lists indented under their key, as kubectl and eksctl write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _Quoted(str):
    """A value written quoted: aws-iam-authenticator reads aws-auth with go-yaml (YAML 1.1 via sigs.k8s.io/yaml),
    where plain ``yes``, ``on``, ``0o17`` or ``1e3`` are not strings; a quoted scalar is a string in every YAML."""


def _represent_quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.ScalarNode:
    # Single quotes where YAML allows them (readable); the emitter switches to double quotes (with escapes) for
    # anything single quotes cannot hold, such as control characters.
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="'")


_Dumper.add_representer(_Quoted, _represent_quoted)
NODE_USERNAME_PREFIX = "system:node:"


def authenticator_key(arn: str) -> str:
    """What the authenticator compares: the ARN lower-cased, and for roles without the IAM path."""
    return names.strip_role_path(arn).lower()


def render(entries: Iterable[MapEntry], arn_key: str = ROLE_ARN_KEY) -> str:
    """Serialize entries for aws-auth (see :func:`_render`); the same entries are rendered once per process."""
    return _render(tuple(entries), arn_key)


@functools.lru_cache(maxsize=32)
def _render(items: tuple[MapEntry, ...], arn_key: str) -> str:
    """Serialize entries for aws-auth and prove the authenticator reads back exactly these entries.

    Refuses duplicate ARNs (compared as the authenticator does), which would make one entry silently win.
    """
    seen: dict[str, MapEntry] = {}
    for entry in items:
        key = authenticator_key(entry.arn)
        if key in seen:
            raise AwsAuthError(
                f"aws-auth would map {entry.arn!r} twice ({seen[key].source} and {entry.source}); ARNs are "
                "compared without path and ignoring case, so one entry would silently win"
            )
        seen[key] = entry
        if not entry.username:
            raise AwsAuthError(f"aws-auth entry {entry.arn!r} has no username")
    text = yaml.dump(
        [
            {arn_key: _Quoted(e.arn), "username": _Quoted(e.username), "groups": [_Quoted(g) for g in e.groups]}
            for e in items
        ],
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=False,
        width=1000,
    )
    parsed = [(e.arn, e.username, e.groups) for e in parse(text, arn_key)]
    expected = [(e.arn, e.username, tuple(e.groups)) for e in items]
    if parsed != expected:  # pragma: no cover - a serializer bug would be caught here, never shipped
        raise AwsAuthError(f"rendered {arn_key} entries do not parse back to the plan; refusing to write aws-auth")
    return text


def _field(item: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """Go's encoding/json field matching: the exact key first, else any key equal ignoring case (last wins)."""
    if name in item:
        return True, item[name]
    found: tuple[bool, Any] = (False, None)
    for key, value in item.items():
        if isinstance(key, str) and key.lower() == name:
            found = (True, value)
    return found


def parse(text: str | None, arn_key: str = ROLE_ARN_KEY) -> list[MapEntry]:
    """Read mapRoles/mapUsers as aws-iam-authenticator does: a YAML list of {rolearn, username, groups}.

    SSO entries (``sso: {permissionSetName, accountID}``) come back with the ARN pattern the
    authenticator matches, ``arn:aws:iam::<account>:role/AWSReservedSSO_<set>_*``.
    Raises AwsAuthError for anything the authenticator would drop or misread.
    """
    if text is None or not text.strip():
        return []
    return list(_parse(text, arn_key))


@functools.lru_cache(maxsize=32)
def _parse(text: str, arn_key: str) -> tuple[MapEntry, ...]:
    """The same text is read more than once per plan (the render's round trip, the access evaluator): once."""
    what = USERS_KEY if arn_key == USER_ARN_KEY else ROLES_KEY
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AwsAuthError(
            f"live aws-auth {what} is not valid YAML ({str(exc).splitlines()[0]}); EKS ignores the whole key "
            "in this state: fix it by hand (kubectl edit -n kube-system configmap/aws-auth) before eks-access writes it"
        ) from None
    if data is None:
        return ()
    if not isinstance(data, list):
        raise AwsAuthError(f"live aws-auth {what} is not a YAML list; fix it by hand before eks-access writes it")
    out: list[MapEntry] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise AwsAuthError(f"live aws-auth {what} entry {i} is not a mapping; fix it by hand first")
        has_arn, arn = _field(item, arn_key)
        has_sso, sso = _field(item, "sso") if arn_key == ROLE_ARN_KEY else (False, None)
        if has_sso and not has_arn:
            arn = _sso_pattern(sso, what, i)
        elif not has_arn or not isinstance(arn, str) or not arn or has_sso:
            raise AwsAuthError(
                f"live aws-auth {what} entry {i} needs exactly one {arn_key}"
                f"{' or sso' if arn_key == ROLE_ARN_KEY else ''}; fix it by hand first"
            )
        _, username = _field(item, "username")
        _, groups = _field(item, "groups")
        groups = [] if groups is None else groups
        if username is not None and not isinstance(username, str):
            raise AwsAuthError(f"live aws-auth {what} entry {arn} has a username that is not a string")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise AwsAuthError(f"live aws-auth {what} entry {arn} has groups that are not a list of strings")
        out.append(MapEntry(arn, username or "", tuple(groups), LIVE))
    return tuple(out)


def _sso_pattern(sso: Any, what: str, index: int) -> str:
    if not isinstance(sso, dict):
        raise AwsAuthError(f"live aws-auth {what} entry {index} has an sso value that is not a mapping")
    _, permission_set = _field(sso, "permissionsetname")
    _, account = _field(sso, "accountid")
    _, partition = _field(sso, "partition")
    if not isinstance(permission_set, str) or not isinstance(account, str):
        raise AwsAuthError(f"live aws-auth {what} entry {index} has an sso value without permissionSetName/accountID")
    return f"arn:{partition or 'aws'}:iam::{account}:role/AWSReservedSSO_{permission_set}_*"


def owner_id(project: str, stack: str) -> str:
    return f"{project}/{stack}"


def is_node_entry(entry: MapEntry) -> bool:
    """An entry that lets nodes join the cluster: EC2 (Linux and Windows), Fargate and hybrid nodes all map to a
    ``system:node:`` username, or to the node groups. Such an entry only ever goes by an explicit decision."""
    return entry.username.startswith(NODE_USERNAME_PREFIX) or not set(NODE_GROUPS).isdisjoint(entry.groups)


def works_as_node(entry: MapEntry) -> bool:
    """An entry a node can run under: the Node authorizer admits only a ``system:node:<name>`` username in the
    ``system:nodes`` group (kubernetes plugin/pkg/auth/authorizer/node), so an entry that keeps only
    ``system:bootstrappers`` can join but not run pods."""
    return entry.username.startswith(NODE_USERNAME_PREFIX) and "system:nodes" in entry.groups


def merge(
    planned_roles: Sequence[MapEntry],
    planned_users: Sequence[MapEntry],
    live_data: Mapping[str, str] | None,
    live_annotations: Mapping[str, str] | None,
    owner: str,
    keep: Iterable[str],
    keep_hint: str = "clusters.<id>.keep_map_roles in config/environments.yaml",
    *,
    retire: Iterable[str] = (),
    retire_hint: str = "clusters.<id>.retired_node_roles in config/environments.yaml",
    users_hint: str = "map_users in config/access.yaml",
) -> MergedAwsAuth:
    """The aws-auth content to write, given the live ConfigMap (None when it does not exist yet).

    Refuses when another stack owns the ConfigMap, when the live map does not parse, when a live entry is neither
    planned, nor written by this stack before, nor listed to keep, and when a live node entry would go without
    config retiring it (in ``retire``): nodes still running with its role would leave the cluster. An entry this
    stack wrote before and no longer plans is removed (the reviewed change), unless it is a node entry.
    mapUsers is written when the plan has users or this stack wrote users before (so removing the last one
    takes effect); otherwise the live mapUsers key is left alone.
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
    live_roles = parse(data.get(ROLES_KEY), ROLE_ARN_KEY)
    retire_keys = {authenticator_key(arn) for arn in retire}
    retired = [e.arn for e in live_roles if authenticator_key(e.arn) in retire_keys]
    live_roles = [e for e in live_roles if authenticator_key(e.arn) not in retire_keys]
    _refuse_lost_nodes(planned_roles, live_roles, {authenticator_key(arn) for arn in keep}, previously, retire_hint)
    keep_or_map = f"list them in the cluster's node_roles or under {keep_hint}"
    kept = _carry_over(planned_roles, live_roles, keep, previously, keep_or_map)
    # Node roles first, also those EKS added and config keeps; then everything else in plan order.
    nodes = [e for e in planned_roles if e.source == "node"]
    roles = nodes + kept + [e for e in planned_roles if e.source != "node"]
    users_text = None
    wrote_users = any(":user/" in arn for arn in previously)
    if planned_users or wrote_users:
        live_users = parse(data.get(USERS_KEY), USER_ARN_KEY)
        _carry_over(planned_users, live_users, (), previously, f"declare them under {users_hint}", USERS_KEY)
        users_text = render(planned_users, USER_ARN_KEY)
    managed = sorted({authenticator_key(e.arn) for e in [*roles, *planned_users]})
    merged = MergedAwsAuth(
        map_roles=render(roles),
        map_users=users_text,
        annotations={OWNER_ANNOTATION: owner, MANAGED_ANNOTATION: json.dumps(managed, separators=(",", ":"))},
        kept=tuple(e.arn for e in kept),
        retired=tuple(retired),
    )
    check_size(merged)
    return merged


def _refuse_lost_nodes(
    planned: Sequence[MapEntry], live: Sequence[MapEntry], keep_keys: set[str], previously: set[str], hint: str
) -> None:
    """Live node entries this merge would drop or turn into something else, without config retiring them.

    The silent path before: a node role removed from ``node_roles`` or ``keep_map_roles`` was in the
    managed-arns annotation, so the merge took its removal for the reviewed change, and the nodes left.
    """
    planned_by_key = {authenticator_key(e.arn): e for e in planned}
    lost: list[str] = []
    for entry in live:
        if not is_node_entry(entry):
            continue
        key = authenticator_key(entry.arn)
        if key in planned_by_key:
            if not is_node_entry(planned_by_key[key]):
                lost.append(entry.arn)  # the plan maps a node's role as a person or a tool
            continue
        if key not in keep_keys and key in previously:
            lost.append(entry.arn)
    if lost:
        raise AwsAuthError(
            f"live aws-auth {ROLES_KEY} maps nodes through roles config no longer maps as nodes: "
            f"{_listed(lost)}; nodes still running with them would leave the cluster: list them "
            f"again in the cluster's node_roles, or under {hint} to remove their mapping"
        )


def _carry_over(
    planned: Sequence[MapEntry],
    live: Sequence[MapEntry],
    keep: Iterable[str],
    previously: set[str],
    hint: str,
    data_key: str = ROLES_KEY,
) -> list[MapEntry]:
    """Live entries to write again (kept), refusing any entry nobody decided about."""
    planned_keys = {authenticator_key(e.arn) for e in planned}
    keep_keys = {authenticator_key(arn) for arn in keep}
    unknown: list[str] = []
    carried: dict[str, MapEntry] = {}
    for entry in live:
        key = authenticator_key(entry.arn)
        if key in planned_keys:
            continue
        if key in keep_keys:
            # A duplicate in the live map: the authenticator uses the last one, so do we.
            carried[key] = MapEntry(entry.arn, entry.username, entry.groups, "kept")
            continue
        if key in previously:
            continue  # written by this stack before and no longer planned: removing it is the change
        unknown.append(entry.arn)
    if unknown:
        raise AwsAuthError(
            f"live aws-auth {data_key} has entries eks-access did not write and config does not list: "
            f"{_listed(unknown)}; {hint} (EKS adds node-group roles itself)"
        )
    return list(carried.values())


def _listed(arns: Iterable[str]) -> str:
    """Live ARNs for a message: sorted, once each, control characters escaped (the live map is anyone's text)."""
    return escape_controls(", ".join(sorted(set(arns))))


def patch_must_force(
    managed_fields: Sequence[Mapping[str, Any]] | None, manager: str, data_keys: Iterable[str]
) -> bool:
    """Whether the aws-auth patch has to be forced, from the live object's ``metadata.managedFields``.

    When only ``manager`` (this stack's field manager) owns the data keys it writes, the patch is sent unforced:
    should anyone change them between the live read and the write, they take the field over and the API server
    refuses the apply with a conflict, instead of the patch silently overwriting what they added. Forcing is needed
    when another manager owns a key (EKS or kubectl wrote it since; the content was read and merged), and when the
    object carries no managedFields at all (nothing to tell; the provider forces such objects anyway).
    """
    if not managed_fields:
        return True
    wanted = {f"f:{key}" for key in data_keys}
    for entry in managed_fields:
        fields = entry.get("fieldsV1") or {}
        owned = fields.get("f:data") if isinstance(fields, Mapping) else None
        if isinstance(owned, Mapping) and wanted & set(owned) and entry.get("manager") != manager:
            return True
    return False


# Kubernetes limits: all annotations of an object together, and a ConfigMap's data (etcd's object limit).
ANNOTATIONS_MAX_BYTES = 256 * 1024
CONFIGMAP_DATA_MAX_BYTES = 1024 * 1024


def check_size(merged: MergedAwsAuth) -> None:
    """Refuse an aws-auth the API server would reject: better one line in the preview than a failed update."""
    annotations = sum(len(k.encode()) + len(v.encode()) for k, v in merged.annotations.items())
    if annotations > ANNOTATIONS_MAX_BYTES:
        raise AwsAuthError(
            f"aws-auth annotations would be {annotations} bytes; Kubernetes allows {ANNOTATIONS_MAX_BYTES}: "
            "too many principals for one aws-auth, use access:authMode api (access entries)"
        )
    data = sum(len(k.encode()) + len(v.encode()) for k, v in merged.data.items())
    if data > CONFIGMAP_DATA_MAX_BYTES:
        raise AwsAuthError(
            f"aws-auth data would be {data} bytes; a ConfigMap holds at most {CONFIGMAP_DATA_MAX_BYTES}: "
            "too many principals for one aws-auth, use access:authMode api (access entries)"
        )


def configmap_manifest(merged: MergedAwsAuth) -> dict[str, Any]:
    """The fields of kube-system/aws-auth this stack applies, as a ConfigMap manifest (for review and validation)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "annotations": dict(sorted(merged.annotations.items()))},
        "data": merged.data,
    }


def _managed_arns(value: str | None) -> set[str]:
    if not value:
        return set()
    try:
        arns = json.loads(value)
    except json.JSONDecodeError:
        arns = None
    if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
        raise AwsAuthError(
            f"annotation {MANAGED_ANNOTATION} on kube-system/aws-auth is not a JSON list of ARNs; "
            "remove it by hand so eks-access re-checks every entry"
        )
    return {authenticator_key(a) for a in arns}
