"""When a care plan visits: its rule, checking it, and the occurrences it makes. Pure: no database.

Times are Shanghai wall-clock times (a visit "every Tuesday at 09:30"); the UTC instants are
computed here so the rest of the code stores and compares UTC only.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.care.vocabulary import Every
from app.core.clock import SHANGHAI

#: How far ahead a plan may start, and the longest a plan may run: beyond that it is a typo.
MAX_START_AHEAD_DAYS = 366
MAX_SPAN_DAYS = 3 * 366
DAYS_IN_WEEK = 7
LONGEST_MONTH = 31
DECEMBER = 12


@dataclass(frozen=True, slots=True)
class Rule:
    """A plan's schedule. ``weekday`` is ISO (1 = Monday … 7 = Sunday) for ``week`` and
    ``two_weeks``; ``day`` (1–31) for ``month``, moved to the month's last day when it has fewer."""

    every: Every
    weekday: int | None
    day: int | None
    at: time
    starts_on: date
    ends_on: date | None = None


def rule_problems(rule: Rule, today: date) -> list[tuple[str, str]]:
    """What is wrong with ``rule`` as (field, problem) pairs; empty when it can be used."""
    problems: list[tuple[str, str]] = []
    if rule.every is Every.MONTH:
        if rule.day is None or not 1 <= rule.day <= LONGEST_MONTH:
            problems.append(("day", "每月探访需要填写 1–31 之间的日期"))
        if rule.weekday is not None:
            problems.append(("weekday", "每月探访按日期，不填星期"))
    else:
        if rule.weekday is None or not 1 <= rule.weekday <= DAYS_IN_WEEK:
            problems.append(("weekday", "每周探访需要填写星期（1 为周一，7 为周日）"))
        if rule.day is not None:
            problems.append(("day", "每周探访按星期，不填日期"))
    if rule.starts_on < today:
        problems.append(("starts_on", "开始日期不能早于今天"))
    elif (rule.starts_on - today).days > MAX_START_AHEAD_DAYS:
        problems.append(("starts_on", "开始日期不能晚于一年以后"))
    if rule.ends_on is not None:
        if rule.ends_on < rule.starts_on:
            problems.append(("ends_on", "结束日期不能早于开始日期"))
        elif (rule.ends_on - rule.starts_on).days > MAX_SPAN_DAYS:
            problems.append(("ends_on", "计划最长三年"))
    return problems


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _first_weekday_on_or_after(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.isoweekday()) % DAYS_IN_WEEK)


def dates_between(rule: Rule, first: date, last: date) -> list[date]:
    """The plan's visit dates from ``first`` to ``last`` (both included), within its own span."""
    low = max(first, rule.starts_on)
    high = last if rule.ends_on is None else min(last, rule.ends_on)
    if high < low:
        return []
    if rule.every is Every.MONTH:
        assert rule.day is not None  # noqa: S101 - rule_problems requires it
        found: list[date] = []
        year, month = low.year, low.month
        while date(year, month, 1) <= high:
            candidate = _month_day(year, month, rule.day)
            if low <= candidate <= high:
                found.append(candidate)
            year, month = (year + 1, 1) if month == DECEMBER else (year, month + 1)
        return found
    assert rule.weekday is not None  # noqa: S101 - rule_problems requires it
    step = 7 if rule.every is Every.WEEK else 14
    # Every other week counts from the plan's first visit, not from ``first``.
    anchor = _first_weekday_on_or_after(rule.starts_on, rule.weekday)
    skipped = max(0, (low - anchor).days + step - 1) // step
    day = anchor + timedelta(days=skipped * step)
    found = []
    while day <= high:
        found.append(day)
        day += timedelta(days=step)
    return found


def visit_window(day: date, at: time, visit_hours: float) -> tuple[datetime, datetime]:
    """The UTC start and due end of the visit on ``day`` at Shanghai time ``at``."""
    start = datetime.combine(day, at, tzinfo=SHANGHAI)
    return start.astimezone(UTC), (start + timedelta(hours=visit_hours)).astimezone(UTC)


def due_for_orders(rule: Rule, now: datetime, *, lead_hours: float, visit_hours: float) -> list[date]:
    """The visit dates whose order should exist at ``now``: from ``lead_hours`` before the visit
    until its due end. A date whose due end passed before any run saw it is not made any more
    (an order for a visit already over helps nobody); a date made earlier keeps its row."""
    local_now = now.astimezone(SHANGHAI)
    first = (local_now - timedelta(hours=visit_hours) - timedelta(days=1)).date()
    last = (local_now + timedelta(hours=lead_hours) + timedelta(days=1)).date()
    due = []
    for day in dates_between(rule, first, last):
        start, end = visit_window(day, rule.at, visit_hours)
        if start - timedelta(hours=lead_hours) <= now < end:
            due.append(day)
    return due
