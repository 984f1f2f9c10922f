"""Every action on an order, each one unit of work: find the order as the caller may see it, check
the caller's party against the workflow table, apply the transition with what the action writes
(``app.orders.handlers``), and queue who hears about it, all in one transaction.

The claim goes the same way. Only its first look differs: a volunteer may try to claim an order
they can no longer see (someone was faster), and must hear "already claimed", not "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.errors import (
    AlreadyClaimedError,
    ForbiddenError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
)
from app.identity.actor import Actor
from app.orders import handlers
from app.orders.access import can_view, groups_of, load_visible_order, parties_of
from app.orders.content import check_texts
from app.orders.models import Order, OrderEvent
from app.orders.notifications import Holding, notify_order_event
from app.orders.present import present_orders
from app.orders.shapes import OrderOut
from app.orders.steps import Step
from app.orders.workflow import ACTION_LABELS, TRANSITIONS, Action, OrderStatus, Party, TriageLevel, transition_for
from app.runtime import Runtime


@dataclass(frozen=True)
class Target:
    """Where a dispatch sends the order: exactly one of these (``queue``: back to the secretary's
    queue, for a reassign only)."""

    volunteer_id: int | None = None
    team_id: int | None = None
    property_company_id: int | None = None
    pool: bool = False
    queue: bool = False


@dataclass(frozen=True)
class ActionInput:
    """The body of any action; each action reads the fields it needs."""

    level: TriageLevel | None = None
    target: Target | None = None
    reason: str = ""
    note: str = ""
    photos: tuple[int, ...] = ()
    score: int | None = None
    speed: int | None = None
    attitude: int | None = None
    comment: str = ""
    department: str = ""
    due_hours: int | None = None


def _dispatch(step: Step, data: ActionInput) -> None:
    if data.target is None:
        raise InvalidInputError("请选择派单对象", details={"fields": ["volunteer_id"]})
    target = data.target
    assignment = handlers.dispatch_target(
        step,
        volunteer_id=target.volunteer_id,
        team_id=target.team_id,
        property_company_id=target.property_company_id,
        pool=target.pool,
    )
    # The target decides: to the pool is a PUBLISH, to anyone else a DISPATCH.
    handlers.dispatch(step, Action.PUBLISH if target.pool else Action.DISPATCH, assignment, data.note)


def _reassign(step: Step, data: ActionInput) -> None:
    target = data.target or Target()
    handlers.reassign(
        step,
        data.reason,
        volunteer_id=target.volunteer_id,
        team_id=target.team_id,
        property_company_id=target.property_company_id,
        pool=target.pool,
        queue=target.queue,
    )


#: Each action's handler, given only what it uses of the input and the settings.
_Handler = Callable[[Step, ActionInput, Settings], None]
_HANDLERS: dict[Action, _Handler] = {
    Action.TRIAGE: lambda step, data, _cfg: handlers.triage(step, data.level),
    Action.DISPATCH: lambda step, data, _cfg: _dispatch(step, data),
    Action.PUBLISH: lambda step, data, _cfg: _dispatch(step, data),
    Action.CLAIM: lambda step, _data, _cfg: handlers.claim(step),
    Action.ACCEPT: lambda step, _data, _cfg: handlers.accept(step),
    Action.DECLINE: lambda step, data, _cfg: handlers.decline(step, data.reason),
    Action.START: lambda step, _data, _cfg: handlers.start(step),
    Action.COMPLETE: lambda step, data, _cfg: handlers.complete(step, data.note, data.photos),
    Action.RATE: lambda step, data, cfg: handlers.rate(
        step, cfg, data.score, data.comment, speed=data.speed, attitude=data.attitude
    ),
    Action.DISPUTE: lambda step, data, cfg: handlers.dispute(step, cfg, data.reason),
    Action.URGE: lambda step, _data, cfg: handlers.urge(step, cfg.orders.urge_interval_hours),
    Action.CANCEL: lambda step, data, _cfg: handlers.cancel(step, data.reason),
    Action.REJECT: lambda step, data, _cfg: handlers.reject(step, data.reason),
    Action.ESCALATE: lambda step, data, _cfg: handlers.escalate(step, data.department, data.note, data.due_hours),
    Action.RESOLVE: lambda step, data, _cfg: handlers.resolve(step, data.note),
    Action.REASSIGN: lambda step, data, _cfg: _reassign(step, data),
    Action.RELEASE: lambda step, data, _cfg: handlers.release(step, data.reason),
}


def _require_party(action: Action, parties: frozenset[Party]) -> None:
    if not parties & TRANSITIONS[action].parties:
        raise ForbiddenError(f"您不能对该工单进行「{ACTION_LABELS[action]}」操作")


def _claimable(session: Session, actor: Actor, order_id: int) -> tuple[Order, frozenset[Party]]:
    """The order a volunteer wants to claim, with their parties to it.

    A volunteer of another community gets 404; a non-volunteer who may see it 403. One who saw it
    in the pool learns they were too late (409 already_claimed) even though it is no longer theirs
    to see; an order that never was in the pool stays as hidden as any order they may not see.
    Whoever holds it already hears so (409 already_claimed, ``details.yours``), not that they lost.
    """
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("找不到该工单")
    parties = parties_of(session, actor, order)
    if order.assignee_id == actor.user_id and order.status is not OrderStatus.POOLED:
        # A second tap, or 「接单」 sent again to find the address: the order is theirs already,
        # whatever their role (a property company's staff member holds orders too).
        handlers.raise_not_claimable(order.status, yours=True)
    visible = can_view(actor, order, parties)
    if Party.VOLUNTEER not in parties:
        if visible:
            raise ForbiddenError("只有本社区的志愿者可以认领")
        raise NotFoundError("找不到该工单")
    if order.status is not OrderStatus.POOLED:
        was_pooled = session.scalar(
            sa.select(OrderEvent.id).where(OrderEvent.order_id == order_id, OrderEvent.action == Action.PUBLISH)
        )
        if was_pooled is None and not visible:
            raise NotFoundError("找不到该工单")
        handlers.raise_not_claimable(order.status)
    return order, parties


def _accepted_by_a_colleague(session: Session, actor: Actor, order_id: int) -> None:
    """A member of the team (or staff of the company) an order was dispatched to who taps 「接单」
    just after another one: 409 already_claimed, as for a lost claim, not the 404 the order's
    visibility would now give (it is the winner's, and the loser saw it a moment ago)."""
    order = session.get(Order, order_id)
    if order is None or order.assignee_id is None or order.assignee_id == actor.user_id:
        return
    if order.status in handlers.TAKEN and groups_of(session, actor.user_id).include(order):
        raise AlreadyClaimedError()


def _written(data: ActionInput) -> dict[str, str]:
    """The texts of an action that others will read (audit trail, messages, the rating), by the
    body's field names. Each action's body fills only its own fields, so every one set is checked."""
    fields = {"reason": data.reason, "note": data.note, "comment": data.comment, "department": data.department}
    return {field: text for field, text in fields.items() if text.strip()}


def _check_content(rt: Runtime, actor: Actor, order_id: int, action: Action, data: ActionInput) -> None:
    """Content security for the action's texts, before the write transaction (an HTTP call must
    not hold the write lock). A read first answers what the caller may not do (404, 403, 409),
    as without a text, and spares WeChat a call on their behalf; the write checks it all again.
    A risky text is a 422 and nothing is written; "review", or WeChat not answering, lets the
    action through: it is signed by its author in the audit trail, and work must not stop
    because WeChat is slow."""
    written = _written(data)
    if not written:
        return
    with rt.db.read() as session:
        order, parties = load_visible_order(session, actor, order_id)
        _require_party(action, parties)
        transition_for(order.status, action)
    check_texts(rt, actor, written)


def _notify_latest(session: Session, rt: Runtime, order: Order, previous: Holding | None = None) -> None:
    """Queue what the transition just recorded calls for, in the same transaction."""
    event = session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc()).limit(1)
    ).one()
    notify_order_event(session, rt.settings.notify, order, event, previous=previous, lanes=rt.settings.orders.lanes)


