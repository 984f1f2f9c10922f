"""统计: the figures secretaries and street officials are judged by, for a community or a street
over a range of Shanghai days, with the period before it (环比).

Set-based: a fixed handful of GROUP BY queries, whatever the number of orders. On PostgreSQL
the range's orders are read twice for all groupings (totals, grids, communities, volunteers) by
GROUPING SETS: once for the counts, once for the percentiles (percentile_disc). SQLite has no
grouping sets: each grouping has its own statements, and its percentiles are nearest-rank
(app/community/stats_rules.py) by ROW_NUMBER/COUNT windows: the database ranks the durations and
sends back only the rows at the median's and the p90's rank. Either way memory does not grow
with the orders."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind, ServiceCategory
from app.areas.tree import get_area
from app.community import kept_stats, stats_cache
from app.community.audit import readable_areas
from app.community.opinions.figures import opinion_stats
from app.community.shapes import AreaFigures, Figures, StatsOut, Totals, VolunteerFigures
from app.community.stats_rules import MEDIAN, P90, Period, period, previous, rank
from app.core.clock import now_utc
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.roles import Role
from app.orders.models import Order
from app.runtime import Runtime

T = TypeVar("T")

logger = logging.getLogger(__name__)

_READERS: Final = (Role.SECRETARY, Role.STREET_ADMIN)
#: PostgreSQL's work_mem for the statistics' transaction (the default 4MB spills their sorts).
_WORK_MEM: Final = "64MB"

#: Each duration: the order's generated column of it in microseconds (app/orders/durations.py:
#: NULL where it does not apply), and seconds per unit.
_DURATIONS: Final = {
    "dispatch_minutes": (Order.dispatch_us, 60),
    "accept_minutes": (Order.accept_us, 60),
    "finish_hours": (Order.finish_us, 3600),
}
_MICROS: Final = 1_000_000


@dataclass
class _Group:
    """One group's figures as the queries fill them in."""

    orders: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    #: By category id while the queries run; by code (summed over communities) once named.
    by_category: dict[Any, int] = field(default_factory=dict)
    spreads: dict[str, dict[str, float]] = field(default_factory=dict)
    sla_breaches: int = 0
    merged_duplicates: int = 0
    ratings: int = 0
    #: The ratings' scores added up, for ``satisfaction`` (not answered).
    score_sum: int = 0
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


def _rank_sql(fraction: tuple[int, int], count: Any) -> Any:
    """stats_rules.rank in SQL: floor division of whole numbers on both databases."""
    num, den = fraction
    return (count * num + (den - 1)) // den


def _rows(session: Session, statement: Any) -> Any:
    """The plain rows of ``statement`` on the session's connection: the statistics' statements
    answer tens of thousands of rows of numbers, which the ORM's result processing would only
    slow down; fetched all at once (one fetchall, not a fetchone per row: the rows are numbers,
    at most a row per volunteer, status and category). The driver's own tuples: the columns
    are counts, ids, text and integers, which need none of SQLAlchemy's result processing (for a
    street's month that processing was ~0.1 s of ~50,000 rows)."""
    result = session.connection().execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


#: Threads that run a statistics statement on a connection of their own (_on_the_side): a few
#: per process, so concurrent requests cannot take more than that many extra connections.
_SIDE_THREADS: Final = 4
_side_lock = threading.Lock()
_side_pool: ThreadPoolExecutor | None = None


def _on_the_side(session: Session, work: Callable[[Session], T]) -> Future[T]:
    """``work`` run with a session of its own on another pooled connection of ``session``'s
    engine, in a thread, while the caller goes on (PostgreSQL: a statement runs on one backend,
    one core). Each statement sees the database as of its own start, as each of the caller's
    does under READ COMMITTED; the side transaction only reads and is rolled back. The pool
    is made on first use, so a process forked after import (gunicorn) starts its own threads."""
    global _side_pool  # noqa: PLW0603 - one lazily made pool per process
    engine = session.get_bind().engine

    def run() -> T:
        with Session(engine) as side:
            side.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))
            return work(side)

    with _side_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(max_workers=_SIDE_THREADS, thread_name_prefix="stats")
        return _side_pool.submit(run)


def _breach(cutoff: datetime) -> Any:
    """Past due: finished after the due time, or not finished by the cutoff (the range's end, or now)."""
    return sa.and_(Order.due_at.is_not(None), Order.due_at < sa.func.coalesce(Order.completed_at, cutoff))


