"""The loader on the sample organisation and on valid variations: what the model holds, exactly."""

from __future__ import annotations

from typing import Any

from access.core import names
from access.core.catalog import BUILTIN_LEVELS
from access.core.model import (
    AccessLevel,
    Account,
    CiDeployer,
    Cluster,
    Environment,
    GithubOidc,
    Grant,
    MapUser,
    Mfa,
    Monitoring,
    Naming,
    NodeRole,
    NodeType,
    Organisation,
    PolicyRule,
    Project,
    Quotas,
    RoleSettings,
    Team,
)
from tests.helpers import ConfigTree

ACCOUNT = "111122223333"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# --- the sample organisation ---------------------------------------------------------------------------------------


def test_sample_accounts_and_home_environment(sample_org: Organisation) -> None:
    # No home_environment declared: the first environment (in file order) that uses the account owns its IAM.
    assert sample_org.accounts == {
        "main": Account(id="main", account_id=ACCOUNT, quotas=Quotas(1000, 300, 2048), home_environment="dev")
    }


def test_sample_clusters(sample_org: Organisation) -> None:
    assert sample_org.clusters == {
        "dev": Cluster(
            id="dev",
            name="eks-dev",
            account="main",
            node_roles=(
                NodeRole(role_arn("eks-dev-nodes"), NodeType.EC2),
                NodeRole(role_arn("eks-dev-fargate-pods"), NodeType.FARGATE),
            ),
            keep_map_roles=(),
            break_glass_role_arn=None,
            home_environment="dev",
        ),
        "staging": Cluster(
            id="staging",
            name="eks-staging",
            account="main",
            node_roles=(NodeRole(role_arn("eks-staging-nodes"), NodeType.EC2),),
            keep_map_roles=(),
            break_glass_role_arn=None,
            home_environment="staging",
        ),
        "prod": Cluster(
            id="prod",
            name="eks-prod",
            account="main",
            node_roles=(
                NodeRole(role_arn("eks-prod-nodes"), NodeType.EC2),
                NodeRole(role_arn("eks-prod-windows-nodes"), NodeType.WINDOWS),
            ),
            keep_map_roles=(),
            break_glass_role_arn=role_arn("eks-prod-break-glass"),
            home_environment="prod",
        ),
    }


def test_sample_environments_teams_projects(sample_org: Organisation) -> None:
    assert list(sample_org.environments) == ["dev", "staging", "prod"]
    assert sample_org.environments["staging"] == Environment(id="staging", account="main", cluster="staging")
    assert sample_org.teams == {
        "payments": Team("payments", ("alice", "bob")),
        "search": Team("search", ("carol", "dave")),
        "platform": Team("platform", ("erin",)),
    }
    assert sample_org.projects == {
        "projecta": Project("projecta", "payments", ("dev", "staging", "prod")),
        "projectb": Project("projectb", "search", ("dev", "staging", "prod")),
    }


def test_sample_grants_are_resolved_and_sorted(sample_org: Organisation) -> None:
    # Sorted by (environment, project, level, team): config order never changes the plan.
    assert sample_org.grants == (
        Grant("payments", "projecta", "dev", "operate"),
        Grant("search", "projectb", "dev", "operate"),
        Grant("payments", "projecta", "prod", "view"),
        Grant("search", "projectb", "prod", "view"),
        Grant("payments", "projecta", "staging", "operate"),
        Grant("search", "projectb", "staging", "operate"),
    )
    assert sample_org.levels == BUILTIN_LEVELS
    assert sample_org.admin_teams == ("platform",)


def test_sample_monitoring_ci_and_settings(sample_org: Organisation) -> None:
    assert sample_org.monitoring == Monitoring(trusted_roles=(role_arn("prometheus"),), trusted_services=())
    assert sample_org.ci == {
        "jenkins": CiDeployer(
            id="jenkins",
            trusted_role_arn=role_arn("jenkins"),
            github=None,
            deploys=tuple((p, e) for p in ("projecta", "projectb") for e in ("dev", "prod", "staging")),
            service_accounts=True,
        )
    }
    assert sample_org.map_users == {}
    # settings.yaml spells out the defaults, plus one tag.
    assert sample_org.naming == Naming()
    assert sample_org.roles == RoleSettings(tags=(("cost-center", "platform"),))
    assert sample_org.create_users is False
    assert sample_org.files == {
        "settings.yaml": "config/settings.yaml",
        "environments.yaml": "config/environments.yaml",
        "teams.yaml": "config/teams.yaml",
        "projects.yaml": "config/projects.yaml",
        "access.yaml": "config/access.yaml",
    }


