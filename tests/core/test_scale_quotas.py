"""Quotas at scale: 250 projects x 4 environments in one AWS account (1,000 project-environments).

The organisation comes from ``bench/make_org.py`` (seeded, so the counts below are exact). With the quotas it
declares, preflight passes; without them, preflight names the one quota to raise and the value to raise it to.
One IAM group per team and account keeps every user far inside IAM's 10 groups per user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from access.core import iam, names
from access.core.config import load
from access.core.model import GROUP_INLINE_POLICY_CHARS, GROUPS_PER_USER, Organisation, Quotas
from access.core.plan.environment import plan_environment
from access.core.plan.groups import account_team_groups, build_group_policies
from access.core.plan.roles import build_roles
from access.core.quotas import preflight
from access.errors import ConfigError
from bench.make_org import Config, OrgShape, make_org, needed_quotas, write_config

SHAPE = OrgShape(teams=200, users=2000, teams_per_user=(1, 3), projects=250, environments=4, one_account=True)
ENVIRONMENTS = ["dev", "staging", "prod", "qa"]


@pytest.fixture(scope="module")
def one_account(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config, Organisation]:
    project_dir = tmp_path_factory.mktemp("org-250x4")
    data = make_org(project_dir, SHAPE)
    return project_dir, data, load(project_dir / "config", label="config")


def without_quotas(project_dir: Path, data: Config, tmp_path: Path) -> Path:
    bare: dict[str, Any] = {name: content for name, content in data.items()}
    environments = dict(data["environments.yaml"])
    main = data["environments.yaml"]["accounts"]["main"]
    environments["accounts"] = {"main": {k: v for k, v in main.items() if k != "quotas"}}
    bare["environments.yaml"] = environments
    write_config(tmp_path / "config", bare)
    return tmp_path / "config"


def test_the_organisation_has_the_shape_asked_for(one_account: tuple[Path, Config, Organisation]) -> None:
    _, _, org = one_account
    assert sorted(org.environments) == sorted(ENVIRONMENTS)
    assert {e.account for e in org.environments.values()} == {"main"}
    assert len(org.projects) == 250
    assert sum(len(p.environments) for p in org.projects.values()) == 1000
    assert len({u.lower() for t in org.teams.values() for u in t.members}) == 2000


def test_declared_quotas_are_what_the_plan_needs_rounded_up(one_account: tuple[Path, Config, Organisation]) -> None:
    project_dir, data, org = one_account
    # 1,000 human roles + per environment one admin, one monitoring and one CI role; 183 teams hold grants.
    assert needed_quotas(project_dir / "config") == {"main": Quotas(roles_per_account=1012, groups_per_account=183)}
    assert sum(len(build_roles(org, env)) for env in ENVIRONMENTS) == 1012
    assert data["environments.yaml"]["accounts"]["main"] == {
        "id": "100000000001",
        "home_environment": "dev",
        "quotas": {"roles_per_account": 1100},
    }
    assert org.accounts["main"].quotas == Quotas(roles_per_account=1100)


def test_preflight_passes_with_the_declared_quotas(one_account: tuple[Path, Config, Organisation]) -> None:
    _, _, org = one_account
    preflight(org)  # raises ConfigError on the first limit exceeded


def test_without_the_quotas_preflight_says_which_quota_to_raise_and_to_what(
    one_account: tuple[Path, Config, Organisation], tmp_path: Path
) -> None:
    project_dir, data, _ = one_account
    config_dir = without_quotas(project_dir, data, tmp_path)
    with pytest.raises(ConfigError) as raised:
        preflight(load(config_dir, label="config"))
    assert str(raised.value) == (
        "config/environments.yaml: accounts.main.quotas.roles_per_account: account main (100000000001) needs 1012 "
        "IAM roles across dev, prod, qa, staging; the quota is 1000: raise 'IAM roles per account' to at least 1012 "
        "(max 5000) and declare it here"
    )


def test_every_user_stays_within_ten_groups(one_account: tuple[Path, Config, Organisation]) -> None:
    _, _, org = one_account
    home = org.accounts["main"].home_environment
    plan = plan_environment(org, home)
    assert plan.owns_account_iam
    # One group per team and account, not per environment or project.
    assert len(plan.groups) == 183
    grouped = set(account_team_groups(org, "main"))
    teams_of: dict[str, set[str]] = {}
    for team in org.teams.values():
        for user in team.members:
            teams_of.setdefault(user, set()).add(team.id)
    assert len(plan.memberships) == 1930  # users in at least one team holding grants in the account
    for membership in plan.memberships:
        expected = sorted(names.iam_group_name(org.naming, t) for t in teams_of[membership.user] & grouped)
        assert list(membership.groups) == expected
        assert len(membership.groups) <= GROUPS_PER_USER
    # ...while many users reach more roles than they could hold groups, were there one group per role.
    reachable: dict[str, set[str]] = {}
    for env in ENVIRONMENTS:
        for role in build_roles(org, env):
            for team_id in role.teams:
                for user in org.teams[team_id].members:
                    reachable.setdefault(user, set()).add(role.arn)
    assert max(len(arns) for arns in reachable.values()) > GROUPS_PER_USER


def test_every_group_policy_total_fits_across_the_four_environments(
    one_account: tuple[Path, Config, Organisation],
) -> None:
    _, _, org = one_account
    totals: dict[str, int] = {}
    for env in ENVIRONMENTS:
        for policy in build_group_policies(org, env, build_roles(org, env)):
            totals[policy.team] = totals.get(policy.team, 0) + iam.policy_size(policy.document)
    assert len(totals) == 183
    assert max(totals.values()) <= GROUP_INLINE_POLICY_CHARS


def test_role_names_fit_at_scale(one_account: tuple[Path, Config, Organisation]) -> None:
    _, _, org = one_account
    for env in ENVIRONMENTS:
        for role in build_roles(org, env):
            assert names.iam_name_problem(role.name, names.ROLE_NAME_MAX, "role name") is None
            assert iam.policy_size(role.trust_policy) <= org.accounts["main"].quotas.role_trust_policy_chars


def test_more_teams_than_the_group_quota_declares_groups_too(tmp_path: Path) -> None:
    shape = OrgShape(teams=400, users=800, teams_per_user=(1, 2), projects=500, environments=1, seed=3)
    data = make_org(tmp_path, shape)
    need = needed_quotas(tmp_path / "config")["acct-dev"]
    assert need.groups_per_account > 300
    declared = data["environments.yaml"]["accounts"]["acct-dev"]["quotas"]
    assert declared == {"groups_per_account": 400}
    preflight(load(tmp_path / "config", label="config"))

    bare = dict(data)
    bare["environments.yaml"] = {**data["environments.yaml"], "accounts": {"acct-dev": {"id": "100000000001"}}}
    write_config(tmp_path / "bare", bare)
    with pytest.raises(ConfigError) as raised:
        preflight(load(tmp_path / "bare", label="config"))
    assert str(raised.value) == (
        "config/environments.yaml: accounts.acct-dev.quotas.groups_per_account: account acct-dev (100000000001) "
        f"needs {need.groups_per_account} IAM groups (one per team); the quota is 300: raise 'IAM groups per account' "
        f"to at least {need.groups_per_account} (max 500) and declare it here"
    )


def test_one_cluster_cannot_hold_3000_project_environments(tmp_path: Path) -> None:
    """EKS allows 3,000 access entries per cluster; nodes, admins, monitoring and CI need five more."""
    make_org(tmp_path, OrgShape(projects=3000, environments=1))
    with pytest.raises(ConfigError) as raised:
        preflight(load(tmp_path / "config", label="config"))
    assert str(raised.value) == (
        "config/environments.yaml: clusters.dev: cluster 'eks-dev' would need 3005 principals; EKS allows 3000 "
        "access entries per cluster: split projects across clusters"
    )
