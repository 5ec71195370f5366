"""The change between two snapshots of one stack."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from access.commands.diff.flags import flags
from access.commands.diff.types import Snapshot, StackDiff
from access.core.plan.types import AccessEntryPlan

ROLE_FIELDS = (
    ("trustPolicy", lambda r: r.trust_policy),
    ("path", lambda r: r.path),
    ("maxSessionDuration", lambda r: r.max_session_duration),
    ("permissionsBoundary", lambda r: r.permissions_boundary),
    ("managedPolicyArns", lambda r: r.managed_policy_arns),
    ("username", lambda r: r.username),
    ("kubernetesGroups", lambda r: r.kubernetes_groups),
)


def compare(stack: str, base: Snapshot | None, head: Snapshot | None) -> StackDiff:
    known = head or base
    environment = known.environment if known is not None else stack
    status = "added" if base is None else "removed" if head is None else "changed"
    old = base or Snapshot(environment)
    new = head or Snapshot(environment)
    diff = StackDiff(stack, environment, status)
    diff.principals_added = sorted(new.principals - old.principals, key=str.lower)
    diff.principals_removed = sorted(old.principals - new.principals, key=str.lower)
    diff.roles_added = sorted(set(new.roles) - set(old.roles))
    diff.roles_removed = sorted(set(old.roles) - set(new.roles))
    diff.roles_changed = _roles_changed(old, new)
    diff.namespaces_added = sorted(new.namespaces - old.namespaces)
    diff.namespaces_removed = sorted(old.namespaces - new.namespaces)
    diff.assumable_added = sorted(new.assumable - old.assumable)
    diff.assumable_removed = sorted(old.assumable - new.assumable)
    diff.levels_changed = _levels_changed(old, new)
    diff.gained = sorted(new.permissions - old.permissions)
    diff.lost = sorted(old.permissions - new.permissions)
    # Mappings are keyed by (mapRoles|mapUsers, authenticator key); the diff names the section.
    added, removed, changed = _keyed_changes(old.mappings, new.mappings, lambda e: (e.username, e.groups))
    diff.mappings_added = [(key[0], entry) for key, entry in added]
    diff.mappings_removed = [(key[0], entry) for key, entry in removed]
    diff.mappings_changed = [(key[0], was, now) for key, was, now in changed]
    entries_added, entries_removed, entries_changed = _keyed_changes(
        old.access_entries, new.access_entries, _entry_shape
    )
    diff.entries_added = [entry for _, entry in entries_added]
    diff.entries_removed = [entry for _, entry in entries_removed]
    diff.entries_changed = [(was, now) for _, was, now in entries_changed]
    if base is not None and head is not None and diff.empty:
        diff.status = "unchanged"
    diff.flags = flags(diff)
    return diff


def _roles_changed(old: Snapshot, new: Snapshot) -> list[tuple[str, list[str]]]:
    changed = []
    for name in sorted(set(new.roles) & set(old.roles)):
        fields = [f for f, get in ROLE_FIELDS if get(old.roles[name]) != get(new.roles[name])]
        if fields:
            changed.append((name, fields))
    return changed


def _levels_changed(old: Snapshot, new: Snapshot) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """Per (principal, namespace), the levels before and after: grouped once, so linear in the matrix size."""
    before: dict[tuple[str, str], list[str]] = defaultdict(list)
    after: dict[tuple[str, str], list[str]] = defaultdict(list)
    for side, levels in ((before, old.levels), (after, new.levels)):
        for principal, namespace, level in levels:
            side[(principal, namespace)].append(level)
    changed = []
    for place in sorted(before.keys() | after.keys(), key=lambda k: (k[0].lower(), k[1])):
        was, now = tuple(sorted(before.get(place, ()))), tuple(sorted(after.get(place, ())))
        if was != now:
            changed.append((place[0], place[1], was, now))
    return changed


K = TypeVar("K")
V = TypeVar("V")


def _keyed_changes(
    old: Mapping[K, V], new: Mapping[K, V], shape: Callable[[V], Any]
) -> tuple[list[tuple[K, V]], list[tuple[K, V]], list[tuple[K, V, V]]]:
    """What was added, removed and changed (by ``shape``) between two mappings of one key, in key order."""
    added, removed, changed = [], [], []
    for key in sorted(old.keys() | new.keys()):  # type: ignore[type-var]
        was, now = old.get(key), new.get(key)
        if was is None and now is not None:
            added.append((key, now))
        elif now is None and was is not None:
            removed.append((key, was))
        elif was is not None and now is not None and shape(was) != shape(now):
            changed.append((key, was, now))
    return added, removed, changed


def _entry_shape(entry: AccessEntryPlan) -> tuple[Any, ...]:
    return (entry.type, entry.username, entry.kubernetes_groups, entry.policies)