def test_default_naming_gives_the_documented_names(sample_org: Organisation) -> None:
    naming = sample_org.naming
    assert names.role_name(naming, "projecta", "dev", "operate") == "projecta-dev-humans"
    assert names.kubernetes_group(naming, "projecta", "dev", "operate") == "projecta:dev"
    assert names.kubernetes_username(naming, "projecta", "dev", "operate") == "projecta:dev:{{SessionName}}"
    assert names.namespace(naming, "projecta", "dev") == "projecta-dev"
    assert names.iam_group_name(naming, "payments") == "eks-access-payments"
    assert names.fill(naming.ci_role, ci="jenkins", env="prod") == "jenkins-prod-deployer"
    assert names.fill(naming.ci_username, ci="jenkins") == "ci:jenkins:{{SessionName}}"


# --- defaults when optional things are left out ----------------------------------------------------------------------


def test_settings_file_is_optional(tree: ConfigTree) -> None:
    (tree.dir / "settings.yaml").unlink()
    org = tree.load()
    assert org.naming == Naming()
    assert org.roles == RoleSettings()
    assert org.roles.max_session_duration == 3600
    assert org.roles.session_name_condition is True
    assert org.roles.mfa == Mfa(required=False, max_age_seconds=86400)
    assert org.create_users is False


def test_access_without_optional_sections(tree: ConfigTree) -> None:
    def keep_only_grants(d: dict[str, Any]) -> None:
        for key in ("cluster_admins", "monitoring", "ci"):
            del d[key]

    tree.edit("access.yaml", keep_only_grants)
    org = tree.load()
    assert org.admin_teams == ()
    assert org.monitoring is None
    assert org.ci == {}
    assert org.map_users == {}


# --- ids are lowercased everywhere; references resolve case-insensitively --------------------------------------------


def test_ids_and_references_are_lowercased(tree: ConfigTree) -> None:
    tree.write(
        "teams.yaml",
        "teams:\n  Payments: {members: [Alice, bob]}\n  SEARCH: {members: [carol]}\n  platform: {members: [erin]}\n",
    )
    tree.write(
        "projects.yaml",
        "projects:\n"
        "  ProjectA: {owner: PAYMENTS, environments: [Dev, prod]}\n"
        "  projectb: {owner: search, environments: [dev]}\n",
    )
    tree.write(
        "access.yaml",
        "grants:\n"
        "  payments: {projectA: {DEV: Operate, prod: VIEW}}\n"
        "  Search: {PROJECTB: {dev: view}}\n"
        "cluster_admins: {teams: [Platform]}\n",
    )
    org = tree.load()
    assert list(org.teams) == ["payments", "search", "platform"]
    # IAM user names keep their case: they are existing IAM users.
    assert org.teams["payments"].members == ("Alice", "bob")
    assert org.projects["projecta"] == Project("projecta", "payments", ("dev", "prod"))
    assert org.grants == (
        Grant("payments", "projecta", "dev", "operate"),
        Grant("search", "projectb", "dev", "view"),
        Grant("payments", "projecta", "prod", "view"),
    )
    assert org.admin_teams == ("platform",)


# --- settings that change what is derived ----------------------------------------------------------------------------


def test_custom_naming_templates(tree: ConfigTree) -> None:
    tree.write(
        "settings.yaml",
        "naming:\n"
        '  role: "eks-{project}-{env}-{level}"\n'
        '  kubernetes_group: "{project}:{env}:{level}"\n'
        '  username: "{project}:{level}:{{SessionName}}"\n'
        '  namespace: "app-{project}-{env}"\n'
        '  iam_group: "k8s-{team}"\n'
        "  group_path: /eks/\n",
    )
    org = tree.load()
    assert org.naming == Naming(
        role="eks-{project}-{env}-{level}",
        kubernetes_group="{project}:{env}:{level}",
        username="{project}:{level}:{{SessionName}}",
        namespace="app-{project}-{env}",
        iam_group="k8s-{team}",
        group_path="/eks/",
    )
    assert names.role_name(org.naming, "projecta", "prod", "view") == "eks-projecta-prod-view"
    assert names.kubernetes_group(org.naming, "projecta", "prod", "view") == "projecta:prod:view"
    assert names.kubernetes_username(org.naming, "projecta", "prod", "view") == "projecta:view:{{SessionName}}"
    assert names.namespace(org.naming, "projecta", "prod") == "app-projecta-prod"
    assert names.iam_group_name(org.naming, "search") == "k8s-search"


