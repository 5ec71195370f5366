"""The exact grammar of every name and ARN config gives (issue 12, item 9), as table-driven bad configs.

Whole-value matches only (``$`` also matches before a trailing newline), ASCII digits and letters only, every ARN
taken apart and its name checked against IAM's grammar, and every message one line whatever the value holds.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from access.core import names
from access.core.config.nodes import Node, principal_arn
from access.errors import ConfigError, escape_controls
from tests.helpers import A, ConfigTree, Edit, put

ENV = "config/environments.yaml"


class Case(NamedTuple):
    id: str
    edits: list[Edit]
    expected: str


def node_role(arn: str) -> Edit:
    return put("environments.yaml", ["clusters", "dev", "node_roles"], [{"arn": arn}])


def rename(file: str, table: str, old: str, new: str) -> Edit:
    def edit(tree: ConfigTree) -> None:
        def change(data: dict[str, Any]) -> None:
            data[table][new] = data[table].pop(old)

        tree.edit(file, change)

    return edit


CASES = [
    Case(
        "member-with-trailing-newline",
        [put("teams.yaml", ["teams", "payments", "members"], ["alice\n"])],
        "config/teams.yaml: teams.payments.members[0]: IAM user name 'alice\\n' may contain only letters, digits "
        "and + = , . @ _ -",
    ),
    Case(
        "environment-id-with-trailing-newline",
        [rename("environments.yaml", "environments", "dev", "dev\n")],
        f"{ENV}: environments['dev\\n']: environment id 'dev\\n' may contain only letters, digits and '-', starting "
        "and ending with a letter or digit",
    ),
    Case(
        "team-id-with-a-tab",
        [rename("teams.yaml", "teams", "search", "se\tarch")],
        "config/teams.yaml: teams['se\\tarch']: team id 'se\\tarch' may contain only letters, digits and '-', "
        "starting and ending with a letter or digit",
    ),
    Case(
        "namespace-template-with-trailing-newline",
        [put("settings.yaml", ["naming", "namespace"], "{project}-{env}\n")],
        "config/settings.yaml: naming.namespace: template '{project}-{env}\\n' contains '\\n'; names may not hold "
        "line breaks or control characters",
    ),
    Case(
        "username-template-with-trailing-newline",
        [put("settings.yaml", ["naming", "username"], "{project}:{env}:{{SessionName}}\n")],
        "config/settings.yaml: naming.username: template '{project}:{env}:{{SessionName}}\\n' contains '\\n'; names "
        "may not hold line breaks or control characters",
    ),
    Case(
        "role-path-with-trailing-newline",
        [put("settings.yaml", ["roles", "path"], "/teams/\n")],
        "config/settings.yaml: roles.path: IAM path '/teams/\\n' must start and end with '/', e.g. /teams/",
    ),
    Case(
        "account-id-in-full-width-digits",
        [put("environments.yaml", ["accounts", "main", "id"], "１１１１２２２２３３３３")],
        f"{ENV}: accounts.main.id: '１１１１２２２２３３３３' is not a 12-digit AWS account id",
    ),
    Case(
        "account-id-in-arabic-indic-digits",
        [put("environments.yaml", ["accounts", "main", "id"], "١١١١٢٢٢٢٣٣٣٣")],
        f"{ENV}: accounts.main.id: '١١١١٢٢٢٢٣٣٣٣' is not a 12-digit AWS account id",
    ),
    Case(
        "node-role-with-trailing-space",
        [node_role(f"{A}:role/eks-dev-nodes ")],
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role/eks-dev-nodes ' contains ' '; an ARN has no spaces or "
        "control characters (a copy-paste leftover?)",
    ),
    Case(
        "node-role-with-a-look-alike-letter",
        [node_role(f"{A}:role/eks-dev-nоdes")],  # Cyrillic о
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role/eks-dev-nоdes' contains 'о' (U+043E), which is not "
        "ASCII; ARNs are ASCII (a look-alike letter?)",
    ),
    Case(
        "node-role-with-a-zero-width-space",
        [node_role(f"{A}:role/eks\u200b-dev-nodes")],
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role/eks\\u200b-dev-nodes' contains '\\u200b'; an ARN has no "
        "spaces or control characters (a copy-paste leftover?)",
    ),
    Case(
        "node-role-account-in-full-width-digits",
        [node_role("arn:aws:iam::１11122223333:role/x")],
        f"{ENV}: clusters.dev.node_roles[0].arn: 'arn:aws:iam::１11122223333:role/x' contains '１' (U+FF11), which "
        "is not ASCII; ARNs are ASCII (a look-alike letter?)",
    ),
    Case(
        "node-role-name-too-long",
        [node_role(f"{A}:role/{'n' * 65}")],
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role/{'n' * 65}': role name '{'n' * 65}' is 65 characters; "
        "IAM allows at most 64",
    ),
    Case(
        "node-role-name-outside-iam-grammar",
        [node_role(f"{A}:role/eks#nodes")],
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role/eks#nodes': role name 'eks#nodes' may contain only "
        "letters, digits and + = , . @ _ -",
    ),
    Case(
        "node-role-unknown-partition",
        [node_role("arn:aws-iso:iam::111122223333:role/x")],
        f"{ENV}: clusters.dev.node_roles[0].arn: 'arn:aws-iso:iam::111122223333:role/x' has partition 'aws-iso'; "
        "expected one of aws, aws-cn, aws-us-gov",
    ),
    Case(
        "node-role-with-a-region",
        [node_role("arn:aws:iam:eu-west-1:111122223333:role/x")],
        f"{ENV}: clusters.dev.node_roles[0].arn: 'arn:aws:iam:eu-west-1:111122223333:role/x' has region "
        "'eu-west-1'; IAM and STS ARNs have none (arn:aws:iam::111122223333:role/name)",
    ),
    Case(
        "node-role-with-a-short-account",
        [node_role("arn:aws:iam::11112222333:role/x")],
        f"{ENV}: clusters.dev.node_roles[0].arn: 'arn:aws:iam::11112222333:role/x' has account '11112222333'; an "
        "account id is 12 digits 0-9",
    ),
    Case(
        "node-role-with-an-empty-path-segment",
        [node_role(f"{A}:role//x")],
        f"{ENV}: clusters.dev.node_roles[0].arn: '{A}:role//x' has IAM path '//'; a path is '/' or /segments/ of "
        "printable ASCII",
    ),
    Case(
        "node-role-that-is-a-session",
        [node_role("arn:aws:sts::111122223333:assumed-role/x/y")],
        f"{ENV}: clusters.dev.node_roles[0].arn: 'arn:aws:sts::111122223333:assumed-role/x/y' is an STS ARN (a "
        "session); expected an IAM role ARN",
    ),
    Case(
        "kept-role-with-trailing-newline",
        [put("environments.yaml", ["clusters", "dev", "keep_map_roles"], [f"{A}:role/ng\n"])],
        f"{ENV}: clusters.dev.keep_map_roles[0]: '{A}:role/ng\\n' contains '\\n'; an ARN has no spaces or control "
        "characters (a copy-paste leftover?)",
    ),
    Case(
        "break-glass-with-a-look-alike-letter",
        [put("environments.yaml", ["clusters", "prod", "break_glass_role"], f"{A}:role/brеak-glass")],  # Cyrillic е
        f"{ENV}: clusters.prod.break_glass_role: '{A}:role/brеak-glass' contains 'е' (U+0435), which is not ASCII; "
        "ARNs are ASCII (a look-alike letter?)",
    ),
    Case(
        "monitoring-role-name-outside-iam-grammar",
        [put("access.yaml", ["monitoring", "trusted_roles"], [f"{A}:role/prom etheus"])],
        f"config/access.yaml: monitoring.trusted_roles[0]: '{A}:role/prom etheus' contains ' '; an ARN has no "
        "spaces or control characters (a copy-paste leftover?)",
    ),
    Case(
        "ci-role-from-another-partition",
        [put("access.yaml", ["ci", "jenkins", "trusted_role"], "arn:azure:iam::111122223333:role/jenkins")],
        "config/access.yaml: ci.jenkins.trusted_role: 'arn:azure:iam::111122223333:role/jenkins' has partition "
        "'azure'; expected one of aws, aws-cn, aws-us-gov",
    ),
    Case(
        "map-user-with-trailing-newline",
        [
            put(
                "access.yaml",
                ["map_users"],
                {"dev": [{"userarn": f"{A}:user/bob\n", "username": "bob", "groups": ["ops"]}]},
            )
        ],
        f"config/access.yaml: map_users.dev[0].userarn: '{A}:user/bob\\n' contains '\\n'; an ARN has no spaces or "
        "control characters (a copy-paste leftover?)",
    ),
    Case(
        "oidc-provider-written-as-a-url",
        [
            put(
                "access.yaml",
                ["ci", "jenkins"],
                {
                    "github": {
                        "repository": "acme/app",
                        "branch": "main",
                        "provider_arn": f"{A}:oidc-provider/https://x",
                    },
                    "deploys": {"projecta": ["dev"]},
                },
            )
        ],
        f"config/access.yaml: ci.jenkins.github.provider_arn: '{A}:oidc-provider/https://x': 'https://x' is not an "
        "OIDC provider URL without https:// (e.g. token.actions.githubusercontent.com)",
    ),
    Case(
        "oidc-provider-that-is-a-role",
        [
            put(
                "access.yaml",
                ["ci", "jenkins"],
                {
                    "github": {"repository": "acme/app", "branch": "main", "provider_arn": f"{A}:role/github"},
                    "deploys": {"projecta": ["dev"]},
                },
            )
        ],
        f"config/access.yaml: ci.jenkins.github.provider_arn: '{A}:role/github' is not an IAM oidc-provider ARN like "
        "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_name_is_checked_whole_and_in_ascii(tree: ConfigTree, case: Case) -> None:
    for edit in case.edits:
        edit(tree)
    with pytest.raises(ConfigError) as caught:
        tree.load()
    assert str(caught.value) == case.expected
    assert str(caught.value).isprintable()


def test_patterns_match_whole_values_only() -> None:
    for pattern, good in (
        (names.ID_RE, "dev"),
        (names.IAM_NAME_RE, "alice"),
        (names.IAM_PATH_RE, "/teams/"),
        (names.RFC1123_LABEL_RE, "projecta-dev"),
        (names.LABEL_VALUE_RE, "projecta"),
        (names.ACCOUNT_ID_RE, "111122223333"),
        (names.ARN_RE, f"{A}:role/x"),
    ):
        assert pattern.match(good)
        assert not pattern.match(good + "\n"), pattern.pattern
        assert not pattern.fullmatch(good + "\n"), pattern.pattern
    assert not names.ACCOUNT_ID_RE.match("١١١١٢٢٢٢٣٣٣٣")


@pytest.mark.parametrize(
    ("arn", "parsed"),
    [
        (f"{A}:role/eks-dev-nodes", names.Arn("aws", "iam", "", "111122223333", "role", "/", "eks-dev-nodes")),
        (f"{A}:role/a/b/name", names.Arn("aws", "iam", "", "111122223333", "role", "/a/b/", "name")),
        ("arn:aws-cn:iam::111122223333:user/u", names.Arn("aws-cn", "iam", "", "111122223333", "user", "/", "u")),
        (f"{A}:root", names.Arn("aws", "iam", "", "111122223333", "root", "", "")),
        (
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            names.Arn("aws", "iam", "", "aws", "policy", "/", "ReadOnlyAccess"),
        ),
        (
            f"{A}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
            names.Arn("aws", "iam", "", "111122223333", "oidc-provider", "", "oidc.eks.eu-west-1.amazonaws.com/id/ABC"),
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/r/s",
            names.Arn("aws", "sts", "", "111122223333", "assumed-role", "", "r/s"),
        ),
    ],
)
def test_arns_are_taken_apart(arn: str, parsed: names.Arn) -> None:
    assert names.parse_arn(arn) == parsed
    assert names.arn_name_problem(arn, parsed) is None


def test_only_policies_belong_to_the_aws_account() -> None:
    assert names.parse_arn("arn:aws:iam::aws:role/x") == (
        "'arn:aws:iam::aws:role/x' has account 'aws'; an account id is 12 digits 0-9"
    )


def test_group_names_may_be_longer_than_role_names() -> None:
    long_group = f"{A}:group/{'g' * 128}"
    parsed = names.parse_arn(long_group)
    assert isinstance(parsed, names.Arn) and names.arn_name_problem(long_group, parsed) is None
    too_long = f"{A}:group/{'g' * 129}"
    parsed = names.parse_arn(too_long)
    assert isinstance(parsed, names.Arn)
    assert names.arn_name_problem(too_long, parsed) == (
        f"{too_long!r}: group name {'g' * 129!r} is 129 characters; IAM allows at most 128"
    )


@given(st.text(max_size=80))
def test_any_principal_value_is_accepted_only_if_it_is_a_clean_arn_else_refused_in_one_line(value: str) -> None:
    node = Node("config/environments.yaml", "clusters.dev.break_glass_role", value)
    try:
        arn = principal_arn(node, ("role",))
    except ConfigError as refusal:
        assert str(refusal).isprintable() and str(refusal).startswith("config/environments.yaml: clusters.dev.")
        return
    assert arn.isascii() and arn.isprintable() and " " not in arn
    parsed = names.parse_arn(arn)
    assert isinstance(parsed, names.Arn) and parsed.resource_type == "role"


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_config_error_is_one_printable_line_whatever_the_key_and_message(key: str, message: str) -> None:
    error = Node("config/teams.yaml", "teams", {}).child(key, None).error(message)
    assert str(error).isprintable()
    assert escape_controls(str(error)) == str(error)
