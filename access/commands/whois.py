"""``python -m access whois``: which IAM user is behind a Kubernetes action.

Kubernetes audit events name the role session, not the person: ``user.username`` is the role's aws-auth
username template filled in by the authenticator, ``user.uid`` is ``aws-iam-authenticator:<account>:<role id>``
(``heptio-authenticator-aws:`` before the rename), and newer authenticators add ``user.extra`` (``arn``,
``canonicalArn``, ``sessionName``, ``accessKeyId``, ``principalId``).

1. **Pinned session** (our roles): every statement of the role's trust policy requires
   ``sts:RoleSessionName = ${aws:username}``, so ``{{SessionName}}`` in the username *is* the IAM user name.
   The plan knows each role's username template and trust policy, so the answer needs no lookup.
2. **Correlation** (roles created before, other tools' roles, roles whose trust does not pin the session):
   find the ``AssumeRole`` that issued the session in CloudTrail over a look-back window, through boto3
   ``cloudtrail.lookup_events`` or exported files (``{"Records": [...]}`` as delivered to S3, or the
   ``lookup_events`` shape with ``CloudTrailEvent`` strings).

Exit codes: 0 answered, 2 bad input, 3 no match, 4 several identities match, 5 the action is outside the
look-back window.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from access.commands.cli import UsageError
from access.core import names
from access.core.model import Organisation
from access.core.plan.roles import build_roles
from access.core.plan.types import RolePlan

EXIT_FOUND = 0
EXIT_NO_MATCH = 3
EXIT_AMBIGUOUS = 4
EXIT_OUTSIDE_WINDOW = 5
EXIT_CODES = {
    "found": EXIT_FOUND,
    "no-match": EXIT_NO_MATCH,
    "ambiguous": EXIT_AMBIGUOUS,
    "outside-window": EXIT_OUTSIDE_WINDOW,
}

UID_PREFIXES = ("aws-iam-authenticator:", "heptio-authenticator-aws:")
# An EKS token is an sts:GetCallerIdentity URL presigned with the session's credentials; EKS accepts it for
# 15 minutes after signing, so a session is seen up to that long after its credentials expire.
TOKEN_VALIDITY = timedelta(minutes=15)
DEFAULT_SESSION = timedelta(hours=1)  # AssumeRole's DurationSeconds when the caller does not set it
MAX_SESSION = timedelta(hours=12)  # the longest role session IAM allows
LOOKUP_HISTORY = timedelta(days=90)  # what CloudTrail event history (lookup_events) keeps
PIN = "${aws:username}"

EXAMPLE = """examples:
  grep b7140a45 kube-apiserver-audit.log | python -m access whois -    # one audit event on stdin
  python -m access whois event.json --format json
  python -m access whois --username projecta:dev:alice                  # pinned session: no lookup needed
  python -m access whois --uid heptio-authenticator-aws:111122223333:AROAUBGCRZPAQIISY7KAL \\
      --username projectA-qa-1566432791140199108 --since 12h          # CloudTrail AssumeRole lookup (boto3)
  python -m access whois event.json --cloudtrail 111122223333_CloudTrail_us-east-1_….json.gz --until 2019-08-22T06:00Z

exit codes: 0 answered, 2 bad input, 3 no match, 4 several identities match, 5 outside the look-back window
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "whois",
        help="which IAM user is behind a Kubernetes audit event",
        description="Attribute a Kubernetes action (an audit event, or its username/uid/access key) to the IAM "
        "user behind it: directly when the role pins the session name to the IAM user name, else through "
        "CloudTrail AssumeRole events.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("event", nargs="?", help="file with one kube-apiserver-audit event (JSON), or - for stdin")
    parser.add_argument("--username", help="Kubernetes username, e.g. projecta:dev:alice")
    parser.add_argument("--uid", help="Kubernetes uid, e.g. aws-iam-authenticator:111122223333:AROA…")
    parser.add_argument("--access-key-id", help="temporary access key id of the session (ASIA…)")
    parser.add_argument("--at", help="when the action happened (ISO 8601), when not given by an event")
    parser.add_argument("--since", default="6h", help="look-back window, e.g. 90m, 6h, 2d (default 6h)")
    parser.add_argument("--until", help="end of the window (ISO 8601; default now)")
    parser.add_argument(
        "--cloudtrail",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="exported CloudTrail JSON (.json or .json.gz; repeatable) instead of lookup_events",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        help="CloudTrail region(s) to search (repeatable): AssumeRole is logged where the STS endpoint served it",
    )
    parser.add_argument(
        "--correlate", action="store_true", help="check CloudTrail even when the session name is pinned"
    )
    parser.add_argument("--stack", help="only this stack's environment's roles (default: every environment)")
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="directory holding Pulumi.yaml")
    parser.add_argument("--config", type=Path, default=None, help="config directory (default: <project-dir>/config)")
    parser.add_argument("--format", choices=("line", "json"), default="line")
    parser.set_defaults(func=run)


