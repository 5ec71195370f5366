"""People in a central identity account (``people.account``): groups and memberships once, in that account, owned
by one stack; every environment's group policy on them; every person's role in a workload account trusting the
identity account and nothing else; quotas where they apply; the evaluator reading it all across accounts."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from access.core.config import load
from access.core.evaluate import check_stack, evaluate, intent, verify
from access.core.evaluate.documents import ClusterDocuments, GroupPolicyDocument
from access.core.evaluate.types import PrincipalKind, user
from access.core.loading import load_stack
from access.core.model import AuthMode, Organisation, RoleKind
from access.core.plan.environment import plan_environment
from access.errors import ConfigError
from tests.helpers import REPO, ExampleProject

EXAMPLE = REPO / "examples" / "identity-account"
IDENTITY, DEV, PROD = "111111111111", "222222222222", "333333333333"
PEOPLE_KINDS = (RoleKind.HUMAN, RoleKind.ADMIN)


@pytest.fixture
def org() -> Organisation:
    return load(EXAMPLE / "config", label="config")


@pytest.fixture
def example(tmp_path: Path) -> ExampleProject:
    return ExampleProject("identity-account", tmp_path / "project")


# --- the done criteria --------------------------------------------------------------------------------------


def test_no_stack_declares_a_user_group_or_membership_in_a_workload_account(org: Organisation) -> None:
    dev, prod = plan_environment(org, "dev"), plan_environment(org, "prod")
    assert (dev.account_id, prod.account_id) == (DEV, PROD)
    assert dev.people_account_id == prod.people_account_id == IDENTITY
    assert dev.people_elsewhere and prod.people_elsewhere
    # The identity account's groups and memberships: once, in the home environment's stack.
    assert dev.owns_account_iam and not prod.owns_account_iam
    assert [g.name for g in dev.groups] == ["eks-access-payments", "eks-access-platform", "eks-access-search"]
    assert {m.user: m.groups for m in dev.memberships} == {
        "alice": ("eks-access-payments",),
        "bob": ("eks-access-payments",),
        "carol": ("eks-access-search",),
        "erin": ("eks-access-platform",),
    }
    assert prod.groups == () and prod.memberships == () and prod.users_to_create == ()


def test_every_persons_role_trusts_only_the_identity_account(org: Organisation) -> None:
    for env in ("dev", "prod"):
        plan = plan_environment(org, env)
        people_roles = [r for r in plan.roles if r.kind in PEOPLE_KINDS]
        assert people_roles
        for role in people_roles:
            principals = [s["Principal"] for s in role.trust_policy["Statement"]]
            assert principals == [{"AWS": f"arn:aws:iam::{IDENTITY}:root"}], role.name
            condition = role.trust_policy["Statement"][0]["Condition"]["StringEqualsIgnoreCase"]
            assert condition["sts:RoleSessionName"] == "${aws:username}"
            assert role.arn.startswith(f"arn:aws:iam::{plan.account_id}:role/")


def test_the_identity_accounts_group_policies_name_exactly_the_workload_roles(org: Organisation) -> None:
    docs = check_stack(org, plan_environment(org, "prod")).documents
    assert {p.account_id for p in docs.group_policies} == {IDENTITY}
    assert {m.account_id for m in docs.memberships} == {IDENTITY}
    by_policy = {(p.group, p.name): p.document["Statement"][0]["Resource"] for p in docs.group_policies}
    # prod's cluster reads every environment's policies on the identity account's groups: dev's name dev's roles.
    assert by_policy == {
        ("eks-access-payments", "eks-access-dev"): f"arn:aws:iam::{DEV}:role/projecta-dev-humans",
        ("eks-access-payments", "eks-access-prod"): f"arn:aws:iam::{PROD}:role/projecta-prod-humans",
        ("eks-access-platform", "eks-access-dev"): f"arn:aws:iam::{DEV}:role/dev-cluster-admins",
        ("eks-access-platform", "eks-access-prod"): f"arn:aws:iam::{PROD}:role/prod-cluster-admins",
        ("eks-access-search", "eks-access-dev"): f"arn:aws:iam::{DEV}:role/projectb-dev-humans",
        ("eks-access-search", "eks-access-prod"): f"arn:aws:iam::{PROD}:role/projectb-prod-humans",
    }


def test_the_verifier_passes_and_names_identity_account_users(org: Organisation) -> None:
    evaluation = check_stack(org, plan_environment(org, "dev"))
    assumers = evaluation.assumers[f"arn:aws:iam::{DEV}:role/projecta-dev-humans"]
    assert set(assumers) == {user(IDENTITY, "alice"), user(IDENTITY, "bob")}


# --- the evaluator on hand-written documents: cross-account trust it must refuse ---------------------------------


def _docs(org: Organisation, env: str = "dev") -> ClusterDocuments:
    return check_stack(org, plan_environment(org, env)).documents


def _refusal(org: Organisation, docs: ClusterDocuments) -> str:
    with pytest.raises(ConfigError) as error:
        verify(org, evaluate(docs), intent(org, docs.cluster))
    return str(error.value)


def _with_trust_principal(docs: ClusterDocuments, role_name: str, principal: str) -> ClusterDocuments:
    roles = []
    for original in docs.roles:
        role = original
        if role.name == role_name:
            statement = {**role.trust["Statement"][0], "Principal": {"AWS": principal}}
            role = dataclasses.replace(role, trust={**role.trust, "Statement": [statement]})
        roles.append(role)
    return dataclasses.replace(docs, roles=tuple(roles))


def test_a_workload_role_trusting_its_own_root_is_refused(org: Organisation) -> None:
    # The workload account's own users named alice and bob are other people than the identity account's.
    docs = _with_trust_principal(_docs(org), "projecta-dev-humans", f"arn:aws:iam::{DEV}:root")
    message = _refusal(org, docs)
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: ")
    assert "projecta-dev-humans" in message


def test_an_open_trust_of_its_own_root_admits_the_workload_account(example: ExampleProject) -> None:
    example.edit("settings.yaml", lambda d: d["roles"].update(trust="account"))
    org = example.load()
    docs = _docs(org)
    assert check_stack(org, plan_environment(org, "dev"))  # as rendered: the identity account's open trust is declared
    message = _refusal(org, _with_trust_principal(docs, "projecta-dev-humans", f"arn:aws:iam::{DEV}:root"))
    assert f"account {DEV} (any IAM user its own policies allow)" in message


def test_group_policies_in_the_workload_account_reach_nobody(example: ExampleProject) -> None:
    """A policy written into the workload account's group of the same name grants nothing: the members are the
    identity account's; the (open) trust admits that account's users only through their own group policies."""
    example.edit("settings.yaml", lambda d: d["roles"].update(trust="account"))
    org = example.load()
    docs = _docs(org)
    moved = tuple(
        dataclasses.replace(p, account_id=DEV) if p.group == "eks-access-payments" else p for p in docs.group_policies
    )
    message = _refusal(org, dataclasses.replace(docs, group_policies=moved))
    assert message.startswith("config/access.yaml: grants.payments.projecta.dev: alice would not get ")


def test_a_wildcard_policy_on_an_identity_group_reaches_every_workload_role(example: ExampleProject) -> None:
    example.edit("settings.yaml", lambda d: d["roles"].update(trust="account"))
    org = example.load()
    docs = _docs(org)
    wildcard = GroupPolicyDocument(
        IDENTITY,
        "eks-access-search",
        "extra",
        {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/*"}]},
    )
    message = _refusal(org, dataclasses.replace(docs, group_policies=(*docs.group_policies, wildcard)))
    assert "carol would get " in message


# --- loading: one line at the key ----------------------------------------------------------------------------


def _load_error(example: ExampleProject) -> str:
    with pytest.raises(ConfigError) as error:
        example.load()
    return str(error.value)


def test_the_people_account_must_be_declared(example: ExampleProject) -> None:
    example.edit("environments.yaml", lambda d: d["people"].update(account="people"))
    assert _load_error(example).startswith("config/environments.yaml: people.account: unknown account 'people'")


def test_several_environments_need_a_people_home_environment(example: ExampleProject) -> None:
    example.edit("environments.yaml", lambda d: d["people"].pop("home_environment"))
    assert _load_error(example) == (
        "config/environments.yaml: people: environments dev, prod share this identity account: set "
        "home_environment to the one whose stack owns its IAM groups and memberships (it is applied first)"
    )


def test_a_workload_account_has_no_home_environment_with_an_identity_account(example: ExampleProject) -> None:
    example.edit("environments.yaml", lambda d: d["accounts"]["prod"].update(home_environment="prod"))
    assert _load_error(example) == (
        "config/environments.yaml: accounts.prod.home_environment: people live in account 'identity' "
        "(people.account), whose groups and memberships the stack of people.home_environment owns; this account has "
        "no IAM groups: remove the key"
    )


def test_an_account_without_environments_is_still_refused_unless_it_holds_the_people(example: ExampleProject) -> None:
    example.edit("environments.yaml", lambda d: d["accounts"].update(spare={"id": "444444444444"}))
    assert _load_error(example) == (
        "config/environments.yaml: accounts.spare: no environment uses this account; remove it or add an environment"
    )


# --- quotas where they apply -----------------------------------------------------------------------------------


def test_groups_per_user_are_counted_in_the_identity_account(example: ExampleProject) -> None:
    """Eleven teams, their grants spread over two workload accounts: all eleven groups are in the identity account."""

    def teams(data: dict[str, Any]) -> None:
        for i in range(11):
            data["teams"][f"t{i:02}"] = {"members": ["alice"]}

    def grants(data: dict[str, Any]) -> None:
        for i in range(11):
            data["grants"][f"t{i:02}"] = {"projecta": {"dev": "operate"} if i % 2 else {"prod": "view"}}

    example.edit("teams.yaml", teams)
    example.edit("access.yaml", grants)
    message = example.error()
    assert message.startswith("config/teams.yaml: teams.t")
    assert "would be in 12 IAM groups in account identity" in message


def test_group_policy_size_sums_every_environments_policy_in_the_identity_account(example: ExampleProject) -> None:
    def projects(data: dict[str, Any]) -> None:
        for i in range(50):
            data["projects"][f"p{i:02}"] = {"owner": "payments", "environments": ["dev", "prod"]}

    def grants(data: dict[str, Any]) -> None:
        for i in range(50):
            data["grants"]["payments"][f"p{i:02}"] = {"dev": "view", "prod": "view"}

    example.edit("projects.yaml", projects)
    example.edit("access.yaml", grants)
    message = example.error()
    assert message.startswith("config/access.yaml: grants.payments: IAM group 'eks-access-payments' would carry ")
    # Both environments' shares, though their roles are in two different workload accounts.
    assert "eks-access-dev=" in message and "eks-access-prod=" in message


def test_roles_are_counted_in_each_workload_account(example: ExampleProject) -> None:
    example.edit("environments.yaml", lambda d: d["accounts"]["prod"].update(quotas={"roles_per_account": 2}))
    assert example.error().startswith(
        "config/environments.yaml: accounts.prod.quotas.roles_per_account: account prod (333333333333) needs 3 IAM "
        "roles across prod; the quota is 2"
    )


# --- the stack's identity provider: its role is stack config ---------------------------------------------------


def test_the_identity_role_is_required_when_people_live_elsewhere(example: ExampleProject) -> None:
    example.edit_stack("prod", lambda c: c.pop("access:identityRoleArn"))
    with pytest.raises(ConfigError) as error:
        load_stack(example.root, "prod")
    assert str(error.value) == (
        "Pulumi.prod.yaml: config.access:identityRoleArn: required: people live (people.account) in account "
        "'identity' (111111111111, in config/environments.yaml); set it to the role this stack assumes there, e.g. "
        "arn:aws:iam::111111111111:role/eks-access-identity"
    )


def test_the_identity_role_must_be_in_the_identity_account(example: ExampleProject) -> None:
    example.edit_stack("prod", lambda c: c.update({"access:identityRoleArn": f"arn:aws:iam::{PROD}:role/x"}))
    with pytest.raises(ConfigError) as error:
        load_stack(example.root, "prod")
    assert str(error.value).startswith(
        f"Pulumi.prod.yaml: config.access:identityRoleArn: 'arn:aws:iam::{PROD}:role/x' is in account {PROD}, not "
        "account 'identity'"
    )


def test_the_identity_role_is_refused_without_an_identity_account(tmp_path: Path) -> None:
    for item in REPO.glob("Pulumi*.yaml"):
        shutil.copy(item, tmp_path / item.name)
    shutil.copytree(REPO / "config", tmp_path / "config")
    path = tmp_path / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["access:identityRoleArn"] = "arn:aws:iam::111122223333:role/x"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as error:
        load_stack(tmp_path, "dev")
    assert str(error.value) == (
        "Pulumi.dev.yaml: config.access:identityRoleArn: environment 'dev' keeps its people in its own account and "
        "has no Identity Center permission sets administered elsewhere: there is no identity account to reach; "
        "remove the key"
    )


def test_without_people_nothing_changes(sample_org: Organisation) -> None:
    plan = plan_environment(sample_org, "dev", AuthMode.CONFIG_MAP)
    assert plan.people_account_id == plan.account_id and not plan.people_elsewhere
    assert sample_org.people.account == ""
    assert {p.kind for p in check_stack(sample_org, plan).assumers[plan.roles[0].arn]} <= {
        PrincipalKind.USER,
        PrincipalKind.ACCOUNT,
    }


def test_an_identity_account_user_gets_the_workload_roles(org: Organisation) -> None:
    from access.core.callers import admissions, caller_from_arn

    plan = plan_environment(org, "prod")
    alice = caller_from_arn(f"arn:aws:iam::{IDENTITY}:user/alice")
    assert [(a.role.arn, a.session_name) for a in admissions(plan, org, alice)] == [
        (f"arn:aws:iam::{PROD}:role/projecta-prod-humans", "alice")
    ]
    # The workload account's own user of the same name is somebody else: no trust admits it.
    assert admissions(plan, org, caller_from_arn(f"arn:aws:iam::{PROD}:user/alice")) == []


def test_whois_names_the_identity_account_user(org: Organisation) -> None:
    from access.commands.whois.roles import known_roles

    (known,) = [k for k in known_roles(org, ["prod"]) if k.arn.endswith("/projecta-prod-humans")]
    assert (known.account_id, known.people_account_id) == (PROD, IDENTITY)
