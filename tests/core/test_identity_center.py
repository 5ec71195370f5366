"""IAM Identity Center groups as teams: a permission set per team and environment, assigned to the group in the
environment's account; the roles trust that permission set's role by ``aws:PrincipalArn`` pattern; no MFA
condition on SSO principals; the evaluator admits exactly the groups config names."""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Any

import pytest

from access.core import iam
from access.core.config import load
from access.core.evaluate import check_stack, evaluate, intent, verify
from access.core.evaluate.documents import ClusterDocuments
from access.core.evaluate.types import identity_center_group, user
from access.core.model import Organisation
from access.core.plan.environment import plan_environment
from access.errors import ConfigError
from tests.helpers import REPO, ExampleProject

EXAMPLE = REPO / "examples" / "identity-center"
DEV, PROD = "222222222222", "333333333333"
SSO_PATH = "role/aws-reserved/sso.amazonaws.com/"


@pytest.fixture
def org() -> Organisation:
    return load(EXAMPLE / "config", label="config")


@pytest.fixture
def example(tmp_path: Path) -> ExampleProject:
    return ExampleProject("identity-center", tmp_path / "project")


def _iam_matches(pattern: str, value: str) -> bool:
    """ArnLike: '*' any run of characters (across '/'), '?' exactly one (IAM condition operators)."""
    return fnmatch.fnmatchcase(value, pattern)


def test_each_identity_center_team_gets_a_permission_set_per_environment(org: Organisation) -> None:
    plan = plan_environment(org, "prod")
    assert [(p.name, p.group, p.account_id) for p in plan.permission_sets] == [
        ("eks.payments.prod", "Payments", PROD),
        ("eks.platform.prod", "Platform", PROD),
    ]
    by_name = {p.name: p.document for p in plan.permission_sets}
    assert by_name["eks.payments.prod"]["Statement"] == [
        {
            "Sid": "AssumeEksAccessRoles",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Resource": f"arn:aws:iam::{PROD}:role/projecta-prod-humans",
        }
    ]
    # No IAM group for Identity Center teams: only search (IAM users) has one, in its own account.
    assert [g.name for g in plan.groups] == ["eks-access-search"]
    assert [p.group_name for p in plan.group_policies] == ["eks-access-search"]
    assert plan.identity_account_id == "999999999999"


def test_the_trust_names_the_permission_set_role_by_pattern_in_both_path_variants(org: Organisation) -> None:
    role = plan_environment(org, "prod").role("human/projecta/view")
    (statement,) = role.trust_policy["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PROD}:root"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    patterns = statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
    # As Identity Center provisions it (in us-east-1 without the region in the path, elsewhere with it), and again
    # with a new suffix after re-provisioning: every variant passes.
    for arn in (
        f"arn:aws:iam::{PROD}:{SSO_PATH}AWSReservedSSO_eks.payments.prod_1234567890abcdef",
        f"arn:aws:iam::{PROD}:{SSO_PATH}eu-west-2/AWSReservedSSO_eks.payments.prod_abcdef0123456789",
    ):
        assert any(_iam_matches(p, arn) for p in patterns), arn
    # Another permission set, one whose name merely extends this one's, another account: none passes.
    for arn in (
        f"arn:aws:iam::{PROD}:{SSO_PATH}AWSReservedSSO_eks.search.prod_1234567890abcdef",
        f"arn:aws:iam::{PROD}:{SSO_PATH}AWSReservedSSO_eks.payments.prod_x_1234567890abcdef",
        f"arn:aws:iam::{DEV}:{SSO_PATH}AWSReservedSSO_eks.payments.prod_1234567890abcdef",
        f"arn:aws:iam::{PROD}:role/AWSReservedSSO_eks.payments.prod_1234567890abcdef",
    ):
        assert not any(_iam_matches(p, arn) for p in patterns), arn


def test_required_mfa_does_not_lock_sso_principals_out(org: Organisation) -> None:
    """``mfa.required`` is on. IAM: "Bool" on a key absent from the request fails the condition (IAM User Guide,
    "Condition operators": without ...IfExists a missing key evaluates to false), and Identity Center (SAML)
    sessions carry no aws:MultiFactorAuthPresent. So no statement admitting an SSO role may carry it, while the
    IAM users' statement keeps it."""
    assert org.roles.mfa.required
    plan = plan_environment(org, "dev")
    for role in plan.roles:
        for statement in role.trust_policy["Statement"]:
            condition = statement.get("Condition", {})
            if "aws:PrincipalArn" in condition.get("ArnLike", {}):
                assert "Bool" not in condition and "NumericLessThan" not in condition, role.name
                assert "sts:RoleSessionName" not in str(condition)  # an SSO session has no aws:username
            elif statement["Sid"] == "AccountUsersAllowedByGroupPolicy":
                assert condition["Bool"] == {"aws:MultiFactorAuthPresent": "true"}


def test_trusted_sso_principals_become_patterns_without_mfa(example: ExampleProject) -> None:
    arn = f"arn:aws:iam::{DEV}:{SSO_PATH}eu-west-1/AWSReservedSSO_ReadOnly_0123456789abcdef"
    example.edit("settings.yaml", lambda d: d["roles"].update(trusted_principals=[arn]))
    org = example.load()
    plan = plan_environment(org, "dev")
    statements = {s["Sid"]: s for s in plan.role("human/projectb/operate").trust_policy["Statement"]}
    trusted = statements["TrustedIdentityCenterRoles"]
    assert trusted["Principal"] == {"AWS": f"arn:aws:iam::{DEV}:root"}
    assert trusted["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{DEV}:{SSO_PATH}*/AWSReservedSSO_ReadOnly_{'?' * 16}",
                f"arn:aws:iam::{DEV}:{SSO_PATH}AWSReservedSSO_ReadOnly_{'?' * 16}",
            ]
        }
    }
    assert "ExplicitlyTrustedPrincipals" not in statements
    assert iam.sso_principal_patterns(["arn:aws:iam::1:role/plain"]) == []
    check_stack(org, plan)  # the evaluator finds that principal declared, by the same pattern