def test_level_in_role_template_allows_two_levels_per_project_environment(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["naming"].update(role="{project}-{env}-{level}"))
    tree.edit("settings.yaml", lambda d: d["naming"].update(kubernetes_group="{project}:{env}:{level}"))
    tree.edit("access.yaml", lambda d: d["grants"]["search"].update(projecta={"dev": "view"}))
    org = tree.load()
    assert [g for g in org.grants if g.environment == "dev"] == [
        Grant("payments", "projecta", "dev", "operate"),
        Grant("search", "projecta", "dev", "view"),
        Grant("search", "projectb", "dev", "operate"),
    ]


def test_role_settings(tree: ConfigTree) -> None:
    tree.edit(
        "settings.yaml",
        lambda d: d.update(
            roles={
                "path": "/eks/",
                "max_session_duration": 43200,
                "permissions_boundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
                "session_name_condition": False,
                "mfa": {"required": True, "max_age_seconds": 3600},
                "trust_account_root": False,
                "trusted_principals": [role_arn("sso-admins"), f"arn:aws:iam::{ACCOUNT}:root"],
                "external_id": "shared-secret",
                "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "tags": {"owner": "platform", "cost-center": "42"},
            },
            iam={"create_users": True},
        ),
    )
    org = tree.load()
    assert org.roles == RoleSettings(
        path="/eks/",
        max_session_duration=43200,
        permissions_boundary=f"arn:aws:iam::{ACCOUNT}:policy/boundary",
        session_name_condition=False,
        mfa=Mfa(required=True, max_age_seconds=3600),
        trust_account_root=False,
        trusted_principals=(role_arn("sso-admins"), f"arn:aws:iam::{ACCOUNT}:root"),
        external_id="shared-secret",
        managed_policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        tags=(("cost-center", "42"), ("owner", "platform")),
    )
    assert org.create_users is True


def test_one_character_user_is_fine_without_the_session_name_condition(tree: ConfigTree) -> None:
    tree.edit("settings.yaml", lambda d: d["roles"].update(session_name_condition=False))
    tree.edit("teams.yaml", lambda d: d["teams"]["payments"].update(members=["q", "bob"]))
    assert tree.load().teams["payments"].members == ("q", "bob")


def test_declared_home_environment_and_quotas(tree: ConfigTree) -> None:
    tree.edit(
        "environments.yaml",
        lambda d: d["accounts"]["main"].update(
            home_environment="Prod",
            quotas={"roles_per_account": 5000, "groups_per_account": 500, "role_trust_policy_chars": 4096},
        ),
    )
    assert tree.load().accounts["main"] == Account(
        id="main", account_id=ACCOUNT, quotas=Quotas(5000, 500, 4096), home_environment="prod"
    )


def test_each_account_has_its_own_home_environment(tree: ConfigTree) -> None:
    def second_account(d: dict[str, Any]) -> None:
        d["accounts"]["prodacct"] = {"id": "444455556666"}
        d["clusters"]["prod"]["account"] = "prodacct"
        d["clusters"]["prod"]["node_roles"] = [{"arn": "arn:aws:iam::444455556666:role/eks-prod-nodes"}]
        d["clusters"]["prod"]["break_glass_role"] = "arn:aws:iam::444455556666:role/break-glass"
        d["environments"]["prod"]["account"] = "prodacct"

    tree.edit("environments.yaml", second_account)
    org = tree.load()
    assert {a.id: (a.account_id, a.home_environment) for a in org.accounts.values()} == {
        "main": (ACCOUNT, "dev"),
        "prodacct": ("444455556666", "prod"),
    }


def test_cluster_admins_break_glass_applies_where_a_cluster_has_none(tree: ConfigTree) -> None:
    tree.edit("access.yaml", lambda d: d["cluster_admins"].update(break_glass_role=role_arn("org-break-glass")))
    org = tree.load()
    assert {c.id: c.break_glass_role_arn for c in org.clusters.values()} == {
        "dev": role_arn("org-break-glass"),
        "staging": role_arn("org-break-glass"),
        "prod": role_arn("eks-prod-break-glass"),  # the cluster's own wins
    }


