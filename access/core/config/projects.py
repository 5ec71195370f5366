"""``projects.yaml``: projects, the team that owns each, and the environments they run in."""

from __future__ import annotations

from access.core.config.nodes import Source, reference, unique_ids
from access.core.model import Environment, Project, Team


def read(source: Source, teams: dict[str, Team], environments: dict[str, Environment]) -> dict[str, Project]:
    node = source.root("projects.yaml").mapping({"projects"}, required=("projects",))["projects"]
    out: dict[str, Project] = {}
    for pid, pnode in unique_ids(node, "project"):
        m = pnode.mapping({"owner", "environments", "description"}, required=("owner", "environments"))
        if "description" in m:
            m["description"].string()
        owner = reference(m["owner"], teams, "team", "teams.yaml")
        envs: list[str] = []
        for enode in m["environments"].items():
            env = reference(enode, environments, "environment", "environments.yaml")
            if env in envs:
                raise enode.error(f"environment {env!r} is listed twice")
            envs.append(env)
        out[pid] = Project(id=pid, owner=owner, environments=tuple(envs))
    return out
