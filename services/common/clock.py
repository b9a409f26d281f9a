"""Time for every service: UTC stored, Asia/Jakarta (WIB) for the village's calendar day."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def now() -> datetime:
    """The current moment, timezone-aware in UTC (how times are stored)."""
    return datetime.now(UTC)


def local_today() -> date:
    """The village's calendar day (WIB), which decides whether a date is in the future."""
    return datetime.now(JAKARTA).date()


def local_date(moment: datetime) -> date:
    """The WIB calendar day of a stored moment (a letter signed at 23:30 UTC is dated the next
    day in Serang)."""
    return moment.astimezone(JAKARTA).date()


def parse_time(value: str | None) -> datetime | None:
    """An ISO timestamp from an event payload; a naive one is taken as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