def test_custom_level_rules_are_sorted_and_kept(tree: ConfigTree) -> None:
    def add_level(d: dict[str, Any]) -> None:
        d["levels"] = {
            "Debug": {
                "description": "read pods and exec into them",
                "allow_escalation": True,
                "rules": [{"api_groups": [""], "resources": ["pods/exec", "pods"], "verbs": ["create", "get"]}],
            },
            "impersonator": {
                "allow_escalation": True,
                "rules": [{"api_groups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}],
            },
        }
        d["grants"]["payments"]["projecta"]["dev"] = "debug"

    tree.edit("access.yaml", add_level)
    org = tree.load()
    assert org.levels["debug"] == AccessLevel(
        "debug", (PolicyRule(("",), ("pods", "pods/exec"), ("create", "get")),), builtin=False
    )
    assert org.levels["impersonator"] == AccessLevel(
        "impersonator", (PolicyRule(("",), ("serviceaccounts",), ("impersonate",)),), builtin=False
    )
    assert Grant("payments", "projecta", "dev", "debug") in org.grants


def test_monitoring_services_and_read_only_extra_rules(tree: ConfigTree) -> None:
    tree.edit(
        "access.yaml",
        lambda d: d.update(
            monitoring={
                "trusted_services": ["pods.eks.amazonaws.com"],
                "extra_rules": [{"api_groups": ["apps"], "resources": ["deployments"], "verbs": ["watch", "get"]}],
            }
        ),
    )
    assert tree.load().monitoring == Monitoring(
        trusted_roles=(),
        trusted_services=("pods.eks.amazonaws.com",),
        extra_rules=(PolicyRule(("apps",), ("deployments",), ("get", "watch")),),
    )


def test_github_oidc_ci_deployer(tree: ConfigTree) -> None:
    tree.edit(
        "access.yaml",
        lambda d: d["ci"].update(
            Actions={
                "github": {"repository": "acme/projecta", "environment": "production"},
                "deploys": {"projecta": ["PROD"]},
            }
        ),
    )
    assert tree.load().ci["actions"] == CiDeployer(
        id="actions",
        trusted_role_arn=None,
        github=GithubOidc(repository="acme/projecta", branch=None, environment="production", provider_arn=None),
        deploys=(("projecta", "prod"),),
        service_accounts=False,
    )


def test_map_users_are_sorted_by_arn(tree: ConfigTree) -> None:
    tree.edit(
        "access.yaml",
        lambda d: d.update(
            map_users={
                "DEV": [
                    {"userarn": f"arn:aws:iam::{ACCOUNT}:user/zed", "username": "zed", "groups": ["ops"]},
                    {"userarn": f"arn:aws:iam::{ACCOUNT}:user/amy", "username": "amy", "groups": []},
                ]
            }
        ),
    )
    assert tree.load().map_users == {
        "dev": (
            MapUser(f"arn:aws:iam::{ACCOUNT}:user/amy", "amy", ()),
            MapUser(f"arn:aws:iam::{ACCOUNT}:user/zed", "zed", ("ops",)),
        )
    }


def test_yaml_merge_keys_may_be_overridden(tree: ConfigTree) -> None:
    tree.write(
        "teams.yaml",
        "teams:\n"
        "  payments: &team {description: shared, members: [alice, bob]}\n"
        "  search: {<<: *team, members: [carol, dave]}\n"
        "  platform: {members: [erin]}\n",
    )
    assert tree.load().teams["search"] == Team("search", ("carol", "dave"))


def test_reordering_config_gives_an_equal_model(tree: ConfigTree, sample_org: Organisation) -> None:
    def reverse(section: str) -> Any:
        return lambda d: d.update({section: dict(reversed(list(d[section].items())))})

    tree.edit("teams.yaml", reverse("teams"))
    tree.edit("projects.yaml", reverse("projects"))
    tree.edit("access.yaml", reverse("grants"))
    org = tree.load()
    assert org.grants == sample_org.grants
    assert org.teams == sample_org.teams
    assert org.projects == sample_org.projects


PLACEHOLDER_ORDER = ["ci", "project", "env", "level", "team"]  # as the docs table lists them


def test_docs_list_every_naming_template_with_its_default_and_placeholders() -> None:
    """docs/config.md's naming table is the reference people read: it must match the code."""
    from dataclasses import fields

    from access.core.config.settings import TEMPLATE_FIELDS_BY_KEY
    from tests.helpers import REPO

    doc = (REPO / "docs" / "config.md").read_text()
    defaults = Naming()
    for field in fields(Naming):
        placeholders = " ".join(
            f"`{{{p}}}`" for p in sorted(TEMPLATE_FIELDS_BY_KEY[field.name], key=PLACEHOLDER_ORDER.index)
        )
        row = f"| `{field.name}` | `{getattr(defaults, field.name)}` | {placeholders or 'none'} |"
        assert row in doc, row
