"""The quota preflight: each limit fails with one exact line, declared raised quotas pass, and the check
covers every environment of an account (or cluster) although one stack applies one environment."""

from __future__ import annotations

from typing import Any

import pytest

from access.core import iam, quotas
from access.core.model import Organisation
from access.core.plan.groups import build_group_policies
from access.core.plan.roles import build_roles
from access.errors import ConfigError
from tests.helpers import ConfigTree

PROD_ACCOUNT = "444455556666"


def preflight_error(tree: ConfigTree) -> str:
    with pytest.raises(ConfigError) as error:
        quotas.preflight(tree.load())
    return str(error.value)


def declare_quotas(tree: ConfigTree, account: str = "main", **values: int) -> None:
    tree.edit("environments.yaml", lambda d: d["accounts"][account].setdefault("quotas", {}).update(values))


def prod_in_its_own_account(tree: ConfigTree) -> None:
    """dev and staging stay in account main; prod (its cluster, nodes and environment) moves to prodacct."""

    def move(data: dict[str, Any]) -> None:
        data["accounts"]["prodacct"] = {"id": PROD_ACCOUNT}
        cluster = data["clusters"]["prod"]
        cluster["account"] = "prodacct"
        for node in cluster["node_roles"]:
            node["arn"] = node["arn"].replace("111122223333", PROD_ACCOUNT)
        cluster["break_glass_role"] = cluster["break_glass_role"].replace("111122223333", PROD_ACCOUNT)
        data["environments"]["prod"]["account"] = "prodacct"

    tree.edit("environments.yaml", move)


def test_sample_organisation_passes(sample_org: Organisation) -> None:
    quotas.preflight(sample_org)


# --- roles per account --------------------------------------------------------------------------------------------


def test_roles_per_account_counts_every_environment_and_names_the_number_to_raise_to(tree: ConfigTree) -> None:
    declare_quotas(tree, roles_per_account=14)
    assert preflight_error(tree) == (
        "config/environments.yaml: accounts.main.quotas.roles_per_account: account main (111122223333) needs 15 IAM "
        "roles across dev, prod, staging; the quota is 14: raise 'IAM roles per account' to at least 15 (max 5000) "
        "and declare it here"
    )
    declare_quotas(tree, roles_per_account=15)
    quotas.preflight(tree.load())


def test_roles_are_counted_per_account_when_environments_use_different_accounts(tree: ConfigTree) -> None:
    prod_in_its_own_account(tree)
    declare_quotas(tree, "main", roles_per_account=10)  # dev + staging: 5 roles each
    declare_quotas(tree, "prodacct", roles_per_account=4)
    assert preflight_error(tree) == (
        "config/environments.yaml: accounts.prodacct.quotas.roles_per_account: account prodacct (444455556666) needs "
        "5 IAM roles across prod; the quota is 4: raise 'IAM roles per account' to at least 5 (max 5000) and declare "
        "it here"
    )
    declare_quotas(tree, "prodacct", roles_per_account=5)
    quotas.preflight(tree.load())
    declare_quotas(tree, "main", roles_per_account=9)
    assert preflight_error(tree).startswith(
        "config/environments.yaml: accounts.main.quotas.roles_per_account: account main (111122223333) needs 10 IAM "
        "roles across dev, staging; the quota is 9:"
    )


# --- groups -------------------------------------------------------------------------------------------------------


def test_groups_per_account_is_the_number_of_teams(tree: ConfigTree) -> None:
    declare_quotas(tree, groups_per_account=2)
    assert preflight_error(tree) == (
        "config/environments.yaml: accounts.main.quotas.groups_per_account: account main (111122223333) needs 3 IAM "
        "groups (one per team); the quota is 2: raise 'IAM groups per account' to at least 3 (max 500) and declare "
        "it here"
    )
    declare_quotas(tree, groups_per_account=3)
    quotas.preflight(tree.load())


def add_teams(tree: ConfigTree, count: int, members: list[str], prefix: str = "t") -> list[str]:
    """``count`` more teams, each with ``members`` and a view grant on projectb in prod."""
    teams = [f"{prefix}{i:03d}" for i in range(1, count + 1)]
    tree.edit("teams.yaml", lambda d: d["teams"].update({t: {"members": list(members)} for t in teams}))
    tree.edit("access.yaml", lambda d: d["grants"].update({t: {"projectb": {"prod": "view"}} for t in teams}))
    return teams


