"""The change between two snapshots of one stack, linear in their size.

Access is compared per (principal, namespace) place, grouped once on reading: a place whose levels and rule
sets are the same on both sides is skipped without looking at a single permission; only places that changed
are expanded into (API group, resource, verb) triples. A permission counts as gained (or lost) only when the
other side has nothing that covers it the way the RBAC authorizer matches (``*`` verbs, resources, groups;
``*/<subresource>``), so widening ``get`` to ``*`` is a gain of ``*`` and never a loss of ``get``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from access.commands.diff.flags import flags
from access.commands.diff.snapshot import ROLE_FIELDS, RuleSets
from access.commands.diff.types import EntryRow, OutputChange, Permission, PlaceAccess, Snapshot, StackDiff, Triple
from access.core import iam
from access.core.sensitivity import granting, granting_resources, resource_matches


def compare(stack: str, base: Snapshot | None, head: Snapshot | None, rule_sets: RuleSets) -> StackDiff:
    known = head or base
    environment = known.environment if known is not None else stack
    status = "added" if base is None else "removed" if head is None else "changed"
    old = base or Snapshot(environment)
    new = head or Snapshot(environment)
    diff = StackDiff(stack, environment, status)
    old_principals, new_principals = old.principals, new.principals
    diff.principals_added = sorted(new_principals - old_principals, key=str.lower)
    diff.principals_removed = sorted(old_principals - new_principals, key=str.lower)
    diff.roles_added = sorted(new.roles.keys() - old.roles.keys())
    diff.roles_removed = sorted(old.roles.keys() - new.roles.keys())
    diff.roles_changed = _roles_changed(old, new)
    diff.trust_narrowed = {
        name
        for name, fields in diff.roles_changed
        if "trustPolicy" in fields
        and iam.trust_only_narrows(old.roles[name]["trustPolicy"], new.roles[name]["trustPolicy"])
    }
    diff.namespaces_added = sorted(new.namespaces - old.namespaces)
    diff.namespaces_removed = sorted(old.namespaces - new.namespaces)
    diff.assumable_added = sorted(new.assumable - old.assumable)
    diff.assumable_removed = sorted(old.assumable - new.assumable)
    _compare_places(diff, old.places, new.places, rule_sets)
    added, removed, changed = _keyed_changes(old.mappings, new.mappings, lambda e: (e.username, e.groups))
    diff.mappings_added = [entry for _, entry in added]
    diff.mappings_removed = [entry for _, entry in removed]
    diff.mappings_changed = [(was, now) for _, was, now in changed]
    entries_added, entries_removed, entries_changed = _keyed_changes(
        old.access_entries, new.access_entries, _entry_shape
    )
    diff.entries_added = [entry for _, entry in entries_added]
    diff.entries_removed = [entry for _, entry in entries_removed]
    diff.entries_changed = [(was, now) for _, was, now in entries_changed]
    if base is not None and head is not None:
        diff.outputs_changed = list(output_changes(old.outputs, new.outputs))
    if base is not None and head is not None and diff.empty:
        diff.status = "unchanged"
    diff.flags = flags(diff)
    return diff


def _roles_changed(old: Snapshot, new: Snapshot) -> list[tuple[str, list[str]]]:
    changed = []
    for name in sorted(new.roles.keys() & old.roles.keys()):
        was, now = old.roles[name], new.roles[name]
        fields = [f for f in ROLE_FIELDS if was.get(f) != now.get(f)]
        if fields:
            changed.append((name, fields))
    return changed


def _compare_places(
    diff: StackDiff,
    before: Mapping[tuple[str, str], PlaceAccess],
    after: Mapping[tuple[str, str], PlaceAccess],
    rule_sets: RuleSets,
) -> None:
    """Levels and permissions per place: one pass over the union of places, expanding only what changed."""
    nothing = PlaceAccess((), frozenset())
    for place in sorted(before.keys() | after.keys(), key=lambda k: (k[0].lower(), k[1])):
        was, now = before.get(place, nothing), after.get(place, nothing)
        if was == now:
            continue
        principal, namespace = place
        if was.levels != now.levels:
            diff.levels_changed.append((principal, namespace, was.levels, now.levels))
        if was.rule_sets == now.rule_sets:
            continue
        old_triples, new_triples = rule_sets.expand(was.rule_sets), rule_sets.expand(now.rule_sets)
        old_cover, new_cover = rule_sets.wildcards(was.rule_sets), rule_sets.wildcards(now.rule_sets)
        diff.gained += [Permission(principal, namespace, *t) for t in _uncovered(new_triples - old_triples, old_cover)]
        diff.lost += [Permission(principal, namespace, *t) for t in _uncovered(old_triples - new_triples, new_cover)]


def _uncovered(triples: frozenset[Triple], cover: frozenset[Triple]) -> Iterator[Triple]:
    """The triples nothing in ``cover`` covers: a few set lookups per triple (:func:`covered`), never a scan."""
    for triple in sorted(triples):
        if not covered(triple, cover):
            yield triple


def covers(granted: Triple, wanted: Triple) -> bool:
    """Whether a granted (group, resource, verb) allows everything ``wanted`` allows (RBAC matching)."""
    group, resource, verb = granted
    want_group, want_resource, want_verb = wanted
    return group in granting(want_group) and resource_matches(resource, want_resource) and verb in granting(want_verb)


def covered(wanted: Triple, cover: frozenset[Triple]) -> bool:
    """``any(covers(granted, wanted) for granted in cover)``: only the triples that could cover ``wanted`` are
    looked up (``*`` or the same group and verb; ``*``, the same resource or ``*/<subresource>``)."""
    group, resource, verb = wanted
    return any(
        (g, r, v) in cover for g in granting(group) for r in granting_resources(resource) for v in granting(verb)
    )


def output_changes(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> Iterator[OutputChange]:
    """Stack outputs added, removed or changed, by dotted path down to the values consumers read."""
    for key in sorted(before.keys() | after.keys()):
        path = f"{prefix}{key}"
        if key not in after:
            yield OutputChange(path, "removed", before=before[key])
        elif key not in before:
            yield OutputChange(path, "added", after=after[key])
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            yield from output_changes(before[key], after[key], f"{path}.")
        elif before[key] != after[key]:
            yield OutputChange(path, "changed", before[key], after[key])


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


def _entry_shape(entry: EntryRow) -> tuple[Any, ...]:
    return (entry.type, entry.username, entry.kubernetes_groups, entry.policies)
