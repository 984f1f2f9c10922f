"""The pure rules of the statistics: the range (Shanghai days, ``to`` inclusive), the period
before it, and the nearest-rank percentile the SQL computes. No database here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from app.core.clock import shanghai_day_bounds
from app.core.errors import InvalidInputError

#: A range longer than this is refused: a year (and a leap day) bounds what one request reads.
MAX_DAYS: Final = 366

#: The percentiles every duration is summarised by, as fractions (numerator, denominator): whole
#: numbers, so that the SQL computes the same rank with integer division on both databases.
MEDIAN: Final = (1, 2)
P90: Final = (9, 10)


@dataclass(frozen=True, slots=True)
class Period:
    """Shanghai days ``first``..``last`` (both included) and their UTC instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def period(first: date, last: date) -> Period:
    """The range ``first``..``last``; InvalidInputError when reversed or longer than MAX_DAYS."""
    if first > last:
        raise InvalidInputError("开始日期不能晚于结束日期", details={"fields": ["from", "to"]})
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInputError(f"统计范围最多 {MAX_DAYS} 天", details={"fields": ["from", "to"]})
    start, _ = shanghai_day_bounds(first)
    _, end = shanghai_day_bounds(last)
    return Period(first=first, last=last, start=start, end=end)


def previous(current: Period) -> Period:
    """The period of as many days that ends the day before ``current`` starts."""
    last = current.first - timedelta(days=1)
    return period(last - timedelta(days=current.days - 1), last)


def rank(fraction: tuple[int, int], count: int) -> int:
    """The 1-based nearest rank of the ``fraction`` percentile among ``count`` sorted values:
    ceil(count × num / den) = (count × num + den − 1) // den. An observed value, never an
    interpolation, so SQLite and PostgreSQL answer the same."""
    if count < 1:
        raise ValueError("no values")
    num, den = fraction
    return (count * num + den - 1) // den


def percentile(values: Sequence[float], fraction: tuple[int, int]) -> float | None:
    """The nearest-rank percentile of ascending ``values``; None for none (the SQL's reference)."""
    return values[rank(fraction, len(values)) - 1] if values else None
