"""One side of the diff as versioned JSON: printed by that side's own code, read back by the comparing code.

``python -m access diff-snapshot`` (hidden; run by ``diff`` in the base's and the head's own checkout, each in
its own process) plans every stack and prints :func:`side_document`. The comparing process reads it with
:func:`read_side` as data: every key is checked, so a document that is not one (a base too old to print it,
a head that lies about its shape) is one line of bad input, never a pass. What a head's code *could* lie about
in a well-formed document is covered by the ``code`` category: a change to the code fails the check by itself.

Format (``eksAccessSnapshot: 1``)::

    {"eksAccessSnapshot": 1, "environments": [ids in promotion order], "stacks": {<stack>: {
        "environment": id, "ruleSets": [[[apiGroup, resource, verb], ...], ...],
        "access": [[principal, namespace, level, ruleSetIndex], ...],
        "assumable": [[principal, roleName], ...], "roles": {name: {field: value}}, "namespaces": [...],
        "mappings": [[section, arn, username, [groups]], ...],
        "accessEntries": [[principalArn, type, username, [groups], [[policyArn, scope, [namespaces]]]], ...],
        "outputs": {...}}}}

Rule sets are listed once and referenced by index: a level's rules are the same in every namespace, so the
document grows with principals x namespaces, not with their permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from access.commands.diff.types import EntryRow, MapRow, PlaceAccess, Snapshot, Triple
from access.core import awsauth
from access.core.awsauth import authenticator_key
from access.core.evaluate import Evaluation, effective_access, evaluate_stack
from access.core.model import Organisation
from access.core.outputs import stack_outputs
from access.core.plan.types import EnvironmentPlan
from access.errors import UsageError

SNAPSHOT_KEY = "eksAccessSnapshot"
SNAPSHOT_VERSION = 1
# Offline there is no cluster: both sides publish the same placeholders, so only real output changes show.
ENDPOINT = "https://<cluster endpoint>"
CA_DATA = "<certificate authority data>"
ROLE_FIELDS = (
    "trustPolicy",
    "path",
    "maxSessionDuration",
    "permissionsBoundary",
    "managedPolicyArns",
    "username",
    "kubernetesGroups",
)


# --- producing (runs in the side's own process, with its own code) -------------------------------------------


def stack_document(
    plan: EnvironmentPlan, org: Organisation, region: str | None, evaluation: Evaluation | None = None
) -> dict[str, Any]:
    """What one stack grants, as the JSON one side prints (access and who may assume each role as the access
    evaluator finds them in the rendered documents)."""
    evaluation = evaluation or evaluate_stack(org, plan)
    rule_sets: dict[tuple[Triple, ...], int] = {}
    by_rules: dict[Any, int] = {}
    access = []
    for row in effective_access(plan, org, evaluation):
        index = by_rules.get(row.rules)
        if index is None:
            triples = tuple(
                sorted(
                    {
                        (g, r, v)
                        for rule in row.rules
                        for g in rule.api_groups
                        for r in rule.resources
                        for v in rule.verbs
                    }
                )
            )
            index = by_rules[row.rules] = rule_sets.setdefault(triples, len(rule_sets))
        access.append([row.principal, row.namespace, row.level, index])
    assumable = {
        (principal.label, role.name) for role in plan.roles for principal in evaluation.assumers.get(role.arn, {})
    }
    role_arns = {r.key: r.arn for r in plan.roles}
    map_roles = awsauth.render(plan.map_roles) if plan.map_roles else ""
    return {
        "environment": plan.environment,
        "ruleSets": [[list(t) for t in triples] for triples in rule_sets],
        "access": access,
        "assumable": sorted([list(pair) for pair in assumable]),
        "roles": {
            r.name: {
                "trustPolicy": r.trust_policy,
                "path": r.path,
                "maxSessionDuration": r.max_session_duration,
                "permissionsBoundary": r.permissions_boundary,
                "managedPolicyArns": list(r.managed_policy_arns),
                "username": r.username,
                "kubernetesGroups": list(r.kubernetes_groups),
            }
            for r in plan.roles
        },
        "namespaces": sorted(set(plan.namespaces.values())),
        "mappings": [["mapRoles", e.arn, e.username, list(e.groups)] for e in plan.map_roles]
        + [["mapUsers", e.arn, e.username, list(e.groups)] for e in plan.map_users],
        "accessEntries": [
            [
                e.principal_arn,
                str(e.type),
                e.username or "",
                list(e.kubernetes_groups),
                [[p.policy_arn, str(p.scope), list(p.namespaces)] for p in e.policies],
            ]
            for e in plan.access_entries
        ],
        "outputs": stack_outputs(plan, role_arns, ENDPOINT, CA_DATA, map_roles, region),
    }


def empty_stack_document(environment: str) -> dict[str, Any]:
    """A stack whose environment (or config) the side does not have: everything on the other side is new."""
    return {
        "environment": environment,
        "ruleSets": [],
        "access": [],
        "assumable": [],
        "roles": {},
        "namespaces": [],
        "mappings": [],
        "accessEntries": [],
        "outputs": {},
    }


def side_document(environments: Iterable[str], stacks: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return {SNAPSHOT_KEY: SNAPSHOT_VERSION, "environments": list(environments), "stacks": dict(stacks)}


# --- reading (the comparing process: the document is data) ----------------------------------------------------


class RuleSets:
    """Rule sets of both sides, interned by content: equal ids mean equal permissions, across sides."""

    def __init__(self) -> None:
        self._ids: dict[frozenset[Triple], int] = {}
        self._triples: list[frozenset[Triple]] = []
        self._unions: dict[frozenset[int], frozenset[Triple]] = {}
        self._wildcards: dict[frozenset[int], frozenset[Triple]] = {}

    def intern(self, triples: frozenset[Triple]) -> int:
        found = self._ids.get(triples)
        if found is None:
            found = self._ids[triples] = len(self._triples)
            self._triples.append(triples)
        return found

    def expand(self, ids: frozenset[int]) -> frozenset[Triple]:
        """Every (API group, resource, verb) the rule sets grant together: computed once per combination."""
        found = self._unions.get(ids)
        if found is None:
            found = self._unions[ids] = frozenset().union(*(self._triples[i] for i in ids))
        return found

    def wildcards(self, ids: frozenset[int]) -> frozenset[Triple]:
        """The triples with a wildcard, the only ones that can cover another (a set: looked up, never scanned)."""
        found = self._wildcards.get(ids)
        if found is None:
            found = self._wildcards[ids] = frozenset(t for t in self.expand(ids) if _has_wildcard(t))
        return found


def _has_wildcard(triple: Triple) -> bool:
    return "*" in triple or triple[1].startswith("*/")


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, what: str) -> UsageError:
        return UsageError(f"{self.source}: not an eks-access diff snapshot ({what})")

    def get(self, data: Any, key: str, typ: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(data, dict) or key not in data:
            raise self.fail(f"{where} has no {key!r}")
        value = data[key]
        if not isinstance(value, typ):
            raise self.fail(f"{where}.{key} is not a {_type_name(typ)}")
        return value

    def strings(self, value: Any, where: str, length: int | None = None) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where} is not a list of strings")
        if length is not None and len(value) != length:
            raise self.fail(f"{where} has {len(value)} items, not {length}")
        return tuple(value)

    def rows(self, value: Any, where: str, width: int) -> list[list[Any]]:
        if not isinstance(value, list) or not all(isinstance(v, list) and len(v) == width for v in value):
            raise self.fail(f"{where} is not a list of {width}-item lists")
        return value


def _type_name(typ: type | tuple[type, ...]) -> str:
    types = typ if isinstance(typ, tuple) else (typ,)
    names = {dict: "mapping", list: "list", str: "string", int: "number"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def read_side(doc: Any, source: str, rule_sets: RuleSets) -> tuple[list[str], dict[str, Snapshot]]:
    """The environments (in order) and the stacks of one side's document, checked key by key."""
    reader = _Reader(source)
    version = reader.get(doc, SNAPSHOT_KEY, int, "the document")
    if version != SNAPSHOT_VERSION:
        raise reader.fail(f"version {version}; this eks-access reads version {SNAPSHOT_VERSION}")
    environments = list(reader.strings(reader.get(doc, "environments", list, "the document"), "environments"))
    stacks = reader.get(doc, "stacks", dict, "the document")
    return environments, {
        str(name): _read_stack(reader, data, f"stacks.{name}", rule_sets) for name, data in stacks.items()
    }


