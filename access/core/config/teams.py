"""``teams.yaml``: teams and their members (IAM user names, as IAM spells them)."""

from __future__ import annotations

from access.core import names
from access.core.config.nodes import Node, Source, unique_ids
from access.core.model import RoleSettings, Team


def read(source: Source, role_settings: RoleSettings) -> dict[str, Team]:
    node = source.root("teams.yaml").mapping({"teams"}, required=("teams",))["teams"]
    out: dict[str, Team] = {}
    for tid, tnode in unique_ids(node, "team"):
        m = tnode.mapping({"members", "description"}, required=("members",))
        if "description" in m:
            m["description"].string()
        out[tid] = Team(id=tid, members=_members(m["members"], role_settings))
    return out


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
