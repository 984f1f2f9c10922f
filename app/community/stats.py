"""统计: the figures secretaries and street officials are judged by, for a community or a street
over a range of Shanghai days, with the period before it (环比).

Set-based: per grouping (totals, grids, communities, volunteers) a fixed handful of GROUP BY
queries, whatever the number of orders. Percentiles are nearest-rank (app/community/stats_rules.py)
with ROW_NUMBER/COUNT windows, which SQLite and PostgreSQL both have: the database ranks the
durations and sends back only the two rows per group at the median's and the p90's rank, so
memory does not grow with the orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind, ServiceCategory
from app.areas.tree import get_area
from app.community.audit import readable_areas
from app.community.shapes import AreaFigures, Figures, Spread, StatsOut, Totals, VolunteerFigures
from app.community.stats_rules import MEDIAN, P90, Period, period, previous, rank
from app.core.clock import now_utc
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.roles import Role
from app.orders.models import Order, Rating
from app.runtime import Runtime

_READERS: Final = (Role.SECRETARY, Role.STREET_ADMIN)
#: PostgreSQL's work_mem for the statistics' transaction (the default 4MB spills their sorts).
_WORK_MEM: Final = "64MB"

#: Each duration: (later moment, earlier moment, seconds per unit).
_DURATIONS: Final = {
    "dispatch_minutes": (Order.dispatched_at, Order.created_at, 60),
    "accept_minutes": (Order.accepted_at, Order.dispatched_at, 60),
    "finish_hours": (Order.completed_at, Order.created_at, 3600),
}


@dataclass
class _Group:
    """One group's figures as the queries fill them in."""

    orders: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    spreads: dict[str, Spread] = field(default_factory=dict)
    sla_breaches: int = 0
    merged_duplicates: int = 0
    ratings: int = 0
    satisfaction: float | None = None

    def figures(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "by_status": self.by_status,
            "by_category": self.by_category,
            **{name: self.spreads.get(name) for name in _DURATIONS},
            "sla_breaches": self.sla_breaches,
            "merged_duplicates": self.merged_duplicates,
            "ratings": self.ratings,
            "satisfaction": self.satisfaction,
        }


def _seconds(session: Session, later: Any, earlier: Any) -> Any:
    """``later − earlier`` in seconds, in each database's own words (SQLite keeps UTC text)."""
    if session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.extract("epoch", later - earlier)


def _rank_sql(fraction: tuple[int, int], count: Any) -> Any:
    """stats_rules.rank in SQL: floor division of whole numbers on both databases."""
    num, den = fraction
    return (count * num + (den - 1)) // den


