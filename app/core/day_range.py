"""A range of Shanghai days asked for by a report (from, to, ``to`` included) and its limit."""

from __future__ import annotations

from datetime import date

from app.core.errors import InvalidInputError

#: The longest range one report covers (a leap year).
MAX_RANGE_DAYS = 366


def check_range(start: date, end: date) -> int:
    """The number of days ``start`` … ``end`` covers (``end`` inclusive); InvalidInputError for a
    range that runs backwards or is longer than ``MAX_RANGE_DAYS``."""
    if start > end:
        raise InvalidInputError("开始日期不能晚于结束日期", details={"fields": ["from", "to"]})
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInputError(f"统计区间最长 {MAX_RANGE_DAYS} 天", details={"fields": ["from", "to"]})
    return days
