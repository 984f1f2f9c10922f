"""The statistics' pure rules: range, previous period, nearest-rank percentiles."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.community.stats_rules import MAX_DAYS, MEDIAN, P90, percentile, period, previous, rank
from app.core.errors import InvalidInputError


def test_a_reversed_range_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        period(date(2026, 3, 2), date(2026, 3, 1))


def test_a_range_longer_than_the_bound_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        period(date(2025, 1, 1), date(2026, 1, 2))
    assert period(date(2024, 1, 1), date(2024, 12, 31)).days == MAX_DAYS


def test_the_range_is_shanghai_days_with_to_included() -> None:
    p = period(date(2026, 3, 1), date(2026, 3, 31))
    assert p.start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert p.end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert p.days == 31


def test_the_previous_period_has_as_many_days_and_ends_the_day_before() -> None:
    before = previous(period(date(2026, 3, 1), date(2026, 3, 31)))
    assert (before.first, before.last) == (date(2026, 1, 29), date(2026, 2, 28))
    one_day = previous(period(date(2026, 3, 1), date(2026, 3, 1)))
    assert (one_day.first, one_day.last) == (date(2026, 2, 28), date(2026, 2, 28))


def test_nearest_rank() -> None:
    assert [rank(MEDIAN, n) for n in (1, 2, 3, 4, 10)] == [1, 1, 2, 2, 5]
    assert [rank(P90, n) for n in (1, 2, 9, 10, 11)] == [1, 2, 9, 9, 10]
    with pytest.raises(ValueError, match="no values"):
        rank(MEDIAN, 0)


def test_percentile_of_observed_values() -> None:
    assert percentile([], MEDIAN) is None
    assert percentile([7.0], P90) == 7.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, MEDIAN) == 5.0
    assert percentile(values, P90) == 9.0
