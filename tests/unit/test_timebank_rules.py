"""The earning rule (app/timebank/rules.py) on plain values: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.config import ConfigError, EarningRule, TimebankSection, load_settings
from app.timebank.rules import Earning, earning, minutes_worked, points_for, rule_for

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DEFAULTS = TimebankSection()  # round to 30 min, 1 h default and floor, 8 h cap, +2 for 5 stars
RULE = rule_for(DEFAULTS, "grocery")


def _after(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("worked", "counted"),
    [
        (0, 60),  # the floor: a quick errand counts one hour
        (74, 60),  # 74 → 60 (nearest half hour), held at the floor
        (75, 90),  # half up: 75 → 90
        (104, 90),
        (105, 120),
        (3 * 60 + 10, 180),
        (7 * 60 + 50, 480),
        (12 * 60, 480),  # the cap
    ],
)
def test_minutes_are_rounded_to_half_hours_then_floored_and_capped(worked: float, counted: int) -> None:
    assert minutes_worked(RULE, T0, _after(worked)) == counted


def test_no_start_counts_the_default_hours() -> None:
    assert minutes_worked(RULE, None, _after(30)) == 60
    long = rule_for(TimebankSection(categories={"repair": EarningRule(default_hours=2.5)}), "repair")
    assert minutes_worked(long, None, _after(30)) == 150
    assert minutes_worked(long, None, None) == 150


def test_a_completion_before_the_start_counts_the_default_not_a_negative() -> None:
    assert minutes_worked(RULE, _after(60), T0) == 60


@pytest.mark.parametrize(
    ("per_hour", "minutes", "points"), [(5, 60, 5), (5, 90, 8), (3, 90, 5), (4, 90, 6), (0, 90, 0)]
)
def test_points_are_per_hour_rounded_half_up(per_hour: int, minutes: int, points: int) -> None:
    assert points_for(per_hour, minutes) == points


def test_five_stars_add_the_bonus_and_three_or_four_do_not() -> None:
    two_hours = {"started_at": T0, "completed_at": _after(120)}
    assert earning(RULE, points_per_hour=5, score=5, **two_hours) == Earning(paid=12, held=0, minutes=120)
    assert earning(RULE, points_per_hour=5, score=4, **two_hours) == Earning(paid=10, held=0, minutes=120)
    assert earning(RULE, points_per_hour=5, score=3, **two_hours) == Earning(paid=10, held=0, minutes=120)


@pytest.mark.parametrize("score", [1, 2])
def test_a_low_rating_holds_the_points_without_a_bonus(score: int) -> None:
    assert earning(RULE, points_per_hour=5, score=score, started_at=T0, completed_at=_after(90)) == Earning(
        paid=0, held=8, minutes=90
    )


def test_a_category_of_no_points_earns_no_bonus_either() -> None:
    assert earning(RULE, points_per_hour=0, score=5, started_at=T0, completed_at=_after(60)) == Earning(0, 0, 60)


def test_category_overrides_replace_only_the_keys_they_name() -> None:
    section = TimebankSection(
        five_star_bonus=3, categories={"repair": EarningRule(min_hours=2, max_hours=4, five_star_bonus=0)}
    )
    repair, other = rule_for(section, "repair"), rule_for(section, "grocery")
    assert (repair.min_minutes, repair.max_minutes, repair.default_minutes, repair.five_star_bonus) == (120, 240, 60, 0)
    assert (other.min_minutes, other.max_minutes, other.five_star_bonus) == (60, 480, 3)
    # The default is held inside the category's own bounds.
    assert minutes_worked(repair, None, None) == 120
    assert earning(repair, points_per_hour=5, score=5, started_at=T0, completed_at=_after(600)).paid == 20


def test_a_floor_above_the_cap_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"timebank\.categories\.repair: min_hours must not exceed max_hours"):
        load_settings(environ={}, overrides={"timebank": {"categories": {"repair": {"min_hours": 5, "max_hours": 2}}}})
    with pytest.raises(ConfigError, match=r"timebank\.categories\.x\.bonus: unknown key"):
        load_settings(environ={}, overrides={"timebank": {"categories": {"x": {"bonus": 1}}}})


def test_the_shipped_config_has_the_documented_defaults() -> None:
    shipped = load_settings(environ={}).timebank
    assert shipped.model_dump(exclude={"categories"}) == DEFAULTS.model_dump(exclude={"categories"})