def _groups(session: Session, key: Any, span: Period, where: list[Any], cutoff: datetime) -> dict[Any, _Group]:
    """The figures of the orders matching ``where``, grouped by ``key``: two statements on
    PostgreSQL, four on SQLite."""
    groups: dict[Any, _Group] = defaultdict(_Group)
    since = span.start
    # Past due when finished after it, or not finished by the cutoff (the range's end, or now).
    breach = sa.and_(Order.due_at.is_not(None), Order.due_at < sa.func.coalesce(Order.completed_at, cutoff))
    scores: dict[Any, int] = defaultdict(int)
    # One statement for the counts: per (group, status, category), summed up here.
    merged = sa.case((Order.duplicate_of_id.is_not(None), 1), else_=0)
    for k, status, code, n, breaches, duplicates, ratings, score in session.execute(
        sa.select(
            key,
            Order.status,
            ServiceCategory.code,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((breach, 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(merged), 0),
            sa.func.count(Rating.id),
            sa.func.coalesce(sa.func.sum(Rating.score), 0),
        )
        .select_from(Order)
        .join(ServiceCategory, ServiceCategory.id == Order.category_id)
        # A rating is never older than its order: the bound keeps PostgreSQL from hashing every
        # rating there is (the ratings of the range's orders are all at or after its start).
        .outerjoin(Rating, sa.and_(Rating.order_id == Order.id, Rating.created_at >= since))
        .where(*where)
        .group_by(key, Order.status, ServiceCategory.code)
    ):
        group = groups[k]
        group.orders += n
        group.by_status[str(status)] = group.by_status.get(str(status), 0) + n
        group.by_category[code] = group.by_category.get(code, 0) + n
        group.sla_breaches += int(breaches)
        group.merged_duplicates += int(duplicates)
        group.ratings += ratings
        scores[k] += int(score)
    for k, group in groups.items():
        group.satisfaction = round(scores[k] / group.ratings, 2) if group.ratings else None
    if session.get_bind().dialect.name == "postgresql":
        _spreads_postgresql(session, key, where, groups)
    else:
        _spreads_windowed(session, key, where, groups)
    return groups


def _spreads_windowed(session: Session, key: Any, where: list[Any], groups: dict[Any, _Group]) -> None:
    """The durations' spreads by ROW_NUMBER/COUNT windows (SQLite): one statement per duration,
    answering only the rows at the median's and the p90's rank."""
    for name, (later, earlier, unit) in _DURATIONS.items():
        seconds = _seconds(session, later, earlier)
        ranked = (
            sa.select(
                key.label("k"),
                seconds.label("d"),
                sa.func.row_number().over(partition_by=key, order_by=seconds).label("rn"),
                sa.func.count().over(partition_by=key).label("n"),
            )
            .select_from(Order)
            .where(*where, later.is_not(None), earlier.is_not(None), later >= earlier)
            .subquery()
        )
        picked: dict[Any, dict[str, float]] = defaultdict(dict)
        for k, d, rn, n in session.execute(
            sa.select(ranked.c.k, ranked.c.d, ranked.c.rn, ranked.c.n).where(
                sa.or_(ranked.c.rn == _rank_sql(MEDIAN, ranked.c.n), ranked.c.rn == _rank_sql(P90, ranked.c.n))
            )
        ):
            value = round(float(d) / unit, 1)
            if rn == rank(MEDIAN, n):
                picked[k]["median"] = value
            if rn == rank(P90, n):
                picked[k]["p90"] = value
        for k, spread in picked.items():
            groups[k].spreads[name] = Spread(**spread)


#: percentile_disc(f) takes the ceil(f × n)-th value; f a hair below the exact fraction keeps
#: floating point from rounding 0.9 × 70 = 63.000…01 up to rank 64 (for n below 10^11 the hair
#: never moves a true rank).
_HAIR: Final = 1e-12


def _spreads_postgresql(session: Session, key: Any, where: list[Any], groups: dict[Any, _Group]) -> None:
    """The same nearest ranks by percentile_disc (PostgreSQL): one statement, one scan, for all
    three durations (the aggregates ignore the NULLs of orders a duration does not apply to)."""
    columns = []
    for later, earlier, _unit in _DURATIONS.values():
        seconds = sa.case((later >= earlier, _seconds(session, later, earlier)), else_=None)
        for num, den in (MEDIAN, P90):
            columns.append(sa.func.percentile_disc(num / den - _HAIR).within_group(seconds))
    for k, *values in session.execute(sa.select(key, *columns).select_from(Order).where(*where).group_by(key)):
        for i, (name, (_later, _earlier, unit)) in enumerate(_DURATIONS.items()):
            median, p90 = values[2 * i], values[2 * i + 1]
            if median is not None and p90 is not None:
                groups[k].spreads[name] = Spread(median=round(float(median) / unit, 1), p90=round(float(p90) / unit, 1))


def orders_in(community_ids: list[int], span: Period) -> list[Any]:
    """The conditions of the orders the statistics count: created in ``span`` in these communities."""
    return [Order.community_id.in_(community_ids), Order.created_at >= span.start, Order.created_at < span.end]


def _empty() -> dict[str, Any]:
    return _Group().figures()


def _codes(session: Session, ids: Iterable[Any]) -> dict[int, str]:
    wanted = sorted(i for i in set(ids) if i is not None)
    return dict(session.execute(sa.select(Area.id, Area.code).where(Area.id.in_(wanted))).all())


def _area_rows(session: Session, groups: dict[Any, _Group], ids: Iterable[int] = ()) -> list[AreaFigures]:
    """One row per group (and per id in ``ids`` even without orders), by code, no grid last."""
    keys = set(groups) | set(ids)
    codes = _codes(session, keys)
    ordered = sorted(keys, key=lambda k: (k is None, codes.get(k, "")))
    return [
        AreaFigures(area=codes.get(k) if k is not None else None, **(groups[k].figures() if k in groups else _empty()))
        for k in ordered
    ]


def get_stats(rt: Runtime, actor: Actor, *, area: str, first: date, last: date) -> StatsOut:
    """The statistics of ``area`` (a secretary's community, a street admin's street) for the orders
    created from ``first`` to ``last`` (Shanghai days, both included). ForbiddenError for anyone
    but secretaries and street admins; NotFoundError for an area not theirs; InvalidInputError for
    a reversed or too long range."""
    check_reader(actor)
    span = period(first, last)
    with rt.db.read() as session:
        place, communities = stats_scope(session, actor, area)
        return stats_of(session, place, communities, span, now_utc())


def check_reader(actor: Actor) -> None:
    """ForbiddenError for anyone but secretaries and street admins (before any query)."""
    if not actor.communities_as(*_READERS):
        raise ForbiddenError("只有社区书记或街道管理员可以查看统计")


def stats_scope(session: Session, actor: Actor, area: str) -> tuple[Area, list[int]]:
    """The area ``area`` names and the communities whose orders count in it, for ``actor``;
    NotFoundError for an area not theirs (the statistics and the work ledger alike)."""
    place = get_area(session, area)
    readable = readable_areas(session, actor, place)
    # A street's own id is among its readable areas; orders belong to its communities only.
    communities = [i for i in readable if i != place.id] if place.kind is AreaKind.STREET else readable
    return place, communities


def stats_of(session: Session, place: Area, communities: list[int], span: Period, now: datetime) -> StatsOut:
    """The statistics of ``communities`` (``place``'s) over ``span``, as of ``now``; no access
    check (get_stats does it; bench/stats.py calls this directly)."""
    street = place.kind is AreaKind.STREET
    if session.get_bind().dialect.name == "postgresql":
        # A month of a street sorts ~100,000 durations per statement: in memory, not on disk.
        session.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))
    before = previous(span)
    where = orders_in(communities, span)
    cutoff = min(span.end, now)
    totals = _groups(session, sa.literal(0), span, where, cutoff).get(0, _Group())
    earlier = _groups(session, sa.literal(0), before, orders_in(communities, before), min(before.end, now)).get(
        0, _Group()
    )
    by_grid = _area_rows(session, _groups(session, Order.grid_id, span, where, cutoff))
    by_community = (
        _area_rows(session, _groups(session, Order.community_id, span, where, cutoff), communities) if street else None
    )
    volunteers = _groups(session, Order.assignee_id, span, [*where, Order.assignee_id.is_not(None)], cutoff)
    names = dict(session.execute(sa.select(User.id, User.nickname).where(User.id.in_(sorted(volunteers)))).all())
    return StatsOut.model_validate(
        {
            "area": place.code,
            "from": span.first.isoformat(),
            "to": span.last.isoformat(),
            "totals": Totals(**totals.figures(), previous=Figures(**earlier.figures())),
            "by_grid": by_grid,
            "by_community": by_community,
            "by_volunteer": [
                VolunteerFigures(volunteer_id=k, name=names.get(k, ""), **group.figures())
                for k, group in sorted(volunteers.items(), key=lambda item: (-item[1].orders, item[0]))
            ],
        }
    )