# --- what Kubernetes tells us ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """The Kubernetes identity to attribute, from an audit event and/or flags."""

    username: str | None = None
    uid: str | None = None
    account_id: str | None = None
    principal_id: str | None = None  # the role's unique id (AROA…), from the uid or extra.principalId
    access_key_id: str | None = None
    session_name: str | None = None  # raw session name (extra.sessionName; '@' kept)
    role_arn: str | None = None  # extra.canonicalArn: the role ARN without path
    at: datetime | None = None
    audit_id: str | None = None
    action: str | None = None


def parse_uid(uid: str) -> tuple[str | None, str | None]:
    """(account id, principal id) from ``aws-iam-authenticator:<account>:<id>`` (or the heptio- prefix)."""
    for prefix in UID_PREFIXES:
        if uid.startswith(prefix):
            account, _, principal = uid[len(prefix) :].partition(":")
            if names.ACCOUNT_ID_RE.match(account) and principal:
                return account, principal
    return None, None


def subject_from_event(event: dict[str, Any], label: str) -> Subject:
    user = event.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("username"), str):
        raise UsageError(f"{label}: not a Kubernetes audit event (no user.username)")
    extra: dict[str, Any] = user["extra"] if isinstance(user.get("extra"), dict) else {}

    def extra_value(key: str) -> str | None:
        value = extra.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        return value if isinstance(value, str) and value else None

    uid = user.get("uid") if isinstance(user.get("uid"), str) else None
    account, principal = parse_uid(uid) if uid else (None, None)
    stamp = event.get("requestReceivedTimestamp") or event.get("stageTimestamp") or event.get("timestamp")
    verb = event.get("verb")
    uri = event.get("requestURI")
    return Subject(
        username=user["username"],
        uid=uid,
        account_id=account,
        principal_id=principal or extra_value("principalId"),
        access_key_id=extra_value("accessKeyId"),
        session_name=extra_value("sessionName"),
        role_arn=extra_value("canonicalArn"),
        at=parse_time(stamp, f"{label}: requestReceivedTimestamp") if isinstance(stamp, str) else None,
        audit_id=event.get("auditID") if isinstance(event.get("auditID"), str) else None,
        action=f"{verb} {uri}" if isinstance(verb, str) and isinstance(uri, str) else None,
    )


def read_event(source: str) -> tuple[dict[str, Any], str]:
    """One audit event from a file or stdin (``-``): a JSON object, also when wrapped as CloudWatch Logs
    exports it (``{"message": "<event JSON>"}``)."""
    label = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as error:
        raise UsageError(f"{label}: {error.strerror}") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1:
            raise UsageError(f"{label}: {len(lines)} lines; give one audit event (pick it with grep or jq)") from None
        raise UsageError(f"{label}: not JSON") from None
    if isinstance(event, dict) and isinstance(event.get("message"), str) and "user" not in event:
        try:
            event = json.loads(event["message"])
        except json.JSONDecodeError:
            raise UsageError(f"{label}: message is not a JSON audit event") from None
    if not isinstance(event, dict):
        raise UsageError(f"{label}: not a Kubernetes audit event (expected a JSON object)")
    if event.get("kind", "Event") != "Event":
        raise UsageError(f"{label}: kind is {event.get('kind')!r}, expected a single audit Event")
    return event, label


# --- what the plan knows: username templates and whether the session name is pinned -----------------------


@dataclass(frozen=True)
class KnownRole:
    environment: str
    role: RolePlan
    pattern: re.Pattern[str]
    pinned: bool
    members: tuple[str, ...]  # IAM users whose teams may assume it