def _read_stack(reader: _Reader, data: Any, where: str, rule_sets: RuleSets) -> Snapshot:
    environment = reader.get(data, "environment", str, where)
    ids = []
    for i, triples in enumerate(reader.get(data, "ruleSets", list, where)):
        if not isinstance(triples, list):
            raise reader.fail(f"{where}.ruleSets[{i}] is not a list")
        content = frozenset(cast(Triple, reader.strings(t, f"{where}.ruleSets[{i}][]", 3)) for t in triples)
        ids.append(rule_sets.intern(content))
    grouped: dict[tuple[str, str], tuple[set[str], set[int]]] = {}
    for row in reader.rows(reader.get(data, "access", list, where), f"{where}.access", 4):
        principal, namespace, level, index = row
        if not (isinstance(principal, str) and isinstance(namespace, str) and isinstance(level, str)):
            raise reader.fail(f"{where}.access has a row that is not [principal, namespace, level, index]")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(ids):
            raise reader.fail(f"{where}.access names rule set {index!r}, which it does not list")
        levels, sets = grouped.setdefault((principal, namespace), (set(), set()))
        levels.add(level)
        sets.add(ids[index])
    places = {place: PlaceAccess(tuple(sorted(levels)), frozenset(sets)) for place, (levels, sets) in grouped.items()}
    assumable = frozenset(
        (p, r)
        for p, r in (
            reader.strings(pair, f"{where}.assumable[]", 2) for pair in reader.get(data, "assumable", list, where)
        )
    )
    roles = reader.get(data, "roles", dict, where)
    for name, fields in roles.items():
        if not isinstance(fields, dict):
            raise reader.fail(f"{where}.roles.{name} is not a mapping")
    mappings: dict[tuple[str, str], MapRow] = {}
    for row in reader.rows(reader.get(data, "mappings", list, where), f"{where}.mappings", 4):
        section, arn, username = reader.strings(row[:3], f"{where}.mappings[]")
        if section not in ("mapRoles", "mapUsers"):
            raise reader.fail(f"{where}.mappings has section {section!r}")
        entry = MapRow(section, arn, username, reader.strings(row[3], f"{where}.mappings[].groups"))
        key = authenticator_key(arn) if section == "mapRoles" else arn.lower()
        mappings[(section, key)] = entry
    entries = {}
    for row in reader.rows(reader.get(data, "accessEntries", list, where), f"{where}.accessEntries", 5):
        arn, typ, username = reader.strings(row[:3], f"{where}.accessEntries[]")
        policies = tuple(
            (str(p[0]), str(p[1]), reader.strings(p[2], f"{where}.accessEntries[].policies[].namespaces"))
            for p in reader.rows(row[4], f"{where}.accessEntries[].policies", 3)
            if reader.strings(p[:2], f"{where}.accessEntries[].policies[]")
        )
        groups = reader.strings(row[3], f"{where}.accessEntries[].groups")
        entries[arn.lower()] = EntryRow(arn, typ, username, groups, policies)
    return Snapshot(
        environment=environment,
        places=places,
        assumable=assumable,
        roles=roles,
        namespaces=frozenset(reader.strings(reader.get(data, "namespaces", list, where), f"{where}.namespaces")),
        mappings=mappings,
        access_entries=entries,
        outputs=reader.get(data, "outputs", dict, where),
    )


def snapshot_of(plan: EnvironmentPlan, org: Organisation, rule_sets: RuleSets, region: str | None = None) -> Snapshot:
    """A snapshot straight from a plan, in this process: what tests compare (the command runs each side apart)."""
    _, stacks = read_side(
        side_document([plan.environment], {"s": stack_document(plan, org, region)}), "plan", rule_sets
    )
    return stacks["s"]
