"""Times and durations as whois reads and prints them (UTC, ISO 8601)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from access.errors import UsageError


def now() -> datetime:
    """The current time (one place, so tests can fix it)."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: str, what: str) -> datetime:
    try:
        return aware(datetime.fromisoformat(value))
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
