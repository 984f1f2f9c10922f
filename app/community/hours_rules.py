"""The volunteer-hours report's rules, without a database: how one volunteer's
figures are grouped (by volunteer, team or 双报到 unit), and the unit's hours prorated to the range.

The figures themselves come from the ledger (``app.community.volunteer_hours``); everything here
works on plain values so that the arithmetic is tested on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.timebank.hours import hours

#: What a unit's yearly hours are prorated against: hours × days in the range / 365.
DAYS_A_YEAR = 365
#: The group of a volunteer in no team of the area, and of one who is not 双报到.
NO_TEAM = "不在服务队"
NO_UNIT = "非双报到"


class GroupBy(enum.StrEnum):
    VOLUNTEER = "volunteer"
    TEAM = "team"
    EMPLOYER_UNIT = "employer_unit"


def prorated_hours(unit_hours: int, days: int) -> Decimal:
    """The hours a unit asking ``unit_hours`` a year asks of ``days`` (to one decimal, half up)."""
    return (Decimal(unit_hours) * days / DAYS_A_YEAR).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figures:
    """What a volunteer (or a group) did in the range. ``minutes``: the ledger's service minutes
    (a reversal or forfeiture takes its minutes back); ``orders``: orders whose minutes in the range
    still count; ``service_points``: earned + released − reversed; ``adjusted``: secretaries'
    corrections."""

    minutes: int = 0
    orders: int = 0
    service_points: int = 0
    adjusted: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.minutes + other.minutes,
            self.orders + other.orders,
            self.service_points + other.service_points,
            self.adjusted + other.adjusted,
        )


@dataclass(frozen=True)
class Volunteer:
    """One volunteer of the report, with their figures and what they are grouped by."""

    user_id: int
    name: str
    figures: Figures
    #: Names of their teams in the area (none: the ``NO_TEAM`` group).
    teams: tuple[str, ...] = ()
    #: Their 双报到 unit and its yearly hours (None: not 双报到).
    unit: str | None = None
    unit_hours: int | None = None


@dataclass(frozen=True)
class Group:
    key: str
    figures: Figures
    members: tuple[Volunteer, ...] = field(default=())
    #: For a unit: the hours it asks of each member over the range, and who did fewer.
    required_hours: Decimal | None = None
    below: tuple[Volunteer, ...] = ()


def summed(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for each in figures:
        result = result + each
    return result


def total(volunteers: Iterable[Volunteer]) -> Figures:
    """Everyone's figures summed, each volunteer once."""
    return summed(v.figures for v in volunteers)


def _sorted_groups(groups: dict[str, list[Volunteer]], last: str) -> list[tuple[str, list[Volunteer]]]:
    # By name, the catch-all group ("not in a team", "not 双报到") last.
    return sorted(groups.items(), key=lambda item: (item[0] == last, item[0]))


def by_volunteer(volunteers: Sequence[Volunteer]) -> list[Group]:
    """One row a volunteer, most hours first: the rows add up to the total exactly."""
    ordered = sorted(volunteers, key=lambda v: (-v.figures.minutes, v.name, v.user_id))
    return [Group(key=v.name, figures=v.figures, members=(v,)) for v in ordered]


def by_team(volunteers: Sequence[Volunteer]) -> list[Group]:
    """One row a team, each with all of its members' figures, and a ``NO_TEAM`` row for those in
    none. A volunteer in two teams counts in both rows (a team's row is what its members did), so
    the rows add up to the total plus each such volunteer's figures once more for every team
    beyond their first; the total counts everyone once."""
    groups: dict[str, list[Volunteer]] = {}
    for volunteer in volunteers:
        for team in volunteer.teams or (NO_TEAM,):
            groups.setdefault(team, []).append(volunteer)
    return [
        Group(key=key, figures=total(members), members=tuple(members))
        for key, members in _sorted_groups(groups, NO_TEAM)
    ]


def by_unit(volunteers: Sequence[Volunteer], days: int) -> list[Group]:
    """One row a 双报到 unit (its members' figures, the hours it asks of each over ``days``, who
    did fewer) and a ``NO_UNIT`` row: each volunteer is in exactly one row, so the rows add up to
    the total. Members of a unit asking different hours are each held to their own."""
    groups: dict[str, list[Volunteer]] = {}
    for volunteer in volunteers:
        groups.setdefault(volunteer.unit or NO_UNIT, []).append(volunteer)
    rows = []
    for key, members in _sorted_groups(groups, NO_UNIT):
        if key == NO_UNIT:
            rows.append(Group(key=key, figures=total(members), members=tuple(members)))
            continue
        asks = {prorated_hours(m.unit_hours or 0, days) for m in members}
        below = tuple(m for m in members if hours(m.figures.minutes) < prorated_hours(m.unit_hours or 0, days))
        rows.append(
            Group(
                key=key,
                figures=total(members),
                members=tuple(sorted(members, key=lambda m: (m.name, m.user_id))),
                required_hours=max(asks),
                below=below,
            )
        )
    return rows


def group(volunteers: Sequence[Volunteer], by: GroupBy, days: int) -> list[Group]:
    if by is GroupBy.TEAM:
        return by_team(volunteers)
    if by is GroupBy.EMPLOYER_UNIT:
        return by_unit(volunteers, days)
    return by_volunteer(volunteers)