_TOKEN_PATTERNS = {
    "{{SessionName}}": ("session", r"[\w+=,.-]{2,64}"),  # the authenticator replaces '@' with '-'
    "{{SessionNameRaw}}": ("raw", r"[\w+=,.@-]{2,64}"),
    "{{AccessKeyID}}": ("key", r"[A-Z0-9]{16,128}"),
    "{{AccountID}}": ("account", r"\d{12}"),
    "{{EC2PrivateDNSName}}": ("dns", r"[^:]+"),
}
_TOKEN_RE = re.compile("|".join(re.escape(token) for token in _TOKEN_PATTERNS))


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching usernames rendered from an aws-auth username template."""
    parts: list[str] = []
    seen: set[str] = set()
    position = 0
    for match in _TOKEN_RE.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        group, expression = _TOKEN_PATTERNS[match.group(0)]
        parts.append(f"(?P={group})" if group in seen else f"(?P<{group}>{expression})")
        seen.add(group)
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


def session_pinned(trust_policy: dict[str, Any]) -> bool:
    """True when every statement letting anyone assume the role requires the session name to be the
    caller's IAM user name (roles and federated callers have no aws:username, so they cannot pass)."""
    statements = trust_policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    granting = []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and any(
            a in ("*", "sts:*") or a.startswith("sts:AssumeRole") for a in actions
        ):
            granting.append(statement)
    return bool(granting) and all(
        (s.get("Condition") or {}).get("StringEquals", {}).get("sts:RoleSessionName") == PIN for s in granting
    )


def known_roles(org: Organisation, environments: Iterable[str]) -> list[KnownRole]:
    out = []
    for env in environments:
        for role in build_roles(org, env):
            members = tuple(sorted({m for team in role.teams for m in org.teams[team].members}))
            out.append(
                KnownRole(env, role, template_pattern(role.username), session_pinned(role.trust_policy), members)
            )
    return out


@dataclass(frozen=True)
class TemplateMatch:
    known: KnownRole
    session: str | None  # the session name as it appears in the username
    raw_session: str | None  # with '@' intact, when the template or the event carries it


def match_templates(subject: Subject, roles: Sequence[KnownRole]) -> list[TemplateMatch]:
    """The known roles whose username template produced ``subject.username`` (and agree with the event's
    role ARN and account, when it names them)."""
    if not subject.username:
        return []
    matches = []
    for known in roles:
        found = known.pattern.fullmatch(subject.username)
        if not found:
            continue
        if subject.role_arn and names.strip_role_path(known.role.arn).lower() != subject.role_arn.lower():
            continue  # same username shape, different role: another tool's mapping
        if subject.account_id and f":{subject.account_id}:" not in known.role.arn:
            continue
        groups = found.groupdict()
        session = groups.get("session")
        raw = groups.get("raw") or subject.session_name
        if raw and session and raw.replace("@", "-") != session:
            continue
        matches.append(TemplateMatch(known, session or raw, raw))
    return matches


# --- what CloudTrail tells us -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssumeRole:
    """One successful sts:AssumeRole, as CloudTrail recorded it."""

    event_id: str | None
    time: datetime
    caller_type: str | None  # userIdentity.type: IAMUser, AssumedRole, AWSAccount, Root, …
    caller_arn: str | None
    caller_name: str | None  # userIdentity.userName (IAM users)
    caller_principal_id: str | None
    caller_account: str | None
    caller_access_key_id: str | None  # for role chaining: the parent session's key
    source_identity: str | None
    role_arn: str
    session_name: str
    role_id: str  # the role's unique id (AROA…), from assumedRoleUser.assumedRoleId
    assumed_role_arn: str | None
    access_key_id: str | None  # the temporary key the call issued
    valid_until: datetime
    region: str | None

    def identity(self) -> str:
        return (
            self.caller_arn or f"{self.caller_type or 'principal'} {self.caller_principal_id} ({self.caller_account})"
        )


_EXPIRATION_FORMATS = ("%b %d, %Y %I:%M:%S %p", "%b %d, %Y, %I:%M:%S %p")


