"""The volunteer-hours report's rules without a database: ranges, rounding, proration, grouping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.community.hours_rules import (
    NO_TEAM,
    NO_UNIT,
    Figures,
    GroupBy,
    Volunteer,
    by_team,
    by_unit,
    group,
    prorated_hours,
    summed,
    total,
)
from app.core.day_range import check_range
from app.core.errors import InvalidInputError
from app.timebank.hours import hours


def test_a_backwards_range_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        check_range(date(2026, 11, 2), date(2026, 11, 1))


def test_a_range_longer_than_366_days_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        check_range(date(2025, 1, 1), date(2026, 1, 2))


def test_the_range_counts_its_last_day() -> None:
    assert check_range(date(2026, 11, 1), date(2026, 11, 1)) == 1
    assert check_range(date(2026, 11, 1), date(2026, 11, 30)) == 30
    assert check_range(date(2025, 1, 1), date(2026, 1, 1)) == 366


def test_hours_are_minutes_to_one_decimal_half_up() -> None:
    assert hours(0) == Decimal("0.0")
    assert hours(90) == Decimal("1.5")
    assert hours(3) == Decimal("0.1")  # 0.05 rounds up
    assert hours(-60) == Decimal("-1.0")


def test_a_units_yearly_hours_are_prorated_by_days_over_365() -> None:
    assert prorated_hours(24, 365) == Decimal("24.0")
    assert prorated_hours(24, 30) == Decimal("2.0")
    assert prorated_hours(10, 1) == Decimal("0.0")
    assert prorated_hours(100, 366) == Decimal("100.3")


LI = Volunteer(1, "李", Figures(120, 2, 10, 1), teams=("先锋队", "助老队"), unit="税务局", unit_hours=24)
CHEN = Volunteer(2, "陈", Figures(30, 1, 5, 0), teams=("先锋队",), unit="税务局", unit_hours=24)
WU = Volunteer(3, "吴", Figures(0, 0, 0, -3))


def test_volunteer_rows_and_unit_rows_add_up_to_the_total() -> None:
    everyone = [LI, CHEN, WU]
    for by in (GroupBy.VOLUNTEER, GroupBy.EMPLOYER_UNIT):
        assert summed(row.figures for row in group(everyone, by, 30)) == total(everyone) == Figures(150, 3, 15, -2)


def test_a_volunteer_in_two_teams_counts_in_both_and_once_in_the_total() -> None:
    rows = {row.key: row for row in by_team([LI, CHEN, WU])}
    assert list(rows) == ["先锋队", "助老队", NO_TEAM]  # by name, the catch-all last
    assert rows["先锋队"].figures == Figures(150, 3, 15, 1)
    assert rows["助老队"].figures == Figures(120, 2, 10, 1)
    assert rows[NO_TEAM].figures == WU.figures
    # The rows are the total plus LI once more (one team beyond the first).
    assert summed(row.figures for row in rows.values()) == total([LI, CHEN, WU]) + LI.figures


def test_a_unit_row_says_who_is_below_the_prorated_hours() -> None:
    rows = {row.key: row for row in by_unit([LI, CHEN, WU], days=30)}
    unit = rows["税务局"]
    assert unit.required_hours == Decimal("2.0")
    assert [m.name for m in unit.below] == ["陈"]  # 0.5 h of 2.0; 李 did exactly 2.0
    assert rows[NO_UNIT].members == (WU,)
    assert rows[NO_UNIT].required_hours is None
