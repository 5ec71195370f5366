"""Exact IAM documents: trust policies for every trust case, the teams' assume-role policies, sizes.

Content is asserted as whole dicts (and, where bytes matter, as the exact JSON). Two independent checkers
back our own opinion: policyuniverse (no wildcard principal) and parliament (operators and condition
keys valid for the action; it misreads Principal, so trust statements are checked without it).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parliament import analyze_policy_string
from policyuniverse.policy import Policy

from access.core import iam
from access.core.model import CiDeployer, GithubOidc, Mfa, Monitoring, Organisation, RoleSettings
from access.core.plan.groups import build_group_policies
from access.core.plan.roles import build_roles
from access.errors import ConfigError
from tests.helpers import REPO, ConfigTree

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
SSO_PREFIX = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
SSO_ROLE = f"{SSO_PREFIX}eu-west-1/AWSReservedSSO_Dev_0123456789abcdef"
PARTNER_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/partner-operators"
SESSION_NAME = {"StringEqualsIgnoreCase": {"sts:RoleSessionName": "${aws:username}"}}
MFA_DEFAULT = {
    "Bool": {"aws:MultiFactorAuthPresent": "true"},
    "NumericLessThan": {"aws:MultiFactorAuthAge": "86400"},
}


def root_statement(condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "AccountUsersAllowedByGroupPolicy",
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "sts:AssumeRole",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust_statements_as_identity_policy(doc: dict[str, Any]) -> str:
    """parliament reads identity policies: drop Principal, name the role as Resource, keep the rest."""
    converted = copy.deepcopy(doc)
    for statement in converted["Statement"]:
        statement.pop("Principal")
        statement["Resource"] = f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans"
    return json.dumps(converted)


def parliament_findings(policy: str) -> list[tuple[str, str]]:
    return sorted((f.issue, str(f.detail)) for f in analyze_policy_string(policy).findings)


# --- human roles: account root + conditions ------------------------------------------------------------------------


def test_default_trust_is_account_root_with_session_name_pinned_to_user_name() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings())
    assert policy == document(root_statement(SESSION_NAME))
    assert iam.policy_json(policy) == (
        '{"Statement":[{"Action":"sts:AssumeRole","Condition":{"StringEqualsIgnoreCase":{"sts:RoleSessionName":'
        '"${aws:username}"}},"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},'
        '"Sid":"AccountUsersAllowedByGroupPolicy"}],"Version":"2012-10-17"}'
    )


def test_mfa_adds_bool_present_and_numeric_age_next_to_session_name() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings(mfa=Mfa(required=True)))
    assert policy == document(root_statement({**SESSION_NAME, **MFA_DEFAULT}))


def test_mfa_age_is_the_configured_number_of_seconds_as_a_string() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings(mfa=Mfa(required=True, max_age_seconds=3600)))
    assert policy["Statement"][0]["Condition"]["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
    # Bool, never BoolIfExists: an IfExists operator in an Allow admits callers without MFA context.
    assert "BoolIfExists" not in iam.policy_json(policy)


def test_session_name_condition_off_leaves_no_condition_at_all() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings(session_name_condition=False))
    assert policy == document(root_statement(None))


def test_session_name_off_with_mfa_keeps_only_the_mfa_conditions() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings(session_name_condition=False, mfa=Mfa(required=True)))
    assert policy == document(root_statement(MFA_DEFAULT))


def test_explicit_principals_get_their_own_statement_with_external_id_and_no_session_name() -> None:
    settings = RoleSettings(trusted_principals=(PARTNER_ROLE, SSO_ROLE), external_id="eks-access-partner")
    policy = iam.human_trust_policy(ACCOUNT, settings)
    sso_patterns = [f"{SSO_PREFIX}*/AWSReservedSSO_Dev_{'?' * 16}", f"{SSO_PREFIX}AWSReservedSSO_Dev_{'?' * 16}"]
    assert policy == document(
        root_statement(SESSION_NAME),
        {
            "Sid": "ExplicitlyTrustedPrincipals",
            "Effect": "Allow",
            "Principal": {"AWS": PARTNER_ROLE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "eks-access-partner"}},
        },
        # An Identity Center role: by pattern (its suffix changes when re-provisioned), its account as principal.
        {
            "Sid": "TrustedIdentityCenterRoles",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": sso_patterns},
                "StringEquals": {"sts:ExternalId": "eks-access-partner"},
            },
        },
        {
            "Sid": "TrustedIdentityCenterRoleChaining",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["sts:SetSourceIdentity", "sts:TagSession"],
            "Condition": {"ArnLike": {"aws:PrincipalArn": sso_patterns}},
        },
    )


def test_one_explicit_principal_is_a_string_and_mfa_applies_to_it_too() -> None:
    settings = RoleSettings(trust_account_root=False, trusted_principals=(PARTNER_ROLE,), mfa=Mfa(required=True))
    policy = iam.human_trust_policy(ACCOUNT, settings)
    assert policy == document(
        {
            "Sid": "ExplicitlyTrustedPrincipals",
            "Effect": "Allow",
            "Principal": {"AWS": PARTNER_ROLE},
            "Action": "sts:AssumeRole",
            "Condition": MFA_DEFAULT,
        }
    )


def test_explicit_principals_without_external_id_or_mfa_have_no_condition() -> None:
    settings = RoleSettings(trusted_principals=(PARTNER_ROLE, PARTNER_ROLE))
    policy = iam.human_trust_policy(ACCOUNT, settings)
    assert policy["Statement"][1] == {
        "Sid": "ExplicitlyTrustedPrincipals",
        "Effect": "Allow",
        "Principal": {"AWS": PARTNER_ROLE},
        "Action": "sts:AssumeRole",
    }


@given(st.permutations([SSO_ROLE, PARTNER_ROLE, f"arn:aws:iam::{OTHER_ACCOUNT}:user/auditor", ROOT]))
def test_order_of_trusted_principals_never_changes_the_bytes(principals: list[str]) -> None:
    settings = RoleSettings(trusted_principals=tuple(principals), external_id="x-1")
    reference = RoleSettings(trusted_principals=tuple(sorted(principals)), external_id="x-1")
    assert iam.policy_json(iam.human_trust_policy(ACCOUNT, settings)) == iam.policy_json(
        iam.human_trust_policy(ACCOUNT, reference)
    )


# --- cluster-wide principals -------------------------------------------------------------------------------------


def test_monitoring_trusted_roles() -> None:
    prometheus = f"arn:aws:iam::{ACCOUNT}:role/prometheus"
    grafana = f"arn:aws:iam::{OTHER_ACCOUNT}:role/grafana"
    policy = iam.monitoring_trust_policy(Monitoring(trusted_roles=(prometheus, grafana), trusted_services=()), ACCOUNT)
    assert policy == document(
        {
            "Sid": "MonitoringSystemRoles",
            "Effect": "Allow",
            "Principal": {"AWS": [prometheus, grafana]},
            "Action": "sts:AssumeRole",
        }
    )


def test_pod_identity_service_is_trusted_with_tag_session() -> None:
    policy = iam.monitoring_trust_policy(
        Monitoring(trusted_roles=(), trusted_services=("pods.eks.amazonaws.com",)), ACCOUNT
    )
    # the EKS user guide's Pod Identity trust policy, statement for statement, with the confused-deputy guard
    assert policy == document(
        {
            "Sid": "MonitoringSessionTaggingServices",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )


def test_services_that_do_not_tag_sessions_get_assume_role_only() -> None:
    monitoring = Monitoring(
        trusted_roles=(f"arn:aws:iam::{ACCOUNT}:role/prometheus",),
        trusted_services=("ec2.amazonaws.com", "pods.eks.amazonaws.com"),
    )
    assert iam.monitoring_trust_policy(monitoring, ACCOUNT) == document(
        {
            "Sid": "MonitoringSystemRoles",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/prometheus"},
            "Action": "sts:AssumeRole",
        },
        {
            "Sid": "MonitoringServices",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        },
        {
            "Sid": "MonitoringSessionTaggingServices",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        },
    )


def github_ci(branch: str | None, environment: str | None, provider: str | None = None) -> CiDeployer:
    return CiDeployer(
        id="deployer",
        trusted_role_arn=None,
        github=GithubOidc(repository="acme/projecta", branch=branch, environment=environment, provider_arn=provider),
        deploys=(("projecta", "dev"),),
        service_accounts=False,
    )


def oidc_statement(provider: str, subject: str) -> dict[str, Any]:
    return {
        "Sid": "GithubActionsOidc",
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": subject,
            }
        },
    }


def test_github_oidc_restricted_to_one_branch() -> None:
    policy = iam.ci_trust_policy(ACCOUNT, github_ci(branch="main", environment=None))
    assert policy == document(
        oidc_statement(
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
            "repo:acme/projecta:ref:refs/heads/main",
        )
    )


def test_github_oidc_restricted_to_a_deployment_environment_with_an_explicit_provider() -> None:
    provider = f"arn:aws:iam::{OTHER_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    policy = iam.ci_trust_policy(ACCOUNT, github_ci(branch=None, environment="production", provider=provider))
    assert policy == document(oidc_statement(provider, "repo:acme/projecta:environment:production"))


def test_ci_build_agent_role() -> None:
    jenkins = f"arn:aws:iam::{ACCOUNT}:role/jenkins"
    ci = CiDeployer("jenkins", trusted_role_arn=jenkins, github=None, deploys=(), service_accounts=True)
    assert iam.ci_trust_policy(ACCOUNT, ci) == document(
        {"Sid": "BuildAgentRole", "Effect": "Allow", "Principal": {"AWS": jenkins}, "Action": "sts:AssumeRole"}
    )


# --- the teams' group policies -----------------------------------------------------------------------------------


def test_group_policy_for_one_role_has_a_single_resource_with_its_full_path() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/teams/eks/projecta-dev-humans"
    assert iam.assume_roles_policy([arn]) == {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumeEksAccessRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}],
    }


def test_group_policy_for_several_roles_lists_them_sorted_and_once() -> None:
    admin = f"arn:aws:iam::{ACCOUNT}:role/dev-cluster-admins"
    human = f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans"
    policy = iam.assume_roles_policy([human, admin, human])
    assert policy["Statement"][0]["Resource"] == [admin, human]
    assert iam.policy_json(policy) == (
        '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Resource":['
        '"arn:aws:iam::111122223333:role/dev-cluster-admins","arn:aws:iam::111122223333:role/projecta-dev-humans"],'
        '"Sid":"AssumeEksAccessRoles"}],"Version":"2012-10-17"}'
    )


def test_group_policy_without_roles_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one role ARN"):
        iam.assume_roles_policy([])


def test_sample_group_policies_allow_exactly_each_teams_roles(sample_org: Organisation) -> None:
    roles = build_roles(sample_org, "dev")
    policies = {p.group_name: p for p in build_group_policies(sample_org, "dev", roles)}
    assert sorted(policies) == ["eks-access-payments", "eks-access-platform", "eks-access-search"]
    assert {name: p.policy_name for name, p in policies.items()} == dict.fromkeys(policies, "eks-access-dev")
    assert policies["eks-access-payments"].document == iam.assume_roles_policy(
        [f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans"]
    )
    assert policies["eks-access-search"].document["Statement"][0]["Resource"] == (
        f"arn:aws:iam::{ACCOUNT}:role/projectb-dev-humans"
    )
    assert policies["eks-access-platform"].document["Statement"][0]["Resource"] == (
        f"arn:aws:iam::{ACCOUNT}:role/dev-cluster-admins"
    )


def test_role_path_is_kept_in_group_policies(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(path="/teams/eks/"))
    org = tree.load()
    roles = build_roles(org, "staging")
    policy = next(p for p in build_group_policies(org, "staging", roles) if p.team == "payments")
    assert (
        policy.document["Statement"][0]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/teams/eks/projecta-staging-humans"
    )


def test_sample_roles_carry_the_documents_above(sample_org: Organisation) -> None:
    roles = {r.key: r for r in build_roles(sample_org, "prod")}
    assert roles["human/projecta/view"].trust_policy == document(root_statement(SESSION_NAME))
    # The admin role is closed to the admin teams' members by default (cluster_admins.trust: members).
    assert roles["admin"].trust_policy == document(
        {
            "Sid": "TeamMembersAllowedByGroupPolicy",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEqualsIgnoreCase": {"sts:RoleSessionName": "${aws:username}", "aws:username": "erin"}},
        }
    )
    assert roles["monitoring"].trust_policy == document(
        {
            "Sid": "MonitoringSystemRoles",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/prometheus"},
            "Action": "sts:AssumeRole",
        }
    )
    assert roles["ci/jenkins"].trust_policy == document(
        {
            "Sid": "BuildAgentRole",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/jenkins"},
            "Action": "sts:AssumeRole",
        }
    )


def test_closed_trust_names_exactly_the_members_ignoring_case_and_order() -> None:
    policy = iam.human_trust_policy(ACCOUNT, RoleSettings(), members=("bob", "Alice", "bob"))
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "TeamMembersAllowedByGroupPolicy"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Condition"] == {
        "StringEqualsIgnoreCase": {"sts:RoleSessionName": "${aws:username}", "aws:username": ["Alice", "bob"]}
    }


def test_project_roles_close_their_trust_with_roles_trust_members(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(trust="members"))
    roles = {r.key: r for r in build_roles(tree.load(), "dev")}
    conditions = roles["human/projecta/operate"].trust_policy["Statement"][0]["Condition"]
    assert conditions["StringEqualsIgnoreCase"]["aws:username"] == ["alice", "bob"]
    assert roles["human/projectb/operate"].trust_policy["Statement"][0]["Condition"]["StringEqualsIgnoreCase"][
        "aws:username"
    ] == ["carol", "dave"]


# --- sizes -------------------------------------------------------------------------------------------------------


def test_sizes_are_the_compact_json_length() -> None:
    assert iam.policy_size(iam.human_trust_policy(ACCOUNT, RoleSettings())) == 258
    assert iam.policy_size(iam.human_trust_policy(ACCOUNT, RoleSettings(mfa=Mfa(required=True)))) == 356
    assert iam.policy_size(iam.assume_roles_policy([f"arn:aws:iam::{ACCOUNT}:role/projecta-dev-humans"])) == 176


def test_size_does_not_count_white_space_inside_values() -> None:
    spaced = {"Version": "2012-10-17", "Statement": [{"Sid": "a b c"}]}
    assert len(iam.policy_json(spaced)) == 54
    assert iam.policy_size(spaced) == 52


# --- determinism and independent checkers -------------------------------------------------------------------------

DUMP_ALL_DOCUMENTS = """
import sys
from access.core import config
from access.core import iam
from access.core.plan.groups import build_group_policies
from access.core.plan.roles import build_roles
org = config.load("config", label="config")
for env in sorted(org.environments):
    roles = build_roles(org, env)
    for role in roles:
        print(role.name, iam.policy_json(role.trust_policy))
    for policy in build_group_policies(org, env, roles):
        print(policy.group_name, policy.policy_name, iam.policy_json(policy.document))
