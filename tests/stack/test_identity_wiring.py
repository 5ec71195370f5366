"""Under Pulumi's mocks, the identity-account example: the team groups, memberships and group policies go through
the identity provider (which assumes access:identityRoleArn and refuses other accounts), the roles through the
stack's own provider into the workload account."""

from __future__ import annotations

import json

import pytest

from access.stack.offline import OfflineRun, run_program
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "identity-account"
PEOPLE_TYPES = ("aws:iam/group:Group", "aws:iam/user:User", "aws:iam/userGroupMembership:UserGroupMembership")
IDENTITY_ROLE = "arn:aws:iam::111111111111:role/eks-access-identity"


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> tuple[str, OfflineRun]:
    return request.param, run_program(EXAMPLE, request.param)


def _identity_provider(run: OfflineRun) -> str:
    (provider,) = [r for r in run.created() if r.type == "pulumi:providers:aws"]
    assert provider.name == "identity"
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["111111111111"]
    assert [a["roleArn"] for a in json.loads(provider.inputs["assumeRoles"])] == [IDENTITY_ROLE]
    return provider.name


def test_people_resources_are_written_through_the_identity_provider(run: tuple[str, OfflineRun]) -> None:
    stack, offline = run
    name = _identity_provider(offline)
    people = [r for r in offline.created() if r.type in (*PEOPLE_TYPES, "aws:iam/groupPolicy:GroupPolicy")]
    assert people
    for resource in people:
        assert resource.provider is not None and f"::{name}::" in resource.provider, resource.name
    for role in offline.of_type("aws:iam/role:Role"):
        assert role.provider in (None, ""), role.name
    # Only the people's home environment declares groups and memberships; no stack declares any IAM user.
    declared = {r.type for r in offline.created() if r.type in PEOPLE_TYPES}
    assert declared == ({PEOPLE_TYPES[0], PEOPLE_TYPES[2]} if stack == "dev" else set())


def test_roles_land_in_the_workload_account(run: tuple[str, OfflineRun]) -> None:
    stack, offline = run
    account = {"dev": "222222222222", "prod": "333333333333"}[stack]
    arns = [arn for levels in offline.outputs["roleArns"].values() for arn in levels.values()]
    assert arns and all(arn.startswith(f"arn:aws:iam::{account}:role/") for arn in arns)
    assert offline.outputs["adminRoleArn"].startswith(f"arn:aws:iam::{account}:role/")
    for role in offline.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert [s["Principal"] for s in trust["Statement"]] == [{"AWS": "arn:aws:iam::111111111111:root"}]


def test_identity_center_resources_go_through_the_identity_provider() -> None:
    offline = run_program(REPO / "examples" / "identity-center", "prod")
    (provider,) = [r for r in offline.created() if r.type == "pulumi:providers:aws"]
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["999999999999"]
    sets = offline.of_type("aws:ssoadmin/permissionSet:PermissionSet")
    assert sorted(s.inputs["name"] for s in sets) == ["eks.payments.prod", "eks.platform.prod"]
    assignments = offline.of_type("aws:ssoadmin/accountAssignment:AccountAssignment")
    assert {(a.inputs["principalType"], a.inputs["targetId"], a.inputs["targetType"]) for a in assignments} == {
        ("GROUP", "333333333333", "AWS_ACCOUNT")
    }
    policies = offline.of_type("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy")
    resources = sorted(json.loads(p.inputs["inlinePolicy"])["Statement"][0]["Resource"] for p in policies)
    assert resources == [
        "arn:aws:iam::333333333333:role/prod-cluster-admins",
        "arn:aws:iam::333333333333:role/projecta-prod-humans",
    ]
    for resource in (*sets, *assignments, *policies):
        assert resource.provider is not None and "::identity::" in resource.provider
    # The groups are looked up by display name in the identity store, through the same provider.
    lookups = [args for token, args in offline.calls if token == "aws:identitystore/getGroup:getGroup"]
    assert sorted(a["alternateIdentifier"]["uniqueAttribute"]["attributeValue"] for a in lookups) == [
        "Payments",
        "Platform",
    ]
    assert {a["identityStoreId"] for a in lookups} == {"d-0123456789"}
    # IAM users of the workload account (search) keep their group there, through the stack's own provider.
    (group,) = offline.of_type("aws:iam/group:Group")
    assert group.inputs["name"] == "eks-access-search" and not group.provider
