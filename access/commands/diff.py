"""``python -m access diff --base <git ref or directory>``: the access change between two configs.

For every stack (environment), both configs are planned offline and compared: who gains or loses which
permission where (the effective-access matrix, :mod:`access.core.evaluate`), which people and machines may assume
which roles, new and removed principals, roles and namespaces, and the aws-auth / access-entry mappings.
Changes touching cluster-admin, ``system:*``, ``pods/exec`` (attach, port-forward, ephemeral containers),
secrets, RBAC escalation paths or trust policies are called out first.

Exit code 1 when a change is flagged in one of the ``--fail-on`` categories, 0 otherwise, 2 for bad input.
What counts: permissions *gained* in a category; any added, removed or changed aws-auth entry or access
entry in ``system:*`` (a node role removed cuts its nodes off) or with cluster-admin power; any changed
trust policy. Permissions lost are listed (and sensitive ones called out) but never fail the check.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from access.core import config
from access.core import stack_settings as stack_config
from access.core.awsauth import authenticator_key
from access.core.evaluate import CLUSTER_WIDE, effective_access, summarise_rules
from access.core.model import Organisation, PolicyRule, RoleKind
from access.core.plan.auth import CLUSTER_ADMIN_POLICY
from access.core.plan.types import AccessEntryPlan, EnvironmentPlan, MapEntry, RolePlan

FORMATS = ("markdown", "text", "json")
JSON_SCHEMA_VERSION = 1
EXIT_DANGEROUS = 1

CLUSTER_ADMIN = "cluster-admin"
SYSTEM = "system"
EXEC = "exec"
SECRETS = "secrets"
ESCALATION = "escalation"
TRUST = "trust"
CATEGORIES = (CLUSTER_ADMIN, SYSTEM, EXEC, SECRETS, ESCALATION, TRUST)
CATEGORY_HELP = {
    CLUSTER_ADMIN: "cluster-wide '*' on everything, system:masters, AmazonEKSClusterAdminPolicy",
    SYSTEM: "aws-auth or access-entry mappings in system:* groups (node roles included)",
    EXEC: "pods/exec, pods/attach, pods/portforward, pods/ephemeralcontainers",
    SECRETS: "get, list or watch on secrets",
    ESCALATION: "bind, escalate, impersonate, nodes/proxy, serviceaccounts/token",
    TRUST: "a role's trust policy changed (who may assume it)",
}

EXEC_RESOURCES = ("pods/exec", "pods/attach", "pods/portforward", "pods/ephemeralcontainers")
SECRET_READ_VERBS = frozenset({"get", "list", "watch"})
RBAC_GROUP = "rbac.authorization.k8s.io"

DESCRIPTION = """\
Plans every stack (or one) offline for the base config and the working config and compares them: who gains or
loses which permission where, who may assume which role, new and removed principals, roles and namespaces,
aws-auth and access-entry mappings. Changes touching cluster-admin, system:* groups, pods/exec (attach,
port-forward), secrets, RBAC escalation or trust policies are listed first.

Exit code 1 when such a change is in a --fail-on category (permissions gained, mapping changes, trust changes;
losses never fail), 0 otherwise, 2 for bad input."""

EXAMPLE = """examples:
  python -m access diff --base origin/main                     # every stack, markdown for a PR comment
  python -m access diff --base main --stack prod --format text
  python -m access diff --base ../eks-access-main --format json  # a checkout of the base branch
  python -m access diff --base origin/main --fail-on cluster-admin,system
