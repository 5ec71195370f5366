"""The diff as JSON, markdown (a pull-request comment) and text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from access.commands.diff.base import Base
from access.commands.diff.flags import describe, entry_text, mapping_text, ordered
from access.commands.diff.types import Flag, Permission, StackDiff
from access.core.evaluate import CLUSTER_WIDE
from access.core.plan.types import AccessEntryPlan, MapEntry

JSON_SCHEMA_VERSION = 1


def dangerous(diffs: Iterable[StackDiff], fail_on: Iterable[str]) -> list[Flag]:
    wanted = set(fail_on)
    return [f for d in diffs for f in d.flags if f.fails(wanted)]


def document(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> dict[str, Any]:
    failing = dangerous(diffs, fail_on)
    return {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "base": base.label,
        "failOn": fail_on,
        "dangerous": bool(failing),
        "flagged": [
            {"categories": list(f.categories), "stack": f.stack, "summary": f.text, "fails": f in failing}
            for d in diffs
            for f in d.flags
        ],
        "stacks": [_stack_json(d) for d in diffs],
    }


def _mapping_json(section: str, entry: MapEntry) -> dict[str, Any]:
    return {"section": section, "arn": entry.arn, "username": entry.username, "groups": list(entry.groups)}


def _entry_json(entry: AccessEntryPlan) -> dict[str, Any]:
    return {
        "principalArn": entry.principal_arn,
        "type": entry.type,
        "username": entry.username or "",
        "kubernetesGroups": list(entry.kubernetes_groups),
        "policies": [p.policy_arn for p in entry.policies],
    }


def _stack_json(d: StackDiff) -> dict[str, Any]:
    return {
        "stack": d.stack,
        "environment": d.environment,
        "status": d.status,
        "principals": {"added": d.principals_added, "removed": d.principals_removed},
        "roles": {
            "added": d.roles_added,
            "removed": d.roles_removed,
            "changed": [{"name": n, "fields": f} for n, f in d.roles_changed],
        },
        "namespaces": {"added": d.namespaces_added, "removed": d.namespaces_removed},
        "levels": [
            {"principal": p, "namespace": ns, "before": list(b), "after": list(a)} for p, ns, b, a in d.levels_changed
        ],
        "assumableRoles": {
            "added": [{"principal": p, "role": r} for p, r in d.assumable_added],
            "removed": [{"principal": p, "role": r} for p, r in d.assumable_removed],
        },
        "permissions": {"gained": [p.as_json() for p in d.gained], "lost": [p.as_json() for p in d.lost]},
        "awsAuth": {
            "added": [_mapping_json(s, e) for s, e in d.mappings_added],
            "removed": [_mapping_json(s, e) for s, e in d.mappings_removed],
            "changed": [
                {"section": s, "arn": a.arn, "before": _mapping_json(s, b), "after": _mapping_json(s, a)}
                for s, b, a in d.mappings_changed
            ],
        },
        "accessEntries": {
            "added": [_entry_json(e) for e in d.entries_added],
            "removed": [_entry_json(e) for e in d.entries_removed],
            "changed": [{"before": _entry_json(b), "after": _entry_json(a)} for b, a in d.entries_changed],
        },
    }


def _by_place(perms: list[Permission]) -> list[tuple[str, str, str]]:
    grouped: dict[tuple[str, str], list[Permission]] = defaultdict(list)
    for p in perms:
        grouped[(p.principal, p.namespace)].append(p)
    return [(principal, ns, describe(items)) for (principal, ns), items in sorted(grouped.items())]


def _lines(d: StackDiff) -> list[tuple[str, str]]:
    """(what, detail) rows for one stack, in reading order."""
    rows: list[tuple[str, str]] = []
    rows += [("new principal", p) for p in d.principals_added]
    rows += [("removed principal", p) for p in d.principals_removed]
    rows += [("new role", r) for r in d.roles_added]
    rows += [("removed role", r) for r in d.roles_removed]
    rows += [("changed role", f"{n}: {', '.join(f)}") for n, f in d.roles_changed]
    rows += [("new namespace", n) for n in d.namespaces_added]
    rows += [("removed namespace", n) for n in d.namespaces_removed]
    rows += [
        ("access level", f"{p} {'cluster-wide' if ns == CLUSTER_WIDE else 'in ' + ns}: {_levels(b)} -> {_levels(a)}")
        for p, ns, b, a in d.levels_changed
    ]
    rows += [("may now assume", f"{p} -> {r}") for p, r in d.assumable_added]
    rows += [("may no longer assume", f"{p} -> {r}") for p, r in d.assumable_removed]
    rows += [(f"aws-auth {s} +", mapping_text(e)) for s, e in d.mappings_added]
    rows += [(f"aws-auth {s} -", mapping_text(e)) for s, e in d.mappings_removed]
    rows += [
        (f"aws-auth {s} ~", f"{a.arn}: {b.username} [{', '.join(b.groups)}] -> {a.username} [{', '.join(a.groups)}]")
        for s, b, a in d.mappings_changed
    ]
    rows += [("access entry +", entry_text(e)) for e in d.entries_added]
    rows += [("access entry -", entry_text(e)) for e in d.entries_removed]
    rows += [("access entry ~", f"{entry_text(b)} -> {entry_text(a)}") for b, a in d.entries_changed]
    return rows


def _levels(levels: tuple[str, ...]) -> str:
    return ", ".join(levels) or "none"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> str:
    failing = dangerous(diffs, fail_on)
    shown = [f for d in diffs for f in d.flags]
    lines = [f"### eks-access diff: `{base.label}` → this branch", ""]
    if failing:
        categories = ", ".join(ordered(c for f in failing for c in f.categories))
        lines += [
            f"> [!CAUTION]\n> **{len(failing)} sensitive access change{'s' if len(failing) != 1 else ''}** "
            f"({categories}). Checked categories: {', '.join(fail_on) or 'none'}.",
            "",
        ]
    elif all(d.status == "unchanged" for d in diffs):
        lines += ["No access changes.", ""]
    else:
        lines += [f"No sensitive access changes (checked: {', '.join(fail_on) or 'none'}).", ""]
    if shown:
        lines += ["#### Sensitive changes", "", "| | category | stack | change |", "|---|---|---|---|"]
        for f in shown:
            mark = "🔴" if f in failing else ("➖" if not f.counts else "⚪")
            lines.append(f"| {mark} | {', '.join(f.categories)} | `{f.stack}` | {_cell(f.text)} |")
        lines += ["", "🔴 fails the check · ⚪ sensitive, category not checked · ➖ access removed (never fails)", ""]
    for d in diffs:
        title = f"#### `{d.stack}` (environment {d.environment})"
        if d.status == "unchanged":
            lines += [title, "", "No changes.", ""]
            continue
        lines += [title, ""]
        if d.status != "changed":
            lines += [f"Stack {d.status}.", ""]
        rows = _lines(d)
        if rows:
            lines += ["| change | detail |", "|---|---|", *[f"| {w} | `{_cell(t)}` |" for w, t in rows], ""]
        for heading, perms in (("Access gained", d.gained), ("Access lost", d.lost)):
            if perms:
                lines += [f"**{heading}**", "", "| principal | namespace | permissions |", "|---|---|---|"]
                lines += [f"| {p} | `{ns}` | {_cell(text)} |" for p, ns, text in _by_place(perms)]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def text(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> str:
    failing = dangerous(diffs, fail_on)
    lines = [f"eks-access diff: {base.label} -> working tree"]
    if failing:
        lines.append(f"SENSITIVE: {len(failing)} change(s) in checked categories ({', '.join(fail_on)})")
    for f in (f for d in diffs for f in d.flags):
        mark = "!!" if f in failing else "--" if not f.counts else "  "
        lines.append(f"  {mark} [{', '.join(f.categories)}] {f.stack}: {f.text}")
    for d in diffs:
        lines.append(f"{d.stack} (environment {d.environment}): {d.status if d.status != 'changed' else ''}".rstrip())
        lines += [f"  {w}: {t}" for w, t in _lines(d)]
        lines += [f"  + {p} in {ns}: {t}" for p, ns, t in _by_place(d.gained)]
        lines += [f"  - {p} in {ns}: {t}" for p, ns, t in _by_place(d.lost)]
    return "\n".join(lines) + "\n"
