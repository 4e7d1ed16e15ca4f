"""Time: the one UTC clock and the one way a time is written on the wire.

Use cases take a ``clock`` (default ``utc_now``) so that tests can fix the time they record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


def to_second(value: datetime) -> datetime:
    """``value`` without its microseconds: the precision of every time the service answers with."""
    return value.replace(microsecond=0)


def wire_time(value: datetime | None) -> str | None:
    """``2026-12-01T09:30:00Z``: how a UTC time is written in every body (``None`` stays ``None``)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def wire_time_micro(value: datetime) -> str:
    """``2026-12-01T09:30:00.123456Z``: the audit trail's times, to the microsecond."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