def _expiration(value: Any) -> datetime | None:
    """CloudTrail writes ``credentials.expiration`` as e.g. ``Oct 2, 2019 11:12:29 PM`` (UTC)."""
    if not isinstance(value, str):
        return None
    for fmt in _EXPIRATION_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def assume_role_from_record(record: dict[str, Any]) -> AssumeRole | None:
    """A CloudTrail record as an :class:`AssumeRole`, or None for other events and refused calls."""
    if record.get("eventName") != "AssumeRole" or record.get("errorCode"):
        return None
    request = record.get("requestParameters") or {}
    response = record.get("responseElements") or {}
    credentials = response.get("credentials") or {}
    assumed = response.get("assumedRoleUser") or {}
    caller = record.get("userIdentity") or {}
    role_arn = request.get("roleArn")
    session = request.get("roleSessionName")
    time_value = record.get("eventTime")
    if not (isinstance(role_arn, str) and isinstance(session, str) and isinstance(time_value, str)):
        return None
    time = parse_time(time_value, "CloudTrail eventTime")
    duration = request.get("durationSeconds")
    valid_until = _expiration(credentials.get("expiration")) or time + (
        timedelta(seconds=int(duration)) if isinstance(duration, int) else DEFAULT_SESSION
    )
    role_id = str(assumed.get("assumedRoleId") or "").partition(":")[0]
    return AssumeRole(
        event_id=record.get("eventID"),
        time=time,
        caller_type=caller.get("type"),
        caller_arn=caller.get("arn"),
        caller_name=caller.get("userName"),
        caller_principal_id=caller.get("principalId"),
        caller_account=caller.get("accountId"),
        caller_access_key_id=caller.get("accessKeyId") or None,
        source_identity=request.get("sourceIdentity"),
        role_arn=role_arn,
        session_name=session,
        role_id=role_id,
        assumed_role_arn=assumed.get("arn"),
        access_key_id=credentials.get("accessKeyId"),
        valid_until=valid_until,
        region=record.get("awsRegion"),
    )


def records_from_files(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """CloudTrail records from S3-delivered files (``{"Records": [...]}``, gzipped or not) and from saved
    ``lookup_events`` output (``{"Events": [{"CloudTrailEvent": "<json>"}, ...]}`` or a list of those)."""
    for path in paths:
        try:
            raw = path.read_bytes()
            text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
            document = json.loads(text)
        except OSError as error:
            raise UsageError(f"{path}: {error.strerror}") from None
        except (ValueError, EOFError):
            raise UsageError(f"{path}: not CloudTrail JSON") from None
        if isinstance(document, dict) and isinstance(document.get("Records"), list):
            items = document["Records"]
        elif isinstance(document, dict) and isinstance(document.get("Events"), list):
            items = document["Events"]
        elif isinstance(document, list):
            items = document
        else:
            raise UsageError(
                f'{path}: expected CloudTrail\'s {{"Records": [...]}} or lookup-events\' {{"Events": [...]}}'
            )
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("CloudTrailEvent"), str):
                yield json.loads(item["CloudTrailEvent"])
            elif isinstance(item, dict):
                yield item


def aws_client(service: str, region: str | None) -> Any:
    """A boto3 client (tests replace this with a stubbed one)."""
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def records_from_lookup(client: Any, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """AssumeRole events from CloudTrail event history (``lookup_events``, every page)."""
    paginator = client.get_paginator("lookup_events")
    pages = paginator.paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRole"}],
        StartTime=start,
        EndTime=end,
    )
    for page in pages:
        for event in page.get("Events", []):
            if isinstance(event.get("CloudTrailEvent"), str):
                yield json.loads(event["CloudTrailEvent"])


# --- the answer ----------------------------------------------------------------------------------------------


@dataclass
class Candidate:
    identity: str  # IAM user name, or the caller's ARN when it is not an IAM user
    kind: str  # IAMUser, AssumedRole, AWSAccount, … ("IAMUser" for pinned answers)
    account_id: str | None
    role_arn: str | None
    session_name: str | None
    principal_arn: str | None = None
    assumed_at: datetime | None = None
    event_id: str | None = None
    access_key_id: str | None = None
    caller_access_key_id: str | None = None
    source_identity: str | None = None
    environment: str | None = None
    in_config: bool | None = None


