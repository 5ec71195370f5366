"""The plan for people: a terminal rendering and a pull-request comment."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from access.commands.markdown import code, codes, escape, table
from access.core.evaluate import CLUSTER_WIDE, summarise_rules
from access.core.model import PolicyRule
from access.core.sensitivity import Sensitivity, notes
from access.errors import UsageError


def _rules_text(row: dict[str, Any]) -> str:
    rules = tuple(PolicyRule(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"])) for r in row["rules"])
    if row["level"] in ("admin", "cluster-admin"):
        return "everything" + (
            " in the namespace (ClusterRole admin)" if row["level"] == "admin" else " (cluster-admin)"
        )
    # "can read secrets through workloads" where the rules let it create pods or workloads (core/sensitivity.py)
    return "; ".join((summarise_rules(rules), *notes(row.get("sensitivity", ()))))


def _also_assumable(role: dict[str, Any]) -> str:
    """The open trust, said plainly: principals beyond the teams' members that the trust lets in."""
    return ", ".join(p for p in role.get("assumableBy", []) if p.startswith("account ") or ":" in p)


# Above this many effective-access rows or RBAC objects the default text is a summary (--full prints everything):
# the sample organisation's stacks stay whole, a large one fits a screen or two.
SUMMARY_ABOVE = 50
TOP = 10  # principals listed as having the widest access, and rows listed per dangerous category


def _console() -> Any:
    from rich.console import Console

    return Console(width=max(Console().width, 140) if not sys.stdout.isatty() else None)


def _where(namespace: str) -> str:
    return "cluster-wide" if namespace == CLUSTER_WIDE else namespace


def is_large(doc: dict[str, Any]) -> bool:
    return len(doc["access"]) > SUMMARY_ABOVE or len(doc["rbac"]) > SUMMARY_ABOVE


def filtered(doc: dict[str, Any], principal: str | None, namespace: str | None) -> dict[str, Any]:
    """The plan narrowed to one principal and/or namespace (``--principal``, ``--namespace``): its access rows,
    the roles it may assume, the RBAC objects of the namespace. Refuses (one line) a filter that matches nothing."""
    rows = doc["access"]
    if principal is not None:
        wanted = principal.lower()
        rows = [r for r in rows if r["principal"].lower() in (wanted, f"{wanted} (cross-account)")]
        if not rows:
            raise UsageError(f"--principal {principal}: no access in stack {doc['stack']} (names as in the plan)")
    if namespace is not None:
        wanted_ns = CLUSTER_WIDE if namespace == "cluster-wide" else namespace
        rows = [r for r in rows if r["namespace"] == wanted_ns]
        if not rows:
            raise UsageError(f"--namespace {namespace}: no access there in stack {doc['stack']}")
    role_names = {r["role"] for r in rows}
    places = {r["namespace"] for r in rows}

    def in_places(manifest: dict[str, Any]) -> bool:
        metadata = manifest.get("metadata", {})
        if "namespace" in metadata:
            return metadata["namespace"] in places
        if manifest.get("kind") == "Namespace":
            return metadata.get("name") in places
        return CLUSTER_WIDE in places  # cluster-scoped: only with cluster-wide access

    rbac = [item for item in doc["rbac"] if in_places(item["manifest"])]
    return {
        **doc,
        "access": rows,
        "roles": [r for r in doc["roles"] if r["name"] in role_names],
        "rbac": rbac,
        "accessEntries": [e for e in doc["accessEntries"] if e["principalArn"].rsplit("/", 1)[-1] in role_names],
    }


def print_text(
    doc: dict[str, Any], full: bool = False, principal: str | None = None, namespace: str | None = None
) -> None:
    """The plan for a terminal: everything for a small stack, with ``--full``, or narrowed by a filter; a summary
    otherwise (counts by type, roles, dangerous access, the principals with the widest access)."""
    if principal is not None or namespace is not None:
        _print_full(filtered(doc, principal, namespace), whole=False)
    elif full or not is_large(doc):
        _print_full(doc)
    else:
        print_summary(doc)