def _name_categories(session: Session, groupings: Iterable[dict[Any, _Group]]) -> None:
    """Each group's counts by category id → by category code, in one statement for all groups
    (communities have categories of the same code: their counts are summed)."""
    groups = [group for grouping in groupings for group in grouping.values()]
    ids = sorted({i for group in groups for i in group.by_category})
    codes = (
        dict(
            session.execute(
                sa.select(ServiceCategory.id, ServiceCategory.code).where(ServiceCategory.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    for group in groups:
        named: dict[Any, int] = {}
        for i, n in group.by_category.items():
            named[codes[i]] = named.get(codes[i], 0) + n
        group.by_category = named


def _count_columns(cutoff: datetime) -> list[Any]:
    return [
        # The status as the text it is stored as: no enum conversion of tens of thousands of rows.
        sa.type_coerce(Order.status, sa.String),
        Order.category_id,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(sa.case((_breach(cutoff), 1), else_=0)), 0),
        sa.func.coalesce(sa.func.sum(sa.case((Order.duplicate_of_id.is_not(None), 1), else_=0)), 0),
        # The rating's score is on the order (Order.rating_score): no join of the range's ratings.
        sa.func.count(Order.rating_score),
        sa.func.coalesce(sa.func.sum(Order.rating_score), 0),
    ]


def _add_counts(group: _Group, counts: Any) -> None:
    """Adds one (status, category id, orders, breaches, merged duplicates, ratings, score sum)
    row of a count statement (the status as its stored text, every figure a whole number: a
    street's month adds ~45,000 of these rows, so nothing is converted)."""
    status, code, n, breaches, merged, ratings, score = counts
    group.orders += n
    group.by_status[status] = group.by_status.get(status, 0) + n
    group.by_category[code] = group.by_category.get(code, 0) + n
    group.sla_breaches += breaches
    group.merged_duplicates += merged
    group.ratings += ratings
    group.score_sum += score


def _satisfy(groups: dict[Any, _Group]) -> None:
    for group in groups.values():
        group.satisfaction = round(group.score_sum / group.ratings, 2) if group.ratings else None


def _groups(session: Session, key: Any, where: list[Any], cutoff: datetime) -> dict[Any, _Group]:
    """The figures of the orders matching ``where``, grouped by ``key``: two statements on
    PostgreSQL, four on SQLite."""
    groups: dict[Any, _Group] = defaultdict(_Group)
    # One statement for the counts: per (group, status, category), summed up here.
    counted = sa.select(key, *_count_columns(cutoff)).select_from(Order)
    for row in _rows(session, counted.where(*where).group_by(key, Order.status, Order.category_id)):
        _add_counts(groups[row[0]], row[1:])
    _satisfy(groups)
    if session.get_bind().dialect.name == "postgresql":
        _spreads_postgresql(session, key, where, groups)
    else:
        _spreads_windowed(session, key, where, groups)
    return groups


#: The groupings of one range, by name: what each group's key is. ``None`` is the whole range.
_KEYS: Final = {"totals": None, "grid": Order.grid_id, "community": Order.community_id, "volunteer": Order.assignee_id}


def _groupings(
    session: Session, names: list[str], where: list[Any], cutoff: datetime, *, one_scan: bool, beside: bool = False
) -> dict[str, dict[Any, _Group]]:
    """The figures of the orders matching ``where`` for each grouping in ``names`` (of _KEYS).
    The volunteers' grouping leaves out orders nobody holds.

    On PostgreSQL all groupings come from two statements, each one scan of the range's orders,
    by GROUPING SETS (the range is read once for the counts and once for the spreads, not once
    per grouping and figure), the spreads' statement on a connection of its own (``beside``:
    see _on_the_side) while the counts run on the session's. ``one_scan=False`` (SQLite, which
    has no grouping sets; the benchmark's baseline): two to four statements per grouping."""
    if not one_scan:
        out = {}
        for name in names:
            key = _KEYS[name]
            extra = [key.is_not(None)] if name == "volunteer" and key is not None else []
            out[name] = _groups(session, key if key is not None else sa.literal(0), [*where, *extra], cutoff)
        if "totals" in out:
            out["totals"] = {None: out["totals"].get(0, _Group())} if out["totals"] else {}
        return out
    return _groupings_postgresql(session, names, where, cutoff, beside=beside)


def _groupings_postgresql(
    session: Session, names: list[str], where: list[Any], cutoff: datetime, *, beside: bool
) -> dict[str, dict[Any, _Group]]:
    keyed = [(name, _KEYS[name]) for name in names]
    keyed_names = [name for name, key in keyed if key is not None]
    columns = [_KEYS[name] for name in keyed_names]
    # GROUPING(a, b, c) has a 1 bit for each of a, b, c that is *not* grouped in the row's set;
    # each grouping's set groups by its own key only, so the bits name the grouping and the
    # position of its key in the row.
    width = len(keyed_names)
    by_mask: dict[int, tuple[str, int | None]] = {}
    for name in names:
        at = keyed_names.index(name) if name in keyed_names else None
        by_mask[(1 << width) - 1 - (1 << (width - 1 - at) if at is not None else 0)] = (name, at)
    flag = sa.func.grouping(*columns) if columns else sa.literal(0)
    spread_sets = [sa.tuple_(key) if key is not None else sa.text("()") for _n, key in keyed]
    spreads = (
        sa.select(flag, *columns, *_percentiles())
        .select_from(Order)
        .where(*where)
        .group_by(sa.func.grouping_sets(*spread_sets))
    )
    # Both statements are CPU-bound in the database, each on one backend: side by side they use
    # both of a small server's cores, and the counts are added up here while the spreads sort.
    pending = _on_the_side(session, lambda side: _rows(side, spreads)) if beside else None

    out = _counts_postgresql(session, names, where, cutoff)

    for row in pending.result() if pending is not None else _rows(session, spreads):
        name, at = by_mask[row[0]]
        k = row[1 + at] if at is not None else None
        if k not in out[name]:
            continue
        _set_spreads(out[name][k], row[1 + len(columns) :])
    return {name: dict(groups) for name, groups in out.items()}


def _counts_postgresql(
    session: Session, names: list[str], where: list[Any], cutoff: datetime
) -> dict[str, dict[Any, _Group]]:
    """The counts of every grouping in ``names`` from one statement of two grouping sets: the
    volunteers' (assignee, status, category), and one (grid, community, status, category) set
    that the totals, grids and communities are all summed from here (counts add up; a grid is in
    one community). Two hash tables over the range's rows instead of one per grouping: 245–256 ms
    against 296–349 ms for a street's month, for ~3,000 more small rows to add up."""
    areas = [name for name in names if name != "volunteer"]
    # The groupings with a key, in the order of the key columns of the statement's rows.
    keyed = [name for name in names if _KEYS[name] is not None and name != "volunteer"]
    keyed += ["volunteer"] if "volunteer" in names else []
    keys = [_KEYS[name] for name in keyed]
    area_keys = [_KEYS[name] for name in keyed if name != "volunteer"]
    sets = [sa.tuple_(*area_keys, Order.status, Order.category_id)] if areas else []
    if "volunteer" in names:
        sets.append(sa.tuple_(Order.assignee_id, Order.status, Order.category_id))
    # GROUPING(assignee_id) is 1 in the areas' set (which does not group by it), 0 in the volunteers'.
    flag = sa.func.grouping(Order.assignee_id) if areas and "volunteer" in names else sa.literal(1 if areas else 0)
    position = {name: (keyed.index(name) if name in keyed else None) for name in names}

    out: dict[str, dict[Any, _Group]] = {name: defaultdict(_Group) for name in names}
    counted = sa.select(flag, *keys, *_count_columns(cutoff)).select_from(Order)
    first = 1 + len(keys)
    # Where each grouping's key is in a row (None: the totals), worked out once, not per row.
    area_slots = [(out[name], None if (at := position[name]) is None else 1 + at) for name in areas]
    volunteers = out.get("volunteer")
    volunteer_at = 1 + (position.get("volunteer") or 0)
    for row in _rows(session, counted.where(*where).group_by(sa.func.grouping_sets(*sets))):
        counts = row[first:]
        if row[0]:
            for groups, at in area_slots:
                _add_counts(groups[row[at] if at is not None else None], counts)
        elif volunteers is not None and row[volunteer_at] is not None:
            _add_counts(volunteers[row[volunteer_at]], counts)
    for name in names:
        _satisfy(out[name])
    return out


def _percentiles() -> list[Any]:
    """Per duration, percentile_disc of the median's and the p90's fraction at once (PostgreSQL):
    one sort of the group's stored microseconds for both (integers: about twice as fast to sort
    as intervals computed per row); an order a duration does not apply to has NULL, which the
    aggregate leaves out."""
    fractions = postgresql.array([sa.literal(num / den - _HAIR) for num, den in (MEDIAN, P90)])
    return [sa.func.percentile_disc(fractions).within_group(column) for column, _unit in _DURATIONS.values()]


def _set_spreads(group: _Group, values: Any) -> None:
    """One group's row of _percentiles: per duration [median, p90] in microseconds, or NULL."""
    for (name, (_column, unit)), pair in zip(_DURATIONS.items(), values, strict=True):
        if pair is not None and None not in pair:
            group.spreads[name] = {"median": _in_units(pair[0], unit), "p90": _in_units(pair[1], unit)}


def _in_units(micros: int, unit: int) -> float:
    """Microseconds in minutes or hours (``unit`` seconds) to a tenth, by way of seconds: the
    float the moments' own difference gave (timedelta.total_seconds), so the figures are the
    ones computed before the durations were stored."""
    return round(micros / _MICROS / unit, 1)


def _spreads_windowed(session: Session, key: Any, where: list[Any], groups: dict[Any, _Group]) -> None:
    """The durations' spreads by ROW_NUMBER/COUNT windows (SQLite): one statement per duration,
    answering only the rows at the median's and the p90's rank."""
    for name, (column, unit) in _DURATIONS.items():
        ranked = (
            sa.select(
                key.label("k"),
                column.label("d"),
                sa.func.row_number().over(partition_by=key, order_by=column).label("rn"),
                sa.func.count().over(partition_by=key).label("n"),
            )
            .select_from(Order)
            .where(*where, column.is_not(None))
            .subquery()
        )
        picked: dict[Any, dict[str, float]] = defaultdict(dict)
        for k, d, rn, n in _rows(
            session,
            sa.select(ranked.c.k, ranked.c.d, ranked.c.rn, ranked.c.n).where(
                sa.or_(ranked.c.rn == _rank_sql(MEDIAN, ranked.c.n), ranked.c.rn == _rank_sql(P90, ranked.c.n))
            ),
        ):
            value = _in_units(int(d), unit)
            if rn == rank(MEDIAN, n):
                picked[k]["median"] = value
            if rn == rank(P90, n):
                picked[k]["p90"] = value
        for k, spread in picked.items():
            groups[k].spreads[name] = spread


#: percentile_disc(f) takes the ceil(f × n)-th value; f a hair below the exact fraction keeps
#: floating point from rounding 0.9 × 70 = 63.000…01 up to rank 64 (for n below 10^11 the hair
#: never moves a true rank).
_HAIR: Final = 1e-12


def _spreads_postgresql(session: Session, key: Any, where: list[Any], groups: dict[Any, _Group]) -> None:
    """The same nearest ranks by percentile_disc (PostgreSQL): one statement, one scan, for all
    three durations (the aggregates ignore the NULLs of orders a duration does not apply to)."""
    columns = _percentiles()
    for k, *values in _rows(session, sa.select(key, *columns).select_from(Order).where(*where).group_by(key)):
        _set_spreads(groups[k], values)


def _among(session: Session, column: Any, ids: Iterable[int]) -> Any:
    """``column`` is one of ``ids`` — a street's month names ~5,000 volunteers: on PostgreSQL one
    array parameter (``= ANY``), not a placeholder each (measured: 18 ms against 58 ms for 4,991
    ids); SQLite has no arrays and takes the IN list."""
    wanted = sorted(ids)
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam("among", wanted, type_=postgresql.ARRAY(sa.BigInteger())))
    return column.in_(wanted)


def orders_in(community_ids: list[int], span: Period) -> list[Any]:
    """The conditions of the orders the statistics count: created in ``span`` in these communities."""
    return [Order.community_id.in_(community_ids), Order.created_at >= span.start, Order.created_at < span.end]


def _empty() -> dict[str, Any]:
    return _Group().figures()


def _codes(session: Session, ids: Iterable[Any]) -> dict[int, str]:
    wanted = sorted(i for i in set(ids) if i is not None)
    return dict(session.execute(sa.select(Area.id, Area.code).where(Area.id.in_(wanted))).all())


def _area_rows(session: Session, rows: Iterable[tuple[Any, Figures]]) -> list[AreaFigures]:
    """One row per area by code, the orders of no area last."""
    pairs = list(rows)
    codes = _codes(session, (k for k, _figures in pairs))
    ordered = sorted(pairs, key=lambda pair: (pair[0] is None, codes.get(pair[0], "")))
    return [AreaFigures(area=codes.get(k) if k is not None else None, **figures.model_dump()) for k, figures in ordered]


def _previous_totals(
    session: Session, communities: list[int], before: Period, now: datetime, *, one_scan: bool, cached: bool
) -> _Group:
    """The totals of the period before (环比): kept between requests once the period is over
    (app/community/stats_cache.py says when they are used again); ``cached=False`` always computes
    (the benchmark's baseline). ``one_scan`` as for _groupings."""
    where = orders_in(communities, before)

    def compute() -> _Group:
        cutoff = min(before.end, now)
        return _groupings(session, ["totals"], where, cutoff, one_scan=one_scan)["totals"].get(None, _Group())

    if not cached or before.end > now:
        return compute()
    key = ("previous_totals", tuple(sorted(communities)), before.start, before.end)
    return stats_cache.kept_or_computed(session, key, where, compute)


def get_stats(rt: Runtime, actor: Actor, *, area: str, first: date, last: date) -> StatsOut:
    """The statistics of ``area`` (a secretary's community, a street admin's street) for the orders
    created from ``first`` to ``last`` (Shanghai days, both included). ForbiddenError for anyone
    but secretaries and street admins; NotFoundError for an area not theirs; InvalidInputError for
    a reversed or too long range."""
    check_reader(actor)
    span = period(first, last)
    # A transaction of its own (even inside a request's shared reads): work_mem is raised for it.
    with rt.db.read(transaction=True) as session:
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


@dataclass(frozen=True)
class _Computed:
    """What a range's orders alone decide, ready to answer: immutable, so one computation can be
    kept and answered again (stats_cache) without a copy. Areas by id (their codes are looked up
    for each answer), volunteers as answered (their names are checked for each answer)."""

    totals: Totals
    grids: tuple[tuple[Any, Figures], ...]
    communities: tuple[tuple[Any, Figures], ...] | None
    volunteers: tuple[VolunteerFigures, ...]

    def size(self) -> int:
        """Its groups, what it weighs in stats_cache."""
        return 1 + len(self.grids) + len(self.communities or ()) + len(self.volunteers)


def stats_of(
    session: Session, place: Area, communities: list[int], span: Period, now: datetime, *, one_scan: bool = True
) -> StatsOut:
    """The statistics of ``communities`` (``place``'s) over ``span``, as of ``now``; no access
    check (get_stats does it; bench/stats.py calls this directly). ``one_scan=False`` takes the
    grouping-by-grouping statements on PostgreSQL too and computes everything afresh (the
    benchmark's baseline; SQLite always takes the per-grouping statements).

    A range that has ended is kept once computed (app/community/stats_cache.py), and last month is
    computed ahead by the stats_prefill job (app/community/kept_stats.py): asked again while no
    order of it or of the period before has changed, only the check, the kept figures, the names,
    the codes and the opinions are read."""
    street = place.kind is AreaKind.STREET
    if one_scan and span.end <= now:
        computed = kept_range(session, communities, span, now, street=street)
    else:
        _prepare(session)
        computed = _compute(session, communities, span, now, street=street, one_scan=one_scan)
    names = dict(
        session.execute(
            sa.select(User.id, User.nickname).where(
                _among(session, User.id, [v.volunteer_id for v in computed.volunteers])
            )
        ).all()
    )
    return StatsOut.model_validate(
        {
            "area": place.code,
            "from": span.first.isoformat(),
            "to": span.last.isoformat(),
            "totals": computed.totals,
            "by_grid": _area_rows(session, computed.grids),
            "by_community": _area_rows(session, computed.communities) if computed.communities is not None else None,
            "by_volunteer": [_named(v, names.get(v.volunteer_id, "")) for v in computed.volunteers],
            "opinions": opinion_stats(session, communities, span, street=street),
        }
    )


def _named(figures: VolunteerFigures, name: str) -> VolunteerFigures:
    """The volunteer's row with their name as it is now (a kept row may have an older one)."""
    return figures if figures.name == name else figures.model_copy(update={"name": name})


def _compute(
    session: Session, communities: list[int], span: Period, now: datetime, *, street: bool, one_scan: bool
) -> _Computed:
    """The figures of the range and the totals of the period before, computed."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    before = previous(span)
    where = orders_in(communities, span)
    wanted = ["totals", "grid", *(["community"] if street else []), "volunteer"]
    cutoff = min(span.end, now)
    if one_scan and postgresql:
        # Three statements at once on a 2-core server: the period before's (on a connection of
        # its own), the range's spreads (another) and its counts (the session's).
        pending = _on_the_side(
            session, lambda side: _previous_totals(side, communities, before, now, one_scan=True, cached=True)
        )
        current = _groupings(session, wanted, where, cutoff, one_scan=True, beside=True)
        earlier = pending.result()
    else:
        current = _groupings(session, wanted, where, cutoff, one_scan=False)
        earlier = _previous_totals(session, communities, before, now, one_scan=False, cached=one_scan)
    totals = current["totals"].get(None, _Group())
    _name_categories(session, [*current.values(), {None: earlier}])

    def areas(groups: dict[Any, _Group], ids: Iterable[int] = ()) -> tuple[tuple[Any, Figures], ...]:
        # Every id in ``ids`` has a row, with or without orders.
        return tuple((k, Figures(**(groups[k] if k in groups else _Group()).figures())) for k in set(groups) | set(ids))

    return _Computed(
        totals=Totals(**totals.figures(), previous=Figures(**earlier.figures())),
        grids=areas(current["grid"]),
        communities=areas(current["community"], communities) if street else None,
        volunteers=tuple(
            VolunteerFigures(volunteer_id=k, name="", **group.figures())
            for k, group in sorted(current["volunteer"].items(), key=lambda item: (-item[1].orders, item[0]))
        ),
    )


#: _Computed as JSON, for kept_stats (every process reads what the job computed).
_AS_JSON: Final = TypeAdapter(_Computed)


def _prepare(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # A month of a street sorts ~100,000 durations per statement: in memory, not on disk.
        session.execute(sa.text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))


def _range_key(communities: list[int], span: Period, street: bool) -> tuple[Any, ...]:
    return ("range", tuple(sorted(communities)), span.start, span.end, street)


def _both(communities: list[int], span: Period) -> list[Any]:
    """The orders of the range and of the period before: the kept figures' fingerprint covers both,
    since the period before's totals are part of them."""
    return orders_in(communities, period(previous(span).first, span.last))


def kept_range(session: Session, communities: list[int], span: Period, now: datetime, *, street: bool) -> _Computed:
    """The figures of an ended range: this process's kept ones, else kept_stats' row, else
    computed (and kept in this process), whichever was made from the orders as they are now."""
    key = _range_key(communities, span, street)

    def stored(seen: tuple[Any, ...]) -> _Computed | None:
        row = kept_stats.stored_body(session, kept_stats.store_key(key), seen)
        if row is None:
            return None
        try:
            return _AS_JSON.validate_json(row[0])
        except ValidationError:
            # Written by a release whose figures had another shape without BODY_VERSION raised:
            # computed instead, and the job rewrites it.
            logger.warning("kept_stats row %s unreadable; computed instead", kept_stats.store_key(key))
            return None

    def compute() -> _Computed:
        _prepare(session)
        return _compute(session, communities, span, now, street=street, one_scan=True)

    return stats_cache.kept_or_computed(
        session, key, _both(communities, span), compute, copy=False, size=_Computed.size, stored=stored
    )


@dataclass(frozen=True)
class Prefilled:
    """One range's figures ready to store: kept_stats' row."""

    key: str
    seen: tuple[Any, ...]
    groups: int
    body: str


def prefill_needed(session: Session, communities: list[int], span: Period, *, street: bool) -> tuple[Any, ...] | None:
    """The orders' fingerprint if kept_stats has no row for the range made from them; else None."""
    key = kept_stats.store_key(_range_key(communities, span, street))
    seen = stats_cache.fingerprint(session, _both(communities, span))
    return None if kept_stats.stored_fingerprint(session, key) == kept_stats.fingerprint_text(seen) else seen


def prefill(
    session: Session, communities: list[int], span: Period, now: datetime, *, street: bool, seen: tuple[Any, ...]
) -> Prefilled:
    """The ended range's figures computed afresh, as kept_stats stores them (``seen``: the
    fingerprint read before, in the same transaction)."""
    _prepare(session)
    computed = _compute(session, communities, span, now, street=street, one_scan=True)
    return Prefilled(
        key=kept_stats.store_key(_range_key(communities, span, street)),
        seen=seen,
        groups=computed.size(),
        body=_AS_JSON.dump_json(computed).decode(),
    )