@dataclass
class Answer:
    status: str  # found | no-match | ambiguous | outside-window
    method: str  # pinned-session | cloudtrail
    subject: Subject
    candidates: list[Candidate] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    searched: str = ""  # what the CloudTrail search looked for

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def pinned_answer(subject: Subject, matches: list[TemplateMatch]) -> Answer | None:
    """The answer from the username alone, when every matching role pins the session name; else None."""
    if not matches or not all(m.known.pinned and (m.session or m.raw_session) for m in matches):
        return None
    candidates: dict[str, Candidate] = {}
    for match in matches:
        for user, in_config in _users_for_session(match):
            candidate = candidates.setdefault(
                user.lower(),
                Candidate(
                    identity=user,
                    kind="IAMUser",
                    account_id=match.known.role.arn.split(":")[4],
                    role_arn=match.known.role.arn,
                    session_name=match.raw_session or match.session,
                    environment=match.known.environment,
                    in_config=in_config,
                ),
            )
            if candidate.role_arn != match.known.role.arn:
                # the same template in several environments: the role is one of these
                candidate.role_arn = f"{candidate.role_arn}, {match.known.role.arn}"
                candidate.environment = f"{candidate.environment}, {match.known.environment}"
    status = "found" if len(candidates) == 1 else "ambiguous"
    return Answer(status, "pinned-session", subject, list(candidates.values()))


def _users_for_session(match: TemplateMatch) -> list[tuple[str, bool]]:
    """IAM user names a session name stands for: ``{{SessionName}}`` turns '@' into '-', so a session
    ``jo-example.com`` is the member ``jo@example.com`` (or a member really named ``jo-example.com``)."""
    if match.raw_session:
        member = next((m for m in match.known.members if m == match.raw_session), None)
        return [(match.raw_session, member is not None)]
    session = match.session or ""
    members = [m for m in match.known.members if m.replace("@", "-") == session]
    return [(m, True) for m in members] or [(session, False)]


def correlate(
    subject: Subject, matches: list[TemplateMatch], records: Iterable[dict[str, Any]], window: tuple[datetime, datetime]
) -> Answer:
    """The AssumeRole(s) in ``records`` that issued the subject's session, grouped by who called it."""
    start, end = window
    role_arns = {m.known.role.arn for m in matches}
    if subject.role_arn:
        role_arns = {subject.role_arn}
    role_keys = {names.strip_role_path(arn).lower() for arn in role_arns}
    sessions = {s for m in matches for s in (m.session, m.raw_session) if s}
    if subject.session_name:
        sessions = {subject.session_name}
    if not (subject.access_key_id or subject.principal_id or role_keys):
        raise UsageError(
            "cannot correlate: give the uid (aws-iam-authenticator:<account>:<role id>), an --access-key-id, "
            "or a username from a role in config"
        )
    searched = _describe_search(subject, role_arns, sessions)
    if subject.at is not None and not start <= subject.at <= end:
        return Answer("outside-window", "cloudtrail", subject, window=window, searched=searched)

    def session_matches(record: AssumeRole) -> bool:
        rendered = {record.session_name, record.session_name.replace("@", "-")}
        if sessions:
            return bool(rendered & sessions)
        if subject.username:
            # aws-auth templates put {{SessionName}} last (prefix-{{SessionName}}), as the seeds' did
            return any(subject.username.endswith(s) for s in rendered)
        return True

    def valid_at(record: AssumeRole) -> bool:
        return subject.at is None or record.time <= subject.at <= record.valid_until + TOKEN_VALIDITY

    found: list[AssumeRole] = []
    for raw in records:
        record = assume_role_from_record(raw)
        if record is None or not start <= record.time <= end:
            continue
        if subject.access_key_id:
            if record.access_key_id == subject.access_key_id:
                found.append(record)
            continue
        if subject.principal_id and record.role_id != subject.principal_id:
            continue
        if role_keys and names.strip_role_path(record.role_arn).lower() not in role_keys:
            continue
        if session_matches(record) and valid_at(record):
            found.append(record)
    latest: dict[str, AssumeRole] = {}
    for record in sorted(found, key=lambda r: (r.time, r.event_id or "")):
        latest[record.identity()] = record
    candidates = [_candidate(record) for record in sorted(latest.values(), key=lambda r: r.time)]
    status = "found" if len(candidates) == 1 else ("no-match" if not candidates else "ambiguous")
    return Answer(status, "cloudtrail", subject, candidates, window, searched)


def _candidate(record: AssumeRole) -> Candidate:
    iam_user = record.caller_type == "IAMUser" and record.caller_name
    return Candidate(
        identity=str(record.caller_name) if iam_user else record.identity(),
        kind=record.caller_type or "unknown",
        account_id=record.caller_account,
        role_arn=record.role_arn,
        session_name=record.session_name,
        principal_arn=record.caller_arn,
        assumed_at=record.time,
        event_id=record.event_id,
        access_key_id=record.access_key_id,
        caller_access_key_id=record.caller_access_key_id,
        source_identity=record.source_identity,
    )


