"""Which changes are sensitive (cluster-admin, system:*, exec, secrets, escalation, trust, code) and which fail."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from access.commands.diff.types import EntryRow, Flag, MapRow, Permission, StackDiff
from access.core.evaluate import CLUSTER_WIDE, summarise_rules
from access.core.model import PolicyRule
from access.core.sensitivity import HELP, Sensitivity, mapping_sensitivity, permission_sensitivity

TRUST = "trust"
CODE = "code"
CATEGORIES: tuple[str, ...] = (*(s.value for s in Sensitivity), TRUST, CODE)
CATEGORY_HELP: dict[str, str] = {
    **{s.value: text for s, text in HELP.items()},
    TRUST: "a role's trust policy changed",
    CODE: "eks-access code, policy pack, workflows, stack or dependency files changed (review the code itself)",
}


def permission_categories(p: Permission) -> set[str]:
    return set(permission_sensitivity(p.api_group, p.resource, p.verb, cluster_wide=p.namespace == CLUSTER_WIDE))


def _node_entry(entry: EntryRow) -> bool:
    # Node entries (EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX) put their role in system:nodes by type.
    return entry.type != "STANDARD"


def ordered(categories: Iterable[str]) -> tuple[str, ...]:
    wanted = set(categories)
    return tuple(c for c in CATEGORIES if c in wanted)


def flags(diff: StackDiff) -> list[Flag]:
    out = _permission_flags(diff) + _mapping_flags(diff) + _entry_flags(diff)
    out += [
        # A trust that only drops members it named lets nobody new in: listed, never failing.
        Flag((TRUST,), diff.stack, f"trust policy of role {name} changes (who may assume it)", counts=True)
        if name not in diff.trust_narrowed
        else Flag((TRUST,), diff.stack, f"trust policy of role {name} only drops members it named", counts=False)
        for name, fields in diff.roles_changed
        if "trustPolicy" in fields
    ]
    return sorted(out, key=lambda f: (not f.counts, CATEGORIES.index(f.categories[0]), f.text))


def _permission_flags(diff: StackDiff) -> list[Flag]:
    """One flag per principal and namespace whose gained (failing) or lost (listed) permissions are sensitive."""
    out: list[Flag] = []
    for perms, verb, counts in ((diff.gained, "gains", True), (diff.lost, "loses", False)):
        grouped: dict[tuple[str, str], list[Permission]] = defaultdict(list)
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for p in perms:
            categories = permission_categories(p)
            if categories:
                grouped[(p.principal, p.namespace)].append(p)
                found[(p.principal, p.namespace)] |= categories
        for (principal, namespace), items in sorted(grouped.items()):
            where = "cluster-wide" if namespace == CLUSTER_WIDE else f"in {namespace}"
            change = f"{verb} {describe(items)}"
            text = f"{principal} {change} {where}"
            out.append(
                Flag(ordered(found[(principal, namespace)]), diff.stack, text, counts, principal, namespace, change)
            )
    return out


def _mapping_flags(diff: StackDiff) -> list[Flag]:
    """Every sensitive aws-auth change fails, a removal too: a node role removed cuts its nodes off."""
    changes: list[tuple[str, MapRow, MapRow | None]]
    changes = [("adds", entry, None) for entry in diff.mappings_added]
    changes += [("removes", entry, None) for entry in diff.mappings_removed]
    changes += [("changes", before, after) for before, after in diff.mappings_changed]
    out = []
    for what, entry, after in changes:
        categories = _mapping_categories(entry) | (_mapping_categories(after) if after else set())
        if categories:
            text = f"aws-auth {entry.section} {what} {mapping_text(entry)}"
            if after is not None:
                text += f" to {after.username} [{', '.join(after.groups)}]"
            out.append(Flag(ordered(categories), diff.stack, text, True))
    return out


def _entry_flags(diff: StackDiff) -> list[Flag]:
    changes: list[tuple[str, EntryRow, EntryRow | None]]
    changes = [("adds", entry, None) for entry in diff.entries_added]
    changes += [("removes", entry, None) for entry in diff.entries_removed]
    changes += [("changes", was, now) for was, now in diff.entries_changed]
    out = []
    for what, entry, now in changes:
        categories = _entry_categories(entry) | (_entry_categories(now) if now else set())
        if categories:
            text = f"{what} access entry {entry_text(entry)}" + (f" to {entry_text(now)}" if now else "")
            out.append(Flag(ordered(categories), diff.stack, text, True))
    return out


def mapping_text(entry: MapRow) -> str:
    return f"{entry.arn} -> {entry.username} [{', '.join(entry.groups)}]"


def _mapping_categories(entry: MapRow) -> set[str]:
    return set(mapping_sensitivity(entry.groups, entry.username))


def _entry_categories(entry: EntryRow) -> set[str]:
    found: set[str] = set(mapping_sensitivity(entry.kubernetes_groups, entry.username, entry.policy_arns))
    if _node_entry(entry):
        found.add(Sensitivity.SYSTEM)
    return found


def entry_text(entry: EntryRow) -> str:
    extra: list[str] = [entry.type]
    if entry.username:
        extra.append(entry.username)
    extra += list(entry.kubernetes_groups)
    extra += [arn.rsplit("/", 1)[-1] for arn in entry.policy_arns]
    return f"{entry.principal_arn} ({', '.join(extra)})"


def describe(perms: Iterable[Permission]) -> str:
    """Compact text for permissions of one principal in one namespace: ``get,list pods; create pods/exec``."""
    items = list(perms)
    if any((p.api_group, p.resource, p.verb) == ("*", "*", "*") for p in items):
        return "everything (* on */*)"
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in items:
        verbs[(p.api_group, p.resource)].add(p.verb)
    rules = tuple(PolicyRule((group,), (resource,), tuple(sorted(vs))) for (group, resource), vs in verbs.items())
    return summarise_rules(rules)


def code_flags(paths: list[str]) -> list[Flag]:
    """One flag for every changed code path: each side's own code planned it, so the code itself needs review."""
    if not paths:
        return []
    shown = ", ".join(paths[:20]) + (f" and {len(paths) - 20} more" if len(paths) > 20 else "")
    return [Flag((CODE,), "", f"code changes: {shown}", True, change="code changes")]
