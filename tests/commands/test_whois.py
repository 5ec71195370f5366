"""``python -m access whois``: a ``found`` only on evidence (the pin deployed at the time of the action, or a CloudTrail
AssumeRole), look-alike session names, the window anchored at the action, the public fixtures (each names its
source), and the boto3 lookup_events call shapes through botocore's Stubber."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from access.commands import aws
from access.commands.cli import main
from access.commands.whois import answer, cloudtrail, subject, times
from access.commands.whois import roles as known
from access.core import iam
from access.core.plan.roles import build_roles
from tests.helpers import REPO, ConfigTree

FIXTURES = REPO / "tests" / "fixtures" / "whois"
PINNED_EVENT = FIXTURES / "audit-pinned.json"
GET_TOKEN_EVENT = FIXTURES / "audit-get-token-session.json"
LEGACY_EVENT = FIXTURES / "audit-legacy.json"
SHARED_EVENT = FIXTURES / "audit-shared-session.json"
TRAIL_2019 = FIXTURES / "cloudtrail-s3-2019-08-22.json"
LOOKUP_2026 = FIXTURES / "cloudtrail-lookup-2026-03-04.json"
AWS_DOCS_TRAIL = FIXTURES / "cloudtrail-aws-docs-cross-account.json"

DEV_ROLE = "arn:aws:iam::111122223333:role/projecta-dev-humans"
LEGACY_ROLE = "arn:aws:iam::111122223333:role/projectA-qa-humans"
LEGACY_UID = "aws-iam-authenticator:111122223333:AROAUBGCRZPAQIISY7KAL"
TRAIL_HINT = (
    "add --region for each region whose STS endpoint people use (AssumeRole is logged where it was served), "
    "or give the CloudTrail files that cover it"
)
ASK = "give --as-deployed PLAN_JSON|CONFIG_DIR (as deployed then) or --cloudtrail FILE"
ALICE_VIA_DEV = f"alice (IAM user in account 111122223333) via {DEV_ROLE}, environment dev"
NO_LOOKUP = "CloudTrail was not searched (cloudtrail:LookupEvents: Unable to locate credentials)"


def whois_args(*args: str) -> list[str]:
    return ["whois", "--project-dir", str(REPO), *args]


def trail_2019(*args: str) -> list[str]:
    return whois_args(*args, "--cloudtrail", str(TRAIL_2019), "--until", "2019-08-22T06:00:00Z")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches AWS: lookups fail as they do without credentials, unless a test stubs a client."""

    def client(service: str, region: str | None) -> Any:
        raise NoCredentialsError()

    monkeypatch.setattr(aws, "aws_client", client)
    monkeypatch.setattr(times, "now", lambda: datetime(2026, 3, 5, tzinfo=UTC))


class History:
    """A git checkout of a config copy whose commits carry the times we give (committer dates)."""

    def __init__(self, tree: ConfigTree) -> None:
        self.tree = tree
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, when: str = "2026-01-01T00:00:00Z") -> str:
        env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        done = subprocess.run(["git", *args], cwd=self.tree.root, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, when: str, message: str) -> str:
        self.git("add", "-A", "config", when=when)
        self.git("commit", "-q", "--allow-empty", "-m", message, when=when)
        return self.git("rev-parse", "--short=12", "HEAD")

    def args(self, *args: str) -> list[str]:
        return ["whois", "--config", str(self.tree.dir), *args]


@pytest.fixture
def history(tree: ConfigTree) -> History:
    return History(tree)


def evidence(commit: str, at: str, since_commit: str, since: str) -> str:
    return (
        f"config at commit {commit} ({at}), the last change on HEAD's first-parent history before the action (a "
        f"commit time is not a deploy time: pass --as-deployed if it was applied later); pinned since commit "
        f"{since_commit} ({since})"
    )


# --- 1. a pinned session name proves the person only with evidence of the pin at the time -------------------------


