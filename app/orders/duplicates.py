"""随手拍 likely duplicates: the candidate rows read for a report, and what staff see of them.

Candidates: the open reports of the same community, grid (or, for a report of no grid, the
community's reports of no grid) and category, created within ``[orders.reports]
duplicate_window_days`` of the report, not merged into another one. One statement reads them,
through the partial index ``ix_orders_report_grid_category_created_at`` (community, grid,
category, created_at; reports only), newest first and at most ``max_candidates`` rows: the work
is bounded by the window and the cap, whatever else the community holds. The text rule runs here,
in Python, on those rows (app/orders/duplicate_rules.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.config import ReportsSection
from app.core.errors import ForbiddenError
from app.identity.actor import Actor
from app.orders.access import STAFF_PARTIES, load_visible_order
from app.orders.duplicate_rules import Report, likely_duplicates
from app.orders.models import REPORTS_ONLY, Order
from app.orders.shapes import DuplicateList, DuplicateOut, OriginalRef
from app.orders.workflow import OPEN, OrderKind
from app.runtime import Runtime

_COLUMNS = (Order.id, Order.number, Order.title, Order.description, Order.latitude, Order.longitude)


def _point(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    return (float(latitude), float(longitude)) if latitude is not None and longitude is not None else None


def _as_report(order: Order) -> Report:
    return Report(order.id, order.title, order.description, _point(order.latitude, order.longitude))


def _candidates(session: Session, cfg: ReportsSection, order: Order, until: datetime) -> list[sa.Row[Any]]:
    window = timedelta(days=cfg.duplicate_window_days)
    grid = Order.grid_id.is_(None) if order.grid_id is None else Order.grid_id == order.grid_id
    return list(
        session.execute(
            sa.select(*_COLUMNS)
            .where(
                # The index's predicate word for word, as a literal: only then may SQLite use it.
                sa.text(REPORTS_ONLY),
                Order.community_id == order.community_id,
                grid,
                Order.category_id == order.category_id,
                Order.created_at >= order.created_at - window,
                Order.created_at <= until,
                Order.status.in_(OPEN),
                Order.duplicate_of_id.is_(None),
                Order.id != order.id,
            )
            .order_by(Order.created_at.desc())
            .limit(cfg.max_candidates)
        )
    )


def find_likely(
    session: Session, cfg: ReportsSection, order: Order, *, until: datetime | None = None
) -> list[DuplicateOut]:
    """The open reports that may be ``order``'s problem, most similar first; one statement. Up to
    ``until`` (default: the window past the order's creation, so staff looking at an original
    also see the later reports of it)."""
    if order.kind is not OrderKind.REPORT:
        return []
    end = until if until is not None else order.created_at + timedelta(days=cfg.duplicate_window_days)
    rows = {row.id: row for row in _candidates(session, cfg, order, end)}
    matches = likely_duplicates(
        _as_report(order),
        (Report(row.id, row.title, row.description, _point(row.latitude, row.longitude)) for row in rows.values()),
        threshold=cfg.duplicate_threshold,
        radius_m=cfg.duplicate_radius_m,
        limit=cfg.max_duplicates,
    )
    return [
        DuplicateOut(id=match.id, number=rows[match.id].number, title=rows[match.id].title, similarity=match.similarity)
        for match in matches
    ]


def order_duplicates(rt: Runtime, actor: Actor, order_id: int) -> DuplicateList:
    """Staff of the order (secretary, grid worker of its grid, street admin): the likely duplicates
    of a report and the reports merged into it. Others who may see it 403, the rest 404."""
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        if not parties & STAFF_PARTIES:
            raise ForbiddenError("只有社区工作人员可以查看重复工单")
        merged = session.execute(
            sa.select(Order.id, Order.number).where(Order.duplicate_of_id == order.id).order_by(Order.id)
        )
        return DuplicateList(
            likely=find_likely(session, rt.settings.orders.reports, order),
            merged=[OriginalRef(id=row.id, number=row.number) for row in merged],
        )
