"""EnvironmentIam under Pulumi's mocks: which IAM resources each environment's stack declares, under which
parent, with which inputs, and which role ARNs (resolved from the Role Outputs) reach each group policy.

``run_program`` runs the real program to completion, so every Output (the group policies' JSON included)
is resolved before the recorded inputs are read. Content is tested in test_iam_documents.py; here only
what flows where.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import mocks as pulumi_mocks

from access.core import iam
from access.core.model import Mfa, RoleSettings
from access.stack import pulumi_internals
from access.stack.offline import AccessMocks, OfflineRun, Registered, run_program
from tests.helpers import REPO, ConfigTree

ACCOUNT = "111122223333"
ROLE = "aws:iam/role:Role"
GROUP = "aws:iam/group:Group"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
USER_GROUP_MEMBERSHIP = "aws:iam/userGroupMembership:UserGroupMembership"
GROUP_MEMBERSHIP = "aws:iam/groupMembership:GroupMembership"
USER = "aws:iam/user:User"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
COMPONENT = "eks-access:iam:EnvironmentIam"
DEFAULT_TRUST = iam.policy_json(iam.human_trust_policy(ACCOUNT, RoleSettings()))
ADMIN_TRUST = iam.policy_json(iam.human_trust_policy(ACCOUNT, RoleSettings(), members=("erin",)))


def iam_run(project: Path, stack: str) -> tuple[OfflineRun, dict[tuple[str, str], str]]:
    """The run and the URN of every resource by (type, name); the URN carries the parent's type."""
    run = run_program(project, stack)
    # set_mocks installed a MockMonitor for this run; its registrations are Pulumi's own record of URNs.
    urns = {}
    for urn in pulumi_internals.registered_urns():
        _, _, qualified_type, name = urn.split("::", 3)
        urns[(qualified_type.rsplit("$", 1)[-1], name)] = urn
    return run, urns


def iam_resources(run: OfflineRun) -> list[Registered]:
    return [r for r in run.created() if r.type.startswith("aws:iam/")]


def iam_counts(run: OfflineRun) -> dict[str, int]:
    return dict(Counter(r.type for r in iam_resources(run)))


def by_name(run: OfflineRun, typ: str) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in run.of_type(typ)}


# --- types and counts per environment -----------------------------------------------------------------------------


