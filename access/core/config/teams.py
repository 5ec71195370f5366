"""``teams.yaml``: teams and their members (IAM user names, as IAM spells them)."""

from __future__ import annotations

from collections.abc import Iterable

from access.core import names
from access.core.config.nodes import Node, Source, unique_ids
from access.core.model import People, RoleSettings, Team

# An Identity Center group's DisplayName (identitystore GetGroupId by DisplayName: 1-1024 characters).
GROUP_DISPLAY_NAME_MAX = 1024


def read(source: Source, role_settings: RoleSettings, people: People | None = None) -> dict[str, Team]:
    node = source.root("teams.yaml").mapping({"teams"}, required=("teams",))["teams"]
    out: dict[str, Team] = {}
    member_nodes: list[tuple[str, Node]] = []
    for tid, tnode in unique_ids(node, "team"):
        m = tnode.mapping({"members", "description", "identity_center_group"})
        if "description" in m:
            m["description"].string()
        if "identity_center_group" in m:
            out[tid] = Team(id=tid, members=(), identity_center_group=_group(m, people))
            continue
        if "members" not in m:
            raise tnode.error("required: members (IAM user names) or identity_center_group")
        out[tid] = Team(id=tid, members=_members(m["members"], role_settings))
        member_nodes.extend(zip(out[tid].members, m["members"].items(), strict=True))
    if role_settings.session_name_condition:
        refuse_look_alike_session_names(member_nodes)
    return out


def _group(m: dict[str, Node], people: People | None) -> str:
    group = m["identity_center_group"]
    if "members" in m:
        raise m["members"].error(
            "a team is IAM users (members) or an Identity Center group (identity_center_group), not both: remove one"
        )
    if people is None or people.identity_center is None:
        raise group.error(
            "needs people.identity_center in environments.yaml (the instance and identity store the group is in)"
        )
    name = group.string()
    if len(name) > GROUP_DISPLAY_NAME_MAX or not name.isprintable() or name != name.strip():
        raise group.error(f"{name!r} is not an Identity Center group display name (1-1024 printable characters)")
    return name


def session_name_in_username(session_name: str) -> str:
    """A role session name as aws-iam-authenticator writes it into ``{{SessionName}}``: '@' becomes '-'
    (``pkg/server/server.go`` ``renderTemplate``; ``{{SessionNameRaw}}`` would keep it)."""
    return session_name.replace("@", "-")


def refuse_look_alike_session_names(members: Iterable[tuple[str, Node]]) -> None:
    """With the session-name pin the Kubernetes username names the person, but only as ``{{SessionName}}``
    shows it: two different IAM users that look the same there (``jo@example.com`` and ``jo-example.com``, in
    any case, since IAM ignores case in names) could not be told apart in any audit log."""
    seen: dict[str, tuple[str, Node]] = {}
    for user, node in members:
        first, first_node = seen.setdefault(session_name_in_username(user).lower(), (user, node))
        if first.lower() != user.lower():
            raise node.error(
                f"IAM user {user!r} looks like {first!r} ({first_node.path}) in Kubernetes audit logs: both "
                f"are written {session_name_in_username(user)!r} there (aws-iam-authenticator turns '@' into '-' "
                "in {{SessionName}}, and IAM ignores case), so nobody could tell who acted; list only one of them "
                "(rename the other IAM user)"
            )


def _members(node: Node, role_settings: RoleSettings) -> tuple[str, ...]:
    members: list[str] = []
    seen: dict[str, str] = {}
    for mnode in node.items():
        user = mnode.string()
        problem = names.iam_name_problem(user, names.USER_NAME_MAX, "IAM user name")
        if problem:
            raise mnode.error(problem)
        if role_settings.session_name_condition and len(user) < names.SESSION_NAME_MIN:
            raise mnode.error(
                f"IAM user name {user!r} is shorter than {names.SESSION_NAME_MIN} characters and can never be "
                "a role session name, so the session-name trust condition would lock it out; rename the user"
            )
        if user.lower() in seen:
            raise mnode.error(f"user {user!r} is listed twice (also {seen[user.lower()]!r}; IAM ignores case)")
        seen[user.lower()] = user
        members.append(user)
    return tuple(members)
