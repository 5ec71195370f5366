"""Hypothesis strategies for whole config trees (``config/*.yaml`` as data), shared by the property and fuzz tests.

:func:`organisations` draws organisations the loader should accept: a few environments in one or two accounts,
teams with members, projects, grants at every built-in level, admins or a break-glass role, optionally monitoring,
CI and non-default settings. ``long_ids`` stretches ids towards IAM's name limits and ``min_projects``/``max_projects``
towards the group-policy limit, so some draws are refused by the loader or the preflight: callers decide what that
means.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

Config = dict[str, dict[str, Any]]  # file name -> YAML data

ENVIRONMENTS = ("dev", "staging", "prod", "qa")
ACCOUNTS = (("main", "111122223333"), ("prod-account", "444455556666"))
TEAMS = ("payments", "search", "platform", "data", "web")
USERS = ("alice", "bob", "carol", "dave", "erin", "Frank", "grace.h", "heidi_k", "ivan@corp", "judy-m")
PROJECTS = ("projecta", "projectb", "billing", "search-api", "ledger", "p1")
LEVELS = ("view", "operate", "deploy", "admin")


def _subset(draw: st.DrawFn, pool: Sequence[str], min_size: int = 0) -> list[str]:
    return draw(st.lists(st.sampled_from(pool), min_size=min_size, max_size=len(pool), unique=True))


@st.composite
def organisations(draw: st.DrawFn, max_projects: int = 4, long_ids: bool = False, min_projects: int = 1) -> Config:
    envs = _subset(draw, ENVIRONMENTS, min_size=1)[:3]
    accounts = list(ACCOUNTS[: draw(st.integers(1, min(2, len(envs))))])
    # Every account is used: the first environments take one account each, the rest any.
    env_account = {
        env: accounts[i][0] if i < len(accounts) else draw(st.sampled_from(accounts))[0] for i, env in enumerate(envs)
    }
    number = dict(accounts)

    clusters: dict[str, Any] = {}
    for env in envs:
        account = env_account[env]
        node_roles: list[dict[str, str]] = [{"arn": f"arn:aws:iam::{number[account]}:role/eks-{env}-nodes"}]
        if draw(st.booleans()):
            node_roles.append({"arn": f"arn:aws:iam::{number[account]}:role/eks/{env}-pods", "type": "fargate"})
        if draw(st.booleans()):
            node_roles.append({"arn": f"arn:aws:iam::{number[account]}:role/eks-{env}-win", "type": "windows"})
        cluster: dict[str, Any] = {"name": f"eks-{env}", "account": account, "node_roles": node_roles}
        if draw(st.booleans()):
            cluster["break_glass_role"] = f"arn:aws:iam::{number[account]}:role/break-glass-{env}"
        clusters[env] = cluster
    environments = {
        # The home environment (owner of the account's groups) is the account's first environment.
        "accounts": {
            name: {"id": acct, "home_environment": next(e for e in envs if env_account[e] == name)}
            for name, acct in accounts
        },
        "clusters": clusters,
        "environments": {env: {"account": env_account[env], "cluster": env} for env in envs},
    }

    suffix = draw(st.integers(0, 48)) if long_ids else 0
    teams = _subset(draw, TEAMS, min_size=1)
    team_members = {team: _subset(draw, USERS) for team in teams}
    extra = [f"svc{i}" for i in range(max(0, max_projects - len(PROJECTS)))]
    project_pool = [p + ("-" + "x" * suffix if suffix else "") for p in (*PROJECTS, *extra)]
    projects = draw(st.lists(st.sampled_from(project_pool), min_size=min_projects, max_size=max_projects, unique=True))
    project_specs = {
        p: {"owner": draw(st.sampled_from(teams)), "environments": _subset(draw, envs, min_size=1)} for p in projects
    }

    split_by_level = draw(st.booleans())
    grants: dict[str, dict[str, dict[str, str]]] = {}
    for project, spec in project_specs.items():
        for env in spec["environments"]:
            shared_level = draw(st.sampled_from(LEVELS))
            for team in _subset(draw, teams):
                # One role per project-environment unless the role name includes {level}: then levels may differ.
                level = draw(st.sampled_from(LEVELS)) if split_by_level else shared_level
                grants.setdefault(team, {}).setdefault(project, {})[env] = level

    access: dict[str, Any] = {"grants": grants}
    admin_teams = _subset(draw, teams)
    if admin_teams or not all("break_glass_role" in c for c in clusters.values()) or draw(st.booleans()):
        access["cluster_admins"] = {"teams": admin_teams or teams[:1]}
        first_admins = access["cluster_admins"]["teams"][0]
        if not any(team_members[t] for t in access["cluster_admins"]["teams"]):  # an admin path counts people
            team_members[first_admins] = [USERS[0]]
    first_account = number[accounts[0][0]]
    if draw(st.booleans()):
        monitoring: dict[str, Any] = {"trusted_roles": [f"arn:aws:iam::{first_account}:role/prometheus"]}
        if draw(st.booleans()):
            monitoring["trusted_services"] = ["pods.eks.amazonaws.com"]
        access["monitoring"] = monitoring
    if draw(st.booleans()):
        deploys = {p: _subset(draw, spec["environments"], min_size=1) for p, spec in project_specs.items()}
        access["ci"] = {
            "jenkins": {
                "trusted_role": f"arn:aws:iam::{first_account}:role/jenkins",
                "deploys": deploys,
                "service_accounts": draw(st.booleans()),
            }
        }

    settings: dict[str, Any] = {}
    if split_by_level:
        settings["naming"] = {"role": "{project}-{env}-{level}", "kubernetes_group": "{project}:{env}:{level}"}
    roles: dict[str, Any] = {}
    if draw(st.booleans()):
        roles["path"] = draw(st.sampled_from(["/", "/eks-access/", "/teams/platform/"]))
    if draw(st.booleans()):
        roles["mfa"] = {"required": True, "max_age_seconds": draw(st.integers(60, 129600))}
    if draw(st.booleans()):
        roles["session_name_condition"] = False
    if draw(st.booleans()):
        roles["trusted_principals"] = [f"arn:aws:iam::{first_account}:role/engineers"]
        roles["external_id"] = "federation-id"
    if roles:
        settings["roles"] = roles

    return {
        "settings.yaml": settings or {"iam": {"create_users": False}},
        "environments.yaml": environments,
        "teams.yaml": {"teams": {team: {"members": members} for team, members in team_members.items()}},
        "projects.yaml": {"projects": project_specs},
        "access.yaml": access,
    }


def write_tree(directory: Path, data: Config) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (directory / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return directory


@contextmanager
def config_dir(data: Config) -> Iterator[Path]:
    """The tree written to a fresh directory (hypothesis runs many examples per test; tmp_path is per test)."""
    with tempfile.TemporaryDirectory(prefix="eks-access-hypothesis-") as scratch:
        yield write_tree(Path(scratch) / "config", data)


def shuffled(
    data: Any, rng: random.Random, keep: frozenset[tuple[Any, ...]] = frozenset(), path: tuple[Any, ...] = ()
) -> Any:
    """The same data with every mapping's keys and every list in another order, except at the paths in ``keep``.

    A path is the file name and the keys leading to a mapping or list: ``("environments.yaml", "environments")``.
    """
    if isinstance(data, dict):
        keys = list(data)
        if path not in keep:
            rng.shuffle(keys)
        return {key: shuffled(data[key], rng, keep, (*path, key)) for key in keys}
    if isinstance(data, list):
        items = [shuffled(item, rng, keep, (*path, i)) for i, item in enumerate(data)]
        if path not in keep:
            rng.shuffle(items)
        return items
    return data