def test_more_groups_than_aws_allows_at_most_asks_to_split_instead_of_raise(tree: ConfigTree) -> None:
    add_teams(tree, 498, members=[])  # + payments, search, platform = 501
    declare_quotas(tree, groups_per_account=500)
    assert preflight_error(tree) == (
        "config/environments.yaml: accounts.main.quotas.groups_per_account: account main (111122223333) needs 501 IAM "
        "groups (one per team); the quota is 500: that is more than the 500 AWS allows at most: split the teams across "
        "accounts"
    )


def test_user_in_more_than_ten_groups_is_named_at_the_membership_that_tips_it_over(tree: ConfigTree) -> None:
    add_teams(tree, 10, members=["carol", "alice"])  # alice is also in payments: 11 groups
    assert preflight_error(tree) == (
        "config/teams.yaml: teams.t010.members[1]: user 'alice' would be in 11 IAM groups in account main "
        "(eks-access-payments, eks-access-t001, eks-access-t002, eks-access-t003, eks-access-t004, eks-access-t005, "
        "eks-access-t006, eks-access-t007, eks-access-t008, eks-access-t009, eks-access-t010); IAM allows 10 per user "
        "and this cannot be raised: merge teams or remove memberships"
    )


def test_ten_groups_per_user_is_allowed(tree: ConfigTree) -> None:
    add_teams(tree, 9, members=["alice"])  # payments + 9
    quotas.preflight(tree.load())


def test_groups_per_user_are_counted_per_account(tree: ConfigTree) -> None:
    # 6 teams granted only in dev/staging (account main) and 6 only in prod (prodacct): alice is in
    # 7 groups in main (payments too) and 7 in prodacct, never 13 in one account.
    prod_in_its_own_account(tree)
    main_teams = [f"m{i}" for i in range(1, 7)]
    prod_teams = [f"p{i}" for i in range(1, 7)]
    tree.edit("teams.yaml", lambda d: d["teams"].update({t: {"members": ["alice"]} for t in main_teams + prod_teams}))

    def grant(data: dict[str, Any]) -> None:
        data["grants"].update({t: {"projectb": {"dev": "operate"}} for t in main_teams})
        data["grants"].update({t: {"projectb": {"prod": "view"}} for t in prod_teams})

    tree.edit("access.yaml", grant)
    quotas.preflight(tree.load())


# --- inline policy budget of a group ------------------------------------------------------------------------------

LONG_PATH = "/" + "".join(f"{c * 60}/" for c in "abcdefgh")  # 489 characters, within IAM's 512


def payments_with_four_projects(tree: ConfigTree) -> None:
    extra = ["projectc", "projectd", "projecte"]
    tree.edit(
        "projects.yaml",
        lambda d: d["projects"].update(
            {p: {"owner": "payments", "environments": ["dev", "staging", "prod"]} for p in extra}
        ),
    )
    tree.edit(
        "access.yaml",
        lambda d: d["grants"]["payments"].update(
            {p: {"dev": "operate", "staging": "operate", "prod": "view"} for p in extra}
        ),
    )
    tree.edit("settings.yaml", lambda d: d["roles"].update(path=LONG_PATH))


def test_group_inline_policies_are_summed_over_environments(tree: ConfigTree) -> None:
    payments_with_four_projects(tree)
    assert preflight_error(tree) == (
        "config/access.yaml: grants.payments: IAM group 'eks-access-payments' would carry 6887 characters of inline "
        "policy (eks-access-dev=2289, eks-access-prod=2293, eks-access-staging=2305); IAM allows 5120 per group and "
        "this cannot be raised: split the team or shorten role paths and names"
    )


def test_the_sizes_in_the_message_are_the_documents_sizes(tree: ConfigTree) -> None:
    payments_with_four_projects(tree)
    org = tree.load()
    sizes = {}
    for env in ("dev", "staging", "prod"):
        policy = next(p for p in build_group_policies(org, env, build_roles(org, env)) if p.team == "payments")
        assert len(policy.role_arns) == 4
        sizes[env] = iam.policy_size(policy.document)
    # each environment's policy fits on its own; only the sum does not
    assert sizes == {"dev": 2289, "staging": 2305, "prod": 2293}