def test_the_verifier_admits_exactly_the_groups(org: Organisation) -> None:
    evaluation = check_stack(org, plan_environment(org, "dev"))
    assert set(evaluation.assumers[f"arn:aws:iam::{DEV}:role/projecta-dev-humans"]) == {
        identity_center_group(DEV, "Payments")
    }
    assert user(DEV, "carol") in evaluation.assumers[f"arn:aws:iam::{DEV}:role/projectb-dev-humans"]


def _refusal(org: Organisation, docs: ClusterDocuments) -> str:
    with pytest.raises(ConfigError) as error:
        verify(org, evaluate(docs), intent(org, docs.cluster))
    return str(error.value)


def test_a_permission_set_reaching_another_role_that_trusts_it_is_an_over_grant(org: Organisation) -> None:
    """The trust and the permission set's policy must both allow: widen both and Payments reaches cluster-admin."""
    docs = check_stack(org, plan_environment(org, "dev")).documents
    sets = []
    for original_set in docs.permission_sets:
        p = original_set
        if p.name == "eks.payments.dev":
            statement = {**p.document["Statement"][0], "Resource": f"arn:aws:iam::{DEV}:role/*"}
            p = dataclasses.replace(p, document={**p.document, "Statement": [statement]})
        sets.append(p)
    widened = dataclasses.replace(docs, permission_sets=tuple(sets))
    assert evaluate(widened).assumers == evaluate(docs).assumers  # the policy alone: the admin trust keeps it out
    roles = []
    for original in docs.roles:
        role = original
        if role.name == "dev-cluster-admins":
            role = dataclasses.replace(
                role,
                trust=iam.human_trust_policy(DEV, org.roles, (), sso=(DEV, ("eks.platform.dev", "eks.payments.dev"))),
            )
        roles.append(role)
    message = _refusal(org, dataclasses.replace(widened, roles=tuple(roles)))
    assert "Identity Center group Payments would get everything cluster-wide (cluster-admin)" in message


