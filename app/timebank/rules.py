"""What a rated order earns: pure arithmetic, no database (the numbers come from ``[timebank]``).

The rule, in full:

* **Hours worked** run from the moment the volunteer started the service (the order's last
  ``start``) to its completion. They are rounded to the nearest ``round_minutes`` (half up), then
  held between ``min_hours`` and ``max_hours``. An order with no start to count from (completed
  straight from accepted, or started before a dispute sent it back) counts ``default_hours``.
* **Points** are the category's points per hour × hours worked, rounded half up to a whole point,
  plus ``five_star_bonus`` for a 5-star rating.
* **A low rating** (1–2 stars) pays nothing now: the points (no bonus) are *held* until the
  secretary's return visit (回访) pays or withholds them. The hours are recorded either way.

Each of ``default_hours``, ``min_hours``, ``max_hours`` and ``five_star_bonus`` may differ per
category code (``[timebank.categories.<code>]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.core.config import EarningRule, TimebankSection

#: Ratings at or below this hold the points for the return visit (the same line as the visit list).
LOW_RATING = 2
TOP_RATING = 5
_MINUTES_PER_HOUR = 60


@dataclass(frozen=True, slots=True)
class Rule:
    """One category's rule with every value filled in."""

    round_minutes: int
    default_minutes: int
    min_minutes: int
    max_minutes: int
    five_star_bonus: int


@dataclass(frozen=True, slots=True)
class Earning:
    """What one rating earns: ``paid`` now, ``held`` for the return visit (one of them is 0)."""

    paid: int
    held: int
    minutes: int


def rule_for(section: TimebankSection, category_code: str) -> Rule:
    """``[timebank]`` with the category's overrides applied."""
    override = section.categories.get(category_code, EarningRule())

    def pick(own: float | None, default: float) -> float:
        return default if own is None else own

    return Rule(
        round_minutes=section.round_minutes,
        default_minutes=round(pick(override.default_hours, section.default_hours) * _MINUTES_PER_HOUR),
        min_minutes=round(pick(override.min_hours, section.min_hours) * _MINUTES_PER_HOUR),
        max_minutes=round(pick(override.max_hours, section.max_hours) * _MINUTES_PER_HOUR),
        five_star_bonus=int(pick(override.five_star_bonus, section.five_star_bonus)),
    )


def minutes_worked(rule: Rule, started_at: datetime | None, completed_at: datetime | None) -> int:
    """The minutes an order counts for: rounded, then held between the floor and the cap."""
    if started_at is None or completed_at is None or completed_at < started_at:
        # Nothing to count from (or a clock that went backwards): the category's usual length.
        return min(max(rule.default_minutes, rule.min_minutes), rule.max_minutes)
    raw = (completed_at - started_at).total_seconds() / _MINUTES_PER_HOUR
    step = rule.round_minutes
    rounded = int((raw + step / 2) // step) * step
    return min(max(rounded, rule.min_minutes), rule.max_minutes)


def points_for(points_per_hour: int, minutes: int) -> int:
    """Points per hour × the minutes, rounded half up to a whole point (integers only: no float)."""
    return (points_per_hour * minutes + _MINUTES_PER_HOUR // 2) // _MINUTES_PER_HOUR


def earning(
    rule: Rule, *, points_per_hour: int, score: int, started_at: datetime | None, completed_at: datetime | None
) -> Earning:
    """What a rating of ``score`` stars earns for an order worked from ``started_at`` to ``completed_at``."""
    minutes = minutes_worked(rule, started_at, completed_at)
    base = points_for(points_per_hour, minutes)
    if base <= 0:
        return Earning(paid=0, held=0, minutes=minutes)  # a category that earns nothing earns no bonus
    if score <= LOW_RATING:
        return Earning(paid=0, held=base, minutes=minutes)
    bonus = rule.five_star_bonus if score >= TOP_RATING else 0
    return Earning(paid=base + bonus, held=0, minutes=minutes)
