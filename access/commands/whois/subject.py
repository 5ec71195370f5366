"""The Kubernetes identity to attribute, from an audit event and/or command-line flags."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from access.commands.whois.times import parse_time
from access.core import names
from access.errors import UsageError

UID_PREFIXES = ("aws-iam-authenticator:", "heptio-authenticator-aws:")


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
