"""The care plan's schedule, pure: which rules are refused, which dates a rule makes, when a
visit's order is due (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.care.schedule import Rule, dates_between, due_for_orders, rule_problems, visit_window
from app.care.vocabulary import Every
from app.core.clock import SHANGHAI

TODAY = date(2026, 12, 1)  # a Tuesday
AT = time(9, 30)


def _fields(rule: Rule) -> list[str]:
    return [field for field, _ in rule_problems(rule, TODAY)]


@pytest.mark.parametrize(
    ("rule", "fields"),
    [
        (Rule(Every.WEEK, None, None, AT, TODAY), ["weekday"]),
        (Rule(Every.WEEK, 8, None, AT, TODAY), ["weekday"]),
        (Rule(Every.TWO_WEEKS, 0, None, AT, TODAY), ["weekday"]),
        (Rule(Every.WEEK, 2, 5, AT, TODAY), ["day"]),
        (Rule(Every.MONTH, None, None, AT, TODAY), ["day"]),
        (Rule(Every.MONTH, None, 32, AT, TODAY), ["day"]),
        (Rule(Every.MONTH, 3, 5, AT, TODAY), ["weekday"]),
        (Rule(Every.WEEK, 2, None, AT, TODAY - timedelta(days=1)), ["starts_on"]),
        (Rule(Every.WEEK, 2, None, AT, TODAY + timedelta(days=400)), ["starts_on"]),
        (Rule(Every.WEEK, 2, None, AT, TODAY, TODAY - timedelta(days=1)), ["ends_on"]),
        (Rule(Every.WEEK, 2, None, AT, TODAY, TODAY + timedelta(days=4 * 366)), ["ends_on"]),
        (Rule(Every.MONTH, None, None, AT, TODAY - timedelta(days=3)), ["day", "starts_on"]),
    ],
)
def test_unusable_rules_name_their_fields(rule: Rule, fields: list[str]) -> None:
    assert _fields(rule) == fields
    assert all(problem for _, problem in rule_problems(rule, TODAY))


def test_usable_rules_have_no_problems() -> None:
    assert rule_problems(Rule(Every.WEEK, 7, None, AT, TODAY, TODAY), TODAY) == []
    assert rule_problems(Rule(Every.MONTH, None, 31, AT, TODAY + timedelta(days=30)), TODAY) == []


def test_a_weekly_rule_makes_each_of_its_weekdays_within_its_span() -> None:
    rule = Rule(Every.WEEK, 4, None, AT, TODAY, date(2026, 12, 24))  # Thursdays until the 24th
    assert dates_between(rule, date(2026, 11, 1), date(2027, 1, 31)) == [
        date(2026, 12, 3),
        date(2026, 12, 10),
        date(2026, 12, 17),
        date(2026, 12, 24),
    ]


def test_every_other_week_counts_from_the_first_visit_not_from_the_window() -> None:
    rule = Rule(Every.TWO_WEEKS, 2, None, AT, TODAY)  # Tuesdays from 1 Dec: 1, 15, 29 Dec …
    assert dates_between(rule, date(2026, 12, 2), date(2027, 1, 13)) == [
        date(2026, 12, 15),
        date(2026, 12, 29),
        date(2027, 1, 12),
    ]
    assert dates_between(rule, date(2026, 12, 8), date(2026, 12, 14)) == []


def test_a_monthly_rule_moves_to_the_last_day_of_a_shorter_month() -> None:
    rule = Rule(Every.MONTH, None, 31, AT, TODAY)
    assert dates_between(rule, TODAY, date(2027, 4, 30)) == [
        date(2026, 12, 31),
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]


def test_the_window_is_shanghai_time_stored_as_utc() -> None:
    start, end = visit_window(date(2026, 12, 8), AT, 2)
    assert (start, end) == (datetime(2026, 12, 8, 1, 30, tzinfo=UTC), datetime(2026, 12, 8, 3, 30, tzinfo=UTC))


def test_an_order_is_due_from_the_lead_time_until_the_due_end() -> None:
    rule = Rule(Every.WEEK, 2, None, AT, TODAY)
    visit = datetime(2026, 12, 8, 9, 30, tzinfo=SHANGHAI)

    def due(moment: datetime) -> list[date]:
        return due_for_orders(rule, moment.astimezone(UTC), lead_hours=24, visit_hours=2)

    assert due(visit - timedelta(hours=24, seconds=1)) == []
    assert due(visit - timedelta(hours=24)) == [date(2026, 12, 8)]
    assert due(visit + timedelta(hours=1, minutes=59)) == [date(2026, 12, 8)]
    assert due(visit + timedelta(hours=2)) == []  # over: an order for it helps nobody
