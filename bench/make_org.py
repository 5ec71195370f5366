"""Write a synthetic organisation: a config tree like ``config/`` of a given size and shape, seeded.

The same arguments always give byte-identical files, so benchmark runs are comparable. Examples::

    # one environment with 1,000 projects: the per-stack benchmark
    python bench/make_org.py out/org-1000 --teams 200 --users 2000 --teams-per-user 1-3 --projects 1000

    # 250 projects in 4 environments sharing one AWS account (1,000 project-environments): the quota case
    python bench/make_org.py out/org-250x4 --projects 250 --environments 4 --one-account

The output directory holds ``config/`` and ``Pulumi.yaml`` + one ``Pulumi.<env>.yaml`` per environment, so
``python -m access plan --project-dir out/org-1000 --stack dev`` works on it. Raised IAM quotas are declared in
``accounts.<id>.quotas`` where the organisation needs more than AWS's defaults (computed by the real planner).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make the access package importable
    sys.path.insert(0, str(REPO))

from access.core.config import load  # noqa: E402
from access.core.model import MAX_GROUPS_PER_ACCOUNT, MAX_ROLES_PER_ACCOUNT, Quotas  # noqa: E402
from access.core.plan.groups import account_team_groups  # noqa: E402
from access.core.plan.roles import build_roles  # noqa: E402

ENVIRONMENT_IDS = ("dev", "staging", "prod", "qa", "perf", "demo")
# Access level of a team on a project-environment: most teams operate their projects, some deploy by hand.
LEVEL_WEIGHTS = {"operate": 50, "deploy": 20, "view": 20, "admin": 10}
FIRST_ACCOUNT_NUMBER = 100000000000
REGION = "eu-west-1"
Config = dict[str, dict[str, Any]]  # file name -> YAML data


@dataclass(frozen=True)
class OrgShape:
    teams: int = 200
    users: int = 2000
    teams_per_user: tuple[int, int] = (1, 3)
    projects: int = 100
    environments: int = 1
    one_account: bool = False
    shared_grant_chance: float = 0.25  # a second team granted the owner's level on a project-environment
    seed: int = 1

    def environment_ids(self) -> list[str]:
        extra = [f"env{i}" for i in range(len(ENVIRONMENT_IDS) + 1, self.environments + 1)]
        return [*ENVIRONMENT_IDS, *extra][: self.environments]

    @property
    def project_environments(self) -> int:
        return self.projects * self.environments


def team_id(index: int) -> str:
    return f"team-{index:03d}"


def user_name(index: int) -> str:
    return f"user-{index:05d}"


def project_id(index: int) -> str:
    return f"proj-{index:04d}"


def account_number(index: int) -> str:
    return str(FIRST_ACCOUNT_NUMBER + index)


def generate(shape: OrgShape) -> Config:
    """The organisation's YAML data, file by file (quotas not yet declared: see :func:`declare_quotas`)."""
    if shape.teams < 1 or shape.users < 1 or shape.projects < 0 or shape.environments < 1:
        raise ValueError("need at least one team, one user and one environment")
    low, high = shape.teams_per_user
    if not 1 <= low <= high <= shape.teams:
        raise ValueError(f"teams per user {low}-{high} must lie within 1-{shape.teams}")
    rng = random.Random(shape.seed)
    envs = shape.environment_ids()
    teams = [team_id(i) for i in range(1, shape.teams + 1)]
    admin_team = teams[0]  # the platform team: cluster admins everywhere

    if shape.one_account:
        accounts = {"main": {"id": account_number(1), "home_environment": envs[0]}}
        account_of = dict.fromkeys(envs, "main")
    else:
        accounts = {f"acct-{env}": {"id": account_number(i)} for i, env in enumerate(envs, start=1)}
        account_of = {env: f"acct-{env}" for env in envs}
    clusters: dict[str, Any] = {}
    for env in envs:
        number = accounts[account_of[env]]["id"]
        node_roles: list[dict[str, str]] = [{"arn": f"arn:aws:iam::{number}:role/eks-{env}-nodes"}]
        if env == envs[0]:
            node_roles.append({"arn": f"arn:aws:iam::{number}:role/eks-{env}-fargate-pods", "type": "fargate"})
        clusters[env] = {"name": f"eks-{env}", "account": account_of[env], "node_roles": node_roles}
    environments = {
        "accounts": accounts,
        "clusters": clusters,
        "environments": {env: {"account": account_of[env], "cluster": env} for env in envs},
    }

    members: dict[str, list[str]] = {team: [] for team in teams}
    for i in range(1, shape.users + 1):
        for team in rng.sample(teams, rng.randint(low, high)):
            members[team].append(user_name(i))
    teams_yaml = {
        "teams": {team: {"description": f"Synthetic team {team}", "members": members[team]} for team in teams}
    }

    projects: dict[str, Any] = {}
    grants: dict[str, dict[str, dict[str, str]]] = {}
    levels, weights = zip(*LEVEL_WEIGHTS.items(), strict=True)
    for i in range(1, shape.projects + 1):
        pid = project_id(i)
        owner = rng.choice(teams)
        projects[pid] = {"owner": owner, "environments": list(envs)}
        for env in envs:
            level = rng.choices(levels, weights)[0]
            grants.setdefault(owner, {}).setdefault(pid, {})[env] = level
            if rng.random() < shape.shared_grant_chance:
                # Same level: with the default naming one role per project-environment serves every team on it.
                other = rng.choice(teams)
                if other != owner:
                    grants.setdefault(other, {}).setdefault(pid, {})[env] = level
    first_account = accounts[account_of[envs[0]]]["id"]
    access = {
        "grants": grants,
        "cluster_admins": {"teams": [admin_team]},
        "monitoring": {"trusted_roles": [f"arn:aws:iam::{first_account}:role/prometheus"]},
        "ci": {
            "jenkins": {
                "trusted_role": f"arn:aws:iam::{first_account}:role/jenkins",
                "deploys": {pid: list(envs) for pid in projects},
                "service_accounts": True,
            }
        },
    }
    return {
        "settings.yaml": {"roles": {"tags": {"cost-center": "platform"}}},
        "environments.yaml": environments,
        "teams.yaml": teams_yaml,
        "projects.yaml": {"projects": projects},
        "access.yaml": access,
    }


