"""The answer: from a pinned session name alone, or by correlating CloudTrail AssumeRole events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from access.commands.whois.cloudtrail import AssumeRole, assume_role_from_record
from access.commands.whois.roles import TemplateMatch
from access.commands.whois.subject import Subject
from access.core import names
from access.errors import UsageError

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


# An EKS token is an sts:GetCallerIdentity URL presigned with the session's credentials; EKS accepts it for
# 15 minutes after signing, so a session is seen up to that long after its credentials expire.
TOKEN_VALIDITY = timedelta(minutes=15)


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


@dataclass(frozen=True)
class _Search:
    """What an AssumeRole record must match to have issued the subject's session."""

    subject: Subject
    role_keys: frozenset[str]  # authenticator keys (lower-cased, no path) of the roles it may be
    sessions: frozenset[str]  # session names the username or event names

    def session_matches(self, record: AssumeRole) -> bool:
        rendered = {record.session_name, record.session_name.replace("@", "-")}
        if self.sessions:
            return bool(rendered & self.sessions)
        if self.subject.username:
            # aws-auth templates put {{SessionName}} last (prefix-{{SessionName}}), as the seeds' did
            return any(self.subject.username.endswith(s) for s in rendered)
        return True

    def valid_at(self, record: AssumeRole) -> bool:
        at = self.subject.at
        return at is None or record.time <= at <= record.valid_until + TOKEN_VALIDITY

    def matches(self, record: AssumeRole) -> bool:
        if self.subject.access_key_id:
            return record.access_key_id == self.subject.access_key_id
        if self.subject.principal_id and record.role_id != self.subject.principal_id:
            return False
        if self.role_keys and names.strip_role_path(record.role_arn).lower() not in self.role_keys:
            return False
        return self.session_matches(record) and self.valid_at(record)


def correlate(
    subject: Subject, matches: list[TemplateMatch], records: Iterable[dict[str, Any]], window: tuple[datetime, datetime]
) -> Answer:
    """The AssumeRole(s) in ``records`` that issued the subject's session, grouped by who called it."""
    start, end = window
    role_arns = {subject.role_arn} if subject.role_arn else {m.known.role.arn for m in matches}
    sessions = (
        {subject.session_name}
        if subject.session_name
        else {s for m in matches for s in (m.session, m.raw_session) if s}
    )
    search = _Search(subject, frozenset(names.strip_role_path(a).lower() for a in role_arns), frozenset(sessions))
    if not (subject.access_key_id or subject.principal_id or search.role_keys):
        raise UsageError(
            "cannot correlate: give the uid (aws-iam-authenticator:<account>:<role id>), an --access-key-id, "
            "or a username from a role in config"
        )
    searched = _describe_search(subject, role_arns, sessions)
    if subject.at is not None and not start <= subject.at <= end:
        return Answer("outside-window", "cloudtrail", subject, window=window, searched=searched)
    found = [
        record
        for record in (assume_role_from_record(raw) for raw in records)
        if record is not None and start <= record.time <= end and search.matches(record)
    ]
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
