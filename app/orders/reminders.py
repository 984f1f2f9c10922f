"""The reminder and escalation rules the scheduled jobs apply (times in Asia/Shanghai where a
calendar day matters). Each reminder goes out once per threshold: its dedupe key names the rule,
the order and the moment the threshold counts from, so a re-dispatch starts a new count but a
re-run of the job never repeats a message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, ServiceCategory
from app.core.clock import shanghai_today, to_shanghai
from app.identity.models import User
from app.identity.roles import Role
from app.identity.staff import community_staff
from app.notify.models import Channel
from app.notify.outbox import notify_user
from app.orders.actions import act_as_system
from app.orders.models import Order, OrderEvent
from app.orders.notifications import dispatch_targets
from app.orders.texts import OrderFacts, render
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class ReminderReport:
    """Messages queued and orders moved, per rule."""

    queued: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)

    def count(self, table: dict[str, int], rule: str, n: int = 1) -> None:
        table[rule] = table.get(rule, 0) + n


def _facts(session: Session, order: Order, now: datetime, text: str) -> OrderFacts:
    community = session.get(Area, order.community_id)
    category = session.get(ServiceCategory, order.category_id)
    return OrderFacts(
        order_id=order.id,
        number=order.number,
        title=order.title,
        category=category.name if category else "",
        community=community.name if community else "",
        at=now,
        text=text,
    )


def _remind(
    rt: Runtime,
    session: Session,
    order: Order,
    recipients: Iterable[User],
    *,
    channel: Channel,
    text: str,
    key: str,
    now: datetime,
) -> int:
    rendered = render("reminder", _facts(session, order, now, text))
    queued = 0
    for user in recipients:
        queued += notify_user(
            session,
            rt.settings.notify,
            user=user,
            template_key="reminder",
            rendered=rendered,
            dedupe_key=f"{key}:user:{user.id}",
            channel=channel,
            order_id=order.id,
            now=now,
        )
    return queued


def _open_orders(session: Session, statuses: Iterable[OrderStatus], *conditions: sa.ColumnElement[bool]) -> list[int]:
    return list(session.scalars(sa.select(Order.id).where(Order.status.in_(list(statuses)), *conditions)))


def _each(rt: Runtime, ids: list[int], work: Callable[[Session, Order], int]) -> int:
    """One transaction per order: one bad row never blocks the others."""
    done = 0
    for order_id in ids:
        try:
            with rt.db.write() as session:
                order = session.get(Order, order_id)
                if order is not None:
                    done += work(session, order)
        except Exception:
            log.exception("reminder for order %s failed; the others go on", order_id)
    return done


def _stamp(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


@dataclass(frozen=True)
class _Rules:
    """The rules, each working on one order inside its own transaction."""

    rt: Runtime
    now: datetime

    def undispatched(self, session: Session, order: Order) -> int:
        # Count from when the order last entered the queue (posted, declined, returned), so that
        # a triage or an urge does not restart it and a return to the queue does.
        entered = session.scalar(
            sa.select(sa.func.max(OrderEvent.created_at)).where(
                OrderEvent.order_id == order.id,
                OrderEvent.to_status == OrderStatus.SUBMITTED,
                sa.or_(OrderEvent.from_status.is_(None), OrderEvent.from_status != OrderStatus.SUBMITTED),
            )
        )
        entered = entered or order.created_at
        if entered > self.now - _hours(self.rt.settings.reminders.undispatched_hours):
            return 0
        secretaries = community_staff(session, order.community_id, Role.SECRETARY)
        return _remind(
            self.rt,
            session,
            order,
            secretaries,
            channel=Channel.TEMPLATE,
            text="超时未派单，请尽快处理",
            key=f"remind:undispatched:{order.id}:{_stamp(entered)}",
            now=self.now,
        )

    def unaccepted(self, session: Session, order: Order) -> int:
        cfg = self.rt.settings.reminders
        if order.status is not OrderStatus.ASSIGNED or order.dispatched_at is None:
            return 0
        if order.dispatched_at <= self.now - _hours(cfg.unaccepted_return_hours):
            return 0  # it goes back to the queue instead (see run_reminders)
        return _remind(
            self.rt,
            session,
            order,
            dispatch_targets(session, order),
            channel=Channel.SUBSCRIBE,
            text="您有派单尚未确认，请尽快接单",
            key=f"remind:unaccepted:{order.id}:{_stamp(order.dispatched_at)}",
            now=self.now,
        )

    def overdue(self, session: Session, order: Order) -> int:
        cfg = self.rt.settings.reminders
        sla = session.scalar(sa.select(ServiceCategory.sla_hours).where(ServiceCategory.id == order.category_id)) or 0
        if order.accepted_at is None or order.accepted_at + _hours(sla) > self.now:
            return 0
        holder = [u for u in [session.get(User, order.assignee_id or 0)] if u]
        queued = _remind(
            self.rt,
            session,
            order,
            holder,
            channel=Channel.SUBSCRIBE,
            text="服务已超过时限，请尽快完成",
            key=f"remind:overdue:{order.id}:{_stamp(order.accepted_at)}",
            now=self.now,
        )
        if order.accepted_at + _hours(sla + cfg.overdue_escalate_hours) <= self.now:
            secretaries = community_staff(session, order.community_id, Role.SECRETARY)
            queued += _remind(
                self.rt,
                session,
                order,
                secretaries,
                channel=Channel.TEMPLATE,
                text="志愿者超时未完成，请跟进",
                key=f"remind:overdue_escalate:{order.id}:{_stamp(order.accepted_at)}",
                now=self.now,
            )
        return queued

    def appointment(self, session: Session, order: Order) -> int:
        start = order.preferred_start
        if start is None or start <= self.now:
            return 0
        people = [u for u in (session.get(User, order.resident_id), session.get(User, order.assignee_id or 0)) if u]
        if order.assignee_id is None:
            people += dispatch_targets(session, order)
        queued = 0
        # "Tomorrow" is a Shanghai calendar day, whatever the UTC date says.
        if to_shanghai(start).date() == shanghai_today(self.now) + timedelta(days=1):
            when = to_shanghai(start).strftime("%m月%d日 %H:%M")
            queued += _remind(
                self.rt,
                session,
                order,
                people,
                channel=Channel.SUBSCRIBE,
                text=f"明天 {when} 有预约服务",
                key=f"remind:appointment_day:{order.id}:{_stamp(start)}",
                now=self.now,
            )
        if start - self.now <= timedelta(minutes=self.rt.settings.reminders.appointment_soon_minutes):
            queued += _remind(
                self.rt,
                session,
                order,
                people,
                channel=Channel.SUBSCRIBE,
                text="预约服务即将开始",
                key=f"remind:appointment_soon:{order.id}:{_stamp(start)}",
                now=self.now,
            )
        return queued

    def unrated(self, session: Session, order: Order) -> int:
        resident = session.get(User, order.resident_id)
        return _remind(
            self.rt,
            session,
            order,
            [resident] if resident else [],
            channel=Channel.SUBSCRIBE,
            text="服务已完成，请您评价",
            key=f"remind:unrated:{order.id}:{_stamp(order.completed_at)}",
            now=self.now,
        )

    def escalation_overdue(self, session: Session, order: Order) -> int:
        community = session.get(Area, order.community_id)
        admins = (
            community_staff(session, community.parent_id, Role.STREET_ADMIN)
            if community and community.parent_id
            else []
        )
        return _remind(
            self.rt,
            session,
            order,
            admins,
            channel=Channel.TEMPLATE,
            text=f"上报事项已超期：{order.escalated_department or ''}",
            key=f"remind:escalation_overdue:{order.id}:{_stamp(order.escalation_due_at)}",
            now=self.now,
        )


def run_reminders(rt: Runtime, now: datetime) -> ReminderReport:
    """Apply every rule once at ``now``; safe to run as often as wanted (dedupe keys)."""
    cfg = rt.settings.reminders
    rules = _Rules(rt, now)
    report = ReminderReport()
    held = [OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE]
    with rt.db.read() as session:
        scans: list[tuple[str, list[int], Callable[[Session, Order], int]]] = [
            (
                "undispatched",
                _open_orders(
                    session, [OrderStatus.SUBMITTED], Order.created_at <= now - _hours(cfg.undispatched_hours)
                ),
                rules.undispatched,
            ),
            (
                "unaccepted",
                _open_orders(
                    session, [OrderStatus.ASSIGNED], Order.dispatched_at <= now - _hours(cfg.unaccepted_remind_hours)
                ),
                rules.unaccepted,
            ),
            ("overdue", _open_orders(session, held, Order.accepted_at.is_not(None)), rules.overdue),
            (
                "appointment",
                _open_orders(
                    session,
                    [OrderStatus.ASSIGNED, *held],
                    Order.preferred_start > now,
                    Order.preferred_start <= now + timedelta(days=2),
                ),
                rules.appointment,
            ),
            (
                "unrated",
                _open_orders(
                    session,
                    [OrderStatus.COMPLETED],
                    Order.completed_at <= now - _hours(cfg.unrated_remind_hours),
                    # An order old enough to be closed unrated in this very run is not asked about.
                    Order.completed_at > now - timedelta(days=cfg.unrated_close_days),
                ),
                rules.unrated,
            ),
            (
                "escalation_overdue",
                _open_orders(session, [OrderStatus.ESCALATED], Order.escalation_due_at <= now),
                rules.escalation_overdue,
            ),
        ]
    for name, ids, rule in scans:
        report.count(report.queued, name, _each(rt, ids, rule))

    # Moves: assignments nobody accepted go back; completed orders nobody rated are closed.
    with rt.db.read() as session:
        expired = _open_orders(
            session, [OrderStatus.ASSIGNED], Order.dispatched_at <= now - _hours(cfg.unaccepted_return_hours)
        )
        stale = _open_orders(
            session, [OrderStatus.COMPLETED], Order.completed_at <= now - timedelta(days=cfg.unrated_close_days)
        )
    for order_id in expired:
        if act_as_system(rt, order_id, Action.EXPIRE, note="超时未接单，退回待派单", expected=OrderStatus.ASSIGNED):
            report.count(report.moved, "unaccepted_returned")
    for order_id in stale:
        if act_as_system(
            rt, order_id, Action.CLOSE_UNRATED, note="超过评价期限，未评价关闭", expected=OrderStatus.COMPLETED
        ):
            report.count(report.moved, "closed_unrated")
    return report
