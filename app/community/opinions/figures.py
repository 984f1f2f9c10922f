"""民情收集 in the statistics: the visits held in a range of Shanghai days in some communities,
by kind, with their items, the items made into orders and of those the orders now closed; per
grid (and per community for a street), the rows adding up to the totals. Two grouped statements
whatever the number of visits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.areas.models import Area
from app.community.opinions.models import (
    OpinionItem,
    OpinionVisit,
    OpinionVisitHousehold,
    OpinionVisitStaff,
    VisitKind,
)
from app.community.opinions.rules import Tally, total
from app.community.opinions.shapes import OpinionAreaCounts, OpinionCounts, OpinionStats
from app.community.stats_rules import Period
from app.orders.models import Order
from app.orders.workflow import OrderStatus

_Community = aliased(Area)
_Grid = aliased(Area)

#: (community id, grid id or None) → the figures of that grid's visits.
Tallies = dict[tuple[int, int | None], Tally]


def visits_in(communities: Sequence[int], span: Period) -> list[Any]:
    """The visits the statistics count: held in ``span`` in these communities."""
    return [
        OpinionVisit.community_id.in_(list(communities)),
        OpinionVisit.held_at >= span.start,
        OpinionVisit.held_at < span.end,
    ]


def tallies(session: Session, communities: Sequence[int], span: Period) -> Tallies:
    where = visits_in(communities, span)
    groups: Tallies = defaultdict(Tally)
    for community_id, grid_id, kind, n, met in session.execute(
        sa.select(
            OpinionVisit.community_id,
            OpinionVisit.grid_id,
            OpinionVisit.kind,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(OpinionVisit.residents_met), 0),
        )
        .where(*where)
        .group_by(OpinionVisit.community_id, OpinionVisit.grid_id, OpinionVisit.kind)
    ):
        tally = groups[(community_id, grid_id)]
        tally.by_kind[str(kind)] += n
        tally.residents_met += int(met)
    closed = sa.case((Order.status == OrderStatus.CLOSED, 1), else_=0)
    for community_id, grid_id, items, ordered, done in session.execute(
        sa.select(
            OpinionVisit.community_id,
            OpinionVisit.grid_id,
            sa.func.count(),
            sa.func.count(OpinionItem.order_id),
            sa.func.coalesce(sa.func.sum(closed), 0),
        )
        .select_from(OpinionItem)
        .join(OpinionVisit, OpinionVisit.id == OpinionItem.visit_id)
        .outerjoin(Order, Order.id == OpinionItem.order_id)
        .where(*where)
        .group_by(OpinionVisit.community_id, OpinionVisit.grid_id)
    ):
        tally = groups[(community_id, grid_id)]
        tally.items += items
        tally.ordered += ordered
        tally.closed += int(done)
    return dict(groups)


def _counts(tally: Tally) -> dict[str, Any]:
    return OpinionCounts(
        visits=tally.visits,
        by_kind=dict(tally.by_kind),
        residents_met=tally.residents_met,
        items=tally.items,
        ordered=tally.ordered,
        closed=tally.closed,
    ).model_dump()


def _rows(session: Session, by_area: dict[int | None, Tally], ids: Iterable[int] = ()) -> list[OpinionAreaCounts]:
    """One row per area (and per id in ``ids`` even without visits), by code, no grid last."""
    keys = set(by_area) | set(ids)
    wanted = sorted(k for k in keys if k is not None)
    codes = dict(session.execute(sa.select(Area.id, Area.code).where(Area.id.in_(wanted))).all())
    ordered = sorted(keys, key=lambda k: (k is None, codes.get(k, "") if k is not None else ""))
    return [
        OpinionAreaCounts(area=codes.get(k) if k is not None else None, **_counts(by_area.get(k, Tally())))
        for k in ordered
    ]


def opinion_stats(session: Session, communities: Sequence[int], span: Period, *, street: bool) -> OpinionStats:
    """The ``opinions`` block of the statistics of ``communities`` over ``span``."""
    groups = tallies(session, communities, span)
    by_grid: dict[int | None, Tally] = defaultdict(Tally)
    by_community: dict[int | None, Tally] = defaultdict(Tally)
    for (community_id, grid_id), tally in groups.items():
        by_grid[grid_id].add(tally)
        by_community[community_id].add(tally)
    return OpinionStats(
        **_counts(total(groups.values())),
        by_grid=_rows(session, by_grid),
        by_community=_rows(session, by_community, communities) if street else None,
    )


@dataclass(frozen=True)
class VisitLine:
    """One visit's line of the work ledger's 民情收集 sheet."""

    held_at: datetime
    community: str
    grid: str
    kind: VisitKind
    place: str
    staff: int
    households: int
    residents_met: int
    items: int
    ordered: int
    closed: int


def visit_lines(session: Session, communities: Sequence[int], span: Period) -> list[VisitLine]:
    """The visits the statistics count, oldest first, each with its counts: one statement."""
    closed = sa.case((Order.status == OrderStatus.CLOSED, 1), else_=0)
    items = (
        sa.select(
            OpinionItem.visit_id.label("visit_id"),
            sa.func.count().label("n_items"),
            sa.func.count(OpinionItem.order_id).label("ordered"),
            sa.func.coalesce(sa.func.sum(closed), 0).label("closed"),
        )
        .outerjoin(Order, Order.id == OpinionItem.order_id)
        .group_by(OpinionItem.visit_id)
        .subquery()
    )
    staff = (
        sa.select(sa.func.count())
        .where(OpinionVisitStaff.visit_id == OpinionVisit.id)
        .correlate(OpinionVisit)
        .scalar_subquery()
    )
    households = (
        sa.select(sa.func.count())
        .where(OpinionVisitHousehold.visit_id == OpinionVisit.id)
        .correlate(OpinionVisit)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(
            OpinionVisit.held_at,
            _Community.name,
            _Grid.name,
            OpinionVisit.kind,
            OpinionVisit.place,
            staff,
            households,
            OpinionVisit.residents_met,
            sa.func.coalesce(items.c.n_items, 0),
            sa.func.coalesce(items.c.ordered, 0),
            sa.func.coalesce(items.c.closed, 0),
        )
        .join(_Community, _Community.id == OpinionVisit.community_id)
        .outerjoin(_Grid, _Grid.id == OpinionVisit.grid_id)
        .outerjoin(items, items.c.visit_id == OpinionVisit.id)
        .where(*visits_in(communities, span))
        .order_by(OpinionVisit.held_at, OpinionVisit.id)
    )
    return [
        VisitLine(at, community, grid or "", kind, place, int(s), int(h), met, int(i), int(o), int(c))
        for at, community, grid, kind, place, s, h, met, i, o, c in rows
    ]
