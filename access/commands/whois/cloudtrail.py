"""What CloudTrail tells: successful sts:AssumeRole calls, from exported files or event history."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from access.commands.whois.times import aware, parse_time
from access.errors import UsageError

DEFAULT_SESSION = timedelta(hours=1)  # AssumeRole's DurationSeconds when the caller does not set it
LOOKUP_HISTORY = timedelta(days=90)  # what CloudTrail event history (lookup_events) keeps


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
    request_id: str | None = None  # the same call logged in the caller's and the role's account shares it

    def same_call(self) -> str:
        return self.request_id or self.event_id or f"{self.time.isoformat()} {self.access_key_id}"

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
        return aware(datetime.fromisoformat(value))
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
        request_id=record.get("requestID"),
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
