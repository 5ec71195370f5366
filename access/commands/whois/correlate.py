"""The answer from CloudTrail: the AssumeRole events that issued the subject's session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from access.commands.whois.answer import Answer, Candidate
from access.commands.whois.cloudtrail import AssumeRole, assume_role_from_record
from access.commands.whois.roles import KnownRole, TemplateMatch
from access.commands.whois.sso import KIND as SSO_KIND
from access.commands.whois.sso import sso_session, team_of
from access.commands.whois.subject import Subject
from access.core import names
from access.core.config.teams import session_name_in_username
from access.errors import UsageError

# An EKS token is an sts:GetCallerIdentity URL presigned with the session's credentials; EKS accepts it for
# 15 minutes after signing, so a session is seen up to that long after its credentials expire.
TOKEN_VALIDITY = timedelta(minutes=15)
MAX_SESSION = timedelta(hours=12)  # the longest role session IAM allows (MaxSessionDuration 43200)
# The default look-back: any session used at the action's time started at most this long before it.
DEFAULT_LOOKBACK = MAX_SESSION + TOKEN_VALIDITY


@dataclass(frozen=True)
class _Search:
    """What an AssumeRole record must match to have issued the subject's session."""

    subject: Subject
    role_keys: frozenset[str]  # authenticator keys (lower-cased, no path) of the roles it may be
    sessions: frozenset[str]  # session names the username or event names

    def session_matches(self, record: AssumeRole) -> bool:
        rendered = {record.session_name, session_name_in_username(record.session_name)}
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


def search_for(subject: Subject, matches: list[TemplateMatch]) -> tuple[_Search, str]:
    """What to look for in CloudTrail, and how to say it; refused when nothing identifies the session."""
    role_arns = {subject.role_arn} if subject.role_arn else {m.known.arn for m in matches}
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
    return search, _describe_search(subject, role_arns, sessions)


def correlate(
    subject: Subject,
    matches: list[TemplateMatch],
    records: Iterable[dict[str, Any]],
    window: tuple[datetime, datetime],
    roles: Sequence[KnownRole] = (),
) -> Answer:
    """The AssumeRole(s) in ``records`` that issued the subject's session, grouped by who called it."""
    start, end = window
    search, searched = search_for(subject, matches)
    if subject.at is not None and not start <= subject.at <= end:
        return Answer("outside-window", "cloudtrail", subject, window=window, searched=searched)
    found = [
        record
        for record in (assume_role_from_record(raw) for raw in records)
        if record is not None and start <= record.time <= end and search.matches(record)
    ]
    latest: dict[str, AssumeRole] = {}
    for record in sorted(_one_per_call(found), key=lambda r: (r.time, r.event_id or "")):
        latest[record.identity()] = record
    known = [*roles, *(m.known for m in matches)]
    candidates = [_candidate(record, known) for record in sorted(latest.values(), key=lambda r: r.time)]
    status = "found" if len(candidates) == 1 else ("not-found" if not candidates else "ambiguous")
    return Answer(status, "cloudtrail", subject, candidates, window, searched)


def _one_per_call(records: list[AssumeRole]) -> list[AssumeRole]:
    """A cross-account AssumeRole is logged twice, in the caller's account (``userIdentity`` the IAM user) and in
    the role's (``userIdentity.type`` AWSAccount): one call, one record, the one that names the caller best."""
    best: dict[str, AssumeRole] = {}
    for record in records:
        key = record.same_call()
        if key not in best or (best[key].caller_name is None and record.caller_name is not None):
            best[key] = record
    return list(best.values())


def _candidate(record: AssumeRole, roles: Sequence[KnownRole]) -> Candidate:
    iam_user = record.caller_type == "IAMUser" and record.caller_name
    # The caller is an Identity Center permission set's session: Identity Center named it after the user.
    sso = sso_session(record.caller_arn) if record.caller_type == "AssumedRole" else None
    identity = str(record.caller_name) if iam_user else record.identity()
    return Candidate(
        identity=sso[1] if sso else identity,
        kind=SSO_KIND if sso else record.caller_type or "unknown",
        via=team_of(sso[0], roles).describe() if sso else None,
        account_id=record.caller_account,
        role_arn=record.role_arn,
        session_name=record.session_name,
        principal_arn=record.caller_arn,
        assumed_at=record.time,
        event_id=record.event_id,
        access_key_id=record.access_key_id,
        caller_access_key_id=record.caller_access_key_id,
        source_identity=record.source_identity,
        caller_principal_id=record.caller_principal_id,
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
