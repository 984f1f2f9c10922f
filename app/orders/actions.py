"""Every action on an order, each one unit of work that checks the caller's party, the order's
community and the transition table, then writes the change and its audit event together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import ServiceCategory
from app.core.clock import now_utc
from app.core.errors import (
    AlreadyClaimedError,
    ForbiddenError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    RateLimitedError,
)
from app.identity.actor import Actor
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.orders.access import can_view, load_visible_order, parties_of
from app.orders.models import Order, OrderEvent, PointsEntry, Rating, ReturnVisit
from app.orders.notifications import notify_order_event
from app.orders.present import present_orders
from app.orders.shapes import OrderOut
from app.orders.workflow import ACTION_LABELS, TRANSITIONS, Action, OrderStatus, Party, TriageLevel, transition_for
from app.property.models import PropertyCompany
from app.runtime import Runtime
from app.uploads.store import attach_uploads
from app.volunteers.models import Team

#: Ratings at or below this go on the secretary's return-visit (回访) list.
LOW_RATING = 2


@dataclass(frozen=True)
class Target:
    """Where a dispatch sends the order: exactly one of these."""

    volunteer_id: int | None = None
    team_id: int | None = None
    property_company_id: int | None = None
    pool: bool = False


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


def _require_party(action: Action, parties: frozenset[Party]) -> None:
    allowed = TRANSITIONS[action].parties
    if not parties & allowed:
        raise ForbiddenError(f"您不能对该工单进行「{ACTION_LABELS[action]}」操作")


def _apply(
    session: Session,
    order: Order,
    actor_id: int | None,
    action: Action,
    *,
    channel: str,
    note: str = "",
    values: dict[str, Any] | None = None,
) -> None:
    """Move ``order`` along ``action`` if its status still allows it, and record the event.

    The UPDATE is conditional on the version read: if someone else changed the order meanwhile,
    nothing is written and InvalidTransitionError tells the caller to look again.
    """
    transition = transition_for(order.status, action)
    source = order.status
    target = transition.target_from(source)
    changed = session.execute(
        sa.update(Order)
        .where(Order.id == order.id, Order.version == order.version)
        .values(status=target, version=Order.version + 1, updated_at=now_utc(), **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidTransitionError("工单刚被其他人处理过，请刷新后再试", details={"action": action.value})
    session.add(
        OrderEvent(
            order_id=order.id,
            actor_id=actor_id,
            action=action,
            from_status=source,
            to_status=target,
            note=note,
            channel=channel,
        )
    )
    session.flush()
    session.refresh(order)


def _finish(session: Session, actor: Actor, order: Order) -> OrderOut:
    return present_orders(session, actor, [order], with_events=True)[0]


def _check_dispatch_target(session: Session, order: Order, target: Target) -> dict[str, Any]:
    chosen = [target.volunteer_id is not None, target.team_id is not None, target.property_company_id is not None]
    if sum(chosen) + int(target.pool) != 1:
        raise InvalidInputError(
            "请在志愿者、服务队、物业企业、任务池中选择一项",
            details={"fields": ["volunteer_id", "team_id", "property_company_id", "pool"]},
        )
    if target.volunteer_id is not None:
        is_volunteer = session.scalar(
            sa.select(RoleMembership.id).where(
                RoleMembership.user_id == target.volunteer_id,
                RoleMembership.role == Role.VOLUNTEER,
                RoleMembership.area_id == order.community_id,
            )
        )
        if is_volunteer is None:
            raise InvalidInputError(
                "该志愿者不存在或不属于本社区", details={"fields": [{"field": "volunteer_id", "problem": "unknown"}]}
            )
        return {"assignee_id": target.volunteer_id}
    if target.team_id is not None:
        team = session.get(Team, target.team_id)
        if team is None or team.community_id != order.community_id:
            raise InvalidInputError("服务队不存在或不属于本社区", details={"fields": [{"field": "team_id"}]})
        return {"team_id": team.id}
    if target.property_company_id is not None:
        company = session.get(PropertyCompany, target.property_company_id)
        if company is None or company.community_id != order.community_id:
            raise InvalidInputError(
                "物业企业不存在或不服务本社区", details={"fields": [{"field": "property_company_id"}]}
            )
        return {"property_company_id": company.id}
    return {}


def _clear_assignment() -> dict[str, Any]:
    return {"assignee_id": None, "team_id": None, "property_company_id": None, "accepted_at": None}


def act(
    rt: Runtime, actor: Actor, order_id: int, action: Action, data: ActionInput, *, channel: str = "api"
) -> OrderOut:
    """Apply ``action`` to an order for ``actor``; the one entry point of the API and the bot.

    Raises NotFoundError (no such order, or not the actor's to see), ForbiddenError (the actor's
    role may not do this), InvalidTransitionError / AlreadyClaimedError (409), InvalidInputError,
    RateLimitedError (urging too often).
    """
    if action is Action.CLAIM:
        return _claim(rt, actor, order_id, channel=channel)
    with rt.db.write() as session:
        order, parties = load_visible_order(session, actor, order_id)
        if action is Action.DISPATCH and data.target is not None and data.target.pool:
            action = Action.PUBLISH
        _require_party(action, parties)
        transition_for(order.status, action)  # 409 before looking at the body's details
        handler = _HANDLERS.get(action)
        if handler is None:
            raise InvalidTransitionError(details={"action": action.value})
        handler(session, order, rt=rt, actor=actor, data=data, channel=channel)
        _notify_latest(session, rt, order)
        return _finish(session, actor, order)


def _notify_latest(session: Session, rt: Runtime, order: Order) -> None:
    """Queue what the transition just recorded calls for, in the same transaction."""
    event = session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id.desc()).limit(1)
    ).one()
    notify_order_event(session, rt.settings.notify, order, event)


# -- handlers (inside the caller's transaction) -------------------------------------------------


def _triage(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if data.level is None:
        raise InvalidInputError("请选择分流级别", details={"fields": ["level"]})
    _apply(
        session,
        order,
        actor.user_id,
        Action.TRIAGE,
        channel=channel,
        note=data.level.value,
        values={"level": data.level},
    )


def _dispatch(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if data.target is None:
        raise InvalidInputError("请选择派单对象", details={"fields": ["volunteer_id"]})
    values = _check_dispatch_target(session, order, data.target)
    action = Action.PUBLISH if data.target.pool else Action.DISPATCH
    _apply(
        session,
        order,
        actor.user_id,
        action,
        channel=channel,
        note=data.note,
        values={**values, "dispatched_at": now_utc()},
    )


def _accept(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    # For a team or a property company, whoever accepts becomes the one holding the order.
    _apply(
        session,
        order,
        actor.user_id,
        Action.ACCEPT,
        channel=channel,
        values={"assignee_id": actor.user_id, "accepted_at": now_utc()},
    )


def _decline(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if not data.reason:
        raise InvalidInputError("请说明拒单原因", details={"fields": ["reason"]})
    _apply(session, order, actor.user_id, Action.DECLINE, channel=channel, note=data.reason, values=_clear_assignment())


def _start(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    _apply(session, order, actor.user_id, Action.START, channel=channel)


def _complete(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    _apply(
        session,
        order,
        actor.user_id,
        Action.COMPLETE,
        channel=channel,
        note=data.note,
        values={"completion_note": data.note, "completed_at": now_utc()},
    )
    if data.photos:
        attach_uploads(session, actor, list(data.photos), order.id, "completion")


def _rate(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if data.score is None:
        raise InvalidInputError("请给出 1–5 星评分", details={"fields": ["score"]})
    assignee_id = order.assignee_id
    _apply(
        session,
        order,
        actor.user_id,
        Action.RATE,
        channel=channel,
        note=f"{data.score}星 {data.comment}".strip(),
        values={"closed_at": now_utc()},
    )
    session.add(
        Rating(
            order_id=order.id,
            score=data.score,
            speed=data.speed,
            attitude=data.attitude,
            comment=data.comment,
            assignee_id=assignee_id,
        )
    )
    if data.score <= LOW_RATING:
        session.add(ReturnVisit(order_id=order.id, community_id=order.community_id, reason="low_rating"))
    if assignee_id is not None:
        points = session.scalar(sa.select(ServiceCategory.points).where(ServiceCategory.id == order.category_id))
        if points:
            session.add(PointsEntry(user_id=assignee_id, delta=points, reason="order_rated", order_id=order.id))
    session.flush()


def _dispute(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if not data.reason:
        raise InvalidInputError("请说明哪里没有完成", details={"fields": ["reason"]})
    if order.assignee_id is None:
        # Resolved by a street department (吹哨报到): there is nobody to send it back to. The
        # resident can still rate it low, which puts it on the secretary's return-visit list.
        raise InvalidTransitionError(
            "该工单由上级部门办结，不能申诉；如不满意请给出评价，社区会回访", details={"action": "dispute"}
        )
    _apply(
        session, order, actor.user_id, Action.DISPUTE, channel=channel, note=data.reason, values={"completed_at": None}
    )
    # The secretary sees disputes on the same list as low ratings and calls the resident.
    session.add(ReturnVisit(order_id=order.id, community_id=order.community_id, reason="dispute", note=data.reason))
    session.flush()


def _urge(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    interval = timedelta(hours=rt.settings.orders.urge_interval_hours)
    now = now_utc()
    if order.last_urged_at is not None and now - order.last_urged_at < interval:
        wait = int((order.last_urged_at + interval - now).total_seconds()) + 1
        raise RateLimitedError(f"已经催过了，请 {max(1, wait // 60)} 分钟后再催", details={"retry_after_seconds": wait})
    _apply(session, order, actor.user_id, Action.URGE, channel=channel, values={"last_urged_at": now})


def _cancel(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    _apply(session, order, actor.user_id, Action.CANCEL, channel=channel, note=data.reason, values=_clear_assignment())


def _reject(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if not data.reason:
        raise InvalidInputError("请说明驳回原因", details={"fields": ["reason"]})
    _apply(session, order, actor.user_id, Action.REJECT, channel=channel, note=data.reason)


def _escalate(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if not data.department or not data.due_hours:
        raise InvalidInputError("请填写上报部门和办理时限", details={"fields": ["department", "due_hours"]})
    _apply(
        session,
        order,
        actor.user_id,
        Action.ESCALATE,
        channel=channel,
        note=f"{data.department}：{data.note}".rstrip("："),
        values={
            **_clear_assignment(),
            "escalated_department": data.department,
            "escalation_due_at": now_utc() + timedelta(hours=data.due_hours),
        },
    )


def _resolve(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    if not data.note:
        raise InvalidInputError("请填写办结说明", details={"fields": ["note"]})
    _apply(
        session,
        order,
        actor.user_id,
        Action.RESOLVE,
        channel=channel,
        note=data.note,
        values={"completion_note": data.note, "completed_at": now_utc()},
    )


def _publish(session: Session, order: Order, *, rt: Runtime, actor: Actor, data: ActionInput, channel: str) -> None:
    _dispatch(session, order, rt=rt, actor=actor, data=data, channel=channel)


_HANDLERS = {
    Action.TRIAGE: _triage,
    Action.DISPATCH: _dispatch,
    Action.PUBLISH: _publish,
    Action.ACCEPT: _accept,
    Action.DECLINE: _decline,
    Action.START: _start,
    Action.COMPLETE: _complete,
    Action.RATE: _rate,
    Action.DISPUTE: _dispute,
    Action.URGE: _urge,
    Action.CANCEL: _cancel,
    Action.REJECT: _reject,
    Action.ESCALATE: _escalate,
    Action.RESOLVE: _resolve,
}


def _raise_not_claimable(status: OrderStatus) -> None:
    """Someone else holds it (409 already_claimed), or it was never in the pool (invalid_transition)."""
    if status in {OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE, OrderStatus.COMPLETED}:
        raise AlreadyClaimedError()
    transition_for(status, Action.CLAIM)  # raises InvalidTransitionError for every other status
    raise AlreadyClaimedError()  # pooled again by now: the caller may simply try once more


def _claim(rt: Runtime, actor: Actor, order_id: int, *, channel: str) -> OrderOut:
    """A volunteer of the order's community takes a pooled order; exactly one wins a race.

    One conditional UPDATE decides: ``WHERE status = 'pooled'``. The losers see rowcount 0 and get
    AlreadyClaimedError; nobody reads, decides, then writes.
    """
    with rt.db.read() as session:
        # A cheap look first: the losers of a race learn it without queueing for the write lock
        # (on SQLite every write transaction takes it at BEGIN). The UPDATE below still decides.
        seen = session.get(Order, order_id)
        if seen is None:
            raise NotFoundError("找不到该工单")
        parties = parties_of(session, actor, seen)
        visible = can_view(actor, seen, parties)
        if Party.VOLUNTEER not in parties:
            if visible:
                raise ForbiddenError("只有本社区的志愿者可以认领")
            raise NotFoundError("找不到该工单")
        if seen.status is not OrderStatus.POOLED:
            # Someone who saw it in the pool learns they were too late; an order that never was
            # in the pool stays as hidden as any order they may not see.
            was_pooled = session.scalar(
                sa.select(OrderEvent.id).where(OrderEvent.order_id == order_id, OrderEvent.action == Action.PUBLISH)
            )
            if was_pooled is None and not visible:
                raise NotFoundError("找不到该工单")
            _raise_not_claimable(seen.status)
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        if order is None:
            raise NotFoundError("找不到该工单")
        now = now_utc()
        won = session.execute(
            sa.update(Order)
            .where(Order.id == order_id, Order.status == OrderStatus.POOLED)
            .values(
                status=OrderStatus.ACCEPTED,
                assignee_id=actor.user_id,
                accepted_at=now,
                updated_at=now,
                version=Order.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(order)
            _raise_not_claimable(order.status)
        session.add(
            OrderEvent(
                order_id=order_id,
                actor_id=actor.user_id,
                action=Action.CLAIM,
                from_status=OrderStatus.POOLED,
                to_status=OrderStatus.ACCEPTED,
                channel=channel,
            )
        )
        session.flush()
        session.refresh(order)
        _notify_latest(session, rt, order)
        return _finish(session, actor, order)


def act_as_system(rt: Runtime, order_id: int, action: Action, *, note: str, expected: OrderStatus) -> bool:
    """A scheduled job moves an order (EXPIRE, CLOSE_UNRATED). False if the order is no longer in
    ``expected`` status (someone acted meanwhile): the job simply has nothing to do."""
    if Party.SYSTEM not in TRANSITIONS[action].parties:
        raise ForbiddenError(f"jobs may not {action.value}")
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        if order is None or order.status is not expected:
            return False
        values = _clear_assignment() if action is Action.EXPIRE else {"closed_at": now_utc()}
        try:
            _apply(session, order, None, action, channel="job", note=note, values=values)
        except InvalidTransitionError:
            return False
        _notify_latest(session, rt, order)
        return True
