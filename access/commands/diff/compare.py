"""The change between two snapshots of one stack."""

from __future__ import annotations

from typing import Any

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
    for name in sorted(set(new.roles) & set(old.roles)):
        changed = [f for f, get in ROLE_FIELDS if get(old.roles[name]) != get(new.roles[name])]
        if changed:
            diff.roles_changed.append((name, changed))
    diff.namespaces_added = sorted(new.namespaces - old.namespaces)
    diff.namespaces_removed = sorted(old.namespaces - new.namespaces)
    diff.assumable_added = sorted(new.assumable - old.assumable)
    diff.assumable_removed = sorted(old.assumable - new.assumable)
    places = sorted({(p, ns) for p, ns, _ in old.levels | new.levels}, key=lambda k: (k[0].lower(), k[1]))
    for principal, namespace in places:
        levels_before = tuple(sorted(lv for p, ns, lv in old.levels if (p, ns) == (principal, namespace)))
        levels_after = tuple(sorted(lv for p, ns, lv in new.levels if (p, ns) == (principal, namespace)))
        if levels_before != levels_after:
            diff.levels_changed.append((principal, namespace, levels_before, levels_after))
    diff.gained = sorted(new.permissions - old.permissions)
    diff.lost = sorted(old.permissions - new.permissions)
    for key in sorted(set(new.mappings) | set(old.mappings)):
        before, after = old.mappings.get(key), new.mappings.get(key)
        if before is None and after is not None:
            diff.mappings_added.append((key[0], after))
        elif after is None and before is not None:
            diff.mappings_removed.append((key[0], before))
        elif before and after and (before.username, before.groups) != (after.username, after.groups):
            diff.mappings_changed.append((key[0], before, after))
    for principal in sorted(set(new.access_entries) | set(old.access_entries)):
        was, now = old.access_entries.get(principal), new.access_entries.get(principal)
        if was is None and now is not None:
            diff.entries_added.append(now)
        elif now is None and was is not None:
            diff.entries_removed.append(was)
        elif was and now and _entry_shape(was) != _entry_shape(now):
            diff.entries_changed.append((was, now))
    if base is not None and head is not None and diff.empty:
        diff.status = "unchanged"
    diff.flags = flags(diff)
    return diff


def _entry_shape(entry: AccessEntryPlan) -> tuple[Any, ...]:
    return (entry.type, entry.username, entry.kubernetes_groups, entry.policies)
