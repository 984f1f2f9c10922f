"""The reminder job's use case: find the orders that may be due, apply the pure rules of
``app.orders.reminders`` to their facts, queue what they call for and make the moves.

Reading is set-based (a few queries for every candidate at once); writing is one transaction per
order that has something to queue, so one bad row never blocks the others. Safe to run as often as
wanted: every message has a dedupe key. What was queued is recorded in ``order_reminders`` in the
same transaction, and the next firings leave it out, so a firing writes only what is newly due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.core.config import RemindersSection
from app.identity.models import User
from app.identity.roles import Role
from app.identity.staff import community_staff
from app.notify.outbox import notify_each
from app.orders.actions import act_as_system
from app.orders.models import Order, OrderReminder
from app.orders.notifications import dispatch_targets, message_facts, people, street_admins
from app.orders.reminders import WINDOWS, Audience, Move, OrderTimes, Reminder, Window, should_move, should_remind
from app.orders.texts import render
from app.orders.waiting import queued_at
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: The report groups a rule's count under (a rule with a follow-up counts with it).
_GROUP = {"overdue_escalate": "overdue", "appointment_day": "appointment", "appointment_soon": "appointment"}
GROUPS = ("undispatched", "unaccepted", "overdue", "appointment", "unrated", "escalation_overdue")
#: Ids per IN list when loading facts: far below every database's bind-parameter limit.
_CHUNK = 500


@dataclass
class ReminderReport:
    """Messages queued per rule group, and orders moved per kind of move."""

    queued: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GROUPS, 0))
    moved: dict[str, int] = field(default_factory=dict)


def _column(window: Window) -> sa.ColumnElement[Any]:
    # "queued_at" is not a column but one shared definition (app.orders.waiting).
    return queued_at() if window.moment == "queued_at" else getattr(Order, window.moment)


def window_ids(window: Window, cfg: RemindersSection, now: datetime) -> sa.Select[int]:
    """The ids of the orders inside ``window`` at ``now``, as SQL (one indexed scan each)."""
    moment = _column(window)
    conditions: list[sa.ColumnElement[bool]] = [Order.status.in_(list(window.statuses)), moment.is_not(None)]
    if window.latest is not None:
        conditions.append(moment <= window.latest(cfg, now))
    if window.after is not None:
        conditions.append(moment > window.after(cfg, now))
    return sa.select(Order.id).where(*conditions)


def _candidates(session: Session, cfg: RemindersSection, now: datetime) -> list[int]:
    """Ids of the orders some rule or move may fire for: the rules' own windows, in SQL."""
    found: set[int] = set()
    for window in WINDOWS:
        found.update(session.scalars(window_ids(window, cfg, now)))
    return sorted(found)


#: What the rules read of an order, as plain columns (not mapped objects: a firing reads every
#: order inside a window, tens of thousands on a city).
_FACTS = sa.select(
    Order.id,
    Order.status,
    queued_at().label("queued_at"),
    Order.dispatched_at,
    Order.accepted_at,
    Order.completed_at,
    Order.preferred_start,
    Order.escalation_due_at,
    Order.escalated_department,
    Order.due_at,
    Order.assignee_id,
    Order.team_id,
    Order.property_company_id,
).where(Order.id.in_(sa.bindparam("ids", expanding=True)))

_SENT = sa.select(OrderReminder.order_id, OrderReminder.rule, OrderReminder.since, OrderReminder.holder).where(
    OrderReminder.order_id.in_(sa.bindparam("ids", expanding=True))
)


def _holder(assignee_id: int | None, team_id: int | None, company_id: int | None) -> str:
    """Who holds the order, as order_reminders keeps it: a reminder to whoever holds it (the
    appointment's) is owed again to the next holder when the order changes hands."""
    return ":".join(str(part) if part is not None else "-" for part in (assignee_id, team_id, company_id))


def _times(session: Session, ids: Sequence[int], holders: dict[int, str] | None = None) -> dict[int, OrderTimes]:
    """The rules' facts of ``ids``; with ``holders``, each order's holder (:func:`_holder`) too."""
    facts: dict[int, OrderTimes] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in session.execute(_FACTS, {"ids": list(ids[start : start + _CHUNK])}):
            if holders is not None:
                holders[row.id] = _holder(row.assignee_id, row.team_id, row.property_company_id)
            facts[row.id] = OrderTimes(
                status=row.status,
                queued_at=row.queued_at,
                dispatched_at=row.dispatched_at,
                accepted_at=row.accepted_at,
                completed_at=row.completed_at,
                preferred_start=row.preferred_start,
                escalation_due_at=row.escalation_due_at,
                escalated_department=row.escalated_department or "",
                due_at=row.due_at,
            )
    return facts


