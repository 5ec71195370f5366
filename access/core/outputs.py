"""Stack outputs: the public API other stacks and tools read. camelCase keys, maps keyed by config ids.

Pure: values that only the engine knows (role ARNs, endpoint, CA) come in as parameters, so the
same function shapes Outputs in the program and plain strings in the offline plan.

One shape for every config (``outputsVersion`` 2): per-project maps are always ``{project: {level: ...}}``, so a
project gaining a second level adds a key one level down and never renames the first. Every key is always
present and no value is ``None``: the engine drops ``None`` outputs (top level and inside maps), which would turn
a consumer's ``require_output`` into a failure. Absent things are ``""``, ``{}`` or ``[]``. docs/outputs.md
documents each key and the migration from version 1; tests/stack/test_outputs_contract.py pins them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from access.core import iam
from access.core.model import RoleKind
from access.core.plan.types import EnvironmentPlan, RolePlan

# Bump on any change a consumer could notice (a key removed, renamed or re-shaped); additions keep the version.
OUTPUTS_VERSION = 2
OUTPUT_KEYS = (
    "outputsVersion",
    "environment",
    "accountId",
    "clusterName",
    "authMode",
    "cluster",
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
CLUSTER_KEYS = ("name", "endpoint", "certificateAuthorityData", "region")
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


def _by_project_and_level(humans: list[RolePlan], value: Any) -> dict[str, dict[str, Any]]:
    """``{project: {level: value(role)}}`` for the human roles: the same nesting whatever the config."""
    out: dict[str, dict[str, Any]] = {}
    for role in humans:
        out.setdefault(role.project or "", {})[role.level or ""] = value(role)
    return out


def stack_outputs(
    plan: EnvironmentPlan, role_arns: Mapping[str, Any], endpoint: Any, ca_data: Any, map_roles: Any, region: str | None
) -> dict[str, Any]:
    humans = [r for r in plan.roles if r.kind == RoleKind.HUMAN]
    by_kind = {r.kind: r for r in plan.roles if r.kind in (RoleKind.ADMIN, RoleKind.MONITORING)}
    return {
        "outputsVersion": OUTPUTS_VERSION,
        "environment": plan.environment,
        "accountId": plan.account_id,
        "clusterName": plan.cluster_name,
        "authMode": plan.auth_mode.value,
        "cluster": {
            "name": plan.cluster_name,
            "endpoint": endpoint,
            "certificateAuthorityData": ca_data,
            "region": region or "",
        },
        "roleArns": _by_project_and_level(humans, lambda r: role_arns[r.key]),
        "adminRoleArn": role_arns[by_kind[RoleKind.ADMIN].key] if RoleKind.ADMIN in by_kind else "",
        "monitoringRoleArn": role_arns[by_kind[RoleKind.MONITORING].key] if RoleKind.MONITORING in by_kind else "",
        "ciRoleArns": {r.key.split("/", 1)[1]: role_arns[r.key] for r in plan.roles if r.kind == RoleKind.CI},
        "groupNames": {p.team: p.group_name for p in plan.group_policies},
        "namespaces": dict(plan.namespaces),
        "kubernetesGroups": _by_project_and_level(humans, lambda r: r.kubernetes_groups[0]),
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
        "kubeconfigs": _by_project_and_level(
            humans,
            lambda r: {
                "clusterName": plan.cluster_name,
                "endpoint": endpoint,
                "certificateAuthorityData": ca_data,
                "region": region or "",
                "roleArn": role_arns[r.key],
                "namespace": plan.namespaces[r.project or ""],
                "sessionNameIsUserName": iam.user_session_name_required(r.trust_policy),
            },
        ),
    }