def act(
    rt: Runtime, actor: Actor, order_id: int, action: Action, data: ActionInput, *, channel: str = "api"
) -> OrderOut:
    """Apply ``action`` to an order for ``actor``; the one entry point of the API and the bot.

    Raises NotFoundError (no such order, or not the actor's to see), ForbiddenError (the actor's
    role may not do this), InvalidTransitionError / AlreadyClaimedError (409), ContentRejectedError
    (a reason, note, comment or department WeChat judges risky: 422, nothing written),
    InvalidInputError, RateLimitedError (urging too often).
    """
    if action is Action.DISPATCH and data.target is not None and data.target.pool:
        action = Action.PUBLISH
    _check_content(rt, actor, order_id, action, data)
    if action is Action.CLAIM:
        # A cheap look first: the losers of a race learn it without queueing for the write lock
        # (on SQLite every write transaction takes it at BEGIN). The UPDATE below still decides.
        with rt.db.read() as session:
            _claimable(session, actor, order_id)
    with rt.db.write() as session:
        if action is Action.CLAIM:
            order, parties = _claimable(session, actor, order_id)
        else:
            if action is Action.ACCEPT:
                _accepted_by_a_colleague(session, actor, order_id)
            order, parties = load_visible_order(session, actor, order_id)
        _require_party(action, parties)
        transition_for(order.status, action)  # 409 before looking at the body's details
        handler = _HANDLERS.get(action)
        if handler is None:
            raise InvalidTransitionError(details={"action": action.value})
        previous = Holding.of(order)  # cancel and reassign clear it, and must still tell them
        handler(Step(session, order, actor.user_id, channel), data, rt.settings)
        _notify_latest(session, rt, order, previous)
        return present_orders(session, actor, [order], with_events=True, lanes=rt.settings.orders.lanes)[0]