def _describe_search(subject: Subject, role_arns: set[str], sessions: set[str]) -> str:
    if subject.access_key_id:
        return f"access key {subject.access_key_id}"
    parts = []
    if subject.principal_id:
        parts.append(f"role id {subject.principal_id}")
    if role_arns:
        parts.append(f"role {', '.join(sorted(role_arns))}")
    if sessions:
        parts.append(f"session {', '.join(sorted(sessions))}")
    elif subject.username:
        parts.append(f"a session name that ends the username {subject.username!r}")
    return ", ".join(parts)


# --- times -----------------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: str, what: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not an ISO 8601 time like 2019-08-22T00:13:15Z") from None


_DURATION_RE = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """``90m``, ``6h``, ``2d``, ``1h30m``."""
    if not re.fullmatch(r"(\d+[smhd])+", value):
        raise UsageError(f"--since {value!r}: expected a duration like 90m, 6h, 2d or 1h30m")
    total = timedelta()
    for amount, unit in _DURATION_RE.findall(value):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta():
        raise UsageError(f"--since {value!r}: the window must be longer than zero")
    return total


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- rendering ---------------------------------------------------------------------------------------------


def render_line(answer: Answer) -> str:
    if answer.status == "outside-window":
        assert answer.window is not None and answer.subject.at is not None
        start, end = answer.window
        hours = math.ceil((end - answer.subject.at) / timedelta(hours=1)) + int(MAX_SESSION / timedelta(hours=1))
        return (
            f"outside the window: the action at {iso(answer.subject.at)} is outside the look-back window "
            f"{iso(start)} .. {iso(end)}; its session can start up to 12 h earlier: use --since {hours}h "
            "(or --until)"
        )
    if answer.status == "no-match":
        assert answer.window is not None
        start, end = answer.window
        return (
            f"no match: no AssumeRole between {iso(start)} and {iso(end)} matches {answer.searched}; "
            "a session can start up to 12 h before it is used: widen --since, or add --region "
            "for each region whose STS endpoint people use (AssumeRole is logged where it was served)"
        )
    if answer.status == "ambiguous":
        listed = "; ".join(_candidate_text(c) for c in answer.candidates)
        hint = (
            "the username fits several members; check with --correlate"
            if answer.method == "pinned-session"
            else "give --access-key-id (user.extra.accessKeyId in newer audit events) to decide"
        )
        return f"ambiguous: {len(answer.candidates)} identities match: {listed}; {hint}"
    return _candidate_text(answer.candidates[0], answer.method)


def _candidate_text(candidate: Candidate, method: str | None = None) -> str:
    if candidate.assumed_at is None:  # pinned session
        text = (
            f"{candidate.identity} (IAM user in account {candidate.account_id}) via {candidate.role_arn}, "
            f"environment {candidate.environment}"
        )
        if method:
            text += "; the role's trust policy pins the session name to the IAM user name"
        if candidate.in_config is False:
            text += f"; note: {candidate.identity} is not in a team allowed this role in config (removed since?)"
        return text
    kind = "IAM user" if candidate.kind == "IAMUser" else candidate.kind
    who = (
        f"{candidate.identity} ({kind} {candidate.principal_arn})"
        if candidate.kind == "IAMUser"
        else (f"{candidate.identity} ({kind})")
    )
    text = (
        f"{who} assumed {candidate.role_arn} as session {candidate.session_name} at {iso(candidate.assumed_at)}"
        f" (CloudTrail event {candidate.event_id})"
    )
    if candidate.source_identity:
        text += f", source identity {candidate.source_identity}"
    if method and candidate.kind == "AssumedRole" and candidate.caller_access_key_id:
        text += (
            "; that caller is itself a role session, to follow it: python -m access whois "
            f"--access-key-id {candidate.caller_access_key_id}"
        )
    return text