"""


@dataclass(frozen=True, order=True)
class Permission:
    principal: str
    namespace: str  # CLUSTER_WIDE for cluster-wide bindings
    api_group: str
    resource: str
    verb: str

    def as_json(self) -> dict[str, str]:
        return {
            "principal": self.principal,
            "namespace": self.namespace,
            "apiGroup": self.api_group,
            "resource": self.resource,
            "verb": self.verb,
        }


@dataclass(frozen=True)
class Snapshot:
    """What one side grants in one environment."""

    environment: str
    permissions: frozenset[Permission] = frozenset()
    levels: frozenset[tuple[str, str, str]] = frozenset()  # (principal, namespace, level) from the matrix
    assumable: frozenset[tuple[str, str]] = frozenset()  # (principal, role name)
    roles: Mapping[str, RolePlan] = field(default_factory=dict)  # by role name
    namespaces: frozenset[str] = frozenset()
    mappings: Mapping[tuple[str, str], MapEntry] = field(default_factory=dict)  # (mapRoles|mapUsers, key)
    access_entries: Mapping[str, AccessEntryPlan] = field(default_factory=dict)  # by lower-cased principal ARN

    @property
    def principals(self) -> frozenset[str]:
        return frozenset({p for p, _ in self.assumable} | {p.principal for p in self.permissions})


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


# --- comparing ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A sensitive change: one principal's permissions in one place, one mapping, or one role's trust."""

    categories: tuple[str, ...]  # in CATEGORIES order
    stack: str
    text: str
    counts: bool  # True: fails the check when one of its categories is in --fail-on (gains, mapping changes)

    def fails(self, fail_on: Iterable[str]) -> bool:
        return self.counts and bool(set(self.categories) & set(fail_on))


@dataclass
class StackDiff:
    stack: str
    environment: str
    status: str  # changed | unchanged | added | removed
    principals_added: list[str] = field(default_factory=list)
    principals_removed: list[str] = field(default_factory=list)
    roles_added: list[str] = field(default_factory=list)
    roles_removed: list[str] = field(default_factory=list)
    roles_changed: list[tuple[str, list[str]]] = field(default_factory=list)  # (name, changed fields)
    namespaces_added: list[str] = field(default_factory=list)
    namespaces_removed: list[str] = field(default_factory=list)
    assumable_added: list[tuple[str, str]] = field(default_factory=list)
    assumable_removed: list[tuple[str, str]] = field(default_factory=list)
    levels_changed: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    gained: list[Permission] = field(default_factory=list)
    lost: list[Permission] = field(default_factory=list)
    mappings_added: list[tuple[str, MapEntry]] = field(default_factory=list)
    mappings_removed: list[tuple[str, MapEntry]] = field(default_factory=list)
    mappings_changed: list[tuple[str, MapEntry, MapEntry]] = field(default_factory=list)
    entries_added: list[AccessEntryPlan] = field(default_factory=list)
    entries_removed: list[AccessEntryPlan] = field(default_factory=list)
    entries_changed: list[tuple[AccessEntryPlan, AccessEntryPlan]] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.principals_added,
                self.principals_removed,
                self.roles_added,
                self.roles_removed,
                self.roles_changed,
                self.namespaces_added,
                self.namespaces_removed,
                self.assumable_added,
                self.assumable_removed,
                self.levels_changed,
                self.gained,
                self.lost,
                self.mappings_added,
                self.mappings_removed,
                self.mappings_changed,
                self.entries_added,
                self.entries_removed,
                self.entries_changed,
            )
        )


ROLE_FIELDS = (
    ("trustPolicy", lambda r: r.trust_policy),
    ("path", lambda r: r.path),
    ("maxSessionDuration", lambda r: r.max_session_duration),
    ("permissionsBoundary", lambda r: r.permissions_boundary),
    ("managedPolicyArns", lambda r: r.managed_policy_arns),
    ("username", lambda r: r.username),
    ("kubernetesGroups", lambda r: r.kubernetes_groups),
)


