"""The only place that reads the clock; time is stored in UTC and shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def to_shanghai(moment: datetime) -> datetime:
    """The same instant expressed in Asia/Shanghai (+08:00), as the API answers."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Linli stores aware UTC times only")
    return moment.astimezone(SHANGHAI)


def shanghai_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which the Shanghai calendar day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def shanghai_today(moment: datetime | None = None) -> date:
    """The calendar date in Shanghai at ``moment`` (default: now)."""
    return to_shanghai(moment or now_utc()).date()
