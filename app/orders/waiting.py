"""Since when an order has been waiting for dispatch: the one definition the reminder and the
daily digest share.

An order waits from the moment it last *entered* the queue (posted, declined by its assignee, or
returned by the job when nobody accepted), not from its last change: a triage or an urge keeps it in
the queue and must not restart the count.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core.db import UTCDateTime
from app.orders.models import Order, OrderEvent
from app.orders.workflow import OrderStatus


def queued_at() -> sa.ColumnElement[Any]:
    """SQL for the moment each order (correlated on ``orders``) last entered the queue."""
    entered = (
        sa.select(sa.func.max(OrderEvent.created_at))
        .where(
            OrderEvent.order_id == Order.id,
            OrderEvent.to_status == OrderStatus.SUBMITTED,
            sa.or_(OrderEvent.from_status.is_(None), OrderEvent.from_status != OrderStatus.SUBMITTED),
        )
        .scalar_subquery()
    )
    # Every order has its submit event; created_at covers rows written before events existed.
    return sa.func.coalesce(entered, Order.created_at, type_=UTCDateTime())
