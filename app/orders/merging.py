"""合并重复: staff link a 随手拍 to the earlier report of the same problem.

The duplicate moves along the workflow's ``merge`` transition (from submitted, assigned or pooled:
nobody has taken the work on) to cancelled, with ``duplicate_of_id`` naming the original and the
reason in its audit trail; its reporter hears it was merged into #number, and whoever it was
dispatched to that it is off their list. The original goes on as it was; when it is completed or
closed, every reporter of a merged duplicate hears so once (app/orders/notifications.py).

Refused, with nothing written: the order itself (400), an original the caller may not see
(another community's, or a grid not theirs: 404), one of another community or kind, one already
finished or cancelled (400, ``original``), a duplicate that is not a report (409). Chains never
form: linking to a report that was itself merged links to its original (the root) instead, and
the reports merged into a duplicate follow it to the root.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.errors import ForbiddenError, InvalidInputError, InvalidTransitionError
from app.identity.actor import Actor
from app.orders import texts
from app.orders.access import load_visible_order
from app.orders.content import check_texts
from app.orders.handlers import clear_assignment
from app.orders.models import Order, OrderEvent
from app.orders.notifications import Holding, notify_order_event
from app.orders.present import present_orders
from app.orders.shapes import OrderOut
from app.orders.steps import Step
from app.orders.workflow import ACTION_LABELS, OPEN, TRANSITIONS, Action, OrderKind, transition_for
from app.runtime import Runtime


def _original_error(problem: str) -> InvalidInputError:
    return InvalidInputError(problem, details={"fields": [{"field": "original", "problem": problem}]})


def _check(session: Session, actor: Actor, order_id: int, original_id: int) -> tuple[Order, Order]:
    """The duplicate and the root it goes to, or the refusal; reads only."""
    order, parties = load_visible_order(session, actor, order_id)
    if not parties & TRANSITIONS[Action.MERGE].parties:
        raise ForbiddenError(f"您不能对该工单进行「{ACTION_LABELS[Action.MERGE]}」操作")
    transition_for(order.status, Action.MERGE)
    if order.kind is not OrderKind.REPORT:
        raise InvalidTransitionError("只有随手拍可以合并为重复", details={"action": Action.MERGE.value})
    if original_id == order.id:
        raise _original_error("不能合并到工单自己")
    original, _ = load_visible_order(session, actor, original_id)
    if original.duplicate_of_id is not None:
        # Merged itself: its original is the root (an original is never a duplicate).
        root = session.get(Order, original.duplicate_of_id)
        if root is not None:
            original = root
    if original.id == order.id:
        raise _original_error("该工单已合并到本工单")
    if original.community_id != order.community_id:
        raise _original_error("只能合并到本社区的工单")
    if original.kind is not order.kind:
        raise _original_error("只能合并到同为随手拍的工单")
    if original.status not in OPEN:
        raise _original_error("原工单已办结或已取消，不能合并到它")
    return order, original


def link_duplicate(rt: Runtime, actor: Actor, order_id: int, original_id: int, note: str = "") -> OrderOut:
    """A secretary, or a grid worker of the report's grid: merge report ``order_id`` into
    ``original_id``. Raises NotFoundError, ForbiddenError, InvalidTransitionError, InvalidInputError,
    ContentRejectedError (a risky note: 422); every refusal writes nothing."""
    if note.strip():
        # Content security outside the write transaction; a read first answers the refusals.
        with rt.db.read() as session:
            _check(session, actor, order_id, original_id)
        check_texts(rt, actor, {"note": note})
    with rt.db.write() as session:
        order, original = _check(session, actor, order_id, original_id)
        previous = Holding.of(order)
        step = Step(session, order, actor.user_id, "api")
        step.move(
            Action.MERGE,
            note=texts.merged_note(original.number, note),
            values={**clear_assignment(), "duplicate_of_id": original.id},
        )
        # The reports merged into this one follow it to the root: no chains.
        session.execute(
            sa.update(Order)
            .where(Order.duplicate_of_id == order.id)
            .values(duplicate_of_id=original.id)
            .execution_options(synchronize_session=False)
        )
        event = session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc()).limit(1)
        ).one()
        notify_order_event(session, rt.settings.notify, order, event, previous=previous, lanes=rt.settings.orders.lanes)
        return present_orders(session, actor, [order], with_events=True, lanes=rt.settings.orders.lanes)[0]