def _header(console: Any, doc: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(
        f"[bold]eks-access plan[/bold] stack [cyan]{doc['stack']}[/cyan]: environment "
        f"{doc['environment']}, account {doc['accountId']}, cluster {doc['clusterName']} "
        f"(auth mode {doc['authMode']}, cluster source {doc['clusterSource']})"
    )
    table = Table(title=f"Resources ({doc['resourceCount']})", show_lines=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for typ, count in doc["resources"].items():
        table.add_row(typ, str(count))
    console.print(table)
    console.print(iam_writes_line(doc["iamWrites"]), markup=False, highlight=False)


def iam_writes_line(writes: dict[str, Any]) -> str:
    """The IAM write budget of a first ``pulumi up``, in one line (README, "First apply of a large organisation")."""
    calls = ", ".join(f"{n} {name}" for name, n in writes["calls"].items())
    seconds = writes["total"] / writes["assumedRatePerSecond"]
    took = f"{seconds:.0f} seconds" if seconds < 90 else f"{writes['minutesAtAssumedRate']} minutes"
    return (
        f"A first pulumi up makes {writes['total']} IAM write calls ({calls}): about "
        f"{took} at an assumed {writes['assumedRatePerSecond']} per second "
        "(AWS publishes no IAM write rate; see README, First apply of a large organisation)"
    )


def _print_full(doc: dict[str, Any], whole: bool = True) -> None:
    from rich.table import Table

    console = _console()
    _header(console, doc)

    roles = Table(title="IAM roles")
    for col in ("role", "kind", "Kubernetes username", "groups", "assumed by teams", "also assumable by"):
        roles.add_column(col)
    for r in doc["roles"]:
        roles.add_row(
            r["name"],
            r["kind"],
            r["username"],
            ", ".join(r["kubernetesGroups"]),
            ", ".join(r["teams"]),
            _also_assumable(r),
        )
    console.print(roles)

    if doc["mapRoles"] and whole:
        console.print("[bold]aws-auth mapRoles[/bold] (patched in place, never deleted)")
        console.print(doc["mapRoles"], markup=False, highlight=False)
    if doc["accessEntries"]:
        entries = Table(title="EKS access entries")
        for col in ("principal", "type", "username", "groups", "policies"):
            entries.add_column(col)
        for e in doc["accessEntries"]:
            entries.add_row(
                e["principalArn"],
                e["type"],
                e["username"] or "",
                ", ".join(e["kubernetesGroups"]),
                ", ".join(p["policyArn"].rsplit("/", 1)[-1] for p in e["policies"]),
            )
        console.print(entries)

    rbac = Table(title="Kubernetes RBAC objects")
    rbac.add_column("object")
    rbac.add_column("detail")
    for item in doc["rbac"]:
        m = item["manifest"]
        detail = ""
        if "roleRef" in m:
            subjects = ", ".join(f"{s['kind']} {s['name']}" for s in m["subjects"])
            detail = f"{m['roleRef']['kind']} {m['roleRef']['name']} -> {subjects}"
        rbac.add_row(item["id"], detail)
    console.print(rbac)
    _access_table(console, doc["access"], "Effective access (who can do what, where)")


def _access_table(console: Any, rows: list[dict[str, Any]], title: str) -> None:
    from rich.table import Table

    access = Table(title=title)
    for col in ("principal", "via role", "Kubernetes user (groups)", "namespace", "level", "may"):
        access.add_column(col, overflow="fold")
    for row in rows:
        identity = f"{row['username']} ({', '.join(row['groups'])})"
        access.add_row(row["principal"], row["role"], identity, row["namespace"], row["level"], _rules_text(row))
    console.print(access)


def print_summary(doc: dict[str, Any]) -> None:
    """A large stack on a screen or two; every count is of the same document ``--format json`` prints whole."""
    from rich.table import Table

    console = _console()
    _header(console, doc)

    kinds = Counter(r["kind"] for r in doc["roles"])
    roles = Table(title=f"IAM roles ({len(doc['roles'])})")
    for col in ("kind", "roles", "example", "also assumable by (open trust)"):
        roles.add_column(col)
    for kind, count in sorted(kinds.items()):
        of_kind = [r for r in doc["roles"] if r["kind"] == kind]
        open_trust = sorted({p for r in of_kind for p in _also_assumable(r).split(", ") if p})
        roles.add_row(kind, str(count), of_kind[0]["name"], ", ".join(open_trust))
    console.print(roles)

    entries = doc["mapRoles"].count("rolearn:") if doc["mapRoles"] else 0
    rbac_kinds = Counter(item["manifest"].get("kind", "?") for item in doc["rbac"])
    console.print(
        f"aws-auth mapRoles: {entries} entries (patched in place, never deleted); EKS access entries: "
        f"{len(doc['accessEntries'])}; RBAC objects: "
        + (", ".join(f"{n} {k}" for k, n in sorted(rbac_kinds.items())) or "none")
    )

    rows = doc["access"]
    dangerous = Table(title="Dangerous access (what the rules reach, access/core/sensitivity.py)")
    for col in ("reaches", "rows", "principals", "namespaces", "for example"):
        dangerous.add_column(col, overflow="fold")
    for category in Sensitivity:
        hits = [r for r in rows if category.value in r["sensitivity"]]
        if hits:
            example = hits[0]
            dangerous.add_row(
                category.value,
                str(len(hits)),
                str(len({r["principal"] for r in hits})),
                str(len({r["namespace"] for r in hits})),
                f"{example['principal']} {example['level']} in {_where(example['namespace'])}",
            )
    console.print(dangerous)
    cluster_wide = [r for r in rows if r["namespace"] == CLUSTER_WIDE]
    if cluster_wide:
        shown = f"{TOP} of {len(cluster_wide)}" if len(cluster_wide) > TOP else str(len(cluster_wide))
        wide = Table(title=f"Cluster-wide access ({shown} rows; --namespace cluster-wide for all, with rules)")
        for col in ("principal", "via role", "level", "reaches"):
            wide.add_column(col, overflow="fold")
        for row in cluster_wide[:TOP]:
            wide.add_row(row["principal"], row["role"], row["level"], ", ".join(row["sensitivity"]))
        console.print(wide)

    by_principal: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_principal.setdefault(row["principal"], []).append(row)
    widest = sorted(
        by_principal.items(),
        key=lambda item: (
            -any(r["namespace"] == CLUSTER_WIDE for r in item[1]),
            -len({r["namespace"] for r in item[1]}),
            item[0].lower(),
        ),
    )[:TOP]
    table = Table(title=f"Widest access ({TOP} of {len(by_principal)} principals)")
    for col in ("principal", "namespaces", "levels", "dangerous"):
        table.add_column(col, overflow="fold")
    for name, items in widest:
        spaces = {r["namespace"] for r in items}
        levels = Counter(r["level"] for r in items)
        sensitive = sorted({s for r in items for s in r["sensitivity"]})
        table.add_row(
            name,
            "cluster-wide" if CLUSTER_WIDE in spaces else str(len(spaces)),
            ", ".join(f"{level} x{n}" for level, n in sorted(levels.items())),
            ", ".join(sensitive),
        )
    console.print(table)
    console.print(
        f"Summary of {len(rows)} effective-access rows and {len(doc['rbac'])} RBAC objects. Everything: --full; "
        "one person or machine: --principal NAME; one namespace: --namespace NS; the whole plan as data: "
        "--format json."
    )


def markdown(doc: dict[str, Any]) -> str:
    """The plan as a pull-request comment: every value from config is a code span (access/commands/markdown.py)."""
    access = [
        [code(r["principal"]), code(r["role"]), code(r["username"]), codes(r["groups"]), code(r["namespace"]),
         code(r["level"]), code(_rules_text(r))]
        for r in doc["access"]
    ]  # fmt: skip
    lines = [
        f"### eks-access plan: {code(doc['stack'], False)}",
        "",
        f"Environment **{escape(doc['environment'])}**, account {code(doc['accountId'], False)}, "
        f"cluster {code(doc['clusterName'], False)} (auth mode {code(doc['authMode'], False)}), "
        f"{doc['resourceCount']} resources.",
        "",
        *table(["resource type", "count"], [[code(t), str(c)] for t, c in doc["resources"].items()], ["left", "right"]),
        "",
        "#### Effective access",
        "",
        *table(["principal", "via role", "Kubernetes user", "groups", "namespace", "level", "may"], access),
    ]
    if doc["mapRoles"]:
        lines += [
            "",
            "<details><summary>aws-auth mapRoles</summary>",
            "",
            "```yaml",
            doc["mapRoles"].rstrip(),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines)
