"""The effective-access matrix: person -> role -> Kubernetes identity -> verbs on resources in namespaces.

This is the product's real output; resources are how it gets there. Computed from the plan alone, so
reviews and diffs see exactly what the stack would grant.
"""

from __future__ import annotations

from dataclasses import dataclass

from access.core.catalog import MONITORING_RULES
from access.core.model import Organisation, PolicyRule, RoleKind
from access.core.names import SESSION_NAME
from access.core.plan.types import Binding, EnvironmentPlan, RolePlan

CLUSTER_WIDE = "*"
EVERYTHING = (PolicyRule(("*",), ("*",), ("*",)),)


@dataclass(frozen=True)
class AccessRow:
    principal: str  # IAM user name for people, the role's key for machines
    role: str  # IAM role name assumed
    username: str  # Kubernetes username as it appears in audit logs
    groups: tuple[str, ...]
    namespace: str  # CLUSTER_WIDE for cluster-wide bindings
    level: str
    rules: tuple[PolicyRule, ...]

    def permissions(self) -> set[tuple[str, str, str]]:
        """(namespace, resource, verb) triples; resource is ``group/resource`` outside the core group."""
        out = set()
        for rule in self.rules:
            for group in rule.api_groups:
                for resource in rule.resources:
                    name = f"{group}/{resource}" if group else resource
                    for verb in rule.verbs:
                        out.add((self.namespace, name, verb))
        return out


def level_rules(plan: EnvironmentPlan, org: Organisation, binding: Binding) -> tuple[PolicyRule, ...]:
    if binding.level in ("cluster-admin", "admin"):
        return EVERYTHING
    if binding.level == "monitoring":
        return MONITORING_RULES + (org.monitoring.extra_rules if org.monitoring else ())
    return org.levels[binding.level].rules


def rows_for_role(
    plan: EnvironmentPlan, org: Organisation, role: RolePlan, principal: str, session_name: str
) -> list[AccessRow]:
    username = role.username.replace(SESSION_NAME, session_name)
    rows = []
    for binding in plan.bindings:
        if binding.group in role.kubernetes_groups:
            rows.append(
                AccessRow(
                    principal,
                    role.name,
                    username,
                    role.kubernetes_groups,
                    binding.namespace or CLUSTER_WIDE,
                    binding.level,
                    level_rules(plan, org, binding),
                )
            )
    return rows


def effective_access(plan: EnvironmentPlan, org: Organisation) -> list[AccessRow]:
    """Every person's and machine's access in this environment, sorted."""
    rows: list[AccessRow] = []
    roles_by_key = {r.key: r for r in plan.roles}
    people: dict[str, set[str]] = {}
    for policy in plan.group_policies:
        for user in org.teams[policy.team].members:
            people.setdefault(user, set()).update(policy.role_keys)
    for user, keys in people.items():
        for key in keys:
            rows.extend(rows_for_role(plan, org, roles_by_key[key], user, user))
    for role in plan.roles:
        if role.kind in (RoleKind.MONITORING, RoleKind.CI):
            rows.extend(rows_for_role(plan, org, role, role.key, "<session>"))
    return sorted(rows, key=lambda r: (r.principal.lower(), r.namespace, r.level, r.role))


def permission_set(rows: list[AccessRow]) -> set[tuple[str, str, str, str]]:
    """(principal, namespace, resource, verb) for every row: what monotonicity and diffs compare."""
    return {(row.principal, *perm) for row in rows for perm in row.permissions()}


def summarise_rules(rules: tuple[PolicyRule, ...]) -> str:
    """Compact text: ``get,list pods; create pods/exec``."""
    by_verbs: dict[tuple[str, ...], list[str]] = {}
    for rule in rules:
        for group in rule.api_groups:
            for resource in rule.resources:
                by_verbs.setdefault(rule.verbs, []).append(f"{group}/{resource}" if group else resource)
    return "; ".join(f"{','.join(verbs)} {' '.join(sorted(res))}" for verbs, res in sorted(by_verbs.items()))
