"""The plan for people: a terminal rendering and a pull-request comment."""

from __future__ import annotations

import sys
from typing import Any

from access.commands.markdown import code, codes, escape, table
from access.core.evaluate import summarise_rules
from access.core.model import PolicyRule
from access.core.sensitivity import notes


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


def print_text(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 140) if not sys.stdout.isatty() else None)
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

    if doc["mapRoles"]:
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

    access = Table(title="Effective access (who can do what, where)")
    for col in ("principal", "via role", "Kubernetes user (groups)", "namespace", "level", "may"):
        access.add_column(col, overflow="fold")
    for row in doc["access"]:
        identity = f"{row['username']} ({', '.join(row['groups'])})"
        access.add_row(row["principal"], row["role"], identity, row["namespace"], row["level"], _rules_text(row))
    console.print(access)


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
