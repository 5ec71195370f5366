"""Look-alike session names: aws-iam-authenticator writes '@' as '-' in ``{{SessionName}}`` and IAM ignores case
in user names, so two members that look the same in the Kubernetes username are refused while the session-name
pin makes that username the person's name."""

from __future__ import annotations

import pytest

from access.core.config.teams import session_name_in_username
from access.errors import ConfigError
from tests.helpers import ConfigTree, Edit, change, put

LOOKS_LIKE = (
    "config/teams.yaml: teams.search.members[2]: IAM user {second!r} looks like {first!r} "
    "(teams.payments.members[2]) in Kubernetes audit logs: both are written {shown!r} there "
    "(aws-iam-authenticator turns '@' into '-' in {{{{SessionName}}}}, and IAM ignores case), so nobody could "
    "tell who acted; list only one of them (rename the other IAM user)"
)


def add_members(payments: str, search: str) -> Edit:
    def edit(data: dict) -> None:
        data["teams"]["payments"]["members"].append(payments)
        data["teams"]["search"]["members"].append(search)

    return change("teams.yaml", edit)


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        ("jo@example.com", "jo-example.com", "jo-example.com"),
        ("jo-example.com", "jo@example.com", "jo-example.com"),
        ("Jo@Example.com", "jo-example.com", "jo-example.com"),  # IAM ignores case: still one name in the log
        ("a@b@c", "a-b-c", "a-b-c"),
    ],
)
def test_members_that_look_alike_in_session_names_are_refused(
    tree: ConfigTree, first: str, second: str, shown: str
) -> None:
    add_members(first, second)(tree)
    with pytest.raises(ConfigError) as error:
        tree.load()
    assert str(error.value) == LOOKS_LIKE.format(first=first, second=second, shown=shown)


def test_the_same_user_in_two_teams_is_one_person(tree: ConfigTree) -> None:
    add_members("jo@example.com", "JO@example.com")(tree)  # one IAM user, spelled two ways
    org = tree.load()
    assert "jo@example.com" in org.teams["payments"].members
    assert "JO@example.com" in org.teams["search"].members


def test_without_the_session_name_pin_the_username_never_named_anyone(tree: ConfigTree) -> None:
    # Without sts:RoleSessionName = ${aws:username} whois goes to CloudTrail, which keeps the raw session name.
    put("settings.yaml", ["roles", "session_name_condition"], False)(tree)
    add_members("jo@example.com", "jo-example.com")(tree)
    assert tree.load().teams["search"].members[-1] == "jo-example.com"


def test_session_name_as_the_authenticator_renders_it() -> None:
    assert session_name_in_username("jo@example.com") == "jo-example.com"
    assert session_name_in_username("alice") == "alice"
