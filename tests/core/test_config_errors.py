"""Every validation error is one exact line: ``<file>: <key path>: <what is wrong and how to fix it>``.

Each case edits a copy of the sample config and asserts ``str(ConfigError)`` exactly, so a vaguer message,
a moved key path or a check that stops firing all fail here.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from access.errors import ConfigError
from tests.helpers import (
    A,
    ConfigTree,
    Edit,
    add_node_role,
    drop,
    put,
    raw,
    remove,
    rename_ci,
    text,
)

P50, P60, T120 = "p" * 50, "p" * 60, "t" * 120  # ids just long enough to break one limit


class Case(NamedTuple):
    id: str
    edits: list[Edit]
    expected: str


def case(id: str, edits: list[Edit], expected: str) -> Case:
    return Case(id, edits, expected)


CASES = [
    case(
        "empty-file",
        [text("teams.yaml", "")],
        "config/teams.yaml: file is empty; it must hold a mapping (see docs/config.md)",
    ),
    case(
        "comments-only-file",
        [text("projects.yaml", "# nothing yet\n")],
        "config/projects.yaml: file is empty; it must hold a mapping (see docs/config.md)",
    ),
    case(
        "top-level-list",
        [text("teams.yaml", "- payments\n- search\n")],
        "config/teams.yaml: top level must be a mapping, found a list",
    ),
    case(
        "top-level-string",
        [text("access.yaml", "grants\n")],
        "config/access.yaml: top level must be a mapping, found a string",
    ),
    case(
        "duplicate-key-nested",
        [text("teams.yaml", "teams:\n  payments:\n    members: [alice]\n    members: [bob]\n")],
        "config/teams.yaml: teams.payments.members: key 'members' appears twice (lines 3 and 4); each key"
        " may appear once",
    ),
    case(
        "duplicate-key-top",
        [text("projects.yaml", "projects: {}\nprojects: {}\n")],
        "config/projects.yaml: projects: key 'projects' appears twice (lines 1 and 2); each key may appear once",
    ),
    case(
        "invalid-yaml",
        [text("teams.yaml", "teams: [\n")],
        "config/teams.yaml: invalid YAML at line 2: expected the node content, but found '<stream end>'",
    ),
    case(
        "two-documents",
        [text("teams.yaml", "teams: {}\n---\nteams: {}\n")],
        "config/teams.yaml: invalid YAML at line 2: expected a single document in the stream, but found "
        "another document",
    ),
    case(
        "missing-file",
        [remove("teams.yaml")],
        "config/teams.yaml: file not found",
    ),
    case(
        "not-utf8",
        [raw("teams.yaml", b"teams: {caf\xe9: {members: [a1]}}\n")],
        "config/teams.yaml: file is not UTF-8 text",
    ),
    case(
        "unknown-top-key",
        [put("teams.yaml", ["people"], {})],
        "config/teams.yaml: people: unknown key; expected one of: teams",
    ),
    case(
        "unknown-team-key",
        [put("teams.yaml", ["teams", "payments", "lead"], "alice")],
        "config/teams.yaml: teams.payments.lead: unknown key; expected one of: description, identity_center_group, "
        "members",
    ),
    case(
        "unknown-roles-key",
        [put("settings.yaml", ["roles", "session_duration"], 3600)],
        "config/settings.yaml: roles.session_duration: unknown key; expected one of: external_id, "
        "managed_policy_arns, max_session_duration, mfa, path, permissions_boundary, "
        "session_name_condition, tags, trust, trust_account_root, trusted_principals",
    ),
    case(
        "permissions-boundary-not-a-policy",
        [put("settings.yaml", ["roles", "permissions_boundary"], "arn:aws:iam::111122223333:role/boundary")],
        "config/settings.yaml: roles.permissions_boundary: 'arn:aws:iam::111122223333:role/boundary' is not an "
        "IAM policy ARN like arn:aws:iam::aws:policy/ReadOnlyAccess",
    ),
    case(
        "managed-policy-arn-with-a-space",
        [
            put(
                "settings.yaml",
                ["roles", "managed_policy_arns"],
                ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::111122223333:policy/bad name"],
            )
        ],
        "config/settings.yaml: roles.managed_policy_arns[1]: 'arn:aws:iam::111122223333:policy/bad name' contains "
        "' '; an ARN has no spaces or control characters (a copy-paste leftover?)",
    ),
    case(
        "managed-policy-arn-of-another-service",
        [put("settings.yaml", ["roles", "managed_policy_arns"], ["arn:aws:s3:::policy/x"])],
        "config/settings.yaml: roles.managed_policy_arns[0]: 'arn:aws:s3:::policy/x' is not an IAM ARN like "
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    ),
    case(
        "unknown-naming-key",
        [put("settings.yaml", ["naming", "rolename"], "{project}")],
        "config/settings.yaml: naming.rolename: unknown key; expected one of: admin_group, admin_role, "
        "admin_username, ci_group, ci_role, ci_username, group_path, iam_group, kubernetes_group, "
        "monitoring_group, monitoring_role, monitoring_username, namespace, role, username",
    ),
    case(
        "unknown-cluster-key",
        [put("environments.yaml", ["clusters", "dev", "region"], "eu-west-1")],
        "config/environments.yaml: clusters.dev.region: unknown key; expected one of: account, "
        "break_glass_role, external_admins, home_environment, keep_map_roles, name, node_roles, retired_node_roles",
    ),
    case(
        "unknown-rule-key",
        [
            put(
                "access.yaml",
                ["levels"],
                {"x": {"rules": [{"api_groups": [""], "resources": ["pods"], "verbs": ["get"], "namespaces": ["a"]}]}},
            )
        ],
        "config/access.yaml: levels.x.rules[0].namespaces: unknown key; expected one of: api_groups, resources, verbs",
    ),
    case(
        "missing-required-section",
        [drop("environments.yaml", ["clusters"])],
        "config/environments.yaml: missing required key 'clusters'",
    ),
    case(
        "missing-owner",
        [drop("projects.yaml", ["projects", "projecta", "owner"])],
        "config/projects.yaml: projects.projecta: missing required key 'owner'",
    ),
    case(
        "members-not-list",
        [put("teams.yaml", ["teams", "payments", "members"], "alice")],
        "config/teams.yaml: teams.payments.members: must be a list, found string 'alice'",
    ),
    case(
        "member-number",
        [put("teams.yaml", ["teams", "payments", "members"], ["alice", 42])],
        "config/teams.yaml: teams.payments.members[1]: must be a non-empty string, found number 42",
    ),
    case(
        "boolean-as-string",
        [put("settings.yaml", ["roles", "session_name_condition"], "yes")],
        "config/settings.yaml: roles.session_name_condition: must be true or false, found string 'yes'",
    ),
    case(
        "id-not-string",
        [text("teams.yaml", "teams:\n  123: {members: [alice]}\n")],
        "config/teams.yaml: teams: key 123 must be a string; quote it",
    ),
    case(
        "unknown-owner-team",
        [put("projects.yaml", ["projects", "projecta", "owner"], "Billing")],
        "config/projects.yaml: projects.projecta.owner: unknown team 'Billing'; declare it in teams.yaml "
        "(known: payments, platform, search)",
    ),
    case(
        "unknown-project-environment",
        [put("projects.yaml", ["projects", "projecta", "environments"], ["dev", "qa"])],
        "config/projects.yaml: projects.projecta.environments[1]: unknown environment 'qa'; declare it in"
        " environments.yaml (known: dev, prod, staging)",
    ),
    case(
        "unknown-grant-team",
        [put("access.yaml", ["grants", "billing"], {"projecta": {"dev": "view"}})],
        "config/access.yaml: grants.billing: unknown team 'billing'; declare it in teams.yaml (known: "
        "payments, platform, search)",
    ),
    case(
        "unknown-grant-project",
        [put("access.yaml", ["grants", "payments", "projectc"], {"dev": "view"})],
        "config/access.yaml: grants.payments.projectc: unknown project 'projectc'; declare it in "
        "projects.yaml (known: projecta, projectb)",
    ),
    case(
        "grant-environment-not-run",
        [put("projects.yaml", ["projects", "projecta", "environments"], ["dev"])],
        "config/access.yaml: grants.payments.projecta.staging: project 'projecta' does not run in "
        "environment 'staging' (its environments: dev)",
    ),
    case(
        "unknown-level",
        [put("access.yaml", ["grants", "payments", "projecta", "dev"], "owner")],
        "config/access.yaml: grants.payments.projecta.dev: unknown access level 'owner'; expected one of "
        "admin, deploy, operate, view",
    ),
    case(
        "unknown-environment-account",
        [put("environments.yaml", ["environments", "dev", "account"], "sandbox")],
        "config/environments.yaml: environments.dev.account: unknown account 'sandbox'; declare it in "
        "environments.yaml accounts (known: main)",
    ),
    case(
        "unknown-environment-cluster",
        [put("environments.yaml", ["environments", "dev", "cluster"], "qa")],
        "config/environments.yaml: environments.dev.cluster: unknown cluster 'qa'; declare it in "
        "environments.yaml clusters (known: dev, prod, staging)",
    ),
    case(
        "unknown-cluster-account",
        [put("environments.yaml", ["clusters", "dev", "account"], "other")],
        "config/environments.yaml: clusters.dev.account: unknown account 'other'; declare it in "
        "environments.yaml accounts (known: main)",
    ),
    case(
        "unknown-admin-team",
        [put("access.yaml", ["cluster_admins", "teams"], ["platform", "sre"])],
        "config/access.yaml: cluster_admins.teams[1]: unknown team 'sre'; declare it in teams.yaml "
        "(known: payments, platform, search)",
    ),
    case(
        "unknown-ci-project",
        [put("access.yaml", ["ci", "jenkins", "deploys", "projectc"], ["dev"])],
        "config/access.yaml: ci.jenkins.deploys.projectc: unknown project 'projectc'; declare it in "
        "projects.yaml (known: projecta, projectb)",
    ),
    case(
        "ci-environment-not-run",
        [put("access.yaml", ["ci", "jenkins", "deploys", "projecta"], ["qa"])],
        "config/access.yaml: ci.jenkins.deploys.projecta[0]: project 'projecta' does not run in "
        "environment 'qa' (its environments: dev, staging, prod)",
    ),
    case(
        "unknown-map-users-cluster",
        [put("access.yaml", ["map_users"], {"qa": []})],
        "config/access.yaml: map_users.qa: unknown cluster 'qa'; declare it in environments.yaml clusters"
        " (known: dev, prod, staging)",
    ),
    case(
        "home-environment-elsewhere",
        [put("environments.yaml", ["accounts", "main", "home_environment"], "qa")],
        "config/environments.yaml: accounts.main.home_environment: 'qa' is not an environment of this "
        "account (its environments: dev, staging, prod)",
    ),
    case(
        "unused-account",
        [put("environments.yaml", ["accounts", "spare"], {"id": "444455556666"})],
        "config/environments.yaml: accounts.spare: no environment uses this account; remove it or add an environment",
    ),
    case(
        "team-ids-equal-ignoring-case",
        [put("teams.yaml", ["teams", "Payments"], {"members": ["zed"]})],
        "config/teams.yaml: teams.Payments: team id 'Payments' collides with 'payments' (ids are compared lowercased)",
    ),
    case(
        "project-ids-equal-ignoring-case",
        [put("projects.yaml", ["projects", "ProjectA"], {"owner": "payments", "environments": ["dev"]})],
        "config/projects.yaml: projects.ProjectA: project id 'ProjectA' collides with 'projecta' (ids are"
        " compared lowercased)",
    ),
    case(
        "member-twice-ignoring-case",
        [put("teams.yaml", ["teams", "payments", "members"], ["alice", "ALICE"])],
        "config/teams.yaml: teams.payments.members[1]: user 'ALICE' is listed twice (also 'alice'; IAM ignores case)",
    ),
    case(
        "environment-listed-twice",
        [put("projects.yaml", ["projects", "projecta", "environments"], ["dev", "Dev"])],
        "config/projects.yaml: projects.projecta.environments[1]: environment 'dev' is listed twice",
    ),
    case(
        "account-number-twice",
        [put("environments.yaml", ["accounts", "other"], {"id": "111122223333"})],
        "config/environments.yaml: accounts.other.id: account 111122223333 is also declared as 'main'",
    ),
    case(
        "cluster-name-twice",
        [put("environments.yaml", ["clusters", "staging", "name"], "eks-dev")],
        "config/environments.yaml: clusters.staging.name: cluster 'eks-dev' in account 'main' is also "
        "declared as 'dev'",
    ),
    case(
        "role-names-collide",
        [put("access.yaml", ["grants", "search", "projecta"], {"dev": "view"})],
        "config/access.yaml: grants.search.projecta.dev: role name 'projecta-dev-humans' "
        "(projecta/dev/view) collides with 'projecta-dev-humans' (projecta/dev/operate); IAM names are "
        "unique ignoring case: grant one level per project-environment, or put {level} in naming.role and"
        " naming.kubernetes_group",
    ),
    case(
        "iam-group-names-collide",
        [put("settings.yaml", ["naming", "iam_group"], "eks-access")],
        "config/teams.yaml: teams.search: IAM group name 'eks-access' is also that of team 'payments' "
        "(IAM names are unique ignoring case); use {team} in naming.iam_group",
    ),
    case(
        "namespaces-collide",
        [
            put("environments.yaml", ["environments", "b-dev"], {"account": "main", "cluster": "dev"}),
            put("environments.yaml", ["clusters", "dev", "home_environment"], "dev"),
            put("projects.yaml", ["projects", "a-b"], {"owner": "payments", "environments": ["dev"]}),
            put("projects.yaml", ["projects", "a"], {"owner": "payments", "environments": ["b-dev"]}),
        ],
        "config/projects.yaml: projects.a.environments: namespace 'a-b-dev' of a/b-dev collides with a-b/dev",
    ),
    case(
        "id-with-space",
        [put("teams.yaml", ["teams", "pay ments"], {"members": ["zed"]})],
        "config/teams.yaml: teams.pay ments: team id 'pay ments' may contain only letters, digits and "
        "'-', starting and ending with a letter or digit",
    ),
    case(
        "id-with-underscore",
        [put("projects.yaml", ["projects", "project_c"], {"owner": "payments", "environments": ["dev"]})],
        "config/projects.yaml: projects.project_c: project id 'project_c' may contain only letters, "
        "digits and '-', starting and ending with a letter or digit",
    ),
    case(
        "id-non-ascii",
        [put("teams.yaml", ["teams", "zahlung-ü"], {"members": ["zed"]})],
        "config/teams.yaml: teams.zahlung-ü: team id 'zahlung-ü' may contain only letters, digits and "
        "'-', starting and ending with a letter or digit",
    ),
    case(
        "user-with-space",
        [put("teams.yaml", ["teams", "payments", "members"], ["alice smith"])],
        "config/teams.yaml: teams.payments.members[0]: IAM user name 'alice smith' may contain only "
        "letters, digits and + = , . @ _ -",
    ),
    case(
        "user-non-ascii",
        [put("teams.yaml", ["teams", "payments", "members"], ["zoë"])],
        "config/teams.yaml: teams.payments.members[0]: IAM user name 'zoë' may contain only letters, "
        "digits and + = , . @ _ -",
    ),
    case(
        "user-too-long",
        [put("teams.yaml", ["teams", "payments", "members"], ["u" * 65])],
        f"config/teams.yaml: teams.payments.members[0]: IAM user name '{'u' * 65}' is 65 characters; "
        "IAM allows at most 64",
    ),
    case(
        "user-one-character",
        [put("teams.yaml", ["teams", "payments", "members"], ["q"])],
        "config/teams.yaml: teams.payments.members[0]: IAM user name 'q' is shorter than 2 characters and"
        " can never be a role session name, so the session-name trust condition would lock it out; rename"
        " the user",
    ),
    case(
        "role-name-over-64",
        [
            put("projects.yaml", ["projects", P50], {"owner": "payments", "environments": ["staging"]}),
            put("access.yaml", ["grants", "payments", P50], {"staging": "view"}),
        ],
        f"config/access.yaml: grants.payments.{P50}.staging: role name '{P50}-staging-humans' is 65 characters; "
        "IAM allows at most 64; shorten the ids or the naming.role template",
    ),
    case(
        "admin-role-name-over-64",
        [put("settings.yaml", ["naming", "admin_role"], "{env}-" + "a" * 60)],
        f"config/environments.yaml: environments.staging: role name 'staging-{'a' * 60}' is 68 characters; "
        "IAM allows at most 64; shorten the ids or the naming.admin_role template",
    ),
    case(
        "group-name-over-128",
        [
            put("teams.yaml", ["teams", T120], {"members": ["zed"]}),
            put("access.yaml", ["grants", T120], {"projecta": {"dev": "operate"}}),
        ],
        f"config/teams.yaml: teams.{T120}: IAM group name 'eks-access-{T120}' is 131 characters; "
        "IAM allows at most 128",
    ),
    case(
        "namespace-over-63",
        [put("projects.yaml", ["projects", P60], {"owner": "payments", "environments": ["dev"]})],
        f"config/projects.yaml: projects.{P60}.environments: namespace '{P60}-dev' is 64 characters; "
        "Kubernetes allows at most 63",
    ),
    case(
        "namespace-uppercase",
        [put("settings.yaml", ["naming", "namespace"], "Apps-{project}-{env}")],
        "config/projects.yaml: projects.projecta.environments: namespace 'Apps-projecta-dev' is not a "
        "lowercase RFC 1123 label (a-z, 0-9, '-', alphanumeric ends)",
    ),
    case(
        "namespace-underscore",
        [put("settings.yaml", ["naming", "namespace"], "{project}_{env}")],
        "config/projects.yaml: projects.projecta.environments: namespace 'projecta_dev' is not a "
        "lowercase RFC 1123 label (a-z, 0-9, '-', alphanumeric ends)",
    ),
    case(
        "namespace-default",
        [put("settings.yaml", ["naming", "namespace"], "default")],
        "config/projects.yaml: projects.projecta.environments: namespace 'default' is reserved by "
        "Kubernetes; choose another project or environment id",
    ),
    case(
        "namespace-kube-prefix",
        [put("projects.yaml", ["projects", "kube"], {"owner": "payments", "environments": ["dev"]})],
        "config/projects.yaml: projects.kube.environments: namespace 'kube-dev' is reserved by "
        "Kubernetes; choose another project or environment id",
    ),
    case(
        "namespace-kube-system",
        [put("settings.yaml", ["naming", "namespace"], "kube-system")],
        "config/projects.yaml: projects.projecta.environments: namespace 'kube-system' is reserved by "
        "Kubernetes; choose another project or environment id",
    ),
    case(
        "account-id-number",
        [put("environments.yaml", ["accounts", "main", "id"], 111122223333)],
        "config/environments.yaml: accounts.main.id: write the account id as a quoted string, e.g. id: "
        '"111122223333" (as a number it loses leading zeros)',
    ),
    case(
        "account-id-short",
        [put("environments.yaml", ["accounts", "main", "id"], "11112222333")],
        "config/environments.yaml: accounts.main.id: '11112222333' is not a 12-digit AWS account id",
    ),
    case(
        "quota-over-ceiling",
        [put("environments.yaml", ["accounts", "main", "quotas"], {"roles_per_account": 6000})],
        "config/environments.yaml: accounts.main.quotas.roles_per_account: 6000 is outside 1..5000 (the "
        "most AWS grants)",
    ),
    case(
        "template-unknown-placeholder",
        [put("settings.yaml", ["naming", "role"], "{project}-{team}")],
        "config/settings.yaml: naming.role: placeholder {team} cannot be used in role; it takes {env}, "
        "{level}, {project} (the EKS token {{SessionName}} passes through)",
    ),
    case(
        "template-no-session-name",
        [put("settings.yaml", ["naming", "username"], "{project}:{env}")],
        "config/settings.yaml: naming.username: username template must contain {{SessionName}} so each "
        "person is told apart in audit logs",
    ),
    case(
        "template-level-on-one-side",
        [put("settings.yaml", ["naming", "role"], "{project}-{env}-{level}")],
        "config/settings.yaml: naming: use {level} in both naming.role and naming.kubernetes_group or in "
        "neither: each role must map to a Kubernetes group of its own",
    ),
    case(
        "template-unbalanced-brace",
        [put("settings.yaml", ["naming", "role"], "{project-{env}")],
        "config/settings.yaml: naming.role: unbalanced '{' or '}'; write placeholders as {project} and "
        "the EKS token as {{SessionName}}",
    ),
    case(
        "template-unknown-token",
        [put("settings.yaml", ["naming", "username"], "{project}:{env}:{{sessionName}}")],
        "config/settings.yaml: naming.username: unknown token {{sessionName}}; the only EKS token "
        "eks-access uses is {{SessionName}}",
    ),
    case(
        "template-group-path",
        [put("settings.yaml", ["naming", "group_path"], "teams")],
        "config/settings.yaml: naming.group_path: IAM path must start and end with '/'",
    ),
    case(
        "level-singular-configmap",
        [
            put(
                "access.yaml",
                ["levels"],
                {"cfg": {"rules": [{"api_groups": [""], "resources": ["configmap"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.cfg.rules[0].resources[0]: 'configmap' is not a resource of API group"
        " 'core' (did you mean 'configmaps'?); RBAC uses plural resource names and would grant nothing",
    ),
    case(
        "level-singular-deployment",
        [
            put(
                "access.yaml",
                ["levels"],
                {"cfg": {"rules": [{"api_groups": ["apps"], "resources": ["deployment"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.cfg.rules[0].resources[0]: 'deployment' is not a resource of API "
        "group 'apps' (did you mean 'deployments'?); RBAC uses plural resource names and would grant "
        "nothing",
    ),
    case(
        "level-cluster-scoped",
        [
            put(
                "access.yaml",
                ["levels"],
                {"cfg": {"rules": [{"api_groups": [""], "resources": ["nodes"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.cfg.rules[0].resources[0]: 'nodes' is cluster-scoped; a namespaced "
        "Role cannot grant it",
    ),
    case(
        "level-unknown-verb",
        [
            put(
                "access.yaml",
                ["levels"],
                {"cfg": {"rules": [{"api_groups": [""], "resources": ["pods"], "verbs": ["read"]}]}},
            )
        ],
        "config/access.yaml: levels.cfg.rules[0].verbs[0]: unknown verb 'read'; expected one of *, "
        "approve, bind, create, delete, deletecollection, escalate, get, impersonate, list, patch, sign, "
        "update, use, watch",
    ),
    case(
        "level-escalate",
        [
            put(
                "access.yaml",
                ["levels"],
                {
                    "x": {
                        "rules": [
                            {"api_groups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["escalate"]}
                        ]
                    }
                },
            )
        ],
        "config/access.yaml: levels.x.rules[0]: grants verb 'escalate', an escalation path; set "
        "allow_escalation: true on the level if that is really intended",
    ),
    case(
        "level-bind",
        [
            put(
                "access.yaml",
                ["levels"],
                {
                    "x": {
                        "rules": [
                            {
                                "api_groups": ["rbac.authorization.k8s.io"],
                                "resources": ["rolebindings", "roles"],
                                "verbs": ["bind", "get"],
                            }
                        ]
                    }
                },
            )
        ],
        "config/access.yaml: levels.x.rules[0]: grants verb 'bind', an escalation path; set "
        "allow_escalation: true on the level if that is really intended",
    ),
    case(
        "level-impersonate",
        [
            put(
                "access.yaml",
                ["levels"],
                {"x": {"rules": [{"api_groups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]}]}},
            )
        ],
        "config/access.yaml: levels.x.rules[0]: grants verb 'impersonate', an escalation path; set "
        "allow_escalation: true on the level if that is really intended",
    ),
    case(
        "level-reads-secrets",
        [
            put(
                "access.yaml",
                ["levels"],
                {"x": {"rules": [{"api_groups": [""], "resources": ["secrets"], "verbs": ["list"]}]}},
            )
        ],
        "config/access.yaml: levels.x.rules[0]: grants reading secrets, an escalation path; set "
        "allow_escalation: true on the level if that is really intended",
    ),
    case(
        "level-builtin-id",
        [
            put(
                "access.yaml",
                ["levels"],
                {"View": {"rules": [{"api_groups": [""], "resources": ["pods"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.View.rules: 'view' is a built-in level; its own rules are fixed (docs/levels.md): "
        "add to them with extra_rules, or pick another id for a custom level",
    ),
    case(
        "level-extend-admin",
        [
            put(
                "access.yaml",
                ["levels"],
                {
                    "admin": {
                        "extra_rules": [
                            {"api_groups": ["cert-manager.io"], "resources": ["certificates"], "verbs": ["get"]}
                        ]
                    }
                },
            )
        ],
        "config/access.yaml: levels.admin: admin is Kubernetes' own admin ClusterRole; extend it the Kubernetes way, "
        'with a ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-admin: "true" (or define a custom level)',
    ),
    case(
        "level-extra-rules-escalation",
        [
            put(
                "access.yaml",
                ["levels"],
                {"deploy": {"extra_rules": [{"api_groups": ["*"], "resources": ["*"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.deploy.extra_rules[0]: grants a shell in pods ('*'), reading secrets, resource "
        "'*', an escalation path; set allow_escalation: true on the level if that is really intended",
    ),
    case(
        "level-extra-rules-on-custom",
        [
            put(
                "access.yaml",
                ["levels"],
                {
                    "x": {
                        "rules": [{"api_groups": [""], "resources": ["pods"], "verbs": ["get"]}],
                        "extra_rules": [{"api_groups": [""], "resources": ["pods"], "verbs": ["list"]}],
                    }
                },
            )
        ],
        "config/access.yaml: levels.x.extra_rules: extra_rules extends a built-in level (view, operate, deploy); a "
        "custom level lists all its rules under rules",
    ),
    case(
        "level-extra-rules-singular",
        [
            put(
                "access.yaml",
                ["levels"],
                {"view": {"extra_rules": [{"api_groups": [""], "resources": ["configmap"], "verbs": ["get"]}]}},
            )
        ],
        "config/access.yaml: levels.view.extra_rules[0].resources[0]: 'configmap' is not a resource of API group "
        "'core' (did you mean 'configmaps'?); RBAC uses plural resource names and would grant nothing",
    ),
    case(
        "level-without-rules",
        [put("access.yaml", ["levels"], {"x": {"rules": []}})],
        "config/access.yaml: levels.x.rules: a level needs at least one rule",
    ),
    case(
        "monitoring-secrets",
        [
            put(
                "access.yaml",
                ["monitoring", "extra_rules"],
                [{"api_groups": [""], "resources": ["pods", "secrets"], "verbs": ["get"]}],
            )
        ],
        "config/access.yaml: monitoring.extra_rules[0].resources[1]: monitoring may not have 'secrets': "
        "bound cluster-wide, it would reveal secrets or reach a shell in every namespace",
    ),
    case(
        "monitoring-nodes-proxy",
        [
            put(
                "access.yaml",
                ["monitoring", "extra_rules"],
                [{"api_groups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}],
            )
        ],
        "config/access.yaml: monitoring.extra_rules[0].resources[0]: monitoring may not have "
        "'nodes/proxy': bound cluster-wide, it would reveal secrets or reach a shell in every namespace",
    ),
    case(
        "monitoring-write-verb",
        [
            put(
                "access.yaml",
                ["monitoring", "extra_rules"],
                [{"api_groups": [""], "resources": ["pods"], "verbs": ["get", "delete"]}],
            )
        ],
        "config/access.yaml: monitoring.extra_rules[0].verbs[1]: monitoring is read-only: verb 'delete' "
        "is not allowed (only get, list, watch)",
    ),
    case(
        "monitoring-any-api-group",
        [
            put(
                "access.yaml",
                ["monitoring", "extra_rules"],
                [{"api_groups": ["*"], "resources": ["pods"], "verbs": ["get"]}],
            )
        ],
        "config/access.yaml: monitoring.extra_rules[0].api_groups[0]: monitoring may not use API group "
        "'*'; name the API groups it reads",
    ),
    case(
        "monitoring-nobody",
        [put("access.yaml", ["monitoring"], {"extra_rules": []})],
        "config/access.yaml: monitoring: monitoring needs trusted_roles or trusted_services (who runs the"
        " monitoring system)",
    ),
    case(
        "monitoring-service-wildcard",
        [put("access.yaml", ["monitoring", "trusted_services"], ["*.amazonaws.com"])],
        "config/access.yaml: monitoring.trusted_services[0]: '*.amazonaws.com' is not an AWS service "
        "principal like pods.eks.amazonaws.com",
    ),
    case(
        "ci-cluster-role-binding",
        [put("access.yaml", ["ci", "jenkins", "cluster_role_binding"], True)],
        "config/access.yaml: ci.jenkins.cluster_role_binding: CI deployers are bound per namespace only; "
        "a ClusterRoleBinding would reach every namespace",
    ),
    case(
        "ci-two-trust-sources",
        [put("access.yaml", ["ci", "jenkins", "github"], {"repository": "acme/app", "branch": "main"})],
        "config/access.yaml: ci.jenkins: set exactly one of trusted_role (a build-agent role) or github (OIDC)",
    ),
    case(
        "ci-github-unrestricted",
        [
            drop("access.yaml", ["ci", "jenkins", "trusted_role"]),
            put("access.yaml", ["ci", "jenkins", "github"], {"repository": "acme/app"}),
        ],
        "config/access.yaml: ci.jenkins.github: restrict the token's sub with branch or environment "
        "(otherwise any workflow of the repository could deploy)",
    ),
    case(
        "ci-github-branch-wildcard",
        [
            drop("access.yaml", ["ci", "jenkins", "trusted_role"]),
            put("access.yaml", ["ci", "jenkins", "github"], {"repository": "acme/app", "branch": "release/*"}),
        ],
        "config/access.yaml: ci.jenkins.github.branch: wildcards in the branch would let any matching "
        "branch deploy; name one",
    ),
    case(
        "ci-github-branch-and-environment",
        [
            drop("access.yaml", ["ci", "jenkins", "trusted_role"]),
            put(
                "access.yaml",
                ["ci", "jenkins", "github"],
                {"repository": "acme/app", "branch": "main", "environment": "production"},
            ),
        ],
        "config/access.yaml: ci.jenkins.github: set branch or environment, not both: a job in a GitHub "
        "environment gets the token sub repo:<owner>/<name>:environment:<name>, which does not contain the branch",
    ),
    case(
        "session-too-short",
        [put("settings.yaml", ["roles", "max_session_duration"], 3599)],
        "config/settings.yaml: roles.max_session_duration: 3599 is outside 3600..43200 seconds: IAM "
        "allows a role's maximum session to be 1 to 12 hours",
    ),
    case(
        "session-too-long",
        [put("settings.yaml", ["roles", "max_session_duration"], 43201)],
        "config/settings.yaml: roles.max_session_duration: 43201 is outside 3600..43200 seconds: IAM "
        "allows a role's maximum session to be 1 to 12 hours",
    ),
    case(
        "session-as-string",
        [put("settings.yaml", ["roles", "max_session_duration"], "1h")],
        "config/settings.yaml: roles.max_session_duration: must be a whole number, found string '1h'",
    ),
    case(
        "nobody-can-assume",
        [put("settings.yaml", ["roles", "trust_account_root"], False)],
        "config/settings.yaml: roles: trust_account_root is false and trusted_principals is empty: nobody"
        " could assume roles",
    ),
    case(
        "role-path-without-slash",
        [put("settings.yaml", ["roles", "path"], "teams")],
        "config/settings.yaml: roles.path: IAM path 'teams' must start and end with '/', e.g. /teams/",
    ),
    case(
        "wildcard-principal",
        [put("settings.yaml", ["roles", "trusted_principals"], ["*"])],
        "config/settings.yaml: roles.trusted_principals[0]: wildcard principal '*' is not allowed; name "
        "the exact role or user ARN",
    ),
    case(
        "wildcard-in-arn",
        [put("access.yaml", ["monitoring", "trusted_roles"], ["arn:aws:iam::111122223333:role/prometheus-*"])],
        "config/access.yaml: monitoring.trusted_roles[0]: wildcard principal "
        "'arn:aws:iam::111122223333:role/prometheus-*' is not allowed; name the exact role or user ARN",
    ),
    case(
        "group-arn-principal",
        [put("settings.yaml", ["roles", "trusted_principals"], ["arn:aws:iam::111122223333:group/admins"])],
        "config/settings.yaml: roles.trusted_principals[0]: 'arn:aws:iam::111122223333:group/admins' is "
        "an IAM group; a group can never be a principal (IAM rejects it), use its role",
    ),
    case(
        "group-arn-ci",
        [put("access.yaml", ["ci", "jenkins", "trusted_role"], "arn:aws:iam::111122223333:group/jenkins")],
        "config/access.yaml: ci.jenkins.trusted_role: 'arn:aws:iam::111122223333:group/jenkins' is an IAM"
        " group; a group can never be a principal (IAM rejects it), use its role",
    ),
    case(
        "user-arn-for-role",
        [put("environments.yaml", ["clusters", "prod", "break_glass_role"], "arn:aws:iam::111122223333:user/admin")],
        "config/environments.yaml: clusters.prod.break_glass_role: 'arn:aws:iam::111122223333:user/admin'"
        " is a user ARN; expected a role ARN",
    ),
    case(
        "not-an-arn",
        [put("access.yaml", ["monitoring", "trusted_roles"], ["prometheus"])],
        "config/access.yaml: monitoring.trusted_roles[0]: 'prometheus' is not an IAM ARN like "
        "arn:aws:iam::111122223333:role/name",
    ),
    case(
        "system-masters-for-teams",
        [put("settings.yaml", ["naming", "kubernetes_group"], "system:masters")],
        "config/settings.yaml: naming.kubernetes_group: Kubernetes group 'system:masters' is a system "
        "group; humans and CI may not be placed in system:* groups",
    ),
    case(
        "system-group-from-id",
        [
            put("settings.yaml", ["naming", "kubernetes_group"], "{project}:{env}"),
            put("projects.yaml", ["projects", "system"], {"owner": "payments", "environments": ["dev"]}),
            put("access.yaml", ["grants", "payments", "system"], {"dev": "view"}),
        ],
        "config/access.yaml: grants.payments.system.dev: Kubernetes group 'system:dev' is a system group;"
        " humans and CI may not be placed in system:* groups; rename the project or change "
        "naming.kubernetes_group in settings.yaml",
    ),
    case(
        "system-masters-admins",
        [put("settings.yaml", ["naming", "admin_group"], "system:masters")],
        "config/settings.yaml: naming.admin_group: Kubernetes group 'system:masters' is a system group; "
        "humans and CI may not be placed in system:* groups",
    ),
    case(
        "system-masters-map-users",
        [
            put(
                "access.yaml",
                ["map_users"],
                {
                    "dev": [
                        {
                            "userarn": "arn:aws:iam::111122223333:user/alice",
                            "username": "alice",
                            "groups": ["system:masters"],
                        }
                    ]
                },
            )
        ],
        "config/access.yaml: map_users.dev[0].groups[0]: Kubernetes group 'system:masters' is a system "
        "group; humans and CI may not be placed in system:* groups",
    ),
    case(
        "reserved-username-prefix",
        [put("settings.yaml", ["naming", "username"], "eks:{project}:{env}:{{SessionName}}")],
        "config/settings.yaml: naming.username: Kubernetes username 'eks:{project}:{env}:{{SessionName}}'"
        " starts with 'eks:', which EKS reserves for itself",
    ),
    case(
        "reserved-username-amazon",
        [put("settings.yaml", ["naming", "monitoring_username"], "amazon:{{SessionName}}")],
        "config/settings.yaml: naming.monitoring_username: Kubernetes username 'amazon:{{SessionName}}' "
        "starts with 'amazon:', which EKS reserves for itself",
    ),
    case(
        "reserved-ci-username-from-id",
        [put("settings.yaml", ["naming", "ci_username"], "{ci}:{{SessionName}}"), rename_ci("aws")],
        "config/access.yaml: ci.aws: Kubernetes username 'aws:{{SessionName}}' starts with 'aws:', which "
        "EKS reserves for itself; rename the CI deployer or change naming in settings.yaml",
    ),
    case(
        "pathed-node-role-twice",
        [add_node_role(f"{A}:role/nodes/eks-dev-nodes")],
        "config/environments.yaml: clusters.dev.node_roles[2].arn: node role "
        "'arn:aws:iam::111122223333:role/nodes/eks-dev-nodes' is listed twice (also "
        "'arn:aws:iam::111122223333:role/eks-dev-nodes')",
    ),
    case(
        "pathed-role-named-like-ours",
        [
            put(
                "environments.yaml",
                ["clusters", "dev", "break_glass_role"],
                "arn:aws:iam::111122223333:role/ops/dev-cluster-admins",
            )
        ],
        "config/environments.yaml: clusters.dev.break_glass_role: "
        "'arn:aws:iam::111122223333:role/ops/dev-cluster-admins' has the name of the role eks-access "
        "creates for dev cluster admins ('dev-cluster-admins'); IAM role names are unique per account "
        "whatever the path, and aws-auth compares ARNs without it: rename one",
    ),
    case(
        "tag-reserved-prefix",
        [put("settings.yaml", ["roles", "tags", "aws:owner"], "me")],
        "config/settings.yaml: roles.tags.aws:owner: an IAM tag key must be 1-128 characters and may not "
        "start with 'aws:'",
    ),
    case(
        "tag-set-by-eks-access",
        [put("settings.yaml", ["roles", "tags", "Environment"], "prod")],
        "config/settings.yaml: roles.tags.Environment: eks-access sets the tag 'Environment' itself; "
        "choose another key (its own: ci, environment, level, managed-by, project, purpose, team)",
    ),
    case(
        "tag-value-too-long",
        [put("settings.yaml", ["roles", "tags", "note"], "n" * 257)],
        "config/settings.yaml: roles.tags.note: tag value is 257 characters; IAM allows at most 256",
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_error_is_one_exact_line(tree: ConfigTree, case: Case) -> None:
    for edit in case.edits:
        edit(tree)
    with pytest.raises(ConfigError) as caught:
        tree.load()
    assert str(caught.value) == case.expected
    assert "\n" not in str(caught.value)


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


def test_error_parts_and_format() -> None:
    error = ConfigError("config/teams.yaml", "teams.payments.members[2]", "IAM user name 'a b' is invalid")
    assert (error.file, error.path, error.message) == (
        "config/teams.yaml",
        "teams.payments.members[2]",
        "IAM user name 'a b' is invalid",
    )
    assert str(error) == "config/teams.yaml: teams.payments.members[2]: IAM user name 'a b' is invalid"
    assert str(ConfigError("config/teams.yaml", "", "file is empty")) == "config/teams.yaml: file is empty"


def test_missing_config_directory(tree: ConfigTree) -> None:
    from access.core.config import load

    with pytest.raises(ConfigError) as caught:
        load(tree.root / "nowhere", label="nowhere")
    assert str(caught.value) == "nowhere: config directory not found (set access:configDir or pass --config)"


def test_shared_account_must_name_its_home_environment(tree: ConfigTree) -> None:
    """Never inferred from file order: reordering environments.yaml must not move the groups to another stack."""
    tree.edit("environments.yaml", lambda d: d["accounts"]["main"].pop("home_environment"))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/environments.yaml: accounts.main: environments dev, prod, staging share this account: set "
        "home_environment to the one whose stack owns the account's IAM groups and memberships (it is applied first)"
    )


def test_shared_cluster_must_name_its_home_environment(tree: ConfigTree) -> None:
    """Node and break-glass access entries and cluster RBAC exist once per cluster: one stack owns them."""
    tree.edit("environments.yaml", lambda d: d["environments"]["staging"].update({"cluster": "dev"}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/environments.yaml: clusters.dev: environments dev, staging share this cluster: set home_environment "
        "to the one whose stack owns the cluster-wide objects (node and break-glass access entries, cluster RBAC) "
        "(it is applied first)"
    )
    tree.edit("environments.yaml", lambda d: d["clusters"]["dev"].update({"home_environment": "prod"}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/environments.yaml: clusters.dev.home_environment: 'prod' is not an environment of this cluster "
        "(its environments: dev, staging)"
    )


def test_at_most_45_role_tags(tree: ConfigTree) -> None:
    """IAM allows 50 tags per role and eks-access adds up to 5 of its own."""
    tree.edit("settings.yaml", lambda d: d["roles"].update(tags={f"k{i:02d}": "v" for i in range(45)}))
    assert len(tree.load().roles.tags) == 45
    tree.edit("settings.yaml", lambda d: d["roles"]["tags"].update({"k45": "v"}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == (
        "config/settings.yaml: roles.tags: 46 tags; IAM allows 50 per role and eks-access adds up to 5 of its own"
    )


def test_level_description_is_a_string(tree: ConfigTree) -> None:
    rules = [{"api_groups": [""], "resources": ["pods"], "verbs": ["get"]}]
    tree.edit("access.yaml", lambda d: d.update(levels={"peek": {"rules": rules, "description": 5}}))
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == "config/access.yaml: levels.peek.description: must be a non-empty string, found number 5"