def test_home_environment_declares_roles_groups_policies_and_memberships() -> None:
    run, _ = iam_run(REPO, "dev")  # dev is the first environment of account main: its home
    assert iam_counts(run) == {ROLE: 5, GROUP: 3, GROUP_POLICY: 3, USER_GROUP_MEMBERSHIP: 5}
    assert sorted(by_name(run, GROUP)) == [
        "dev-eks-access-payments",
        "dev-eks-access-platform",
        "dev-eks-access-search",
    ]
    assert by_name(run, GROUP)["dev-eks-access-payments"] == {"name": "eks-access-payments", "path": "/"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_other_environments_declare_only_their_roles_and_group_policies(stack: str) -> None:
    run, _ = iam_run(REPO, stack)
    assert iam_counts(run) == {ROLE: 5, GROUP_POLICY: 3}
    assert sorted(by_name(run, ROLE)) == sorted(
        f"{stack}-{name}"
        for name in (
            f"projecta-{stack}-humans",
            f"projectb-{stack}-humans",
            f"{stack}-cluster-admins",
            f"{stack}-monitoring",
            f"jenkins-{stack}-deployer",
        )
    )
    # the groups live in the home environment's stack: referenced by name, never declared here
    assert {inputs["group"] for inputs in by_name(run, GROUP_POLICY).values()} == {
        "eks-access-payments",
        "eks-access-platform",
        "eks-access-search",
    }


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_iam_resource_is_a_child_of_the_environments_component(stack: str) -> None:
    run, urns = iam_run(REPO, stack)
    assert urns[(COMPONENT, stack)] == f"urn:pulumi:{stack}::eks-access::pulumi:pulumi:Stack${COMPONENT}::{stack}"
    resources = iam_resources(run)
    assert resources
    for resource in resources:
        assert (
            urns[(resource.type, resource.name)]
            == f"urn:pulumi:{stack}::eks-access::{COMPONENT}${resource.type}::{resource.name}"
        )
        assert resource.name.startswith(f"{stack}-")


# --- which ARNs reach which group policy ---------------------------------------------------------------------------

OUTPUT_PATH = "/resolved-from-output/"


@pytest.fixture
def distinct_output_arns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the mocked Role ARNs differ from the ones the plan computes (another path), so a group policy can
    only contain them if the ARN came through the Role's Output."""
    original = AccessMocks.new_resource

    def new_resource(self: AccessMocks, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = original(self, args)
        if args.typ == ROLE:
            state["arn"] = f"arn:aws:iam::{ACCOUNT}:role{OUTPUT_PATH}{state['name']}"
        return resource_id, state

    monkeypatch.setattr(AccessMocks, "new_resource", new_resource)


def output_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role{OUTPUT_PATH}{name}"


@pytest.mark.usefixtures("distinct_output_arns")
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_group_policy_allows_exactly_its_teams_role_arns_from_the_role_outputs(stack: str) -> None:
    run, _ = iam_run(REPO, stack)
    policy_name = f"eks-access-{stack}"
    expected = {
        "payments": [output_arn(f"projecta-{stack}-humans")],
        "search": [output_arn(f"projectb-{stack}-humans")],
        "platform": [output_arn(f"{stack}-cluster-admins")],
    }
    assert by_name(run, GROUP_POLICY) == {
        f"{stack}-eks-access-{team}-{policy_name}": {
            "group": f"eks-access-{team}",
            "name": policy_name,
            "policy": iam.policy_json(iam.assume_roles_policy(arns)),
        }
        for team, arns in expected.items()
    }


@pytest.mark.usefixtures("distinct_output_arns")
def test_a_team_with_several_roles_gets_all_of_them_in_one_policy(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["grants"]["payments"].update(projectb={"staging": "operate"}))
    tree.edit("access.yaml", lambda d: d["cluster_admins"].update(teams=["platform", "payments"]))
    run, _ = iam_run(tree.project(), "staging")
    policy = json.loads(by_name(run, GROUP_POLICY)["staging-eks-access-payments-eks-access-staging"]["policy"])
    assert policy["Statement"][0]["Resource"] == sorted(
        [
            output_arn("projecta-staging-humans"),
            output_arn("projectb-staging-humans"),
            output_arn("staging-cluster-admins"),
        ]
    )


# --- role inputs --------------------------------------------------------------------------------------------------


def test_role_inputs_carry_the_trust_policy_tags_and_session_duration() -> None:
    run, _ = iam_run(REPO, "prod")
    assert by_name(run, ROLE)["prod-projecta-prod-humans"] == {
        "name": "projecta-prod-humans",
        "path": "/",
        "assumeRolePolicy": DEFAULT_TRUST,
        "maxSessionDuration": 3600,
        "description": "eks-access human role (human/projecta/view) for environment prod",
        "tags": {
            "cost-center": "platform",
            "environment": "prod",
            "level": "view",
            "managed-by": "eks-access",
            "project": "projecta",
            "team": "payments",
        },
    }
    roles = by_name(run, ROLE)
    assert json.loads(roles["prod-prod-monitoring"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:role/prometheus"
    }
    assert roles["prod-prod-cluster-admins"]["assumeRolePolicy"] == ADMIN_TRUST
    assert roles["prod-jenkins-prod-deployer"]["tags"]["purpose"] == "ci-deployer"


def test_role_settings_reach_every_role(tree: ConfigTree) -> None:
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/eks-access-boundary"
    tree.edit(
        "settings.yaml",
        lambda d: d["roles"].update(
            path="/eks/",
            max_session_duration=43200,
            permissions_boundary=boundary,
            mfa={"required": True, "max_age_seconds": 3600},
        ),
    )
    run, _ = iam_run(tree.project(), "staging")
    roles = by_name(run, ROLE)
    assert len(roles) == 5
    for inputs in roles.values():
        assert (inputs["path"], inputs["maxSessionDuration"], inputs["permissionsBoundary"]) == (
            "/eks/",
            43200,
            boundary,
        )
    human_trust = iam.human_trust_policy(ACCOUNT, RoleSettings(mfa=Mfa(required=True, max_age_seconds=3600)))
    assert roles["staging-projecta-staging-humans"]["assumeRolePolicy"] == iam.policy_json(human_trust)
    policies = by_name(run, GROUP_POLICY)
    assert json.loads(policies["staging-eks-access-search-eks-access-staging"]["policy"])["Statement"][0][
        "Resource"
    ] == (f"arn:aws:iam::{ACCOUNT}:role/eks/projectb-staging-humans")


def test_no_permissions_boundary_unless_configured() -> None:
    run, _ = iam_run(REPO, "staging")
    assert all("permissionsBoundary" not in inputs for inputs in by_name(run, ROLE).values())


def test_managed_policies_are_attached_to_human_roles_only(tree: ConfigTree) -> None:
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    tree.edit("settings.yaml", lambda d: d["roles"].update(managed_policy_arns=[read_only]))
    run, urns = iam_run(tree.project(), "prod")
    assert by_name(run, ROLE_POLICY_ATTACHMENT) == {
        "prod-projecta-prod-humans-ReadOnlyAccess": {"role": "projecta-prod-humans", "policyArn": read_only},
        "prod-projectb-prod-humans-ReadOnlyAccess": {"role": "projectb-prod-humans", "policyArn": read_only},
    }
    assert (
        urns[(ROLE_POLICY_ATTACHMENT, "prod-projecta-prod-humans-ReadOnlyAccess")].split("::")[2]
        == f"{COMPONENT}${ROLE_POLICY_ATTACHMENT}"
    )


# --- groups, memberships, users -------------------------------------------------------------------------------------


def test_memberships_are_non_exclusive_one_per_user_listing_all_their_groups(tree: ConfigTree) -> None:
    tree.edit("teams.yaml", lambda d: d["teams"]["search"]["members"].append("alice"))
    run, _ = iam_run(tree.project(), "dev")
    assert GROUP_MEMBERSHIP not in iam_counts(run)  # exclusive: it would remove users added by hand
    assert by_name(run, USER_GROUP_MEMBERSHIP) == {
        "dev-membership-alice": {"user": "alice", "groups": ["eks-access-payments", "eks-access-search"]},
        "dev-membership-bob": {"user": "bob", "groups": ["eks-access-payments"]},
        "dev-membership-carol": {"user": "carol", "groups": ["eks-access-search"]},
        "dev-membership-dave": {"user": "dave", "groups": ["eks-access-search"]},
        "dev-membership-erin": {"user": "erin", "groups": ["eks-access-platform"]},
    }


def test_users_are_created_only_when_asked_and_only_by_the_home_environment(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d.setdefault("iam", {}).update(create_users=True))
    project = tree.project()
    run, urns = iam_run(project, "dev")
    users = by_name(run, USER)
    assert users == {
        f"dev-user-{name}": {"name": name, "tags": {"managed-by": "eks-access"}}
        for name in ("alice", "bob", "carol", "dave", "erin")
    }
    assert urns[(USER, "dev-user-alice")].split("::")[2] == f"{COMPONENT}${USER}"
    assert by_name(run, USER_GROUP_MEMBERSHIP)["dev-membership-alice"] == {
        "user": "alice",
        "groups": ["eks-access-payments"],
    }
    staging, _ = iam_run(project, "staging")
    assert USER not in iam_counts(staging)


def test_declared_home_environment_owns_the_groups(tree: ConfigTree) -> None:
    tree.edit("environments.yaml", lambda d: d["accounts"]["main"].update(home_environment="staging"))
    project = tree.project()
    staging, _ = iam_run(project, "staging")
    dev, _ = iam_run(project, "dev")
    assert iam_counts(staging) == {ROLE: 5, GROUP: 3, GROUP_POLICY: 3, USER_GROUP_MEMBERSHIP: 5}
    assert iam_counts(dev) == {ROLE: 5, GROUP_POLICY: 3}


def test_each_account_has_its_own_home_environment(tree: ConfigTree) -> None:
    def prod_account(data: dict[str, Any]) -> None:
        data["accounts"]["prodacct"] = {"id": "444455556666"}
        cluster = data["clusters"]["prod"]
        cluster["account"] = "prodacct"
        for node in cluster["node_roles"]:
            node["arn"] = node["arn"].replace(ACCOUNT, "444455556666")
        cluster["break_glass_role"] = cluster["break_glass_role"].replace(ACCOUNT, "444455556666")
        data["environments"]["prod"]["account"] = "prodacct"

    tree.edit("environments.yaml", prod_account)
    project = tree.project()
    stack_file = project / "Pulumi.prod.yaml"  # prod's credentials are now the other account's
    stack_file.write_text(stack_file.read_text().replace(f'["{ACCOUNT}"]', '["444455556666"]'))
    prod, _ = iam_run(project, "prod")
    staging, _ = iam_run(project, "staging")
    assert iam_counts(prod) == {ROLE: 5, GROUP: 3, GROUP_POLICY: 3, USER_GROUP_MEMBERSHIP: 5}
    assert iam_counts(staging) == {ROLE: 5, GROUP_POLICY: 3}
    assert by_name(prod, GROUP_POLICY)["prod-eks-access-payments-eks-access-prod"]["policy"] == iam.policy_json(
        iam.assume_roles_policy(["arn:aws:iam::444455556666:role/projecta-prod-humans"])
    )


# --- determinism ---------------------------------------------------------------------------------------------------


def test_two_runs_declare_identical_resources_with_identical_inputs() -> None:
    def snapshot(run: OfflineRun) -> list[str]:
        return sorted(json.dumps([r.type, r.name, r.inputs], sort_keys=True) for r in run.created())

    first, _ = iam_run(REPO, "dev")
    second, _ = iam_run(REPO, "dev")
    assert snapshot(first) == snapshot(second)
    assert len(snapshot(first)) == len(first.created()) > 16
