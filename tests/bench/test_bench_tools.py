"""The benchmark's tools on tiny organisations: make_org writes config that loads, the floor replays exactly what
the program registers, and change locality counts the resources a config change touches. Nothing here is timed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from access.core.config import FILES, load
from access.core.plan.environment import plan_environment
from access.core.quotas import preflight
from access.stack.offline import Fixtures, run_program
from bench.make_org import OrgShape, generate, main, make_org
from bench.plan_scale import (
    MEMBERSHIP,
    Recorded,
    diff_runs,
    floor_program,
    live_aws_auth,
    locality,
    project_environment_added,
    record,
    user_joins_team,
)

TINY = OrgShape(teams=6, users=20, teams_per_user=(1, 2), projects=5, environments=2, seed=7)
ONE_ENV = OrgShape(teams=6, users=20, teams_per_user=(1, 2), projects=5, environments=1, seed=7)


def test_make_org_writes_a_config_tree_that_loads_and_plans(tmp_path: Path) -> None:
    make_org(tmp_path, TINY)
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == sorted(FILES)
    org = load(tmp_path / "config", label="config")
    assert sorted(org.environments) == ["dev", "staging"]
    assert sorted(org.teams) == [f"team-00{i}" for i in range(1, 7)]
    assert sorted(org.projects) == [f"proj-000{i}" for i in range(1, 6)]
    assert all(p.environments == ("dev", "staging") for p in org.projects.values())
    teams_per_user: dict[str, int] = {}
    for team in org.teams.values():
        for user in team.members:
            teams_per_user[user] = teams_per_user.get(user, 0) + 1
    assert sorted(teams_per_user) == [f"user-{i:05d}" for i in range(1, 21)]
    assert set(teams_per_user.values()) <= {1, 2}
    assert org.admin_teams == ("team-001",)
    # One account per environment by default; small organisations need no raised quotas.
    assert {a.id: (a.account_id, a.quotas.roles_per_account) for a in org.accounts.values()} == {
        "acct-dev": ("100000000001", 1000),
        "acct-staging": ("100000000002", 1000),
    }
    preflight(org)
    for env in org.environments:
        plan = plan_environment(org, env)
        assert sorted(plan.namespaces.values()) == [f"proj-000{i}-{env}" for i in range(1, 6)]


def test_make_org_writes_stack_files_with_selectors_only(tmp_path: Path) -> None:
    make_org(tmp_path, TINY)
    assert yaml.safe_load((tmp_path / "Pulumi.staging.yaml").read_text()) == {
        "config": {
            "aws:region": "eu-west-1",
            "access:environment": "staging",
            "access:authMode": "config_map",
            "access:clusterSource": "existing",
        }
    }
    assert yaml.safe_load((tmp_path / "Pulumi.yaml").read_text())["name"] == "eks-access"


def test_one_account_puts_every_environment_in_it(tmp_path: Path) -> None:
    make_org(tmp_path, OrgShape(teams=4, users=8, projects=3, environments=4, one_account=True, seed=2))
    org = load(tmp_path / "config", label="config")
    assert sorted(org.accounts) == ["main"]
    assert {e.id: (e.account, e.cluster) for e in org.environments.values()} == {
        "dev": ("main", "dev"),
        "staging": ("main", "staging"),
        "prod": ("main", "prod"),
        "qa": ("main", "qa"),
    }


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    make_org(tmp_path / "a", TINY)
    make_org(tmp_path / "b", TINY)
    make_org(tmp_path / "c", OrgShape(**{**TINY.__dict__, "seed": 8}))
    for name in FILES:
        assert (tmp_path / "a/config" / name).read_bytes() == (tmp_path / "b/config" / name).read_bytes()
    assert (tmp_path / "a/config/teams.yaml").read_bytes() != (tmp_path / "c/config/teams.yaml").read_bytes()


def test_impossible_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="teams per user 3-2 must lie within 1-6"):
        generate(OrgShape(teams=6, users=5, teams_per_user=(3, 2)))


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "org"
    assert main([str(out), "--teams", "6", "--users", "20", "--teams-per-user", "1-2", "--projects", "5"]) == 0
    assert capsys.readouterr().out == (
        f"wrote {out}: 6 teams, 20 users, 5 projects x 1 environments = 5 project-environments; quotas declared: none\n"
    )
    assert load(out / "config").environments.keys() == {"dev"}
    with pytest.raises(SystemExit) as refused:
        main([str(out), "--teams-per-user", "x"])
    assert refused.value.code == 2


def test_the_floor_registers_exactly_what_the_program_registers(tmp_path: Path) -> None:
    make_org(tmp_path, ONE_ENV)
    program = record(tmp_path)
    floor = run_program(
        tmp_path, "dev", Fixtures(live_aws_auth=live_aws_auth(tmp_path, "dev")), program=floor_program(program)
    )
    assert len(program) == 63
    assert sorted((r.type, r.name, r.read) for r in floor.resources) == sorted(
        (r.type, r.name, r.read) for r in program
    )
    floor_inputs = {(r.type, r.name): r.inputs for r in floor.resources}
    assert all(floor_inputs[(r.type, r.name)] == r.inputs for r in program)


def test_diff_runs_keys_by_type_and_name_and_ignores_reads() -> None:
    role = "aws:iam/role:Role"
    before = [
        Recorded(role, "a", {"name": "a"}, read=False),
        Recorded(role, "b", {"name": "b"}, read=False),
        Recorded("kubernetes:core/v1:ConfigMap", "live", {}, read=True),
    ]
    after = [
        Recorded(role, "b", {"name": "b", "path": "/x/"}, read=False),
        Recorded(role, "c", {"name": "c"}, read=False),
        Recorded("kubernetes:core/v1:ConfigMap", "live", {"data": {}}, read=True),
    ]
    result = diff_runs(before, after)
    assert (result.added, result.removed, result.changed) == ([(role, "c")], [(role, "a")], [(role, "b")])
    assert result.total == 3


def test_one_user_joining_a_team_changes_one_membership(tmp_path: Path) -> None:
    data = make_org(tmp_path, ONE_ENV)
    user, team = user_joins_team(copy.deepcopy(data))
    assert (user, team) == ("user-00002", "team-002")
    change = locality(tmp_path, data, user_joins_team)
    assert change.added == change.removed == []
    assert change.changed == [(MEMBERSHIP, "dev-membership-user-00002")]


def test_adding_a_project_environment_adds_its_own_resources_and_touches_two(tmp_path: Path) -> None:
    data = make_org(tmp_path, ONE_ENV)
    project, owner = project_environment_added(copy.deepcopy(data))
    assert (project, owner) == ("proj-0006", "team-006")
    change = locality(tmp_path, data, project_environment_added)
    rbac = "kubernetes:rbac.authorization.k8s.io/v1"
    assert change.added == [
        ("aws:iam/role:Role", "dev-proj-0006-dev-humans"),
        ("kubernetes:core/v1:NamespacePatch", "dev-namespace/proj-0006-dev"),
        ("kubernetes:core/v1:ServiceAccount", "dev-serviceaccount/proj-0006-dev/jenkins-deployer"),
        (f"{rbac}:RoleBinding", "dev-rolebinding/proj-0006-dev/eks-access:ci:jenkins"),
        (f"{rbac}:RoleBinding", "dev-rolebinding/proj-0006-dev/eks-access:humans:operate"),
    ]
    assert change.removed == []
    # mapRoles gains the new role; the owner team's assume-role policy names it.
    assert change.changed == [
        ("aws:iam/groupPolicy:GroupPolicy", "dev-eks-access-team-006-eks-access-dev"),
        ("kubernetes:core/v1:ConfigMapPatch", "dev-aws-auth"),
    ]


# -- bench/commands.py: whole commands (issue 14, item 1) ---------------------------------------------------------


def test_whole_commands_run_the_real_cli_and_count_what_they_print(tmp_path: Path) -> None:
    import sys

    from bench.commands import access, run_whole

    make_org(tmp_path, ONE_ENV)
    whole = run_whole(access("plan", "--stack", "dev", "--project-dir", str(tmp_path), "--format", "json"))
    assert whole.output_bytes > 1000 and whole.cpu_seconds > 0 and whole.peak_rss_mib > 10
    with pytest.raises(RuntimeError, match="exited 2"):
        run_whole([sys.executable, "-m", "access", "plan", "--project-dir", str(tmp_path / "missing")])


def test_the_diff_sides_are_one_membership_apart(tmp_path: Path) -> None:
    from bench.commands import access, one_membership_apart, run_whole

    data = make_org(tmp_path / "base", ONE_ENV)
    joined = one_membership_apart(tmp_path / "base", tmp_path / "head", data)
    user, team = joined.split(" joins ")
    before, after = load(tmp_path / "base" / "config"), load(tmp_path / "head" / "config")
    assert user not in before.teams[team].members and user in after.teams[team].members
    assert {t: v.members for t, v in before.teams.items() if t != team} == {
        t: v.members for t, v in after.teams.items() if t != team
    }
    diff = ["diff", "--base", str(tmp_path / "base"), "--project-dir", str(tmp_path / "head"), "--stack", "dev"]
    assert run_whole(access(*diff, "--format", "text")).output_bytes > 0


def test_the_report_misses_a_target_only_from_1000_project_environments(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.commands import Row, Whole, report

    slow = Whole(cpu_seconds=30.0, seconds=30.0, peak_rss_mib=100, output_bytes=10)
    commands = {"plan json": slow, "plan text": slow, "diff": slow}
    assert report([Row(100, 2000, 10.0, commands)])  # 3x the floor, but no target below 1,000
    assert not report([Row(1000, 10000, 20.0, commands)])  # 1.5x: plan misses 1.3, diff meets 2.6
    out = capsys.readouterr().out
    assert out.count("MISSED") == 2 and "<= 2.6" in out