def dispatch_in(session: Session, rt: Runtime, actor: Actor, order: Order, volunteer_id: int, *, note: str) -> None:
    """Helper for another domain's use case (flushes only): ``actor`` dispatches ``order`` to a
    volunteer in the caller's transaction, with the checks, event and messages of the dispatch
    action (a care plan's visit goes straight to its volunteer). Raises as ``act`` does."""
    _require_party(Action.DISPATCH, parties_of(session, actor, order))
    transition_for(order.status, Action.DISPATCH)
    previous = Holding.of(order)
    target = Target(volunteer_id=volunteer_id)
    _dispatch(Step(session, order, actor.user_id, "job"), ActionInput(target=target, note=note))
    _notify_latest(session, rt, order, previous)


def act_as_system(
    rt: Runtime,
    order_id: int,
    action: Action,
    *,
    note: str,
    expected: OrderStatus,
    still_due: Callable[[Session, Order], bool] | None = None,
) -> bool:
    """A scheduled job moves an order (EXPIRE, CLOSE_UNRATED). False if the order is no longer in
    ``expected`` status, or ``still_due`` (asked inside the transaction) says no: someone acted
    meanwhile, and the job simply has nothing to do."""
    if Party.SYSTEM not in TRANSITIONS[action].parties:
        raise ForbiddenError(f"jobs may not {action.value}")
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        if order is None or order.status is not expected:
            return False
        if still_due is not None and not still_due(session, order):
            return False
        try:
            handlers.system_move(Step(session, order, None, "job"), action, note)
        except InvalidTransitionError:
            return False
        _notify_latest(session, rt, order)
        return True
