"""What one side (base or head) grants in one environment, from its plan and effective-access matrix."""

from __future__ import annotations

from access.commands.diff.types import Permission, Snapshot
from access.core.awsauth import authenticator_key
from access.core.evaluate import effective_access
from access.core.model import Organisation, RoleKind
from access.core.plan.types import EnvironmentPlan


def snapshot(plan: EnvironmentPlan, org: Organisation) -> Snapshot:
    rows = effective_access(plan, org)
    permissions = {
        Permission(row.principal, row.namespace, group, resource, verb)
        for row in rows
        for rule in row.rules
        for group in rule.api_groups
        for resource in rule.resources
        for verb in rule.verbs
    }
    roles = {r.key: r for r in plan.roles}
    assumable = {
        (user, roles[key].name)
        for policy in plan.group_policies
        for user in org.teams[policy.team].members
        for key in policy.role_keys
    }
    assumable |= {(r.key, r.name) for r in plan.roles if r.kind in (RoleKind.MONITORING, RoleKind.CI)}
    mappings = {("mapRoles", authenticator_key(e.arn)): e for e in plan.map_roles}
    mappings |= {("mapUsers", e.arn.lower()): e for e in plan.map_users}
    return Snapshot(
        environment=plan.environment,
        permissions=frozenset(permissions),
        levels=frozenset((row.principal, row.namespace, row.level) for row in rows),
        assumable=frozenset(assumable),
        roles={r.name: r for r in plan.roles},
        namespaces=frozenset(plan.namespaces.values()),
        mappings=mappings,
        access_entries={e.principal_arn.lower(): e for e in plan.access_entries},
    )
