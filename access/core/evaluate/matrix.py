"""The effective-access matrix: person -> role -> Kubernetes identity -> verbs on resources in namespaces.

This is the product's real output; resources are how it gets there. Computed by the evaluator from the rendered
documents (:mod:`access.core.evaluate.effective`), one row per principal, way in and binding, so reviews and
diffs see exactly what the stack would grant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from access.core.evaluate.builtin_roles import EVERYTHING
from access.core.evaluate.effective import Evaluation, Reach
from access.core.evaluate.types import CLUSTER_WIDE, Permission, Principal, PrincipalKind
from access.core.model import Organisation, PolicyRule
from access.core.plan.types import EnvironmentPlan
from access.core.sensitivity import notes, ordered, rules_sensitivity

__all__ = ["CLUSTER_WIDE", "EVERYTHING", "AccessRow", "effective_access", "permission_set", "summarise_rules"]


@dataclass(frozen=True)
class AccessRow:
    principal: str  # IAM user name for people; the ARN, service, OIDC subject or ServiceAccount of machines
    role: str  # IAM role name assumed ("" when the mapping names the principal itself)
    username: str  # Kubernetes username as it appears in audit logs
    groups: tuple[str, ...]
    namespace: str  # CLUSTER_WIDE for cluster-wide bindings
    level: str
    rules: tuple[PolicyRule, ...]
    sensitivity: tuple[str, ...] = ()  # what the rules reach, from the one classification
    cross_account: bool = False  # the principal is in another account than the role or cluster
    via: str = ""  # mapRoles | mapUsers | access entry | service account token

    @property
    def notes(self) -> tuple[str, ...]:
        """What the rules reach beyond what they name: "can read secrets through workloads" for a row that may
        create pods or workloads (they may mount any secret of the namespace), from the one classification."""
        return notes(self.sensitivity)

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


def _rules(permissions: Iterable[Permission]) -> tuple[PolicyRule, ...]:
    """Permissions of one binding folded back into rules: one per (API group, resource), verbs sorted."""
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in permissions:
        verbs[(p.api_group, p.resource if not p.names else f"{p.resource}[{','.join(p.names)}]")].add(p.verb)
    return tuple(
        PolicyRule((group,), (resource,), tuple(sorted(vs))) for (group, resource), vs in sorted(verbs.items())
    )


def _level(evaluation: Evaluation, granted_by: str) -> str:
    """The level a binding gives: the ``eks-access/level`` label of the role it references, else the role's name."""
    return evaluation.levels.get(granted_by, granted_by.rsplit("/", 1)[-1])


def _spellings(org: Organisation) -> dict[str, str]:
    """IAM user names as config spells them, by their lower-cased form (once per matrix, not per principal)."""
    return {m.lower(): m for team in org.teams.values() for m in team.members}


def _display(spelled: dict[str, str], principal: Principal) -> str:
    if principal.kind is PrincipalKind.USER:
        return spelled.get(principal.label, principal.label)
    return principal.label


class _Sensitivity:
    """What a row's rules reach, computed once per distinct rule set: a level's rules are the same in every
    namespace, so thousands of rows share a handful of them."""

    def __init__(self) -> None:
        self._found: dict[tuple[tuple[PolicyRule, ...], bool], tuple[str, ...]] = {}

    def __call__(self, rules: tuple[PolicyRule, ...], cluster_wide: bool) -> tuple[str, ...]:
        key = (rules, cluster_wide)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = tuple(ordered(rules_sensitivity(rules, cluster_wide=cluster_wide)))
        return found


def rows(org: Organisation, evaluation: Evaluation, environments: Iterable[str] | None = None) -> list[AccessRow]:
    """Every principal's access in the evaluated cluster (only through roles of ``environments`` when given, and
    without the open-trust "any IAM user of the account" principal, which the roles' trust describes)."""
    wanted = set(environments) if environments is not None else None
    out: list[AccessRow] = []
    spelled, grants = _spellings(org), _Grants(evaluation)
    for principal, reaches in evaluation.reaches.items():
        if principal.kind is PrincipalKind.ACCOUNT:
            continue
        for reach in reaches:
            if wanted is not None and reach.role is not None and reach.role.environment not in wanted:
                continue
            out.extend(_reach_rows(spelled, grants, principal, reach))
    return sorted(out, key=lambda r: (r.principal.lower(), r.namespace, r.level, r.role))


