"""Kubernetes groups and usernames kept apart by construction: human, admin, monitoring, CI and break-glass.

A Kubernetes group is access: whoever is mapped into it gets every binding of it. So no group may be rendered
for two owners that config means to be different (a project-environment-level, the cluster admins, monitoring,
one CI deployer), and the templates must separate what they name: a human group without ``{project}`` or
``{env}`` would put every project's people into one group; a CI group without ``{ci}``, every deployer.
Usernames grant nothing in what eks-access binds, but they are what audit logs show: no two classes may render
usernames that a session name could make equal.

These checks are for good messages: the access evaluator (``access.core.evaluate``) refuses any config whose
rendered documents give a principal more or less than config grants, whatever the cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from access.core import names
from access.core.config.nodes import Node
from access.core.model import Organisation
from access.core.plan.auth import BREAK_GLASS_USERNAME

SESSION_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,._-")  # '@' becomes '-'
_SESSION = object()


@dataclass(frozen=True)
class Owner:
    what: str  # how a message names it: "the cluster admins' group (naming.admin_group)"
    file: str
    path: str


def check(org: Organisation, access: dict[str, Node]) -> None:
    settings_file = org.files["settings.yaml"]
    _templates(org, Node(settings_file, "naming", None))
    _groups(org, access)
    _usernames(org, access)


def _templates(org: Organisation, naming: Node) -> None:
    for key, needed, why in (
        ("kubernetes_group", ("project", "env"), "every project's people in an environment would share one group"),
        ("ci_group", ("ci",), "every CI deployer would share one group and reach the others' namespaces"),
    ):
        template = getattr(org.naming, key)
        missing = [f for f in needed if f not in names.template_fields(template)]
        if missing:
            raise naming.child(key, template).error(
                f"{template!r} has no {', '.join('{' + f + '}' for f in missing)}: {why} (a group is access)"
            )


def _groups(org: Organisation, access: dict[str, Node]) -> None:
    owners: dict[str, Owner] = {}
    access_file, settings_file = org.files["access.yaml"], org.files["settings.yaml"]

    def claim(group: str, owner: Owner, node: Node) -> None:
        other = owners.get(group)
        if other is not None and other.what != owner.what:
            raise node.error(
                f"{owner.what} would be the Kubernetes group {group!r}, which is already {other.what}: a group is "
                "access, so the two would share it; rename the id or change the naming template"
            )
        owners.setdefault(group, owner)

    naming = org.naming
    if org.admin_teams:
        claim(
            naming.admin_group,
            Owner("the cluster admins' group (naming.admin_group)", settings_file, "naming"),
            Node(settings_file, "naming.admin_group", None),
        )
    if org.monitoring is not None:
        claim(
            naming.monitoring_group,
            Owner("monitoring's group (naming.monitoring_group)", settings_file, "naming"),
            Node(settings_file, "naming.monitoring_group", None),
        )
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        group = names.fill(naming.ci_group, ci=ci.id)
        claim(
            group, Owner(f"CI deployer {ci.id!r}'s group", access_file, f"ci.{ci.id}"), access["ci"].child(ci.id, None)
        )
    for grant in org.grants:
        group = names.kubernetes_group(naming, grant.project, grant.environment, grant.level)
        node = access["grants"].child(grant.team, None).child(grant.project, None).child(grant.environment, grant.level)
        what = f"project {grant.project!r} in environment {grant.environment!r}"
        if "level" in names.template_fields(naming.kubernetes_group):
            what += f" at level {grant.level!r}"
        claim(group, Owner(what, access_file, node.path), node)


def _usernames(org: Organisation, access: dict[str, Node]) -> None:
    """Usernames of different classes never look alike in an audit log, whatever the session names."""
    naming = org.naming
    rendered: list[tuple[str, str, Node]] = []  # (template with ids filled, what, node)
    settings = org.files["settings.yaml"]
    if org.admin_teams:
        rendered.append(
            (naming.admin_username, "the cluster admins' username", Node(settings, "naming.admin_username", None))
        )
    if org.monitoring is not None:
        rendered.append(
            (naming.monitoring_username, "monitoring's username", Node(settings, "naming.monitoring_username", None))
        )
    if any(c.break_glass_role_arn for c in org.clusters.values()):
        rendered.append((BREAK_GLASS_USERNAME, "the break-glass username", Node(settings, "naming", None)))
    for ci in sorted(org.ci.values(), key=lambda c: c.id):
        rendered.append(
            (
                names.fill(naming.ci_username, ci=ci.id),
                f"CI deployer {ci.id!r}'s username",
                access["ci"].child(ci.id, None),
            )
        )
    seen_humans: set[str] = set()
    for grant in org.grants:
        username = names.kubernetes_username(naming, grant.project, grant.environment, grant.level)
        if username in seen_humans:
            continue
        seen_humans.add(username)
        node = access["grants"].child(grant.team, None).child(grant.project, None).child(grant.environment, grant.level)
        rendered.append((username, f"the username of project {grant.project!r} in {grant.environment!r}", node))
    for index, (template, what, node) in enumerate(rendered):
        for other, other_what, _ in rendered[:index]:
            if what.split(" of ")[0] == other_what.split(" of ")[0] == "the username" and template != other:
                continue  # two project roles: their prefixes differ by the ids; audit logs tell them apart by role
            if overlap(template, other):
                raise node.error(
                    f"{what} {template!r} and {other_what} {other!r} can render the same Kubernetes username for "
                    "some session name, so audit logs could not tell them apart; change the naming templates"
                )


def _items(template: str) -> list[object]:
    out: list[object] = []
    rest = template
    while rest:
        if rest.startswith(names.SESSION_NAME):
            out.append(_SESSION)
            rest = rest[len(names.SESSION_NAME) :]
        else:
            out.append(rest[0])
            rest = rest[1:]
    return out


State = tuple[int, bool]  # (item index, inside a session name)


def _steps(items: list[object], state: State, char: str) -> set[State]:
    """The states after reading ``char`` from ``state``."""
    index, inside = state
    out = set()
    if inside and char in SESSION_CHARS:
        out.add((index, True))  # the session name goes on
    position = index + 1 if inside else index  # a session name may also end here
    if position < len(items):
        item = items[position]
        if item is _SESSION and char in SESSION_CHARS:
            out.add((position, True))
        elif item == char:
            out.add((position + 1, False))
    return out


def _accepting(items: list[object], state: State) -> bool:
    index, inside = state
    return (index + 1 if inside else index) == len(items)


def overlap(a: str, b: str) -> bool:
    """Whether some session names make the two username templates equal (``{{SessionName}}`` stands for one or
    more session-name characters). A product of the two patterns' automata, searched breadth-first."""
    left, right = _items(a), _items(b)
    alphabet = {c for c in (*left, *right) if isinstance(c, str)} | {"a"}  # "a": any other session character
    start: tuple[State, State] = ((0, False), (0, False))
    seen, frontier = {start}, [start]
    while frontier:
        next_frontier = []
        for s, t in frontier:
            if _accepting(left, s) and _accepting(right, t):
                return True
            pairs = {(s2, t2) for c in alphabet for s2 in _steps(left, s, c) for t2 in _steps(right, t, c)}
            next_frontier += [pair for pair in pairs if pair not in seen]
            seen |= pairs
        frontier = next_frontier
    return False
