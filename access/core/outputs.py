"""Stack outputs: the public API other stacks and tools read. camelCase keys, maps keyed by config ids.

Pure: values that only the engine knows (role ARNs, endpoint, CA) come in as parameters, so the
same function shapes Outputs in the program and plain strings in the offline plan.

Every key is always present and no value is ``None``: the engine drops ``None`` outputs (top level and
inside maps), which would turn a consumer's ``require_output`` into a failure. Absent things are ``""``,
``{}`` or ``[]``. docs/outputs.md documents each key; tests/test_outputs_contract.py pins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from access.core import iam
from access.core.model import RoleKind
from access.core.plan.types import EnvironmentPlan

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
KUBECONFIG_KEYS = (
    "clusterName",
    "endpoint",
    "certificateAuthorityData",
    "region",
    "roleArn",
    "namespace",
    "sessionNameIsUserName",
)
ACCESS_ENTRY_KEYS = ("principalArn", "type", "username", "kubernetesGroups")


def human_role_ids(plan: EnvironmentPlan) -> dict[str, str]:
    """Each human role's key in ``roleArns``/``kubeconfigs``, by role key: the project, or ``project.level`` when
    a project's roles are split by level. One pass over the roles."""
    humans = [r for r in plan.roles if r.kind == RoleKind.HUMAN]
    levels: dict[str, set[str | None]] = {}
    for role in humans:
        levels.setdefault(role.project or "", set()).add(role.level)
    return {r.key: _role_id(r.project or "", r.level or "", levels[r.project or ""]) for r in humans}


def _role_id(project: str, level: str, levels_of_project: set[str | None]) -> str:
    return project if len(levels_of_project) <= 1 else f"{project}.{level}"


def stack_outputs(
    plan: EnvironmentPlan, role_arns: Mapping[str, Any], endpoint: Any, ca_data: Any, map_roles: Any, region: str | None
) -> dict[str, Any]:
    humans = [r for r in plan.roles if r.kind == RoleKind.HUMAN]
    role_ids = human_role_ids(plan)
    by_kind = {r.kind: r for r in plan.roles if r.kind in (RoleKind.ADMIN, RoleKind.MONITORING)}
    return {
        "environment": plan.environment,
        "accountId": plan.account_id,
        "clusterName": plan.cluster_name,
        "authMode": plan.auth_mode.value,
        "roleArns": {role_ids[r.key]: role_arns[r.key] for r in humans},
        "adminRoleArn": role_arns[by_kind[RoleKind.ADMIN].key] if RoleKind.ADMIN in by_kind else "",
        "monitoringRoleArn": role_arns[by_kind[RoleKind.MONITORING].key] if RoleKind.MONITORING in by_kind else "",
        "ciRoleArns": {r.key.split("/", 1)[1]: role_arns[r.key] for r in plan.roles if r.kind == RoleKind.CI},
        "groupNames": {p.team: p.group_name for p in plan.group_policies},
        "namespaces": dict(plan.namespaces),
        "kubernetesGroups": {role_ids[r.key]: r.kubernetes_groups[0] for r in humans},
        "mapRoles": map_roles if map_roles is not None else "",
        "accessEntries": {
            e.key: {
                "principalArn": role_arns[e.role_key] if e.role_key else e.principal_arn,
                "type": e.type,
                # Node entries have no username: EKS derives it from the entry type.
                "username": e.username or "",
                "kubernetesGroups": list(e.kubernetes_groups),
            }
            for e in plan.access_entries
        },
        "kubeconfigs": {
            role_ids[r.key]: {
                "clusterName": plan.cluster_name,
                "endpoint": endpoint,
                "certificateAuthorityData": ca_data,
                "region": region or "",
                "roleArn": role_arns[r.key],
                "namespace": plan.namespaces[r.project or ""],
                "sessionNameIsUserName": iam.user_session_name_required(r.trust_policy),
            }
            for r in humans
        },
    }