def compare(stack: str, base: Snapshot | None, head: Snapshot | None) -> StackDiff:
    known = head or base
    environment = known.environment if known is not None else stack
    status = "added" if base is None else "removed" if head is None else "changed"
    old = base or Snapshot(environment)
    new = head or Snapshot(environment)
    diff = StackDiff(stack, environment, status)
    diff.principals_added = sorted(new.principals - old.principals, key=str.lower)
    diff.principals_removed = sorted(old.principals - new.principals, key=str.lower)
    diff.roles_added = sorted(set(new.roles) - set(old.roles))
    diff.roles_removed = sorted(set(old.roles) - set(new.roles))
    for name in sorted(set(new.roles) & set(old.roles)):
        changed = [f for f, get in ROLE_FIELDS if get(old.roles[name]) != get(new.roles[name])]
        if changed:
            diff.roles_changed.append((name, changed))
    diff.namespaces_added = sorted(new.namespaces - old.namespaces)
    diff.namespaces_removed = sorted(old.namespaces - new.namespaces)
    diff.assumable_added = sorted(new.assumable - old.assumable)
    diff.assumable_removed = sorted(old.assumable - new.assumable)
    places = sorted({(p, ns) for p, ns, _ in old.levels | new.levels}, key=lambda k: (k[0].lower(), k[1]))
    for principal, namespace in places:
        levels_before = tuple(sorted(lv for p, ns, lv in old.levels if (p, ns) == (principal, namespace)))
        levels_after = tuple(sorted(lv for p, ns, lv in new.levels if (p, ns) == (principal, namespace)))
        if levels_before != levels_after:
            diff.levels_changed.append((principal, namespace, levels_before, levels_after))
    diff.gained = sorted(new.permissions - old.permissions)
    diff.lost = sorted(old.permissions - new.permissions)
    for key in sorted(set(new.mappings) | set(old.mappings)):
        before, after = old.mappings.get(key), new.mappings.get(key)
        if before is None and after is not None:
            diff.mappings_added.append((key[0], after))
        elif after is None and before is not None:
            diff.mappings_removed.append((key[0], before))
        elif before and after and (before.username, before.groups) != (after.username, after.groups):
            diff.mappings_changed.append((key[0], before, after))
    for principal in sorted(set(new.access_entries) | set(old.access_entries)):
        was, now = old.access_entries.get(principal), new.access_entries.get(principal)
        if was is None and now is not None:
            diff.entries_added.append(now)
        elif now is None and was is not None:
            diff.entries_removed.append(was)
        elif was and now and _entry_shape(was) != _entry_shape(now):
            diff.entries_changed.append((was, now))
    if base is not None and head is not None and diff.empty:
        diff.status = "unchanged"
    diff.flags = flags(diff)
    return diff


def _entry_shape(entry: AccessEntryPlan) -> tuple[Any, ...]:
    return (entry.type, entry.username, entry.kubernetes_groups, entry.policies)


# --- what is sensitive ------------------------------------------------------------------------------------------


def _resource_matches(api_group: str, resource: str, want_group: str, want: str) -> bool:
    """RBAC matching: '*' matches any group or resource (subresources included), '*/exec' any resource's exec."""
    if api_group not in (want_group, "*"):
        return False
    if resource in (want, "*"):
        return True
    _, _, sub = want.partition("/")
    return bool(sub) and resource == f"*/{sub}"


def permission_categories(p: Permission) -> set[str]:
    found = set()
    if p.namespace == CLUSTER_WIDE and (p.api_group, p.resource, p.verb) == ("*", "*", "*"):
        found.add(CLUSTER_ADMIN)
    if any(_resource_matches(p.api_group, p.resource, "", r) for r in EXEC_RESOURCES):
        found.add(EXEC)
    if _resource_matches(p.api_group, p.resource, "", "secrets") and (p.verb == "*" or p.verb in SECRET_READ_VERBS):
        found.add(SECRETS)
    any_verb = p.verb == "*"
    if (
        p.verb in ("bind", "escalate", "impersonate")
        or any(_resource_matches(p.api_group, p.resource, "", r) for r in ("nodes/proxy", "serviceaccounts/token"))
        or (any_verb and any(_resource_matches(p.api_group, p.resource, "", r) for r in ("users", "groups")))
        or (
            any_verb
            and any(_resource_matches(p.api_group, p.resource, RBAC_GROUP, r) for r in ("roles", "clusterroles"))
        )
    ):
        found.add(ESCALATION)
    return found


def _mapping_categories(groups: Iterable[str], username: str | None, policies: Iterable[str] = ()) -> set[str]:
    names = [*groups, username or ""]
    found = {SYSTEM} if any(n.startswith("system:") for n in names) else set()
    if "system:masters" in groups or CLUSTER_ADMIN_POLICY in policies:
        found.add(CLUSTER_ADMIN)
    return found


def _node_entry(entry: AccessEntryPlan) -> bool:
    # Node entries (EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX) put their role in system:nodes by type.
    return entry.type != "STANDARD"


def _ordered(categories: Iterable[str]) -> tuple[str, ...]:
    wanted = set(categories)
    return tuple(c for c in CATEGORIES if c in wanted)


