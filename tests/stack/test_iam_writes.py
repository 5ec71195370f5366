"""Issue 14, item 7: the IAM write budget the plan states is the calls the program's IAM resources make on create.

Cross-checked against what the real program declares under mocks: one CreateRole per ``aws.iam.Role``, one
AttachRolePolicy per ``RolePolicyAttachment``, one CreateGroup per ``Group``, one PutGroupPolicy per
``GroupPolicy``, one AddUserToGroup per group of each ``UserGroupMembership``, one CreateUser per ``User``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from access.core.loading import load_stack
from access.core.plan.writes import PLANNING_RATE, first_apply_iam_writes, minutes_at
from access.stack.offline import run_program
from bench.make_org import OrgShape, make_org
from tests.helpers import ConfigTree, put


def declared_calls(project: Path, stack: str) -> dict[str, int]:
    run = run_program(project, stack)
    calls = {
        "CreateRole": len(run.of_type("aws:iam/role:Role")),
        "AttachRolePolicy": len(run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")),
        "CreateGroup": len(run.of_type("aws:iam/group:Group")),
        "PutGroupPolicy": len(run.of_type("aws:iam/groupPolicy:GroupPolicy")),
        "AddUserToGroup": sum(
            len(r.inputs["groups"]) for r in run.of_type("aws:iam/userGroupMembership:UserGroupMembership")
        ),
        "CreateUser": len(run.of_type("aws:iam/user:User")),
    }
    return {name: n for name, n in calls.items() if n}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_sample_stacks_budget_is_what_the_program_declares(tmp_path: Path, stack: str) -> None:
    project = ConfigTree(tmp_path).project()
    assert first_apply_iam_writes(load_stack(project, stack).plan) == declared_calls(project, stack)


def test_managed_policies_count_one_attach_each(tmp_path: Path) -> None:
    tree = ConfigTree(tmp_path)
    arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    put("settings.yaml", ["roles", "managed_policy_arns"], arns)(tree)
    project = tree.project()
    plan = load_stack(project, "dev").plan
    calls = first_apply_iam_writes(plan)
    assert calls["AttachRolePolicy"] == sum(len(r.managed_policy_arns) for r in plan.roles) > 0
    assert calls == declared_calls(project, "dev")


def test_a_generated_organisation(tmp_path: Path) -> None:
    make_org(tmp_path, OrgShape(teams=6, users=30, teams_per_user=(1, 3), projects=8, environments=1, seed=5))
    plan = load_stack(tmp_path, "dev").plan
    calls = first_apply_iam_writes(plan)
    assert calls == declared_calls(tmp_path, "dev")
    assert calls["AddUserToGroup"] == sum(len(m.groups) for m in plan.memberships) >= 30


def test_minutes_at_the_planning_rate() -> None:
    assert PLANNING_RATE == 10
    assert minutes_at(5430) == pytest.approx(9.05)
    assert minutes_at(600, rate=5) == 2
