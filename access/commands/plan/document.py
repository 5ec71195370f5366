"""The plan as stable JSON (``python -m access plan --format json``; documented in docs/plan-json.md)."""

from __future__ import annotations

from typing import Any

from access.core import awsauth, iam
from access.core.evaluate import AccessRow, effective_access, evaluate_stack
from access.core.loading import LoadedStack
from access.core.model import PolicyRule
from access.core.plan import writes
from access.core.plan.rbac import manifest_id
from access.core.plan.types import EnvironmentPlan

JSON_SCHEMA_VERSION = 1


def plan_document(loaded: LoadedStack, resource_counts: dict[str, int], outputs: dict[str, Any]) -> dict[str, Any]:
    """The plan as stable JSON (documented in docs/plan-json.md)."""
    settings, org, plan = loaded.settings, loaded.org, loaded.plan
    evaluation = loaded.evaluation or evaluate_stack(org, plan)
    assumers = evaluation.assumers
    return {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "stack": settings.stack,
        "environment": plan.environment,
        "accountId": plan.account_id,
        "clusterName": plan.cluster_name,
        "authMode": plan.auth_mode.value,
        "clusterSource": settings.cluster_source,
        "peopleAccountId": plan.people_account_id,
        "ownsAccountIam": plan.owns_account_iam,
        "ownsClusterObjects": plan.owns_cluster_objects,
        "resources": resource_counts,
        "resourceCount": sum(resource_counts.values()),
        "iamWrites": _iam_writes(plan),
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
                # Who may assume it, as the access evaluator finds it in the rendered policies.
                "assumableBy": sorted(p.label for p in assumers.get(r.arn, {})),
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
        "access": _access_json(effective_access(plan, org, evaluation)),
        "outputs": outputs,
    }


def _iam_writes(plan: EnvironmentPlan) -> dict[str, Any]:
    """What a first ``pulumi up`` asks of IAM (access/core/plan/writes.py)."""
    calls = writes.first_apply_iam_writes(plan)
    total = sum(calls.values())
    return {
        "calls": calls,
        "total": total,
        "assumedRatePerSecond": writes.PLANNING_RATE,
        "minutesAtAssumedRate": round(writes.minutes_at(total), 1),
    }


def _access_json(rows: list[AccessRow]) -> list[dict[str, Any]]:
    """The access rows; a level's rules are the same in every namespace, so thousands of rows share a handful of
    rule sets: each distinct one becomes JSON once and the rows share it (the bytes printed are the same)."""
    rules_json: dict[tuple[PolicyRule, ...], list[dict[str, Any]]] = {}
    labels_json: dict[tuple[str, ...], list[str]] = {}  # sensitivity and notes: a few distinct lists, shared too
    out = []
    for row in rows:
        rules = rules_json.get(row.rules)
        if rules is None:
            rules = rules_json[row.rules] = [
                {"apiGroups": list(r.api_groups), "resources": list(r.resources), "verbs": list(r.verbs)}
                for r in row.rules
            ]
        sensitivity = labels_json.setdefault(row.sensitivity, list(row.sensitivity))
        notes = labels_json.setdefault(row.notes, list(row.notes))
        out.append(_row_json(row, rules, sensitivity, notes))
    return out


def _row_json(row: AccessRow, rules: list[dict[str, Any]], sensitivity: list[str], notes: list[str]) -> dict[str, Any]:
    return {
        "principal": row.principal,
        "role": row.role,
        "username": row.username,
        "groups": list(row.groups),
        "namespace": row.namespace,
        "level": row.level,
        "rules": rules,
        "sensitivity": sensitivity,  # what the rules reach (access/core/sensitivity.py)
        "notes": notes,  # e.g. "can read secrets through workloads"
        "crossAccount": row.cross_account,
        "via": row.via,
    }