def write_config(config_dir: Path, data: Config) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, content in data.items():
        (config_dir / name).write_text(yaml.safe_dump(content, sort_keys=False, width=120), encoding="utf-8")


def needed_quotas(config_dir: Path) -> dict[str, Quotas]:
    """Per account id, the IAM quotas the organisation needs (roles and groups), computed by the real planner."""
    org = load(config_dir)
    needs: dict[str, Quotas] = {}
    for account in org.accounts:
        roles = sum(len(build_roles(org, e.id)) for e in org.environments.values() if e.account == account)
        groups = len(account_team_groups(org, account))
        needs[account] = Quotas(roles_per_account=roles, groups_per_account=groups)
    return needs


def _raise_to(needed: int, default: int, ceiling: int) -> int | None:
    """The quota to ask AWS for: the need rounded up to the next hundred, or None when the default is enough."""
    if needed <= default:
        return None
    return min(ceiling, math.ceil(needed / 100) * 100)


def declare_quotas(config_dir: Path, data: Config) -> dict[str, dict[str, int]]:
    """Add ``accounts.<id>.quotas`` where the organisation exceeds AWS's defaults; returns what was declared."""
    defaults = Quotas()
    declared: dict[str, dict[str, int]] = {}
    for account, need in needed_quotas(config_dir).items():
        quotas: dict[str, int] = {}
        roles = _raise_to(need.roles_per_account, defaults.roles_per_account, MAX_ROLES_PER_ACCOUNT)
        groups = _raise_to(need.groups_per_account, defaults.groups_per_account, MAX_GROUPS_PER_ACCOUNT)
        if roles is not None:
            quotas["roles_per_account"] = roles
        if groups is not None:
            quotas["groups_per_account"] = groups
        if quotas:
            data["environments.yaml"]["accounts"][account]["quotas"] = quotas
            declared[account] = quotas
    if declared:
        write_config(config_dir, {"environments.yaml": data["environments.yaml"]})
    return declared


def write_stack_files(project_dir: Path, environments: Sequence[str]) -> None:
    """Pulumi.yaml and one stack file per environment, selectors only, as in the repository."""
    (project_dir / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for env in environments:
        stack = {
            "config": {
                "aws:region": REGION,
                "access:environment": env,
                "access:authMode": "config_map",
                "access:clusterSource": "existing",
            }
        }
        (project_dir / f"Pulumi.{env}.yaml").write_text(yaml.safe_dump(stack, sort_keys=False), encoding="utf-8")


def make_org(project_dir: Path, shape: OrgShape) -> Config:
    """Write ``project_dir/config`` (quotas declared where needed) and the stack files; returns the data."""
    data = generate(shape)
    config_dir = project_dir / "config"
    write_config(config_dir, data)
    declare_quotas(config_dir, data)
    write_stack_files(project_dir, shape.environment_ids())
    return data


def _range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range like 1-3") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="project directory to write (config/ and Pulumi.*.yaml)")
    parser.add_argument("--teams", type=int, default=OrgShape.teams)
    parser.add_argument("--users", type=int, default=OrgShape.users)
    parser.add_argument("--teams-per-user", type=_range, default=OrgShape.teams_per_user, metavar="LOW-HIGH")
    parser.add_argument("--projects", type=int, default=OrgShape.projects)
    parser.add_argument("--environments", type=int, default=OrgShape.environments)
    parser.add_argument("--one-account", action="store_true", help="every environment in one AWS account")
    parser.add_argument("--shared-grant-chance", type=float, default=OrgShape.shared_grant_chance)
    parser.add_argument("--seed", type=int, default=OrgShape.seed)
    args = parser.parse_args(argv)
    shape = OrgShape(
        teams=args.teams,
        users=args.users,
        teams_per_user=args.teams_per_user,
        projects=args.projects,
        environments=args.environments,
        one_account=args.one_account,
        shared_grant_chance=args.shared_grant_chance,
        seed=args.seed,
    )
    try:
        data = make_org(args.out, shape)
    except ValueError as problem:
        parser.error(str(problem))
    quotas = {a: v["quotas"] for a, v in data["environments.yaml"]["accounts"].items() if "quotas" in v}
    print(
        f"wrote {args.out}: {shape.teams} teams, {shape.users} users, {shape.projects} projects x "
        f"{shape.environments} environments = {shape.project_environments} project-environments; "
        f"quotas declared: {quotas or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