def test_an_exact_sso_role_arn_in_the_trust_is_an_under_grant(org: Organisation) -> None:
    """An exact ARN instead of the pattern stops matching once Identity Center gives the role a new suffix: the
    evaluator checks with another suffix, so it never passes."""
    docs = check_stack(org, plan_environment(org, "dev")).documents
    roles = []
    for original in docs.roles:
        role = original
        if role.name == "projecta-dev-humans":
            statement = dict(role.trust["Statement"][0])
            exact = f"arn:aws:iam::{DEV}:{SSO_PATH}AWSReservedSSO_eks.payments.dev_aaaaaaaaaaaaaaaa"
            statement["Condition"] = {"ArnEquals": {"aws:PrincipalArn": exact}}
            role = dataclasses.replace(role, trust={**role.trust, "Statement": [statement]})
        roles.append(role)
    message = _refusal(org, dataclasses.replace(docs, roles=tuple(roles)))
    # That one role (not the permission set's next one) is admitted, which config never declared.
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: ")
    assert "awsreservedsso_eks.payments.dev_aaaaaaaaaaaaaaaa" in message


def test_members_and_a_group_are_exclusive(example: ExampleProject) -> None:
    example.edit("teams.yaml", lambda d: d["teams"]["payments"].update(members=["alice"]))
    with pytest.raises(ConfigError) as error:
        example.load()
    assert str(error.value).startswith("config/teams.yaml: teams.payments.members: a team is IAM users (members)")


def test_a_group_needs_identity_center(example: ExampleProject) -> None:
    def no_identity_center(data: dict[str, Any]) -> None:
        data.pop("people")
        data["accounts"].pop("management")

    example.edit("environments.yaml", no_identity_center)
    with pytest.raises(ConfigError) as error:
        example.load()
    assert str(error.value) == (
        "config/teams.yaml: teams.payments.identity_center_group: needs people.identity_center in environments.yaml "
        "(the instance and identity store the group is in)"
    )


def test_a_permission_set_name_over_32_characters_is_refused(example: ExampleProject) -> None:
    long_team = "payments-and-billing-team"

    def teams(data: dict[str, Any]) -> None:
        data["teams"][long_team] = data["teams"].pop("payments")

    def grants(data: dict[str, Any]) -> None:
        data["grants"][long_team] = data["grants"].pop("payments")

    example.edit("teams.yaml", teams)
    example.edit("projects.yaml", lambda d: d["projects"]["projecta"].update(owner=long_team))
    example.edit("access.yaml", grants)
    assert example.error() == (
        f"config/teams.yaml: teams.{long_team}.identity_center_group: permission set name "
        f"'eks.{long_team}.dev' (team '{long_team}', environment 'dev') is 33 characters; IAM Identity Center "
        "allows 32: shorten the team or environment id"
    )


def test_the_permission_sets_per_account_quota_is_preflighted(
    example: ExampleProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted per workload account, across its environments (the quota is 250: lowered here to keep it small)."""
    from access.core import quotas

    monkeypatch.setattr(quotas, "PERMISSION_SETS_PER_ACCOUNT", 1)
    assert example.error() == (
        "config/environments.yaml: accounts.dev: account dev would have 2 eks-access permission sets provisioned; "
        "IAM Identity Center allows 1 per account by default (others count too): raise 'Number of provisioned "
        "permission sets allowed per AWS account' or use fewer Identity Center teams"
    )
    monkeypatch.setattr(quotas, "PERMISSION_SETS_PER_ACCOUNT", 250)
    monkeypatch.setattr(quotas, "PERMISSION_SETS_PER_INSTANCE", 3)
    assert example.error().startswith(
        "config/environments.yaml: people.identity_center: eks-access would create 4 permission sets; "
    )


def test_an_sso_caller_may_enter_exactly_its_permission_sets_roles(org: Organisation) -> None:
    from access.core.callers import admissions, caller_from_arn

    plan = plan_environment(org, "dev")
    payments = caller_from_arn(
        f"arn:aws:sts::{DEV}:assumed-role/AWSReservedSSO_eks.payments.dev_1234567890abcdef/alice@example.com"
    )
    admitted = admissions(plan, org, payments)
    assert [(a.role.name, a.session_name, a.mfa) for a in admitted] == [
        ("projecta-dev-humans", "alice@example.com", False)
    ]
    other = caller_from_arn(f"arn:aws:sts::{DEV}:assumed-role/AWSReservedSSO_ReadOnly_1234567890abcdef/bob")
    assert admissions(plan, org, other) == []
    identity_user = caller_from_arn(f"arn:aws:iam::{DEV}:user/carol")
    assert [a.role.name for a in admissions(plan, org, identity_user)] == ["projectb-dev-humans"]