def flags(diff: StackDiff) -> list[Flag]:
    out: list[Flag] = []
    for perms, verb, counts in ((diff.gained, "gains", True), (diff.lost, "loses", False)):
        grouped: dict[tuple[str, str], list[Permission]] = defaultdict(list)
        found: dict[tuple[str, str], set[str]] = defaultdict(set)
        for p in perms:
            categories = permission_categories(p)
            if categories:
                grouped[(p.principal, p.namespace)].append(p)
                found[(p.principal, p.namespace)] |= categories
        for (principal, namespace), items in sorted(grouped.items()):
            where = "cluster-wide" if namespace == CLUSTER_WIDE else f"in {namespace}"
            text = f"{principal} {verb} {describe(items)} {where}"
            out.append(Flag(_ordered(found[(principal, namespace)]), diff.stack, text, counts))
    for section, entry in diff.mappings_added:
        categories = _mapping_categories(entry.groups, entry.username)
        if categories:
            out.append(Flag(_ordered(categories), diff.stack, f"aws-auth {section} adds {_mapping_text(entry)}", True))
    for section, entry in diff.mappings_removed:
        categories = _mapping_categories(entry.groups, entry.username)
        if categories:
            text = f"aws-auth {section} removes {_mapping_text(entry)}"
            out.append(Flag(_ordered(categories), diff.stack, text, True))
    for section, before, after in diff.mappings_changed:
        categories = _mapping_categories(before.groups, before.username)
        categories |= _mapping_categories(after.groups, after.username)
        if categories:
            text = f"aws-auth {section} changes {_mapping_text(before)} to {after.username} [{', '.join(after.groups)}]"
            out.append(Flag(_ordered(categories), diff.stack, text, True))
    for what, entries in (("adds", diff.entries_added), ("removes", diff.entries_removed)):
        for access_entry in entries:
            categories = _entry_categories(access_entry)
            if categories:
                text = f"{what} access entry {_entry_text(access_entry)}"
                out.append(Flag(_ordered(categories), diff.stack, text, True))
    for was, now in diff.entries_changed:
        categories = _entry_categories(was) | _entry_categories(now)
        if categories:
            text = f"changes access entry {_entry_text(was)} to {_entry_text(now)}"
            out.append(Flag(_ordered(categories), diff.stack, text, True))
    for name, fields in diff.roles_changed:
        if "trustPolicy" in fields:
            out.append(Flag((TRUST,), diff.stack, f"trust policy of role {name} changes (who may assume it)", True))
    return sorted(out, key=lambda f: (not f.counts, CATEGORIES.index(f.categories[0]), f.text))


def _mapping_text(entry: MapEntry) -> str:
    return f"{entry.arn} -> {entry.username} [{', '.join(entry.groups)}]"


def _entry_categories(entry: AccessEntryPlan) -> set[str]:
    found = _mapping_categories(entry.kubernetes_groups, entry.username, [p.policy_arn for p in entry.policies])
    if _node_entry(entry):
        found.add(SYSTEM)
    return found


def _entry_text(entry: AccessEntryPlan) -> str:
    extra: list[str] = [entry.type]
    if entry.username:
        extra.append(entry.username)
    extra += list(entry.kubernetes_groups)
    extra += [p.policy_arn.rsplit("/", 1)[-1] for p in entry.policies]
    return f"{entry.principal_arn} ({', '.join(extra)})"


def describe(perms: Iterable[Permission]) -> str:
    """Compact text for permissions of one principal in one namespace: ``get,list pods; create pods/exec``."""
    items = list(perms)
    if any((p.api_group, p.resource, p.verb) == ("*", "*", "*") for p in items):
        return "everything (* on */*)"
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in items:
        verbs[(p.api_group, p.resource)].add(p.verb)
    rules = tuple(PolicyRule((group,), (resource,), tuple(sorted(vs))) for (group, resource), vs in verbs.items())
    return summarise_rules(rules)


# --- loading both sides ---------------------------------------------------------------------------------------


