"""``python -m access plan``: what a stack would do, offline, as text, JSON or markdown.

Runs the real program under Pulumi's mock runtime (no CLI, no credentials) and describes the result:
resources by type, the aws-auth mapRoles, RBAC objects, and the effective-access matrix.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from access.core import config, iam
from access.core import stack_settings as stack_config
from access.core.evaluate import AccessRow, effective_access, summarise_rules
from access.core.model import Organisation
from access.core.plan.environment import plan_environment
from access.core.plan.rbac import manifest_id
from access.core.plan.types import EnvironmentPlan

FORMATS = ("text", "json", "markdown")
JSON_SCHEMA_VERSION = 1

EXAMPLE = """examples:
  python -m access plan --stack dev
  python -m access plan --stack prod --format json > plan.json
  python -m access plan --stack staging --format markdown   # for a pull-request comment
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help="show what a stack would create (offline, no credentials)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (overrides access:configDir)")
    parser.set_defaults(func=run)


def load_stack(
    project_dir: Path, stack: str, config_dir: Path | None = None
) -> tuple[stack_config.StackSettings, Organisation, EnvironmentPlan]:
    """Validate the stack file and config and compute the plan: every input error surfaces here."""
    raw = stack_config.read_stack_file(project_dir, stack)
    if config_dir is not None:
        raw["access:configDir"] = str(config_dir)
    settings = stack_config.parse(stack, raw)
    directory = Path(settings.config_dir)
    label = settings.config_dir.rstrip("/")
    if not directory.is_absolute():
        directory = project_dir / directory
    org = config.load(directory, label=label)
    from access.core import quotas

    quotas.preflight(org)
    plan = plan_environment(org, settings.environment, settings.auth_mode, stack)
    stack_config.check_account(settings, plan.account_id, plan.account)
    return settings, org, plan


def run(args: argparse.Namespace) -> int:
    settings, org, plan = load_stack(args.project_dir, args.stack, args.config)
    run_result = _run_program(args.project_dir, args.stack, args.config)
    document = plan_document(settings, org, plan, run_result.resource_counts(), run_result.outputs)
    if args.format == "json":
        print(json.dumps(document, indent=2, sort_keys=True))
    elif args.format == "markdown":
        print(markdown(document))
    else:
        print_text(document)
    return 0


class _ProgramResult:
    def __init__(self, counts: Counter[str], outputs: dict[str, Any]) -> None:
        self._counts = counts
        self.outputs = outputs

    def resource_counts(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))


def _run_program(project_dir: Path, stack: str, config_dir: Path | None) -> _ProgramResult:
    """The real program under mocks; progress on stderr when a person is watching."""
    from pulumi import RunError

    from access.commands.cli import UsageError
    from access.stack.offline import run_program

    overrides = {"access:configDir": str(config_dir.resolve())} if config_dir is not None else None
    status = None
    if sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status(f"running the {stack} program under Pulumi's mocks…")
        status.start()
    try:
        result = run_program(project_dir, stack, config_overrides=overrides)
    except RunError as refusal:
        raise UsageError(str(refusal)) from None
    finally:
        if status is not None:
            status.stop()
    counts = Counter(r.type for r in result.created())
    return _ProgramResult(counts, result.outputs)


def plan_document(
    settings: stack_config.StackSettings,
    org: Organisation,
    plan: EnvironmentPlan,
    resource_counts: dict[str, int],
    outputs: dict[str, Any],
) -> dict[str, Any]:
    """The plan as stable JSON (documented in docs/plan-json.md)."""
    from access.core import awsauth

    return {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "stack": settings.stack,
        "environment": plan.environment,
        "accountId": plan.account_id,
        "clusterName": plan.cluster_name,
        "authMode": plan.auth_mode.value,
        "clusterSource": settings.cluster_source,
        "ownsAccountIam": plan.owns_account_iam,
        "ownsClusterObjects": plan.owns_cluster_objects,
        "resources": resource_counts,
        "resourceCount": sum(resource_counts.values()),
        "roles": [
            {
                "key": r.key,
                "kind": r.kind,
                "name": r.name,
                "arn": r.arn,
                "username": r.username,
                "kubernetesGroups": list(r.kubernetes_groups),
                "teams": list(r.teams),
                "maxSessionDuration": r.max_session_duration,
                "trustPolicy": r.trust_policy,
                "trustPolicySize": iam.policy_size(r.trust_policy),
            }
            for r in plan.roles
        ],
        "groups": [{"team": g.team, "name": g.name, "path": g.path} for g in plan.groups],
        "groupPolicies": [
            {
                "team": p.team,
                "group": p.group_name,
                "policyName": p.policy_name,
                "document": p.document,
                "size": iam.policy_size(p.document),
            }
            for p in plan.group_policies
        ],
        "memberships": [{"user": m.user, "groups": list(m.groups)} for m in plan.memberships],
        "mapRoles": awsauth.render(plan.map_roles) if plan.map_roles else "",
        "accessEntries": [
            {
                "key": e.key,
                "principalArn": e.principal_arn,
                "type": e.type,
                "username": e.username,
                "kubernetesGroups": list(e.kubernetes_groups),
                "policies": [{"policyArn": p.policy_arn, "scope": p.scope} for p in e.policies],
            }
            for e in plan.access_entries
        ],
        "rbac": [{"id": manifest_id(m), "manifest": m} for m in plan.manifests],
        "access": [_row_json(row) for row in effective_access(plan, org)],
        "outputs": outputs,
    }


def _row_json(row: AccessRow) -> dict[str, Any]:
    return {
        "principal": row.principal,
        "role": row.role,
        "username": row.username,
        "groups": list(row.groups),
        "namespace": row.namespace,
        "level": row.level,
        "rules": [
            {"apiGroups": list(r.api_groups), "resources": list(r.resources), "verbs": list(r.verbs)} for r in row.rules
        ],
    }


def _rules_text(row: dict[str, Any]) -> str:
    from access.core.model import PolicyRule

    rules = tuple(PolicyRule(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"])) for r in row["rules"])
    if row["level"] in ("admin", "cluster-admin"):
        return "everything" + (
            " in the namespace (ClusterRole admin)" if row["level"] == "admin" else " (cluster-admin)"
        )
    return summarise_rules(rules)


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
    for col in ("role", "kind", "Kubernetes username", "groups", "assumed by teams"):
        roles.add_column(col)
    for r in doc["roles"]:
        roles.add_row(r["name"], r["kind"], r["username"], ", ".join(r["kubernetesGroups"]), ", ".join(r["teams"]))
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
    lines = [
        f"### eks-access plan: `{doc['stack']}`",
        "",
        f"Environment **{doc['environment']}**, account `{doc['accountId']}`, cluster `{doc['clusterName']}` "
        f"(auth mode `{doc['authMode']}`), {doc['resourceCount']} resources.",
        "",
        "| resource type | count |",
        "|---|---:|",
        *[f"| `{t}` | {c} |" for t, c in doc["resources"].items()],
        "",
        "#### Effective access",
        "",
        "| principal | via role | Kubernetes user | groups | namespace | level | may |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {r['principal']} | `{r['role']}` | `{r['username']}` | {', '.join(f'`{g}`' for g in r['groups'])} | "
            f"`{r['namespace']}` | {r['level']} | {_rules_text(r)} |"
            for r in doc["access"]
        ],
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