_Sent = tuple[int, str, str, str]


def _sent(session: Session, ids: Sequence[int]) -> set[_Sent]:
    """(order id, rule, since, holder) of every reminder already queued for ``ids``."""
    found: set[_Sent] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(
            (row.order_id, row.rule, row.since, row.holder)
            for row in session.execute(_SENT, {"ids": list(ids[start : start + _CHUNK])})
        )
    return found


def _key(order_id: int, reminder: Reminder, holder: str) -> _Sent:
    return (order_id, reminder.rule, _stamp(reminder.since), holder)


def _record(session: Session, key: _Sent) -> None:
    """Note the reminder as queued, in the transaction that queued it (a second job process
    that queued it too finds the row there: nothing happens)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    order_id, rule, since, holder = key
    values = {"order_id": order_id, "rule": rule, "since": since, "holder": holder}
    session.execute(insert(OrderReminder).values(**values).on_conflict_do_nothing())


def _appointment_people(session: Session, order: Order) -> list[User]:
    found = people(session, order.resident_id, order.assignee_id)
    return found if order.assignee_id is not None else found + dispatch_targets(session, order)


#: Each audience as the users it means for one order.
_AUDIENCES: dict[Audience, Callable[[Session, Order], list[User]]] = {
    Audience.SECRETARIES: lambda session, order: community_staff(session, order.community_id, Role.SECRETARY),
    Audience.DISPATCH_TARGETS: dispatch_targets,
    Audience.HOLDER: lambda session, order: people(session, order.assignee_id),
    Audience.RESIDENT: lambda session, order: people(session, order.resident_id),
    Audience.APPOINTMENT: _appointment_people,
    Audience.STREET_ADMINS: street_admins,
}


def _stamp(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _queue(rt: Runtime, session: Session, order: Order, reminder: Reminder, now: datetime) -> tuple[int, int]:
    """Queue ``reminder``; answers how many messages were queued now, and to how many people it
    was meant (those queued before are not queued again)."""
    audience = _AUDIENCES[reminder.audience](session, order)
    queued = notify_each(
        session,
        rt.settings.notify,
        audience,
        template_key="reminder",
        rendered=render("reminder", message_facts(session, order, now, text=reminder.text)),
        dedupe_key=f"remind:{reminder.rule}:{order.id}:{_stamp(reminder.since)}",
        addressee=reminder.addressee,
        order_id=order.id,
        now=now,
    )
    return queued, len(audience)


def run_reminders(rt: Runtime, now: datetime) -> ReminderReport:
    """The job, any job process: every rule once at ``now``. Never raises for one order's failure
    (logged; the others go on)."""
    cfg = rt.settings.reminders
    report = ReminderReport()
    with rt.db.read() as session:
        holders: dict[int, str] = {}
        times = _times(session, _candidates(session, cfg, now), holders)
        sent = _sent(session, list(times))
    for order_id, facts in times.items():
        # Only what was not queued before: an order stays in a window long after its reminder.
        holder = holders[order_id]
        if all(_key(order_id, reminder, holder) in sent for reminder in should_remind(facts, cfg, now)):
            continue
        queued: dict[str, int] = {}
        try:
            with rt.db.write() as session:
                # Decide again on what the order is now: someone may have acted since the scan.
                fresh = _times(session, [order_id]).get(order_id)
                order = session.get(Order, order_id)
                if fresh is None or order is None:
                    continue
                for reminder in should_remind(fresh, cfg, now):
                    key = _key(order_id, reminder, _holder(order.assignee_id, order.team_id, order.property_company_id))
                    if key in sent:
                        continue
                    group = _GROUP.get(reminder.rule, reminder.rule)
                    count, meant_for = _queue(rt, session, order, reminder, now)
                    queued[group] = queued.get(group, 0) + count
                    if meant_for:
                        # Recorded once it reached someone: a reminder nobody could hear (a
                        # community with no secretary yet) is tried again at the next firing.
                        _record(session, key)
        except Exception:
            log.exception("reminder for order %s failed; the others go on", order_id)
            continue
        for group, count in queued.items():  # counted once committed
            report.queued[group] += count
    # Moves after the reminders, each through the workflow table as the system party, and each
    # decided again inside its own transaction on the order as it is then.
    for order_id, facts in times.items():
        move = should_move(facts, cfg, now)
        if move is None:
            continue

        def still_due(session: Session, order: Order, move: Move = move) -> bool:
            fresh = _times(session, [order.id]).get(order.id)
            return fresh is not None and should_move(fresh, cfg, now) == move

        if act_as_system(rt, order_id, move.action, note=move.note, expected=move.expected, still_due=still_due):
            report.moved[move.rule] = report.moved.get(move.rule, 0) + 1
    return report
