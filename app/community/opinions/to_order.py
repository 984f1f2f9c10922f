"""Turning an item of the visit log into an order (民情转工单), once.

The order is posted through the orders' own submit use case (app/orders/submit.py), so it gets
the same rules, number, audit event and notifications as any order: staff post it on behalf of a
resident (代下单) when they name one, the item's text is its description. The item's row is locked
in the order's transaction, so two calls at once make one order: the second waits, then finds
the first one's order and answers 409 with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from app.areas.models import Area
from app.community.opinions.models import OpinionItem, OpinionVisit
from app.community.opinions.rules import default_title
from app.community.opinions.shapes import ItemOrderOut
from app.community.opinions.visits import STAFF, item_out
from app.core.clock import now_utc
from app.core.errors import ConflictError, ForbiddenError, NotFoundError
from app.identity.actor import Actor
from app.orders.models import Order
from app.orders.submit import NewOrder, create_in, needs_review
from app.orders.workflow import OrderKind, OrderStatus
from app.runtime import Runtime

_REFUSAL: Final = "只有社区工作人员可以把民情转为工单"


class ItemAlreadyOrderedError(ConflictError):
    code = "item_already_ordered"
    default_message = "这条民情已经转为工单"


@dataclass(frozen=True)
class ItemOrderRequest:
    """What staff choose for the order: its service category, kind, resident and title."""

    category: str
    kind: OrderKind = OrderKind.SERVICE
    on_behalf_of: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class _Item:
    id: int
    text: str
    community: str
    grid: str | None


def _already(order_id: int, number: str) -> ItemAlreadyOrderedError:
    return ItemAlreadyOrderedError(f"这条民情已经转为工单 {number}", details={"order_id": order_id, "number": number})


def _find(rt: Runtime, actor: Actor, visit_id: int, n: int) -> _Item:
    """The item, for staff covering its visit; NotFoundError otherwise (another community's visit
    is never confirmed to exist), ItemAlreadyOrderedError when it has its order already."""
    with rt.db.read() as session:
        visit = session.get(OpinionVisit, visit_id)
        if visit is None or not actor.covers(visit.community_id, visit.grid_id, *STAFF):
            raise NotFoundError("找不到该走访记录")
        row = session.execute(
            sa.select(OpinionItem, Order.number)
            .outerjoin(Order, Order.id == OpinionItem.order_id)
            .where(OpinionItem.visit_id == visit_id, OpinionItem.position == n)
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"该走访记录没有第 {n} 条民情")
        item, number = row
        if item.order_id is not None:
            raise _already(item.order_id, number or "")
        codes = dict(
            session.execute(
                sa.select(Area.id, Area.code).where(Area.id.in_([i for i in (visit.community_id, visit.grid_id) if i]))
            ).all()
        )
        return _Item(item.id, item.text, codes[visit.community_id], codes.get(visit.grid_id or 0))


def order_from_item(rt: Runtime, actor: Actor, visit_id: int, n: int, request: ItemOrderRequest) -> ItemOrderOut:
    """Staff covering the visit: make an order of its ``n``-th item and link the item to it.

    The order is placed at the visit's grid, or, posted for a resident (``on_behalf_of``), at
    their home, as submit_order places orders. Raises what submit_order raises (InvalidInputError
    naming ``category``, ``on_behalf_of``…; ForbiddenError when the caller may not post it;
    ContentRejectedError for a risky title), NotFoundError, and ItemAlreadyOrderedError (409, the
    existing order in ``details``) for an item that has its order. Nothing is written on any."""
    if not actor.communities_as(*STAFF):
        raise ForbiddenError(_REFUSAL)
    found = _find(rt, actor, visit_id, n)
    new = NewOrder(
        community=found.community,
        category=request.category,
        kind=request.kind,
        title=request.title or default_title(found.text),
        description=found.text,
        grid=found.grid if request.on_behalf_of is None else None,
        on_behalf_of=request.on_behalf_of,
    )
    flagged = needs_review(rt, actor, new)
    with rt.db.write() as session:
        # Locked until the order's transaction ends (SQLite: its write transaction is the lock).
        item = session.scalars(sa.select(OpinionItem).where(OpinionItem.id == found.id).with_for_update()).one()
        if item.order_id is not None:
            number = session.scalar(sa.select(Order.number).where(Order.id == item.order_id))
            raise _already(item.order_id, number or "")
        order = create_in(rt, session, actor, new, flagged=flagged, note=f"民情收集：走访记录 {visit_id} 第 {n} 条")
        item.order_id = order.id
        item.ordered_at = now_utc()
        session.flush()
        return ItemOrderOut(item=item_out(item, order.number, OrderStatus(order.status)), order=order)