def render_json(answer: Answer) -> str:
    subject = answer.subject
    document = {
        "status": answer.status,
        "method": answer.method,
        "exitCode": answer.exit_code,
        "kubernetes": {
            "username": subject.username,
            "uid": subject.uid,
            "accountId": subject.account_id,
            "principalId": subject.principal_id,
            "accessKeyId": subject.access_key_id,
            "sessionName": subject.session_name,
            "roleArn": subject.role_arn,
            "at": iso(subject.at) if subject.at else None,
            "auditID": subject.audit_id,
            "action": subject.action,
        },
        "window": {"start": iso(answer.window[0]), "end": iso(answer.window[1])} if answer.window else None,
        "searched": answer.searched or None,
        "candidates": [
            {
                "identity": c.identity,
                "type": c.kind,
                "accountId": c.account_id,
                "principalArn": c.principal_arn,
                "roleArn": c.role_arn,
                "sessionName": c.session_name,
                "environment": c.environment,
                "inConfig": c.in_config,
                "assumedAt": iso(c.assumed_at) if c.assumed_at else None,
                "cloudTrailEventId": c.event_id,
                "accessKeyId": c.access_key_id,
                "callerAccessKeyId": c.caller_access_key_id,
                "sourceIdentity": c.source_identity,
            }
            for c in answer.candidates
        ],
        "message": render_line(answer),
    }
    return json.dumps(document, indent=2)


# --- the command ---------------------------------------------------------------------------------------------


def load_known_roles(args: argparse.Namespace) -> list[KnownRole]:
    """Every environment's roles (or the stack's), from config; none when there is no config to read."""
    from access.core import config
    from access.core import stack_settings as stack_config

    environment = None
    directory = args.config
    if args.stack:
        settings = stack_config.parse(args.stack, stack_config.read_stack_file(args.project_dir, args.stack))
        environment = settings.environment
        if directory is None:
            directory = Path(settings.config_dir)
            if not directory.is_absolute():
                directory = args.project_dir / directory
    if directory is None:
        directory = args.project_dir / "config"
        if not directory.is_dir():
            print(f"note: no {directory}; usernames from eks-access roles are not recognised", file=sys.stderr)
            return []
    org = config.load(Path(directory), label=str(args.config or "config").rstrip("/"))
    environments = [environment] if environment else sorted(org.environments)
    return known_roles(org, environments)


def subject_from_args(args: argparse.Namespace) -> Subject:
    subject = Subject()
    if args.event:
        event, label = read_event(args.event)
        subject = subject_from_event(event, label)
    elif not (args.username or args.uid or args.access_key_id):
        raise UsageError("give an audit event (a file, or - for stdin) or --username / --uid / --access-key-id")
    uid = args.uid or subject.uid
    account, principal = parse_uid(uid) if uid else (subject.account_id, subject.principal_id)
    if args.uid and principal is None:
        raise UsageError(f"--uid {args.uid!r}: expected aws-iam-authenticator:<account id>:<role id>")
    return Subject(
        username=args.username or subject.username,
        uid=uid,
        account_id=account or subject.account_id,
        principal_id=principal or subject.principal_id,
        access_key_id=args.access_key_id or subject.access_key_id,
        session_name=subject.session_name,
        role_arn=subject.role_arn,
        at=parse_time(args.at, "--at") if args.at else subject.at,
        audit_id=subject.audit_id,
        action=subject.action,
    )


def run(args: argparse.Namespace) -> int:
    since = parse_duration(args.since)
    until = parse_time(args.until, "--until") if args.until else datetime.now(UTC)
    window = (until - since, until)
    subject = subject_from_args(args)
    matches = match_templates(subject, load_known_roles(args))

    answer = None if args.correlate else pinned_answer(subject, matches)
    if answer is None:
        if args.cloudtrail:
            records: Iterable[dict[str, Any]] = list(records_from_files(args.cloudtrail))  # bad files fail first
        else:
            if since > LOOKUP_HISTORY:
                raise UsageError(f"--since {args.since}: CloudTrail event history keeps 90 days; use --cloudtrail FILE")
            records = _lookup_all(args.region or [None], window)
        answer = correlate(subject, matches, records, window)
    print(render_json(answer) if args.format == "json" else render_line(answer))
    return answer.exit_code


def _lookup_all(regions: Sequence[str | None], window: tuple[datetime, datetime]) -> Iterator[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    for region in regions:
        try:
            yield from records_from_lookup(aws_client("cloudtrail", region), *window)
        except (BotoCoreError, ClientError) as error:
            raise UsageError(f"cloudtrail:LookupEvents{f' in {region}' if region else ''}: {error}") from None
