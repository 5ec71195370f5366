"""``python -m access whois``: recorded audit events and CloudTrail AssumeRole records (fixtures shaped as
kube-apiserver-audit and CloudTrail write them) for the pinned session, legacy correlation, no match,
several matches and the look-back window; boto3 lookup_events call shapes through botocore's Stubber."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from access.commands import aws
from access.commands.cli import main
from access.commands.whois import cloudtrail, correlate, subject
from access.commands.whois import roles as known
from access.core import iam
from access.core.plan.roles import build_roles
from tests.helpers import REPO, ConfigTree

FIXTURES = REPO / "tests" / "fixtures" / "whois"
PINNED_EVENT = FIXTURES / "audit-pinned.json"
LEGACY_EVENT = FIXTURES / "audit-legacy.json"
SHARED_EVENT = FIXTURES / "audit-shared-session.json"
TRAIL_2019 = FIXTURES / "cloudtrail-s3-2019-08-22.json"
LOOKUP_2026 = FIXTURES / "cloudtrail-lookup-2026-03-04.json"

LEGACY_ROLE = "arn:aws:iam::111122223333:role/projectA-qa-humans"
LEGACY_UID = "aws-iam-authenticator:111122223333:AROAUBGCRZPAQIISY7KAL"
TRAIL_HINT = (
    "a session can start up to 12 h before it is used: widen --since, or add --region "
    "for each region whose STS endpoint people use (AssumeRole is logged where it was served)"
)


def whois_args(*args: str) -> list[str]:
    return ["whois", "--project-dir", str(REPO), *args]


def trail_2019(*args: str) -> list[str]:
    return whois_args(*args, "--cloudtrail", str(TRAIL_2019), "--until", "2019-08-22T06:00:00Z")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- pinned session: the username is the answer -----------------------------------------------------------


def test_pinned_session_answers_from_the_audit_event_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(whois_args(str(PINNED_EVENT)), capsys)
    assert code == 0
    assert out == (
        "alice (IAM user in account 111122223333) via arn:aws:iam::111122223333:role/projecta-dev-humans, "
        "environment dev; the role's trust policy pins the session name to the IAM user name\n"
    )


def test_pinned_session_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(whois_args(str(PINNED_EVENT), "--format", "json"), capsys)
    document = json.loads(out)
    assert code == 0
    assert document["status"] == "found"
    assert document["method"] == "pinned-session"
    assert document["exitCode"] == 0
    assert document["window"] is None
    assert document["kubernetes"] == {
        "username": "projecta:dev:alice",
        "uid": "aws-iam-authenticator:111122223333:AROAYWQ4Z7UEXAMPLEAB1",
        "accountId": "111122223333",
        "principalId": "AROAYWQ4Z7UEXAMPLEAB1",
        "accessKeyId": "ASIAYWQ4Z7UEXAMPLE21",
        "sessionName": "alice",
        "roleArn": "arn:aws:iam::111122223333:role/projecta-dev-humans",
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
            "roleArn": "arn:aws:iam::111122223333:role/projecta-dev-humans",
            "sessionName": "alice",
            "environment": "dev",
            "inConfig": True,
            "assumedAt": None,
            "cloudTrailEventId": None,
            "accessKeyId": None,
            "callerAccessKeyId": None,
            "sourceIdentity": None,
        }
    ]


def test_pinned_session_name_with_at_sign_maps_back_to_the_member(
    tree: ConfigTree, capsys: pytest.CaptureFixture[str]
) -> None:
    # {{SessionName}} turns '@' into '-': the username shows jo-example.com for the IAM user jo@example.com
    tree.edit("teams.yaml", lambda d: d["teams"]["payments"]["members"].append("jo@example.com"))
    code, out, _ = run(whois_args("--config", str(tree.dir), "--username", "projecta:staging:jo-example.com"), capsys)
    assert code == 0
    assert out.startswith("jo@example.com (IAM user in account 111122223333) via ")
    assert "role/projecta-staging-humans, environment staging;" in out

    # with a member really named jo-example.com too, the username cannot tell them apart
    tree.edit("teams.yaml", lambda d: d["teams"]["search"]["members"].append("jo-example.com"))
    tree.edit("access.yaml", lambda d: d["grants"]["search"].update({"projecta": {"staging": "operate"}}))
    code, out, _ = run(whois_args("--config", str(tree.dir), "--username", "projecta:staging:jo-example.com"), capsys)
    assert code == correlate.EXIT_AMBIGUOUS == 4
    assert out.startswith("ambiguous: 2 identities match: jo-example.com (IAM user in account 111122223333)")
    assert "; jo@example.com (IAM user in account 111122223333)" in out
    assert out.endswith("; the username fits several members; check with --correlate\n")


def test_pinned_session_for_someone_no_longer_in_config_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(whois_args("--username", "projectb:prod:mallory"), capsys)
    assert code == 0
    assert out == (
        "mallory (IAM user in account 111122223333) via arn:aws:iam::111122223333:role/projectb-prod-humans, "
        "environment prod; the role's trust policy pins the session name to the IAM user name; note: mallory is "
        "not in a team allowed this role in config (removed since?)\n"
    )


def test_pinning_follows_the_trust_policy_not_the_username(
    tree: ConfigTree, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the session-name condition anyone allowed to assume the role picks any session name, so the
    # same username must be checked against CloudTrail.
    tree.edit("settings.yaml", lambda d: d["roles"].update({"session_name_condition": False}))
    argv = whois_args(
        "--config", str(tree.dir), str(PINNED_EVENT), "--cloudtrail", str(LOOKUP_2026), "--until", "2026-03-04T10:00Z"
    )
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out == (
        "alice (IAM user arn:aws:iam::111122223333:user/alice) assumed "
        "arn:aws:iam::111122223333:role/projecta-dev-humans as session alice at 2026-03-04T09:12:03Z "
        "(CloudTrail event 9d8e7f6a-1b2c-4d3e-8f9a-0b1c2d3e4f51)\n"
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
    assert code == correlate.EXIT_NO_MATCH == 3


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
    assert code == correlate.EXIT_AMBIGUOUS == 4
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
    assert code == correlate.EXIT_NO_MATCH == 3
    assert out == (
        "no match: no AssumeRole between 2019-08-22T00:00:00Z and 2019-08-22T06:00:00Z matches role id "
        "AROAUBGCRZPAQIISY7KAX, a session name that ends the username 'projectA-qa-1566432791140199108'; "
        f"{TRAIL_HINT}\n"
    )


def test_event_outside_the_window(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(trail_2019(str(LEGACY_EVENT), "--since", "5h"), capsys)
    assert code == correlate.EXIT_OUTSIDE_WINDOW == 5
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
    assert (
        "exit codes: 0 answered, 2 bad input, 3 no match, 4 several identities match, 5 outside the look-back window"
        in text
    )


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
    start, end = datetime(2026, 3, 4, 4, 0, tzinfo=UTC), datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
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
