"""Applying one transition of the workflow table to an order, inside the caller's transaction.

Every action, the claim included, ends here: one conditional UPDATE guarded by the status the
table allows and the version that was read, and one audit-trail row. If anyone changed the order
in between, nothing is written and the caller learns it (a lost claim race becomes 409
``already_claimed``, anything else 409 ``invalid_transition``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.core.errors import InvalidTransitionError
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderStatus, transition_for

#: What to raise when the conditional UPDATE found the order changed; gets its status now.
OnConflict = Callable[[OrderStatus], NoReturn]


@dataclass(frozen=True, slots=True)
class Step:
    """One action under way: the order, who acts (None for a scheduled job) and from where."""

    session: Session
    order: Order
    actor_id: int | None
    #: "api", "bot" or "job", kept on the audit-trail row.
    channel: str

    def move(
        self,
        action: Action,
        *,
        note: str = "",
        values: dict[str, Any] | None = None,
        on_conflict: OnConflict | None = None,
        by_status_only: bool = False,
        to: OrderStatus | None = None,
    ) -> None:
        """Move the order along ``action`` (InvalidTransitionError if its status does not allow
        it), set ``values`` on it and record the event; flushes only.

        ``by_status_only``: the status alone decides, not the version read (the claim: an urge on
        a pooled order changes its version but leaves it just as claimable). ``to``: one of the
        transition's alternative targets instead of its usual one (reassign)."""
        order = self.order
        transition = transition_for(order.status, action)
        source = order.status
        target = transition.target_from(source, to)
        guard = [Order.id == order.id, Order.status.in_(transition.sources)]
        if not by_status_only:
            guard.append(Order.version == order.version)
        changed = self.session.execute(
            sa.update(Order)
            .where(*guard)
            .values(status=target, version=Order.version + 1, updated_at=now_utc(), **(values or {}))
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            self.session.refresh(order)
            if on_conflict is not None:
                on_conflict(order.status)
            raise InvalidTransitionError("工单刚被其他人处理过，请刷新后再试", details={"action": action.value})
        self.session.add(
            OrderEvent(
                order_id=order.id,
                actor_id=self.actor_id,
                action=action,
                from_status=source,
                to_status=target,
                note=note,
                channel=self.channel,
            )
        )
        self.session.flush()
        self.session.refresh(order)
