"""What an order earns in the time bank, and when that is settled, reversed or decided: the
order's side of ``app.timebank`` (which knows no orders). Flush only, in the action's transaction.

* **Who earns**: the order's assignee when it is rated — for a team or a property company, the
  member who accepted it.
* **Which settlement**: 1 for the first rating; each reopening of a closed order (a dispute within
  ``timebank.dispute_window_days``) starts the next. The number is counted from the order's own
  trail, so two ratings racing for the same closing compute the same number and the ledger's
  unique indexes let only one of them earn.
* **From when**: the order's last ``start``, when nothing came after it that starts the work
  afresh (an accept, a claim, a dispute); else the category's default hours (app/timebank/rules.py).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import ServiceCategory
from app.core.config import Settings
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderStatus
from app.timebank import rules, settle
from app.timebank.ledger import PointsEntry
from app.timebank.notices import tell_volunteer

#: The actions after which an earlier ``start`` no longer measures the work being rated.
RESTARTS = (Action.START, Action.ACCEPT, Action.CLAIM, Action.DISPUTE)


def settlement_of(session: Session, order_id: int) -> int:
    """The order's current settlement: 1 + the times it was reopened after closing."""
    reopened = session.scalar(
        sa.select(sa.func.count(OrderEvent.id)).where(
            OrderEvent.order_id == order_id,
            OrderEvent.action == Action.DISPUTE,
            OrderEvent.from_status == OrderStatus.CLOSED,
        )
    )
    return 1 + int(reopened or 0)


def _started_at(session: Session, order_id: int) -> datetime | None:
    latest = session.execute(
        sa.select(OrderEvent.action, OrderEvent.created_at)
        .where(OrderEvent.order_id == order_id, OrderEvent.action.in_(RESTARTS))
        .order_by(OrderEvent.id.desc())
        .limit(1)
    ).first()
    return latest.created_at if latest is not None and latest.action is Action.START else None


def _tell(session: Session, cfg: Settings, entries: list[PointsEntry], number: str) -> None:
    for entry in entries:
        tell_volunteer(session, cfg.notify, entry, about=f"工单 {number}")


def earn_on_rating(session: Session, cfg: Settings, order: Order, score: int) -> PointsEntry | None:
    """The rating's points for the assignee (paid, or held when the score is low); None when
    nobody holds the order or its category earns nothing."""
    if order.assignee_id is None:
        return None
    category = session.get(ServiceCategory, order.category_id)
    if category is None:
        return None
    earning = rules.earning(
        rules.rule_for(cfg.timebank, category.code),
        points_per_hour=category.points,
        score=score,
        started_at=_started_at(session, order.id),
        completed_at=order.completed_at,
    )
    entry = settle.earn(session, order.assignee_id, order.id, settlement_of(session, order.id), earning)
    if entry is not None:
        _tell(session, cfg, [entry], order.number)
    return entry


def reverse_on_reopening(session: Session, cfg: Settings, order: Order, settlement: int) -> list[PointsEntry]:
    """A closed order reopened: what ``settlement`` paid is taken back (and a hold forfeited)."""
    entries = settle.reverse(session, order.id, settlement)
    _tell(session, cfg, entries, order.number)
    return entries


def decide_held(session: Session, cfg: Settings, order: Order, *, pay: bool) -> PointsEntry | None:
    """The return visit's decision on the order's held points; None if none are held."""
    hold = settle.pending_hold(session, order.id)
    if hold is None:
        return None
    entry = settle.decide_hold(session, hold, pay=pay, reason="return_visit_paid" if pay else "return_visit_withheld")
    _tell(session, cfg, [entry], order.number)
    return entry
