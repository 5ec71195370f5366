"""The diff as JSON, markdown (a pull-request comment, bounded in size) and text."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from access.commands.diff.flags import CATEGORIES, describe, entry_text, mapping_text, ordered
from access.commands.diff.types import DiffResult, EntryRow, Flag, MapRow, OutputChange, Permission, StackDiff
from access.commands.markdown import Bounded, code, codes, escape
from access.core.evaluate import CLUSTER_WIDE

JSON_SCHEMA_VERSION = 2
CUT_NOTE = (
    "> [!WARNING]\n> Cut to fit one GitHub comment. The full diff is the `access-diff` artifact of this run "
    "(and the job summary, when it is under 1 MiB)."
)


def dangerous(result: DiffResult, fail_on: Iterable[str]) -> list[Flag]:
    wanted = set(fail_on)
    return [f for f in result.all_flags() if f.fails(wanted)]


def document(result: DiffResult, fail_on: list[str]) -> dict[str, Any]:
    failing = dangerous(result, fail_on)
    return {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "base": result.base,
        "head": result.head,
        "failOn": fail_on,
        "dangerous": bool(failing),
        "codeChanges": result.code_changes,
        "notes": result.notes,
        "flagged": [
            {"categories": list(f.categories), "stack": f.stack, "summary": f.text, "fails": f in failing}
            for f in result.all_flags()
        ],
        "stacks": [_stack_json(d) for d in result.stacks],
    }


def _mapping_json(entry: MapRow) -> dict[str, Any]:
    return {"section": entry.section, "arn": entry.arn, "username": entry.username, "groups": list(entry.groups)}


def _entry_json(entry: EntryRow) -> dict[str, Any]:
    return {
        "principalArn": entry.principal_arn,
        "type": entry.type,
        "username": entry.username,
        "kubernetesGroups": list(entry.kubernetes_groups),
        "policies": list(entry.policy_arns),
    }


def _output_json(change: OutputChange) -> dict[str, Any]:
    return {"path": change.path, "change": change.change, "before": change.before, "after": change.after}


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
            "added": [_mapping_json(e) for e in d.mappings_added],
            "removed": [_mapping_json(e) for e in d.mappings_removed],
            "changed": [
                {"section": a.section, "arn": a.arn, "before": _mapping_json(b), "after": _mapping_json(a)}
                for b, a in d.mappings_changed
            ],
        },
        "accessEntries": {
            "added": [_entry_json(e) for e in d.entries_added],
            "removed": [_entry_json(e) for e in d.entries_removed],
            "changed": [{"before": _entry_json(b), "after": _entry_json(a)} for b, a in d.entries_changed],
        },
        "outputs": [_output_json(c) for c in d.outputs_changed],
    }


# --- for people -----------------------------------------------------------------------------------------------


def _by_place(perms: list[Permission]) -> list[tuple[str, str, str]]:
    grouped: dict[tuple[str, str], list[Permission]] = defaultdict(list)
    for p in perms:
        grouped[(p.principal, p.namespace)].append(p)
    return [(principal, ns, describe(items)) for (principal, ns), items in sorted(grouped.items())]


def _where(namespace: str) -> str:
    return "cluster-wide" if namespace == CLUSTER_WIDE else f"in {namespace}"


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
    rows += [("access level", f"{p} {_where(ns)}: {_levels(b)} -> {_levels(a)}") for p, ns, b, a in d.levels_changed]
    rows += [("may now assume", f"{p} -> {r}") for p, r in d.assumable_added]
    rows += [("may no longer assume", f"{p} -> {r}") for p, r in d.assumable_removed]
    rows += [(f"aws-auth {e.section} +", mapping_text(e)) for e in d.mappings_added]
    rows += [(f"aws-auth {e.section} -", mapping_text(e)) for e in d.mappings_removed]
    rows += [
        (
            f"aws-auth {a.section} ~",
            f"{a.arn}: {b.username} [{', '.join(b.groups)}] -> {a.username} [{', '.join(a.groups)}]",
        )
        for b, a in d.mappings_changed
    ]
    rows += [("access entry +", entry_text(e)) for e in d.entries_added]
    rows += [("access entry -", entry_text(e)) for e in d.entries_removed]
    rows += [("access entry ~", f"{entry_text(b)} -> {entry_text(a)}") for b, a in d.entries_changed]
    rows += [(f"output {c.change}", _output_text(c)) for c in d.outputs_changed]
    return rows


def _output_text(change: OutputChange) -> str:
    if change.change == "changed":
        return f"{change.path}: {_short(change.before)} -> {_short(change.after)}"
    return f"{change.path}: {_short(change.after if change.change == 'added' else change.before)}"


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, dict):
        return f"{{{', '.join(sorted(value))}}}" if value else "{}"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def _levels(levels: tuple[str, ...]) -> str:
    return ", ".join(levels) or "none"


def _mark(flag: Flag, failing: list[Flag]) -> str:
    return "🔴" if flag in failing else ("➖" if not flag.counts else "⚪")


def _verdict(result: DiffResult, fail_on: list[str], failing: list[Flag]) -> list[str]:
    if failing:
        categories = ", ".join(ordered(c for f in failing for c in f.categories))
        plural = "s" if len(failing) != 1 else ""
        return [
            f"> [!CAUTION]\n> **{len(failing)} sensitive change{plural}** ({escape(categories)}). "
            f"Checked categories: {escape(', '.join(fail_on) or 'none')}.",
            "",
        ]
    if all(d.status == "unchanged" for d in result.stacks) and not result.code_changes:
        return ["No access changes.", ""]
    return [f"No sensitive access changes (checked: {escape(', '.join(fail_on) or 'none')}).", ""]


def _summary_rows(result: DiffResult, stacks: list[StackDiff], failing: list[Flag]) -> list[list[str]]:
    rows = []
    for d in stacks:
        gaining = {p.principal for p in d.gained} | {p for p, _ in d.assumable_added} | set(d.principals_added)
        losing = {p.principal for p in d.lost} | {p for p, _ in d.assumable_removed} | set(d.principals_removed)
        counts: dict[str, int] = defaultdict(int)
        for f in d.flags:
            if f.counts:
                for c in f.categories:
                    counts[c] += 1
        cells = [str(counts[c]) if counts[c] else "" for c in CATEGORIES if c != "code"]
        status = d.status + (" 🔴" if any(f in failing for f in d.flags) else "")
        rows.append([code(d.stack), escape(status), str(len(gaining)), str(len(losing)), *cells,
                     str(len(d.outputs_changed)) if d.outputs_changed else ""])  # fmt: skip
    return rows


def _sensitive_rows(stacks: list[StackDiff], failing: list[Flag]) -> list[list[str]]:
    """One row per (stack, change, place), the principals listed in full: what counts first (prod first), then
    the losses, which never fail."""
    grouped: dict[tuple[bool, int, str, str, tuple[str, ...], str, str], list[str]] = defaultdict(list)
    for order, d in enumerate(stacks):
        for f in d.flags:
            where = f.namespace if f.change else ""
            key = (not f.counts, order, d.stack, _mark(f, failing), f.categories, f.change or f.text, where)
            grouped[key].append(f.principal)
    rows = []
    for (_, _, stack, mark, categories, change, namespace), principals in sorted(
        grouped.items(), key=lambda i: i[0][:2]
    ):
        where = "" if not namespace else ("cluster-wide" if namespace == CLUSTER_WIDE else code(namespace))
        listed = codes(p for p in principals if p)
        rows.append([mark, escape(", ".join(categories)), code(stack), code(change), where, listed])
    return rows


def markdown(result: DiffResult, fail_on: list[str], limit: int | None = None) -> str:
    """The PR comment: verdict, summary per stack (prod first), code changes, sensitive rows, then the rest."""
    failing = dangerous(result, fail_on)
    stacks = list(reversed(result.stacks))  # the last environment (prod) first: it matters most, and is never cut
    doc = Bounded(limit, CUT_NOTE)
    doc.add([f"### eks-access diff: {code(result.base, False)} → {code(result.head, False)}", ""])
    doc.add(_verdict(result, fail_on, failing))
    for note in result.notes:
        doc.add([f"> [!NOTE]\n> {escape(note)}", ""])
    header = [
        "stack",
        "status",
        "principals gaining",
        "principals losing",
        *(c for c in CATEGORIES if c != "code"),
        "outputs",
    ]
    doc.add_table(["#### Summary", ""], header, _summary_rows(result, stacks, failing))
    if result.code_changes:
        mark = "🔴" if any(f in failing for f in result.code_flags) else "⚪"
        doc.add([
            f"#### {mark} Code changes ({len(result.code_changes)})",
            "",
            "Each side was planned by its own code, so the access rows below show what this code does; but the "
            "head's code could hide what it grants. Review the code itself:",
            "",
        ])  # fmt: skip
        doc.add_table([], ["path"], [[code(p)] for p in result.code_changes], "{n} more changed paths")
    rows = _sensitive_rows(stacks, failing)
    if rows:
        doc.add_table(["#### Sensitive changes", ""], ["", "category", "stack", "change", "where", "principals"], rows,
                      "{n} more sensitive rows: see the artifact")  # fmt: skip
        doc.add(["🔴 fails the check · ⚪ sensitive, category not checked · ➖ access removed (never fails)", ""])
    for d in stacks:
        _stack_markdown(doc, d)
    return doc.text()


def _stack_markdown(doc: Bounded, d: StackDiff) -> None:
    title = f"#### {code(d.stack, False)} (environment {code(d.environment, False)})"
    if d.status == "unchanged":
        doc.add([title, "", "No changes.", ""])
        return
    before = [title, ""] + ([f"Stack {escape(d.status)}.", ""] if d.status != "changed" else [])
    rows = [[escape(what), code(detail)] for what, detail in _lines(d)]
    if not rows:
        doc.add(before)
    elif not doc.add_table(before, ["change", "detail"], rows, f"{{n}} more changes in {d.stack}"):
        return
    for heading, perms in (("Access gained", d.gained), ("Access lost", d.lost)):
        places = [[code(p), code(ns), code(text)] for p, ns, text in _by_place(perms)]
        doc.add_table([f"**{heading}**", ""], ["principal", "namespace", "permissions"], places,
                      f"{{n}} more principals and namespaces in {d.stack}")  # fmt: skip


def text(result: DiffResult, fail_on: list[str]) -> str:
    failing = dangerous(result, fail_on)
    lines = [f"eks-access diff: {result.base} -> {result.head}"]
    lines += [f"note: {note}" for note in result.notes]
    if failing:
        lines.append(f"SENSITIVE: {len(failing)} change(s) in checked categories ({', '.join(fail_on)})")
    for f in result.all_flags():
        mark = "!!" if f in failing else "--" if not f.counts else "  "
        where = f"{f.stack}: " if f.stack else ""
        lines.append(f"  {mark} [{', '.join(f.categories)}] {where}{f.text}")
    for d in result.stacks:
        lines.append(f"{d.stack} (environment {d.environment}): {d.status if d.status != 'changed' else ''}".rstrip())
        lines += [f"  {w}: {t}" for w, t in _lines(d)]
        lines += [f"  + {p} {_where(ns)}: {t}" for p, ns, t in _by_place(d.gained)]
        lines += [f"  - {p} {_where(ns)}: {t}" for p, ns, t in _by_place(d.lost)]
    return "\n".join(lines) + "\n"