def test_admin_only_team_over_budget_points_at_cluster_admins(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(path=LONG_PATH))
    envs = [f"e{i}" for i in range(1, 10)]

    def more_environments(data: dict[str, Any]) -> None:
        data["environments"].update({e: {"account": "main", "cluster": "dev"} for e in envs})
        data["clusters"]["dev"]["home_environment"] = "dev"

    tree.edit("environments.yaml", more_environments)
    message = preflight_error(tree)
    assert message.startswith("config/access.yaml: cluster_admins.teams: IAM group 'eks-access-platform' would carry ")
    assert "eks-access-e1=" in message


# --- trust policies -----------------------------------------------------------------------------------------------


def principals(count: int) -> list[str]:
    return [f"arn:aws:iam::{PROD_ACCOUNT}:role/sso-operator-{i:02d}" for i in range(count)]


def test_trust_policy_over_the_default_quota_names_the_role_and_how_to_raise(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(trusted_principals=principals(40)))
    # The largest trust policy is named: the admin role's, whose closed trust also lists its members.
    assert preflight_error(tree) == (
        "config/settings.yaml: roles.trusted_principals: trust policy of role 'dev-cluster-admins' is 2342 "
        "characters; "
        "the account main quota is 2048: trust fewer principals, or raise 'Role trust policy length' to at least 2342 "
        "(max 4096) and declare accounts.main.quotas.role_trust_policy_chars"
    )
    declare_quotas(tree, role_trust_policy_chars=2342)
    quotas.preflight(tree.load())


def test_trust_policy_beyond_what_aws_allows_at_most(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(trusted_principals=principals(80)))
    declare_quotas(tree, role_trust_policy_chars=4096)
    assert preflight_error(tree) == (
        "config/settings.yaml: roles.trusted_principals: trust policy of role 'dev-cluster-admins' is 4302 "
        "characters; "
        "the account main quota is 4096: trust fewer principals; AWS allows at most 4096"
    )


def test_long_monitoring_trust_points_at_monitoring(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["monitoring"].update(trusted_roles=principals(40)))
    assert preflight_error(tree) == (
        "config/access.yaml: monitoring: trust policy of role 'dev-monitoring' is 2095 characters; the account main "
        "quota is 2048: trust fewer monitoring roles or services, or raise 'Role trust policy length' to at least 2095 "
        "(max 4096) and declare accounts.main.quotas.role_trust_policy_chars"
    )


# --- access entries per cluster -----------------------------------------------------------------------------------


def dev_cluster_shared_by_staging_with_nodes(tree: ConfigTree, nodes: int) -> None:
    def change(data: dict[str, Any]) -> None:
        data["environments"]["staging"]["cluster"] = "dev"
        data["clusters"]["dev"]["home_environment"] = "dev"
        data["clusters"]["dev"]["node_roles"] = [
            {"arn": f"arn:aws:iam::111122223333:role/eks-dev-nodes-{i:04d}"} for i in range(nodes)
        ]
        del data["clusters"]["staging"]

    tree.edit("environments.yaml", change)


def test_access_entries_are_summed_over_environments_sharing_a_cluster(tree: ConfigTree) -> None:
    # dev and staging on one cluster: 5 + 5 roles, plus the node roles
    dev_cluster_shared_by_staging_with_nodes(tree, 2991)
    assert preflight_error(tree) == (
        "config/environments.yaml: clusters.dev: cluster 'eks-dev' would need 3001 principals; EKS allows 3000 access "
        "entries per cluster: split projects across clusters"
    )


def test_exactly_three_thousand_access_entries_pass(tree: ConfigTree) -> None:
    dev_cluster_shared_by_staging_with_nodes(tree, 2990)
    quotas.preflight(tree.load())


# --- the program runs the preflight for every environment -----------------------------------------------------------


def test_dev_stack_refuses_a_limit_broken_by_prod_grants(tree: ConfigTree) -> None:
    from access.stack.offline import run_program

    add_teams(tree, 10, members=["alice"])  # grants in prod only, but the groups live in the shared account
    with pytest.raises(ConfigError) as error:
        run_program(tree.project(), "dev")
    assert error.value.file == "config/teams.yaml"  # as the stack file names the directory, like the plan command
    assert error.value.path == "teams.t010.members[0]"
    assert error.value.message.startswith("user 'alice' would be in 11 IAM groups in account main ")