def test_pinned_session_found_from_config_history(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    first = history.commit("2026-01-10T08:00:00Z", "teams")
    history.tree.edit("teams.yaml", lambda d: d["teams"]["payments"]["members"].append("frank"))
    second = history.commit("2026-02-01T08:00:00Z", "frank joins")
    history.tree.edit("teams.yaml", lambda d: d["teams"]["payments"]["members"].remove("alice"))
    history.commit("2026-03-10T08:00:00Z", "alice leaves, after the action")

    code, out, _ = run(history.args(str(PINNED_EVENT)), capsys)
    assert code == answer.EXIT_FOUND == 0
    assert out == (
        f"{ALICE_VIA_DEV}; the role's trust policy pinned the session name to the IAM user name then: "
        + evidence(second, "2026-02-01T08:00:00Z", first, "2026-01-10T08:00:00Z")
        + "\n"
    )


def test_pinned_session_as_json(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    commit = history.commit("2026-01-10T08:00:00Z", "teams")
    code, out, _ = run(history.args(str(PINNED_EVENT), "--format", "json"), capsys)
    document = json.loads(out)
    assert code == 0
    assert (document["status"], document["method"], document["exitCode"]) == ("found", "pinned-session", 0)
    assert document["evidence"] == evidence(commit, "2026-01-10T08:00:00Z", commit, "2026-01-10T08:00:00Z")
    assert document["window"] is None
    assert document["notes"] == []
    assert document["kubernetes"] == {
        "username": "projecta:dev:alice",
        "uid": "aws-iam-authenticator:111122223333:AROAYWQ4Z7UEXAMPLEAB1",
        "accountId": "111122223333",
        "principalId": "AROAYWQ4Z7UEXAMPLEAB1",
        "accessKeyId": "ASIAYWQ4Z7UEXAMPLE21",
        "sessionName": "alice",
        "roleArn": DEV_ROLE,
        "at": "2026-03-04T09:41:27Z",
        "auditID": "e3b1c2d4-7a8f-4e6b-b1c9-2d3f4a5b6c7d",
        "action": "create /api/v1/namespaces/projecta-dev/pods/payments-6c9f8b7d4-qz5lm/exec"
        "?command=sh&container=app&stdin=true&stdout=true&tty=true",
    }
    assert document["candidates"] == [
        {
            "identity": "alice",
            "type": "IAMUser",
            "accountId": "111122223333",
            "principalArn": None,
            "principalId": None,
            "roleArn": DEV_ROLE,
            "sessionName": "alice",
            "environment": "dev",
            "inConfig": True,
            "assumedAt": None,
            "cloudTrailEventId": None,
            "accessKeyId": None,
            "callerAccessKeyId": None,
            "sourceIdentity": None,
            "via": None,
        }
    ]


def test_without_history_a_pinned_name_is_unverified_never_found(
    tree: ConfigTree, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["whois", "--config", str(tree.dir), str(PINNED_EVENT)], capsys)
    assert code == answer.EXIT_UNVERIFIED == 6
    assert out == (
        f"unverified: {ALICE_VIA_DEV}, if the role's trust pinned the session name to the IAM user name at "
        f"2026-03-04T09:41:27Z as it does in today's config; nothing shows it did ({tree.dir} is not in a git "
        f"checkout): {ASK}; note: {NO_LOOKUP}\n"
    )


@pytest.mark.parametrize(
    ("why", "setup", "flags"),
    [
        ("no commit on HEAD changed config before 2026-03-04T09:41:27Z", "2026-03-10T08:00:00Z", [str(PINNED_EVENT)]),
        ("the action's time is unknown (give --at)", "2026-01-10T08:00:00Z", ["--username", "projecta:dev:alice"]),
    ],
)
def test_history_that_cannot_tell_the_time_of_the_action_is_unverified(
    history: History, capsys: pytest.CaptureFixture[str], why: str, setup: str, flags: list[str]
) -> None:
    history.commit(setup, "config")
    code, out, _ = run(history.args(*flags), capsys)
    assert code == 6
    assert f"nothing shows it did ({why}): {ASK}" in out


def test_a_pin_added_after_the_action_proves_nothing(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    history.tree.edit("settings.yaml", lambda d: d["roles"].update({"session_name_condition": False}))
    history.commit("2026-01-10T08:00:00Z", "no pin yet")
    history.tree.edit("settings.yaml", lambda d: d["roles"].update({"session_name_condition": True}))
    history.commit("2026-03-10T08:00:00Z", "pin, after the action")
    # then, anyone allowed the role chose any session name: only CloudTrail can tell
    code, out, _ = run(history.args(str(PINNED_EVENT), "--cloudtrail", str(LOOKUP_2026)), capsys)
    assert code == 0
    assert out == (
        f"alice (IAM user arn:aws:iam::111122223333:user/alice) assumed {DEV_ROLE} as session alice at "
        "2026-03-04T09:12:03Z (CloudTrail event 9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f51)\n"
    )


GET_TOKEN_HINT = (
    "EKSGetTokenAuth is the session name `aws eks get-token` gives every session (awscli customizations/eks), not a "
    "person"
)
ON_ROLE = f"role {DEV_ROLE}, session "


@pytest.mark.parametrize(
    ("flags", "session", "hint", "searched"),
    [
        ([str(GET_TOKEN_EVENT)], "EKSGetTokenAuth", GET_TOKEN_HINT, "access key ASIAYWQ4Z7UEXAMPLE77"),
        (
            ["--username", "projecta:dev:EKSGetTokenAuth", "--at", "2026-11-20T14:02:11Z"],
            "EKSGetTokenAuth",
            GET_TOKEN_HINT,
            ON_ROLE + "EKSGetTokenAuth",
        ),
        (
            ["--username", "projecta:dev:1566432791140199108", "--at", "2026-11-20T14:02:11Z"],
            "1566432791140199108",
            "1566432791140199108 looks like a generated session name (a timestamp), not an IAM user name",
            ON_ROLE + "1566432791140199108",
        ),
        (["--username", "projecta:dev:mallory", "--at", "2026-11-20T14:02:11Z"], "mallory", "", ON_ROLE + "mallory"),
    ],
)
def test_a_name_that_is_no_member_is_not_found_even_with_an_empty_cloudtrail_export(
    history: History,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    session: str,
    hint: str,
    searched: str,
) -> None:
    commit = history.commit("2026-01-10T08:00:00Z", "config")
    empty = tmp_path / "empty.json"
    empty.write_text('{"Records": []}\n')
    code, out, _ = run(history.args(*flags, "--cloudtrail", str(empty)), capsys)
    assert code == answer.EXIT_NOT_FOUND == 3
    notes = [hint] if hint else []
    notes.append(f"no CloudTrail AssumeRole between 2026-11-20T01:47:11Z and 2026-11-20T14:02:11Z matches {searched}")
    assert out == (
        f"not found: the session name {session!r} is no member allowed to assume {DEV_ROLE} in config at commit "
        f"{commit} (2026-01-10T08:00:00Z), the last change on HEAD's first-parent history before the action (a "
        "commit time is not a deploy time: pass --as-deployed if it was applied later)"
        + "".join(f"; note: {n}" for n in notes)
        + "\n"
    )


def test_the_get_token_session_is_not_found_without_history_either(
    tree: ConfigTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"Records": []}\n')
    argv = [
        "whois",
        "--config",
        str(tree.dir),
        "--username",
        "projecta:dev:EKSGetTokenAuth",
        "--cloudtrail",
        str(empty),
    ]
    code, out, _ = run([*argv, "--at", "2026-11-20T14:02:11Z"], capsys)
    assert code == 3
    assert out.startswith(
        f"not found: the session name 'EKSGetTokenAuth' is no member allowed to assume {DEV_ROLE} in today's config "
        f"(nothing shows how it was deployed then); note: {GET_TOKEN_HINT}; note: no CloudTrail AssumeRole between "
    )


def test_someone_removed_since_is_found_as_a_member_at_the_time(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    history.tree.edit("teams.yaml", lambda d: d["teams"]["search"]["members"].append("mallory"))
    history.commit("2026-01-10T08:00:00Z", "mallory in search")
    history.tree.edit("teams.yaml", lambda d: d["teams"]["search"]["members"].remove("mallory"))
    history.commit("2026-06-01T08:00:00Z", "mallory leaves")
    code, out, _ = run(history.args("--username", "projectb:prod:mallory", "--at", "2026-03-01T00:00:00Z"), capsys)
    assert code == 0
    assert out.startswith(
        "mallory (IAM user in account 111122223333) via arn:aws:iam::111122223333:role/projectb-prod-humans, "
        "environment prod; the role's trust policy pinned the session name to the IAM user name then: config at "
    )


def test_a_cloudtrail_file_is_always_read_and_decides(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    # The config says the role pinned the name, but CloudTrail shows bob opening the session "alice": the pin was
    # not deployed then. CloudTrail names who called AssumeRole; the answer says the config evidence disagreed.
    commit = history.commit("2026-01-10T08:00:00Z", "config")
    trail = json.loads(LOOKUP_2026.read_text())
    record = json.loads(trail["Events"][1]["CloudTrailEvent"])
    record["userIdentity"].update(userName="bob", arn="arn:aws:iam::111122223333:user/bob")
    trail["Events"][1]["CloudTrailEvent"] = json.dumps(record)
    path = history.tree.root / "trail.json"
    path.write_text(json.dumps(trail))
    code, out, _ = run(history.args(str(PINNED_EVENT), "--cloudtrail", str(path)), capsys)
    assert code == 0
    assert out.startswith(f"bob (IAM user arn:aws:iam::111122223333:user/bob) assumed {DEV_ROLE} as session alice")
    assert out.endswith(
        "; note: the session-name evidence ("
        + evidence(commit, "2026-01-10T08:00:00Z", commit, "2026-01-10T08:00:00Z")
        + ") names alice\n"
    )


def test_as_deployed_plan_json_is_evidence(
    tree: ConfigTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["plan", "--stack", "dev", "--project-dir", str(tree.project()), "--format", "json"])
    saved = tmp_path / "plan-dev.json"
    saved.write_text(capsys.readouterr().out)
    code, out, _ = run(whois_args(str(PINNED_EVENT), "--as-deployed", str(saved)), capsys)
    assert code == 0
    assert out == (
        f"{ALICE_VIA_DEV}; the role's trust policy pinned the session name to the IAM user name then: {saved} "
        "(given as deployed at the time)\n"
    )


def test_as_deployed_config_directory_is_evidence(tree: ConfigTree, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(whois_args(str(PINNED_EVENT), "--as-deployed", str(tree.dir)), capsys)
    assert code == 0
    assert out.endswith(
        f"pinned the session name to the IAM user name then: {tree.dir} (given as deployed at the time)\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "neither a config directory nor plan JSON"),
        ("not json", "neither a config directory nor plan JSON"),
        ('{"roles": []}', "not `python -m access plan --format json` output (environment, roles, access)"),
    ],
)
def test_bad_as_deployed_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(content)
    code, out, err = run(whois_args(str(PINNED_EVENT), "--as-deployed", str(saved)), capsys)
    assert (code, out, err) == (2, "", f"error: --as-deployed {saved}: {message}\n")


def test_an_unknown_git_ref_is_unverified(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    history.commit("2026-01-10T08:00:00Z", "config")
    code, out, _ = run(history.args(str(PINNED_EVENT), "--git-ref", "release"), capsys)
    assert code == 6
    assert f"nothing shows it did (--git-ref release is not a commit in {history.tree.root})" in out


# --- 2. look-alike session names ---------------------------------------------------------------------------------


def test_look_alike_members_are_ambiguous_unless_the_raw_session_name_decides(
    tree: ConfigTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Today's loader refuses such a pair (tests/core/test_session_names.py); a plan applied before it may have both.
    main(["plan", "--stack", "dev", "--project-dir", str(tree.project()), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    for person in ("jo@example.com", "jo-example.com"):
        document["access"].append({"principal": person, "role": "projecta-dev-humans"})
    saved = tmp_path / "plan-dev.json"
    saved.write_text(json.dumps(document))
    argv = whois_args("--username", "projecta:dev:jo-example.com", "--as-deployed", str(saved))
    code, out, _ = run(argv, capsys)
    assert code == answer.EXIT_AMBIGUOUS == 4
    assert out == (
        "ambiguous: 2 identities match: "
        f"jo-example.com (IAM user in account 111122223333) via {DEV_ROLE}, environment dev; "
        f"jo@example.com (IAM user in account 111122223333) via {DEV_ROLE}, environment dev; "
        "the username fits several members ({{SessionName}} writes '@' as '-'); the raw session name "
        "(user.extra.sessionName) or CloudTrail decides: --correlate or --cloudtrail FILE\n"
    )
    event = json.loads(PINNED_EVENT.read_text())
    event["user"]["username"] = "projecta:dev:jo-example.com"
    event["user"]["extra"]["sessionName"] = ["jo@example.com"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    code, out, _ = run(whois_args(str(path), "--as-deployed", str(saved)), capsys)
    assert code == 0
    assert out.startswith(f"jo@example.com (IAM user in account 111122223333) via {DEV_ROLE}, environment dev; ")


def test_session_names_match_members_ignoring_case(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    # IAM user names are unique ignoring case; a pin compared ignoring case lets the caller type any case
    history.commit("2026-01-10T08:00:00Z", "config")
    code, out, _ = run(history.args("--username", "projecta:dev:ALICE", "--at", "2026-03-04T09:41:27Z"), capsys)
    assert code == 0
    assert out.startswith(ALICE_VIA_DEV + "; ")


def test_pinning_follows_the_trust_policy_not_the_username(
    tree: ConfigTree, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the session-name condition anyone allowed to assume the role picks any session name, so the
    # same username must be checked against CloudTrail.
    tree.edit("settings.yaml", lambda d: d["roles"].update({"session_name_condition": False}))
    argv = ["whois", "--config", str(tree.dir), str(PINNED_EVENT), "--cloudtrail", str(LOOKUP_2026)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out == (
        f"alice (IAM user arn:aws:iam::111122223333:user/alice) assumed {DEV_ROLE} as session alice at "
        "2026-03-04T09:12:03Z (CloudTrail event 9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f51)\n"
    )


def test_unpinned_template_correlates_and_points_at_the_parent_session(capsys: pytest.CaptureFixture[str]) -> None:
    # monitoring's trust has no session-name condition (its callers are roles): the template gives the
    # role and session, CloudTrail gives the caller, itself a role session.
    argv = whois_args(
        "--username",
        "monitoring:prometheus-0",
        "--stack",
        "dev",
        "--cloudtrail",
        str(LOOKUP_2026),
        "--until",
        "2026-03-04T10:00:00Z",
    )
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out == (
        "arn:aws:sts::111122223333:assumed-role/prometheus/i-0fedcba9876543210 (AssumedRole) assumed "
        "arn:aws:iam::111122223333:role/dev-monitoring as session prometheus-0 at 2026-03-04T09:30:00Z "
        "(CloudTrail event 9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f52); that caller is itself a role session, "
        "to follow it: python -m access whois --access-key-id ASIAZ3KP9QMEPARENT02\n"
    )


# --- 3. the CloudTrail window ends at the action ----------------------------------------------------------------


def test_the_window_is_anchored_at_the_action_not_at_now(capsys: pytest.CaptureFixture[str]) -> None:
    # 2019's event, read years later: the window still ends at the action's time
    code, out, _ = run(whois_args(str(LEGACY_EVENT), "--cloudtrail", str(TRAIL_2019), "--format", "json"), capsys)
    document = json.loads(out)
    assert (code, document["status"]) == (0, "found")
    assert document["window"] == {"start": "2019-08-21T11:58:15Z", "end": "2019-08-22T00:13:15Z"}
    assert document["candidates"][0]["identity"] == "username1"


def test_lookup_events_is_asked_for_the_window_before_the_action(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = json.loads(LOOKUP_2026.read_text())["Events"]
    client, stub = cloudtrail_client("eu-west-1")
    expected = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
        "StartTime": datetime(2026, 3, 3, 21, 26, 27, 315562, tzinfo=UTC),  # 12h15m before the action
        "EndTime": datetime(2026, 3, 4, 9, 41, 27, 315562, tzinfo=UTC),  # the event's requestReceivedTimestamp
    }
    stub.add_response("lookup_events", lookup_page(saved), expected)
    monkeypatch.setattr(aws, "aws_client", lambda service, region: client)
    with stub:
        code, out, err = run(whois_args(str(PINNED_EVENT), "--correlate", "--region", "eu-west-1"), capsys)
    assert err == ""
    stub.assert_no_pending_responses()
    assert code == 0
    assert out.startswith(f"alice (IAM user arn:aws:iam::111122223333:user/alice) assumed {DEV_ROLE} as session ")


def test_event_history_keeps_90_days(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(whois_args(str(LEGACY_EVENT)), capsys)
    assert (code, err) == (
        2,
        "error: the window starts 2019-08-21T11:58:15Z, more than 90 days ago, and CloudTrail event history keeps "
        "90 days; use --cloudtrail FILE (the trail's files in S3)\n",
    )


# --- 8. AWS's documented AssumeRole records ----------------------------------------------------------------------


def test_aws_documented_cross_account_assume_role_is_one_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = (
        "--uid",
        "aws-iam-authenticator:111122223333:AIDAQRSTUVWXYZEXAMPLE",  # AWS's example shows an AIDA… role id
        "--username",
        "ec2-dev:JohnDoe-EC2-dev",
        "--at",
        "2014-07-18T15:10:00Z",
    )
    # both accounts' records of the one request: the caller's names the IAM user
    code, out, _ = run(whois_args(*flags, "--cloudtrail", str(AWS_DOCS_TRAIL)), capsys)
    assert code == 0
    assert out == (
        "JohnDoe (IAM user arn:aws:iam::777788889999:user/JohnDoe) assumed arn:aws:iam::111122223333:role/EC2-dev "
        "as session JohnDoe-EC2-dev at 2014-07-18T15:07:39Z (CloudTrail event dEXAMPLE-ac7f-466c-a608-4ac8dEXAMPLE), "
        "source identity JohnDoe\n"
    )
    # the role's account alone sees only the calling account's principal
    document = json.loads(AWS_DOCS_TRAIL.read_text())
    role_account = tmp_path / "role-account.json"
    role_account.write_text(json.dumps({"Records": document["Records"][1:]}))
    code, out, _ = run(whois_args(*flags, "--cloudtrail", str(role_account)), capsys)
    assert code == 0
    assert out == (
        "principal AIDAQRSTUVWXYZEXAMPLE of account 777788889999 (AWSAccount) assumed "
        "arn:aws:iam::111122223333:role/EC2-dev as session JohnDoe-EC2-dev at 2014-07-18T15:07:39Z (CloudTrail "
        "event dEXAMPLE-ac7f-466c-a608-4ac8dEXAMPLE), source identity JohnDoe; the call came from account "
        "777788889999, whose own CloudTrail names the principal AIDAQRSTUVWXYZEXAMPLE (aws iam get-user / get-role "
        "there)\n"
    )


def test_every_fixture_names_its_source() -> None:
    readme = (FIXTURES.parent / "README.md").read_text()
    for path in sorted(FIXTURES.parent.rglob("*")):
        if path.is_file() and path.name != "README.md":
            assert f"`{path.relative_to(FIXTURES.parent).as_posix()}`" in readme, path
    for path in (AWS_DOCS_TRAIL, GET_TOKEN_EVENT, LEGACY_EVENT, PINNED_EVENT):
        assert json.loads(path.read_text())["_source"], path
    assert "https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html" in str(
        json.loads(AWS_DOCS_TRAIL.read_text())["_source"]
    )


# --- legacy correlation with CloudTrail ---------------------------------------------------------------------


def test_legacy_event_is_attributed_through_assume_role(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(trail_2019(str(LEGACY_EVENT)), capsys)
    assert code == 0
    assert out == (
        "username1 (IAM user arn:aws:iam::111122223333:user/username1) assumed "
        f"{LEGACY_ROLE} as session 1566432791140199108 at 2019-08-22T00:13:12Z "
        "(CloudTrail event 0c5f1f6d-2f3e-4a5b-9c2d-5e8f7a6b4c01)\n"
    )


def test_s3_files_may_be_gzipped_as_cloudtrail_delivers_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packed = tmp_path / "111122223333_CloudTrail_us-east-1_20190822T0015Z_Xk2h.json.gz"
    packed.write_bytes(gzip.compress(TRAIL_2019.read_bytes()))
    argv = whois_args(str(LEGACY_EVENT), "--cloudtrail", str(packed), "--until", "2019-08-22T06:00:00Z")
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out.startswith("username1 (IAM user arn:aws:iam::111122223333:user/username1) assumed ")


def test_session_is_only_a_candidate_while_its_credentials_and_token_are_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # credentials expire "Aug 22, 2019 1:13:12 AM"; a token signed just before stays valid 15 minutes
    flags = ("--uid", LEGACY_UID, "--username", "projectA-qa-1566432791140199108")
    code, out, _ = run(trail_2019(*flags, "--at", "2019-08-22T01:25:00Z"), capsys)
    assert code == 0
    assert out.startswith("username1 ")
    code, out, _ = run(trail_2019(*flags, "--at", "2019-08-22T01:40:00Z"), capsys)
    assert code == answer.EXIT_NOT_FOUND == 3


def test_role_chaining_caller(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(trail_2019("--uid", LEGACY_UID, "--username", "projectA-qa-deploy-7"), capsys)
    assert code == 0
    assert out == (
        "arn:aws:sts::111122223333:assumed-role/ci-runner/i-0a1b2c3d4e5f67890 (AssumedRole) assumed "
        f"{LEGACY_ROLE} as session deploy-7 at 2019-08-22T01:00:41Z "
        "(CloudTrail event 0c5f1f6d-2f3e-4a5b-9c2d-5e8f7a6b4c03); that caller is itself a role session, "
        "to follow it: python -m access whois --access-key-id ASIAQXPJ3F7RPARENT01\n"
    )


def test_several_people_behind_one_session_name_is_ambiguous(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(trail_2019(str(SHARED_EVENT)), capsys)
    assert code == answer.EXIT_AMBIGUOUS == 4
    assert out == (
        "ambiguous: 2 identities match: "
        "alice (IAM user arn:aws:iam::111122223333:user/alice) assumed "
        f"{LEGACY_ROLE} as session EKSGetTokenAuth at 2019-08-22T02:40:05Z "
        "(CloudTrail event 0c5f1f6d-2f3e-4a5b-9c2d-5e8f7a6b4c04); "
        "bob (IAM user arn:aws:iam::111122223333:user/bob) assumed "
        f"{LEGACY_ROLE} as session EKSGetTokenAuth at 2019-08-22T02:55:31Z "
        "(CloudTrail event 0c5f1f6d-2f3e-4a5b-9c2d-5e8f7a6b4c05); "
        "give --access-key-id (user.extra.accessKeyId in newer audit events) to decide\n"
    )
    # the temporary access key decides it
    code, out, _ = run(trail_2019(str(SHARED_EVENT), "--access-key-id", "ASIAUBGCRZPAQ7EXAMP5"), capsys)
    assert code == 0
    assert out.startswith("bob (IAM user arn:aws:iam::111122223333:user/bob) assumed ")


def test_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    uid = "aws-iam-authenticator:111122223333:AROAUBGCRZPAQIISY7KAX"
    code, out, _ = run(trail_2019("--uid", uid, "--username", "projectA-qa-1566432791140199108"), capsys)
    assert code == answer.EXIT_NOT_FOUND == 3
    assert out == (
        "not found: no AssumeRole between 2019-08-21T17:45:00Z and 2019-08-22T06:00:00Z matches role id "
        "AROAUBGCRZPAQIISY7KAX, a session name that ends the username 'projectA-qa-1566432791140199108'; "
        f"{TRAIL_HINT}\n"
    )


def test_event_outside_the_window(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(trail_2019(str(LEGACY_EVENT), "--since", "5h"), capsys)
    assert code == answer.EXIT_OUTSIDE_WINDOW == 5
    assert out == (
        "outside the window: the action at 2019-08-22T00:13:15Z is outside the look-back window "
        "2019-08-22T01:00:00Z .. 2019-08-22T06:00:00Z; its session can start up to 12 h earlier: use --since 18h "
        "(or --until)\n"
    )
    code, out, _ = run(trail_2019(str(LEGACY_EVENT), "--since", "5h", "--format", "json"), capsys)
    document = json.loads(out)
    assert (document["status"], document["exitCode"], document["candidates"]) == ("outside-window", 5, [])
    assert document["window"] == {"start": "2019-08-22T01:00:00Z", "end": "2019-08-22T06:00:00Z"}


def test_refused_assume_role_is_never_a_session() -> None:
    records = json.loads(TRAIL_2019.read_text())["Records"]
    refused = [r for r in records if r.get("errorCode")]
    assert len(refused) == 1
    assert cloudtrail.assume_role_from_record(refused[0]) is None
    parsed = [cloudtrail.assume_role_from_record(r) for r in records]
    assert [p.caller_name for p in parsed if p is not None] == ["username1", None, "alice", "bob"]
    first = parsed[0]
    assert first is not None
    assert (first.role_id, first.session_name, first.access_key_id) == (
        "AROAUBGCRZPAQIISY7KAL",
        "1566432791140199108",
        "ASIAUBGCRZPAQ7EXAMP1",
    )
    assert first.valid_until == datetime(2019, 8, 22, 1, 13, 12, tzinfo=UTC)


# --- input forms ------------------------------------------------------------------------------------------


def test_event_from_stdin_and_cloudwatch_export_wrapper(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrapped = json.dumps({"timestamp": 1566432795589, "message": LEGACY_EVENT.read_text().strip()})
    monkeypatch.setattr("sys.stdin", io.StringIO(wrapped))
    code, out, _ = run(trail_2019("-"), capsys)
    assert code == 0
    assert out.startswith("username1 (IAM user arn:aws:iam::111122223333:user/username1) assumed ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["whois"], "error: give an audit event (a file, or - for stdin) or --username / --uid / --access-key-id"),
        (
            ["whois", "--username", "x:y", "--since", "6 hours"],
            "error: --since '6 hours': expected a duration like 90m, 6h, 2d or 1h30m",
        ),
        (
            ["whois", "--uid", "heptio:1:2"],
            "error: --uid 'heptio:1:2': expected aws-iam-authenticator:<account id>:<role id>",
        ),
        (
            ["whois", "--username", "x:y", "--until", "yesterday"],
            "error: --until: 'yesterday' is not an ISO 8601 time like 2019-08-22T00:13:15Z",
        ),
        (
            ["whois", "--username", "projectA-qa-1566432791140199108", "--cloudtrail", str(TRAIL_2019)],
            "error: cannot correlate: give the uid (aws-iam-authenticator:<account>:<role id>), an --access-key-id, "
            "or a username from a role in config",
        ),
        (
            ["whois", "--username", "monitoring:x", "--since", "91d"],
            "error: --since 91d: CloudTrail event history keeps 90 days; use --cloudtrail FILE",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(argv, capsys)
    assert (code, out, err) == (2, "", message + "\n")


def test_bad_files_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two = tmp_path / "two.jsonl"
    two.write_text(LEGACY_EVENT.read_text() + SHARED_EVENT.read_text())
    assert (
        run(whois_args(str(two)), capsys)[2]
        == f"error: {two}: 2 lines; give one audit event (pick it with grep or jq)\n"
    )
    not_audit = tmp_path / "pod.json"
    not_audit.write_text('{"kind": "Pod", "metadata": {"name": "x"}}')
    assert (
        run(whois_args(str(not_audit)), capsys)[2]
        == f"error: {not_audit}: kind is 'Pod', expected a single audit Event\n"
    )
    odd_trail = tmp_path / "trail.json"
    odd_trail.write_text('{"events": []}')
    code, _, err = run(whois_args(str(LEGACY_EVENT), "--cloudtrail", str(odd_trail)), capsys)
    assert (code, err) == (
        2,
        f'error: {odd_trail}: expected CloudTrail\'s {{"Records": [...]}} or lookup-events\' {{"Events": [...]}}\n',
    )


def test_help_shows_an_example_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["whois", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "python -m access whois --username projecta:dev:alice" in text
    assert answer.EXIT_CODES_TEXT in " ".join(text.split())


# --- the plan's templates and trust policies ---------------------------------------------------------------


def test_username_templates_and_pinning_come_from_the_plan(sample_org: Any) -> None:
    roles = {r.key: r for r in build_roles(sample_org, "dev")}
    human = known.template_pattern(roles["human/projecta/operate"].username)
    assert human.fullmatch("projecta:dev:alice") is not None
    assert human.fullmatch("projecta:dev:alice").groupdict() == {"session": "alice"}  # type: ignore[union-attr]
    assert human.fullmatch("projecta:staging:alice") is None
    assert iam.session_name_identifies_user(roles["human/projecta/operate"].trust_policy)
    assert iam.session_name_identifies_user(roles["admin"].trust_policy)
    assert not iam.session_name_identifies_user(roles["monitoring"].trust_policy)
    assert not iam.session_name_identifies_user(roles["ci/jenkins"].trust_policy)


def test_uid_forms() -> None:
    assert subject.parse_uid("aws-iam-authenticator:111122223333:AROAUBGCRZPAQIISY7KAL") == (
        "111122223333",
        "AROAUBGCRZPAQIISY7KAL",
    )
    assert subject.parse_uid("heptio-authenticator-aws:111122223333:AROAUBGCRZPAQIISY7KAL") == (
        "111122223333",
        "AROAUBGCRZPAQIISY7KAL",
    )
    # identities the authenticator does not log (its "administrative" form) carry no role id
    assert subject.parse_uid("aws-iam-authenticator:administrative:kubernetes-admin") == (None, None)


# --- boto3 lookup_events (Stubber: call shapes only) ---------------------------------------------------------


def cloudtrail_client(region: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        "cloudtrail", region_name=region, aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret"
    )
    return client, Stubber(client)


def lookup_page(events: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "Events": [
            {**event, "EventTime": datetime.fromisoformat(event["EventTime"]), "ReadOnly": "true"} for event in events
        ]
    }
    if next_token:
        page["NextToken"] = next_token
    return page


def test_lookup_events_pages_through_every_region(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = json.loads(LOOKUP_2026.read_text())["Events"]
    prometheus, alice = saved
    start, end = datetime(2026, 3, 3, 21, 45, tzinfo=UTC), datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    expected = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
        "StartTime": start,
        "EndTime": end,
    }
    west, west_stub = cloudtrail_client("eu-west-1")
    west_stub.add_response("lookup_events", lookup_page([prometheus], "page-2"), expected)
    west_stub.add_response("lookup_events", lookup_page([alice]), {**expected, "NextToken": "page-2"})
    east, east_stub = cloudtrail_client("us-east-1")
    east_stub.add_response("lookup_events", lookup_page([]), expected)
    clients = {"eu-west-1": west, "us-east-1": east}
    monkeypatch.setattr(aws, "aws_client", lambda service, region: clients[region])

    argv = whois_args(
        str(PINNED_EVENT),
        "--correlate",
        "--region",
        "eu-west-1",
        "--region",
        "us-east-1",
        "--until",
        "2026-03-04T10:00Z",
    )
    with west_stub, east_stub:
        code, out, _ = run(argv, capsys)
    west_stub.assert_no_pending_responses()
    east_stub.assert_no_pending_responses()
    assert code == 0
    assert out.startswith(
        "alice (IAM user arn:aws:iam::111122223333:user/alice) assumed "
        "arn:aws:iam::111122223333:role/projecta-dev-humans as session alice at 2026-03-04T09:12:03Z"
    )


def test_lookup_errors_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    client, stub = cloudtrail_client("eu-west-1")
    stub.add_client_error(
        "lookup_events", "AccessDeniedException", "not authorized to perform: cloudtrail:LookupEvents"
    )
    monkeypatch.setattr(aws, "aws_client", lambda service, region: client)
    monkeypatch.setattr(times, "now", lambda: datetime(2019, 8, 23, tzinfo=UTC))
    with stub:
        code, _, err = run(
            whois_args(str(SHARED_EVENT), "--until", "2019-08-22T06:00Z", "--region", "eu-west-1"), capsys
        )
    assert code == 2
    assert err == (
        "error: cloudtrail:LookupEvents in eu-west-1: An error occurred (AccessDeniedException) when calling the "
        "LookupEvents operation: not authorized to perform: cloudtrail:LookupEvents\n"
    )


def test_one_unpinned_statement_means_the_session_name_proves_nothing() -> None:
    """Explicitly trusted principals (e.g. SSO roles) get a statement without the session-name condition: anyone
    entering through it may pick any session name, so the username cannot be taken as the IAM user."""
    from access.core import iam
    from access.core.model import RoleSettings

    pinned = iam.human_trust_policy("111122223333", RoleSettings())
    assert iam.session_name_identifies_user(pinned)
    with_sso = iam.human_trust_policy(
        "111122223333",
        RoleSettings(trusted_principals=("arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0123456789abcdef",)),
    )
    assert [s["Sid"] for s in with_sso["Statement"]] == [
        "AccountUsersAllowedByGroupPolicy",
        "ExplicitlyTrustedPrincipals",
    ]
    assert not iam.session_name_identifies_user(with_sso)
    assert not iam.session_name_identifies_user({"Version": "2012-10-17", "Statement": []})


# --- IAM Identity Center sessions -----------------------------------------------------------------------------

IC_EVENT = FIXTURES / "audit-identity-center.json"
IC_TRAIL = FIXTURES / "cloudtrail-identity-center.json"
IC_PROJECT = REPO / "examples" / "identity-center"
IC_ROLE = "arn:aws:iam::222222222222:role/projecta-dev-humans"
PAYMENTS = "Identity Center group Payments, team payments, permission set eks.payments.dev"
SSO_ALICE = "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_eks.payments.dev_4f2c1a9e7b3d5c60/alice@example.com"


def ic_args(*args: str) -> list[str]:
    return ["whois", "--project-dir", str(IC_PROJECT), *args]


def test_an_identity_center_session_name_is_unverified_without_cloudtrail(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(ic_args(str(IC_EVENT), "--format", "json"), capsys)
    answer = json.loads(out)
    assert (code, answer["status"], answer["method"]) == (6, "unverified", "identity-center")
    (candidate,) = answer["candidates"]
    assert (candidate["identity"], candidate["type"], candidate["via"], candidate["roleArn"]) == (
        "alice@example.com",
        "IdentityCenterUser",
        PAYMENTS,
        IC_ROLE,
    )
    assert answer["message"].startswith(
        f"unverified: alice@example.com (Identity Center user, as the session name says; {PAYMENTS}) via {IC_ROLE}, "
        "environment dev; the session name is the only link to the person (an Identity Center session chooses the "
        "session name of the role it assumes, and no trust condition pins it to the Identity Center user): give "
        "--cloudtrail FILE"
    )


def test_cloudtrail_names_the_identity_center_user_behind_the_session(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(ic_args(str(IC_EVENT), "--cloudtrail", str(IC_TRAIL)), capsys)
    assert code == 0
    assert out == (
        f"alice@example.com (Identity Center user) assumed {IC_ROLE} as session alice@example.com at "
        "2026-03-04T10:02:11Z (CloudTrail event c4e2a1b0-9d8f-4e7c-a6b5-3f2e1d0c9b87); the caller is the Identity "
        f"Center user's session {SSO_ALICE} ({PAYMENTS})\n"
    )


def test_the_person_is_the_sso_session_not_the_chosen_session_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bob's Identity Center session assumed the role with alice's name: the username says alice, CloudTrail bob."""
    trail = json.loads(IC_TRAIL.read_text())
    identity = trail["Records"][0]["userIdentity"]
    identity["arn"] = identity["arn"].replace("alice@", "bob@")
    identity["principalId"] = identity["principalId"].replace("alice@", "bob@")
    path = tmp_path / "trail.json"
    path.write_text(json.dumps(trail))
    code, out, _ = run(ic_args(str(IC_EVENT), "--cloudtrail", str(path), "--format", "json"), capsys)
    answer = json.loads(out)
    assert (code, answer["status"], answer["method"]) == (0, "found", "cloudtrail")
    (candidate,) = answer["candidates"]
    assert (candidate["identity"], candidate["sessionName"], candidate["via"]) == (
        "bob@example.com",
        "alice@example.com",
        PAYMENTS,
    )


def test_an_event_of_the_permission_set_role_itself_is_unverified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A permission set's role mapped by hand (outside eks-access): the team and group from the permission set."""
    event = json.loads(IC_EVENT.read_text())
    role = "arn:aws:iam::222222222222:role/AWSReservedSSO_eks.payments.dev_4f2c1a9e7b3d5c60"
    event["user"]["username"] = "sso:alice@example.com"
    event["user"]["extra"].update(canonicalArn=[role], arn=[SSO_ALICE])
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    code, out, _ = run(ic_args(str(path), "--format", "json"), capsys)
    answer = json.loads(out)
    assert (code, answer["status"], answer["method"]) == (6, "unverified", "identity-center")
    (candidate,) = answer["candidates"]
    assert (candidate["identity"], candidate["via"], candidate["roleArn"]) == ("alice@example.com", PAYMENTS, role)
    assert "the role is a permission set's own role" in answer["message"]


def test_a_saved_plan_names_the_identity_center_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--project-dir", str(IC_PROJECT), "--stack", "dev", "--format", "json"]) == 0
    plan = tmp_path / "plan-dev.json"
    plan.write_text(capsys.readouterr().out)
    code, out, _ = run(ic_args(str(IC_EVENT), "--as-deployed", str(plan), "--format", "json"), capsys)
    answer = json.loads(out)
    assert (code, answer["status"]) == (6, "unverified")
    assert [c["via"] for c in answer["candidates"]] == [
        "Identity Center group Payments, permission set eks.payments.dev"
    ]


def test_sso_sessions_are_read_from_their_arn() -> None:
    from access.commands.whois.sso import sso_session

    assert sso_session(SSO_ALICE) == ("eks.payments.dev", "alice@example.com")
    assert sso_session("arn:aws:sts::222222222222:assumed-role/projecta-dev-humans/alice") is None
    assert sso_session("arn:aws:iam::222222222222:user/alice") is None