@dataclass(frozen=True)
class _Grant:
    """What one binding gives in one scope, as a row shows it."""

    scope: str
    level: str
    rules: tuple[PolicyRule, ...]
    sensitivity: tuple[str, ...]


class _Grants:
    """A reach's permissions as rows' grants, one per (binding, scope), sorted. Computed once per permissions
    mapping: the evaluator shares one mapping between every identity with the same groups and no bindings of its
    own (access/core/evaluate/rbac.py), so the thousands of people behind one role fold their rules once."""

    def __init__(self, evaluation: Evaluation) -> None:
        self._evaluation = evaluation
        self._sensitivity = _Sensitivity()
        # Keyed by the mapping's id; the mapping is kept beside its grants so the id stays its own.
        self._found: dict[int, tuple[dict[Permission, str], tuple[_Grant, ...]]] = {}

    def __call__(self, permissions: dict[Permission, str]) -> tuple[_Grant, ...]:
        found = self._found.get(id(permissions))
        if found is None:
            found = self._found[id(permissions)] = (permissions, self._fold(permissions))
        return found[1]

    def _fold(self, permissions: dict[Permission, str]) -> tuple[_Grant, ...]:
        by_binding: dict[tuple[str, str], list[Permission]] = defaultdict(list)
        for permission, granted_by in permissions.items():
            by_binding[(granted_by, permission.scope)].append(permission)
        grants = []
        for (granted_by, scope), granted in sorted(by_binding.items()):
            rules = _rules(granted)
            level = _level(self._evaluation, granted_by)
            grants.append(_Grant(scope, level, rules, self._sensitivity(rules, scope == CLUSTER_WIDE)))
        return tuple(grants)


def _reach_rows(spelled: dict[str, str], grants: _Grants, principal: Principal, reach: Reach) -> list[AccessRow]:
    account = reach.arn.split(":")[4] if reach.arn.count(":") >= 5 else ""
    principal_account = principal.id.split("/", 1)[0] if principal.kind is PrincipalKind.USER else ""
    if principal.kind is PrincipalKind.ROLE:
        principal_account = principal.id.split(":")[4]
    cross_account = bool(principal_account and account and principal_account != account)
    # Shown on the principal itself, so the plan, the PR comment and the diff all say it.
    shown = _display(spelled, principal) + (" (cross-account)" if cross_account else "")
    role = reach.role.name if reach.role is not None else ""
    groups = tuple(g for g in reach.identity.groups if g != "system:authenticated")
    return [
        AccessRow(
            principal=shown,
            role=role,
            username=reach.identity.username,
            groups=groups,
            namespace=grant.scope,
            level=grant.level,
            rules=grant.rules,
            sensitivity=grant.sensitivity,
            cross_account=cross_account,
            via=reach.identity.via,
        )
        for grant in grants(reach.permissions)
    ]


def effective_access(plan: EnvironmentPlan, org: Organisation, evaluation: Evaluation | None = None) -> list[AccessRow]:
    """Every person's and machine's access through this environment's stack, sorted."""
    if evaluation is None:
        from access.core.evaluate import evaluate_stack

        evaluation = evaluate_stack(org, plan)
    return rows(org, evaluation, [plan.environment])


def permission_set(access_rows: list[AccessRow]) -> set[tuple[str, str, str, str]]:
    """(principal, namespace, resource, verb) for every row: what monotonicity and diffs compare."""
    return {(row.principal, *perm) for row in access_rows for perm in row.permissions()}


def summarise_rules(rules: tuple[PolicyRule, ...]) -> str:
    """Compact text: ``get,list pods; create pods/exec``."""
    by_verbs: dict[tuple[str, ...], list[str]] = {}
    for rule in rules:
        for group in rule.api_groups:
            for resource in rule.resources:
                by_verbs.setdefault(rule.verbs, []).append(f"{group}/{resource}" if group else resource)
    return "; ".join(f"{','.join(verbs)} {' '.join(sorted(res))}" for verbs, res in sorted(by_verbs.items()))