@dataclass
class Base:
    """Where the base config comes from. ``project_dir`` holds base stack files (when it has them)."""

    label: str
    project_dir: Path | None = None
    config_dir: Path | None = None  # a bare config directory: used for every stack
    temp: tempfile.TemporaryDirectory[str] | None = None


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    from access.commands.cli import UsageError

    try:
        return subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, check=False)
    except OSError as error:
        raise UsageError(f"--base needs git for a ref ({error.strerror}); pass a directory instead") from None


def resolve_base(spec: str, project_dir: Path, config_rels: Iterable[str]) -> Base:
    from access.commands.cli import UsageError

    path = Path(spec)
    if path.is_dir():
        if (path / "Pulumi.yaml").exists() or any(path.glob("Pulumi.*.yaml")) or (path / "config").is_dir():
            return Base(spec, project_dir=path)
        return Base(spec, config_dir=path)
    if spec.startswith("-") or not spec.strip():
        raise UsageError(f"--base {spec!r} is neither a directory nor a git ref")
    top = _git(project_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--base {spec}: not a directory, and {project_dir} is not in a git repository")
    commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if commit.returncode != 0:
        raise UsageError(f"--base {spec}: not a directory and not a commit in this repository (git fetch it first?)")
    return _extract(spec, commit.stdout.decode().strip(), project_dir, Path(top.stdout.decode().strip()), config_rels)


def _extract(spec: str, commit: str, project_dir: Path, top: Path, config_rels: Iterable[str]) -> Base:
    """The base's stack files and config directories, from ``git archive``, in a temporary copy of the project."""
    from access.commands.cli import UsageError

    prefix = project_dir.resolve().relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    listing = _git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", prefix or ".")
    files = [f for f in listing.stdout.decode().split("\0") if f]
    stack_files = [f for f in files if "/" not in f[len(prefix) :] and _is_stack_file(f[len(prefix) :])]
    rels = set(config_rels)
    for name in stack_files:
        shown = _git(top, "show", f"{commit}:{name}")
        rels.add(_config_dir_of(shown.stdout.decode(errors="replace")))
    for rel in rels:
        if Path(rel).is_absolute():
            raise UsageError(f"--base {spec}: access:configDir {rel} is outside the repository; use a directory base")
    wanted = [f for f in files if f in stack_files or any(f.startswith(prefix + rel.strip("/") + "/") for rel in rels)]
    temp = tempfile.TemporaryDirectory(prefix="eks-access-diff-")
    root = Path(temp.name)
    if wanted:
        archive = _git(top, "archive", "--format=tar", commit, "--", *wanted)
        if archive.returncode != 0:
            temp.cleanup()
            raise UsageError(f"--base {spec}: git archive failed: {archive.stderr.decode().strip().splitlines()[-1]}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(root, filter="data")
    return Base(spec, project_dir=root / prefix, temp=temp)


def _is_stack_file(name: str) -> bool:
    return name.startswith("Pulumi.") and name.endswith(".yaml") and name.count(".") >= 2


def _config_dir_of(stack_file_text: str) -> str:
    import yaml

    try:
        data = yaml.safe_load(stack_file_text) or {}
    except yaml.YAMLError:
        return "config"
    value = (data.get("config") or {}).get("access:configDir", "config") if isinstance(data, dict) else "config"
    if isinstance(value, dict):
        value = value.get("value", "config")
    return str(value)


def stacks_in(project_dir: Path | None) -> list[str]:
    if project_dir is None or not project_dir.is_dir():
        return []
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def working_side(project_dir: Path, stack: str) -> tuple[Snapshot, Organisation, str] | None:
    from access.commands.plan import load_stack

    if not (project_dir / f"Pulumi.{stack}.yaml").exists():
        return None
    settings, org, plan = load_stack(project_dir, stack)
    return snapshot(plan, org), org, settings.config_dir


def base_side(base: Base, project_dir: Path, stack: str) -> Snapshot | None:
    """The base's snapshot of a stack; None when the stack did not exist there. An environment missing from the
    base config (or a base without config yet) is an empty snapshot: everything in it is new."""
    stack_dir = base.project_dir if base.project_dir and (base.project_dir / f"Pulumi.{stack}.yaml").exists() else None
    if stack_dir is None and base.config_dir is None and stacks_in(base.project_dir):
        return None  # the base has stack files, but not this one: an added stack
    raw = stack_config.read_stack_file(stack_dir or project_dir, stack)
    if base.config_dir is not None:
        raw["access:configDir"] = str(base.config_dir.resolve())
    settings = stack_config.parse(stack, raw)
    directory = Path(settings.config_dir)
    if not directory.is_absolute():
        directory = (base.project_dir or project_dir) / directory
    if not directory.is_dir():
        return Snapshot(settings.environment)
    label = f"{base.label}:{settings.config_dir.rstrip('/')}" if base.temp else str(directory).rstrip("/")
    org = config.load(directory, label=label)
    if settings.environment not in org.environments:
        return Snapshot(settings.environment)
    from access.core.plan.environment import plan_environment

    return snapshot(plan_environment(org, settings.environment, settings.auth_mode, stack), org)


def diff_stacks(base_spec: str, project_dir: Path, only_stack: str | None) -> tuple[Base, list[StackDiff]]:
    from access.commands.cli import UsageError

    working = stacks_in(project_dir)
    if only_stack is not None and not (project_dir / f"Pulumi.{only_stack}.yaml").exists():
        working = []
    heads: dict[str, tuple[Snapshot, Organisation, str] | None] = {
        s: working_side(project_dir, s) for s in ([only_stack] if only_stack else working) if s in working
    }
    config_rels = {rel for side in heads.values() if side for rel in [side[2]]} or {"config"}
    base = resolve_base(base_spec, project_dir, config_rels)
    try:
        names = [only_stack] if only_stack else sorted(set(working) | set(stacks_in(base.project_dir)))
        if only_stack and only_stack not in working and only_stack not in stacks_in(base.project_dir):
            raise UsageError(f"no stack {only_stack!r}: neither Pulumi.{only_stack}.yaml nor the base has it")
        if not names:
            raise UsageError(f"no stacks: neither {project_dir} nor the base has a Pulumi.<stack>.yaml")
        order = _environment_order(heads)
        diffs = []
        for name in names:
            head = heads.get(name)
            base_snapshot = base_side(base, project_dir, name)
            diffs.append(compare(name, base_snapshot, head[0] if head else None))
        diffs.sort(key=lambda d: (order.get(d.environment, len(order)), d.stack))
        return base, diffs
    except BaseException:
        if base.temp:
            base.temp.cleanup()
        raise


def _environment_order(heads: Mapping[str, tuple[Snapshot, Organisation, str] | None]) -> dict[str, int]:
    for side in heads.values():
        if side is not None:
            return {env: i for i, env in enumerate(side[1].environments)}
    return {}


# --- output ---------------------------------------------------------------------------------------------------


def dangerous(diffs: Iterable[StackDiff], fail_on: Iterable[str]) -> list[Flag]:
    wanted = set(fail_on)
    return [f for d in diffs for f in d.flags if f.fails(wanted)]


def document(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> dict[str, Any]:
    failing = dangerous(diffs, fail_on)
    return {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "base": base.label,
        "failOn": fail_on,
        "dangerous": bool(failing),
        "flagged": [
            {"categories": list(f.categories), "stack": f.stack, "summary": f.text, "fails": f in failing}
            for d in diffs
            for f in d.flags
        ],
        "stacks": [_stack_json(d) for d in diffs],
    }


def _mapping_json(section: str, entry: MapEntry) -> dict[str, Any]:
    return {"section": section, "arn": entry.arn, "username": entry.username, "groups": list(entry.groups)}


def _entry_json(entry: AccessEntryPlan) -> dict[str, Any]:
    return {
        "principalArn": entry.principal_arn,
        "type": entry.type,
        "username": entry.username or "",
        "kubernetesGroups": list(entry.kubernetes_groups),
        "policies": [p.policy_arn for p in entry.policies],
    }


def _stack_json(d: StackDiff) -> dict[str, Any]:
    return {
        "stack": d.stack,
        "environment": d.environment,
        "status": d.status,
        "principals": {"added": d.principals_added, "removed": d.principals_removed},
        "roles": {
            "added": d.roles_added,
            "removed": d.roles_removed,
            "changed": [{"name": n, "fields": f} for n, f in d.roles_changed],
        },
        "namespaces": {"added": d.namespaces_added, "removed": d.namespaces_removed},
        "levels": [
            {"principal": p, "namespace": ns, "before": list(b), "after": list(a)} for p, ns, b, a in d.levels_changed
        ],
        "assumableRoles": {
            "added": [{"principal": p, "role": r} for p, r in d.assumable_added],
            "removed": [{"principal": p, "role": r} for p, r in d.assumable_removed],
        },
        "permissions": {"gained": [p.as_json() for p in d.gained], "lost": [p.as_json() for p in d.lost]},
        "awsAuth": {
            "added": [_mapping_json(s, e) for s, e in d.mappings_added],
            "removed": [_mapping_json(s, e) for s, e in d.mappings_removed],
            "changed": [
                {"section": s, "arn": a.arn, "before": _mapping_json(s, b), "after": _mapping_json(s, a)}
                for s, b, a in d.mappings_changed
            ],
        },
        "accessEntries": {
            "added": [_entry_json(e) for e in d.entries_added],
            "removed": [_entry_json(e) for e in d.entries_removed],
            "changed": [{"before": _entry_json(b), "after": _entry_json(a)} for b, a in d.entries_changed],
        },
    }


def _by_place(perms: list[Permission]) -> list[tuple[str, str, str]]:
    grouped: dict[tuple[str, str], list[Permission]] = defaultdict(list)
    for p in perms:
        grouped[(p.principal, p.namespace)].append(p)
    return [(principal, ns, describe(items)) for (principal, ns), items in sorted(grouped.items())]


def _lines(d: StackDiff) -> list[tuple[str, str]]:
    """(what, detail) rows for one stack, in reading order."""
    rows: list[tuple[str, str]] = []
    rows += [("new principal", p) for p in d.principals_added]
    rows += [("removed principal", p) for p in d.principals_removed]
    rows += [("new role", r) for r in d.roles_added]
    rows += [("removed role", r) for r in d.roles_removed]
    rows += [("changed role", f"{n}: {', '.join(f)}") for n, f in d.roles_changed]
    rows += [("new namespace", n) for n in d.namespaces_added]
    rows += [("removed namespace", n) for n in d.namespaces_removed]
    rows += [
        ("access level", f"{p} {'cluster-wide' if ns == CLUSTER_WIDE else 'in ' + ns}: {_levels(b)} -> {_levels(a)}")
        for p, ns, b, a in d.levels_changed
    ]
    rows += [("may now assume", f"{p} -> {r}") for p, r in d.assumable_added]
    rows += [("may no longer assume", f"{p} -> {r}") for p, r in d.assumable_removed]
    rows += [(f"aws-auth {s} +", _mapping_text(e)) for s, e in d.mappings_added]
    rows += [(f"aws-auth {s} -", _mapping_text(e)) for s, e in d.mappings_removed]
    rows += [
        (f"aws-auth {s} ~", f"{a.arn}: {b.username} [{', '.join(b.groups)}] -> {a.username} [{', '.join(a.groups)}]")
        for s, b, a in d.mappings_changed
    ]
    rows += [("access entry +", _entry_text(e)) for e in d.entries_added]
    rows += [("access entry -", _entry_text(e)) for e in d.entries_removed]
    rows += [("access entry ~", f"{_entry_text(b)} -> {_entry_text(a)}") for b, a in d.entries_changed]
    return rows


def _levels(levels: tuple[str, ...]) -> str:
    return ", ".join(levels) or "none"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> str:
    failing = dangerous(diffs, fail_on)
    shown = [f for d in diffs for f in d.flags]
    lines = [f"### eks-access diff: `{base.label}` → this branch", ""]
    if failing:
        categories = ", ".join(_ordered(c for f in failing for c in f.categories))
        lines += [
            f"> [!CAUTION]\n> **{len(failing)} sensitive access change{'s' if len(failing) != 1 else ''}** "
            f"({categories}). Checked categories: {', '.join(fail_on) or 'none'}.",
            "",
        ]
    elif all(d.status == "unchanged" for d in diffs):
        lines += ["No access changes.", ""]
    else:
        lines += [f"No sensitive access changes (checked: {', '.join(fail_on) or 'none'}).", ""]
    if shown:
        lines += ["#### Sensitive changes", "", "| | category | stack | change |", "|---|---|---|---|"]
        for f in shown:
            mark = "🔴" if f in failing else ("➖" if not f.counts else "⚪")
            lines.append(f"| {mark} | {', '.join(f.categories)} | `{f.stack}` | {_cell(f.text)} |")
        lines += ["", "🔴 fails the check · ⚪ sensitive, category not checked · ➖ access removed (never fails)", ""]
    for d in diffs:
        title = f"#### `{d.stack}` (environment {d.environment})"
        if d.status == "unchanged":
            lines += [title, "", "No changes.", ""]
            continue
        lines += [title, ""]
        if d.status != "changed":
            lines += [f"Stack {d.status}.", ""]
        rows = _lines(d)
        if rows:
            lines += ["| change | detail |", "|---|---|", *[f"| {w} | `{_cell(t)}` |" for w, t in rows], ""]
        for heading, perms in (("Access gained", d.gained), ("Access lost", d.lost)):
            if perms:
                lines += [f"**{heading}**", "", "| principal | namespace | permissions |", "|---|---|---|"]
                lines += [f"| {p} | `{ns}` | {_cell(text)} |" for p, ns, text in _by_place(perms)]
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def text(base: Base, diffs: list[StackDiff], fail_on: list[str]) -> str:
    failing = dangerous(diffs, fail_on)
    lines = [f"eks-access diff: {base.label} -> working tree"]
    if failing:
        lines.append(f"SENSITIVE: {len(failing)} change(s) in checked categories ({', '.join(fail_on)})")
    for f in (f for d in diffs for f in d.flags):
        mark = "!!" if f in failing else "--" if not f.counts else "  "
        lines.append(f"  {mark} [{', '.join(f.categories)}] {f.stack}: {f.text}")
    for d in diffs:
        lines.append(f"{d.stack} (environment {d.environment}): {d.status if d.status != 'changed' else ''}".rstrip())
        lines += [f"  {w}: {t}" for w, t in _lines(d)]
        lines += [f"  + {p} in {ns}: {t}" for p, ns, t in _by_place(d.gained)]
        lines += [f"  - {p} in {ns}: {t}" for p, ns, t in _by_place(d.lost)]
    return "\n".join(lines) + "\n"


# --- command --------------------------------------------------------------------------------------------------


def parse_fail_on(value: str) -> list[str]:
    from access.commands.cli import UsageError

    if value.strip().lower() == "none":
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in CATEGORIES]
    if unknown:
        raise UsageError(
            f"--fail-on: unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
            f"expected a comma-separated list of {', '.join(CATEGORIES)}, or none"
        )
    return [c for c in CATEGORIES if c in items]


def register(sub: argparse._SubParsersAction) -> None:
    categories = "\n".join(f"  {c:<14}{h}" for c, h in CATEGORY_HELP.items())
    parser = sub.add_parser(
        "diff",
        help="the access change between a base config (git ref or directory) and the working tree",
        description=DESCRIPTION,
        epilog=f"categories:\n{categories}\n\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base", required=True, help="git ref (branch, tag, commit) or directory of the base config")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stack", help="one stack (Pulumi.<stack>.yaml); default: every stack")
    which.add_argument("--all", action="store_true", help="every stack (the default)")
    parser.add_argument("--format", choices=FORMATS, default="markdown")
    parser.add_argument(
        "--fail-on",
        default=",".join(CATEGORIES),
        help=f"categories that make the exit code 1 (default: all: {','.join(CATEGORIES)}; 'none' never fails)",
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fail_on = parse_fail_on(args.fail_on)
    project_dir: Path = args.project_dir
    base, diffs = diff_stacks(args.base, project_dir, args.stack)
    try:
        if args.format == "json":
            print(json.dumps(document(base, diffs, fail_on), indent=2, sort_keys=True))
        elif args.format == "text":
            print(text(base, diffs, fail_on), end="")
        else:
            print(markdown(base, diffs, fail_on), end="")
    finally:
        if base.temp:
            base.temp.cleanup()
    return EXIT_DANGEROUS if dangerous(diffs, fail_on) else 0
