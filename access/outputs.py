"""Stack outputs: the public API other stacks and tools read. camelCase keys, maps keyed by config ids.

Pure: values that only the engine knows (role ARNs, endpoint, CA) come in as parameters, so the
same function shapes Outputs in the program and plain strings in the offline plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from access.plan import EnvironmentPlan, RoleKind

T = TypeVar("T")

OUTPUT_KEYS = (
    "environment",
    "accountId",
    "clusterName",
    "authMode",
    "roleArns",
    "adminRoleArn",
    "monitoringRoleArn",
    "ciRoleArns",
    "groupNames",
    "namespaces",
    "kubernetesGroups",
    "mapRoles",
    "accessEntries",
    "kubeconfigs",
)


def human_role_id(plan: EnvironmentPlan, project: str, level: str) -> str:
    """Key of a human role in ``roleArns``: the project, or ``project.level`` when roles are split by level."""
    levels = {r.level for r in plan.roles if r.kind == RoleKind.HUMAN and r.project == project}
    return project if len(levels) <= 1 else f"{project}.{level}"


def stack_outputs(
    plan: EnvironmentPlan, role_arns: Mapping[str, Any], endpoint: Any, ca_data: Any, map_roles: Any, region: str | None
) -> dict[str, Any]:
    humans = [r for r in plan.roles if r.kind == RoleKind.HUMAN]
    role_ids = {r.key: human_role_id(plan, r.project or "", r.level or "") for r in humans}
    by_kind = {r.kind: r for r in plan.roles if r.kind in (RoleKind.ADMIN, RoleKind.MONITORING)}
    return {
        "environment": plan.environment,
        "accountId": plan.account_id,
        "clusterName": plan.cluster_name,
        "authMode": plan.auth_mode.value,
        "roleArns": {role_ids[r.key]: role_arns[r.key] for r in humans},
        "adminRoleArn": role_arns[by_kind[RoleKind.ADMIN].key] if RoleKind.ADMIN in by_kind else None,
        "monitoringRoleArn": role_arns[by_kind[RoleKind.MONITORING].key] if RoleKind.MONITORING in by_kind else None,
        "ciRoleArns": {r.key.split("/", 1)[1]: role_arns[r.key] for r in plan.roles if r.kind == RoleKind.CI},
        "groupNames": {p.team: p.group_name for p in plan.group_policies},
        "namespaces": dict(plan.namespaces),
        "kubernetesGroups": {role_ids[r.key]: r.kubernetes_groups[0] for r in humans},
        "mapRoles": map_roles if map_roles is not None else "",
        "accessEntries": {
            e.key: {
                "principalArn": role_arns[e.role_key] if e.role_key else e.principal_arn,
                "type": e.type,
                "username": e.username,
                "kubernetesGroups": list(e.kubernetes_groups),
            }
            for e in plan.access_entries
        },
        "kubeconfigs": {
            role_ids[r.key]: {
                "clusterName": plan.cluster_name,
                "endpoint": endpoint,
                "certificateAuthorityData": ca_data,
                "region": region,
                "roleArn": role_arns[r.key],
                "namespace": plan.namespaces[r.project or ""],
            }
            for r in humans
        },
    }
