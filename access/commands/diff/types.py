"""What the access diff compares and finds: permissions, snapshots of one side, a stack's changes, flags.

A :class:`Snapshot` is what one side grants in one environment, read from the versioned JSON that side's own
code printed (``snapshot.py``); nothing here depends on how that code planned it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Triple = tuple[str, str, str]  # (API group, resource, verb), wildcards as written
Place = tuple[str, str]  # (principal, namespace); namespace CLUSTER_WIDE for cluster-wide bindings


@dataclass(frozen=True, order=True)
class Permission:
    principal: str
    namespace: str  # CLUSTER_WIDE for cluster-wide bindings
    api_group: str
    resource: str
    verb: str

    def as_json(self) -> dict[str, str]:
        return {
            "principal": self.principal,
            "namespace": self.namespace,
            "apiGroup": self.api_group,
            "resource": self.resource,
            "verb": self.verb,
        }


@dataclass(frozen=True)
class PlaceAccess:
    """What one principal holds in one namespace: the levels bound and the rule sets they grant (interned ids)."""

    levels: tuple[str, ...]
    rule_sets: frozenset[int]


@dataclass(frozen=True)
class MapRow:
    """One aws-auth mapRoles/mapUsers entry as the authenticator reads it."""

    section: str  # mapRoles | mapUsers
    arn: str
    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class EntryRow:
    """One EKS access entry and its access-policy associations ``(policy ARN, scope, namespaces)``."""

    principal_arn: str
    type: str
    username: str
    kubernetes_groups: tuple[str, ...]
    policies: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @property
    def policy_arns(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.policies)


@dataclass(frozen=True)
class Snapshot:
    """What one side grants in one environment."""

    environment: str
    places: Mapping[Place, PlaceAccess] = field(default_factory=dict)
    assumable: frozenset[tuple[str, str]] = frozenset()  # (principal, role name)
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # by role name: compared fields
    namespaces: frozenset[str] = frozenset()
    mappings: Mapping[tuple[str, str], MapRow] = field(default_factory=dict)  # (section, authenticator key)
    access_entries: Mapping[str, EntryRow] = field(default_factory=dict)  # by lower-cased principal ARN
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def principals(self) -> frozenset[str]:
        return frozenset({p for p, _ in self.assumable} | {p for p, _ in self.places})


@dataclass(frozen=True)
class Flag:
    """A sensitive change: one principal's permissions in one place, one mapping, one role's trust, or code."""

    categories: tuple[str, ...]  # in CATEGORIES order
    stack: str  # "" for a change that is not one stack's (code)
    text: str
    counts: bool  # True: fails the check when one of its categories is in --fail-on (gains, mapping changes)
    principal: str = ""  # for permission flags: who, where and what, so renderings can group them
    namespace: str = ""
    change: str = ""

    def fails(self, fail_on: Iterable[str]) -> bool:
        return self.counts and bool(set(self.categories) & set(fail_on))


@dataclass(frozen=True)
class OutputChange:
    """One stack output that a consumer reads, added, removed or changed, by its dotted path."""

    path: str
    change: str  # added | removed | changed
    before: Any = None
    after: Any = None


@dataclass
class StackDiff:
    stack: str
    environment: str
    status: str  # changed | unchanged | added | removed
    principals_added: list[str] = field(default_factory=list)
    principals_removed: list[str] = field(default_factory=list)
    roles_added: list[str] = field(default_factory=list)
    roles_removed: list[str] = field(default_factory=list)
    roles_changed: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, changed fields)
    trust_narrowed: set[str] = field(default_factory=set)  # roles whose trust change only removes named members
    namespaces_added: list[str] = field(default_factory=list)
    namespaces_removed: list[str] = field(default_factory=list)
    assumable_added: list[tuple[str, str]] = field(default_factory=list)
    assumable_removed: list[tuple[str, str]] = field(default_factory=list)
    levels_changed: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    gained: list[Permission] = field(default_factory=list)
    lost: list[Permission] = field(default_factory=list)
    mappings_added: list[MapRow] = field(default_factory=list)
    mappings_removed: list[MapRow] = field(default_factory=list)
    mappings_changed: list[tuple[MapRow, MapRow]] = field(default_factory=list)
    entries_added: list[EntryRow] = field(default_factory=list)
    entries_removed: list[EntryRow] = field(default_factory=list)
    entries_changed: list[tuple[EntryRow, EntryRow]] = field(default_factory=list)
    outputs_changed: list[OutputChange] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.principals_added,
                self.principals_removed,
                self.roles_added,
                self.roles_removed,
                self.roles_changed,
                self.namespaces_added,
                self.namespaces_removed,
                self.assumable_added,
                self.assumable_removed,
                self.levels_changed,
                self.gained,
                self.lost,
                self.mappings_added,
                self.mappings_removed,
                self.mappings_changed,
                self.entries_added,
                self.entries_removed,
                self.entries_changed,
                self.outputs_changed,
            )
        )


@dataclass
class DiffResult:
    """The whole comparison: where the base came from, each stack's diff, and the code that changed."""

    base: str  # the --base label
    head: str  # "working tree", a ref, or a snapshot file
    stacks: list[StackDiff]
    code_changes: list[str] = field(default_factory=list)  # paths (relative to the project) whose code changed
    notes: list[str] = field(default_factory=list)  # what the reader must know (e.g. how a side was planned)
    code_flags: list[Flag] = field(default_factory=list)

    def all_flags(self) -> list[Flag]:
        return [*self.code_flags, *(f for d in self.stacks for f in d.flags)]