"""


def test_documents_are_byte_identical_across_processes() -> None:
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", DUMP_ALL_DOCUMENTS], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 24  # 3 environments x (5 roles + 3 team group policies)


ALL_TRUST_CASES = [
    iam.human_trust_policy(ACCOUNT, RoleSettings()),
    iam.human_trust_policy(ACCOUNT, RoleSettings(mfa=Mfa(required=True), session_name_condition=False)),
    iam.human_trust_policy(
        ACCOUNT, RoleSettings(trusted_principals=(SSO_ROLE, PARTNER_ROLE), external_id="abc-123", mfa=Mfa(True))
    ),
    iam.monitoring_trust_policy(
        Monitoring(trusted_roles=(PARTNER_ROLE,), trusted_services=("ec2.amazonaws.com", "pods.eks.amazonaws.com")),
        ACCOUNT,
    ),
    iam.ci_trust_policy(ACCOUNT, CiDeployer("j", PARTNER_ROLE, None, (), False)),
]


@pytest.mark.parametrize("policy", ALL_TRUST_CASES, ids=lambda p: p["Statement"][-1]["Sid"])
def test_no_trust_policy_names_a_wildcard_or_group_principal(policy: dict[str, Any]) -> None:
    assert not Policy(policy).is_internet_accessible()
    principals = json.dumps([s["Principal"] for s in policy["Statement"]])
    assert "*" not in principals
    assert ":group/" not in principals


def test_policyuniverse_does_flag_a_wildcard_principal() -> None:
    # the checker above can fail: it sees an open trust policy
    open_trust = document({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})
    assert Policy(open_trust).is_internet_accessible()


@pytest.mark.parametrize("policy", ALL_TRUST_CASES, ids=lambda p: p["Statement"][-1]["Sid"])
def test_parliament_knows_every_operator_and_condition_key_of_the_trust_policies(policy: dict[str, Any]) -> None:
    assert parliament_findings(trust_statements_as_identity_policy(policy)) == []


def test_parliament_lists_github_keys_as_provider_specific_and_nothing_else() -> None:
    # <provider host>:aud and :sub are keys of the OIDC provider, not of STS, so parliament's service
    # reference cannot know them; any other finding (a misspelt operator or key) would show up here.
    policy = iam.ci_trust_policy(ACCOUNT, github_ci(branch="main", environment=None))
    assert parliament_findings(trust_statements_as_identity_policy(policy)) == [
        (
            "UNKNOWN_CONDITION_FOR_ACTION",
            "Unknown condition token.actions.githubusercontent.com:aud for action sts:AssumeRoleWithWebIdentity",
        ),
        (
            "UNKNOWN_CONDITION_FOR_ACTION",
            "Unknown condition token.actions.githubusercontent.com:sub for action sts:AssumeRoleWithWebIdentity",
        ),
    ]


@pytest.mark.parametrize(
    ("condition", "issue"),
    [
        ({"StringEquals": {"sts:RoleSesionName": "${aws:username}"}}, "UNKNOWN_CONDITION_FOR_ACTION"),
        ({"Boolean": {"aws:MultiFactorAuthPresent": "true"}}, "UNKNOWN_OPERATOR"),
        ({"Bool": {"aws:MultiFactorAuthAge": "true"}}, "MISMATCHED_TYPE"),
    ],
)
def test_parliament_catches_a_wrong_key_operator_or_type(condition: dict[str, Any], issue: str) -> None:
    # the negative control for the checks above: parliament does read trust conditions
    bad = document(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/x",
            "Condition": condition,
        }
    )
    assert [found for found, _ in parliament_findings(json.dumps(bad))] == [issue]


def test_parliament_accepts_the_group_policy() -> None:
    policy = iam.assume_roles_policy(
        [f"arn:aws:iam::{ACCOUNT}:role/teams/projecta-dev-humans", f"arn:aws:iam::{ACCOUNT}:role/dev-cluster-admins"]
    )
    assert parliament_findings(iam.policy_json(policy)) == []


# --- what config may not ask for -----------------------------------------------------------------------------------


def test_a_group_is_refused_as_trusted_principal(tree: ConfigTree) -> None:
    group = f"arn:aws:iam::{ACCOUNT}:group/admins"
    tree.edit("settings.yaml", lambda d: d["roles"].update(trusted_principals=[group]))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        f"config/settings.yaml: roles.trusted_principals[0]: {group!r} is an IAM group; a group can never be a "
        "principal (IAM rejects it), use its role"
    )


def test_a_wildcard_is_refused_as_trusted_principal(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(trusted_principals=[f"arn:aws:iam::{ACCOUNT}:role/*"]))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/settings.yaml: roles.trusted_principals[0]: wildcard principal 'arn:aws:iam::111122223333:role/*' "
        "is not allowed; name the exact role or user ARN"
    )


def test_one_character_user_is_refused_while_session_name_condition_is_on(tree: ConfigTree) -> None:
    tree.edit("teams.yaml", lambda d: d["teams"]["payments"]["members"].append("x"))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/teams.yaml: teams.payments.members[2]: IAM user name 'x' is shorter than 2 characters and can never "
        "be a role session name, so the session-name trust condition would lock it out; rename the user"
    )
    tree.edit("settings.yaml", lambda d: d["roles"].update(session_name_condition=False))
    assert tree.load().teams["payments"].members == ("alice", "bob", "x")
