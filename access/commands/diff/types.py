"""What the access diff compares and finds: permissions, snapshots of one side, a stack's changes, flags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from access.core.plan.types import AccessEntryPlan, MapEntry, RolePlan


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
class Snapshot:
    """What one side grants in one environment."""

    environment: str
    permissions: frozenset[Permission] = frozenset()
    levels: frozenset[tuple[str, str, str]] = frozenset()  # (principal, namespace, level) from the matrix
    assumable: frozenset[tuple[str, str]] = frozenset()  # (principal, role name)
    roles: Mapping[str, RolePlan] = field(default_factory=dict)  # by role name
    namespaces: frozenset[str] = frozenset()
    mappings: Mapping[tuple[str, str], MapEntry] = field(default_factory=dict)  # (mapRoles|mapUsers, key)
    access_entries: Mapping[str, AccessEntryPlan] = field(default_factory=dict)  # by lower-cased principal ARN

    @property
    def principals(self) -> frozenset[str]:
        return frozenset({p for p, _ in self.assumable} | {p.principal for p in self.permissions})


@dataclass(frozen=True)
class Flag:
    """A sensitive change: one principal's permissions in one place, one mapping, or one role's trust."""

    categories: tuple[str, ...]  # in CATEGORIES order
    stack: str
    text: str
    counts: bool  # True: fails the check when one of its categories is in --fail-on (gains, mapping changes)

    def fails(self, fail_on: Iterable[str]) -> bool:
        return self.counts and bool(set(self.categories) & set(fail_on))


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
    namespaces_added: list[str] = field(default_factory=list)
    namespaces_removed: list[str] = field(default_factory=list)
    assumable_added: list[tuple[str, str]] = field(default_factory=list)
    assumable_removed: list[tuple[str, str]] = field(default_factory=list)
    levels_changed: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    gained: list[Permission] = field(default_factory=list)
    lost: list[Permission] = field(default_factory=list)
    mappings_added: list[tuple[str, MapEntry]] = field(default_factory=list)
    mappings_removed: list[tuple[str, MapEntry]] = field(default_factory=list)
    mappings_changed: list[tuple[str, MapEntry, MapEntry]] = field(default_factory=list)
    entries_added: list[AccessEntryPlan] = field(default_factory=list)
    entries_removed: list[AccessEntryPlan] = field(default_factory=list)
    entries_changed: list[tuple[AccessEntryPlan, AccessEntryPlan]] = field(default_factory=list)
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
            )
        )
