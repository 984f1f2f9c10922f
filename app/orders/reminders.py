"""When an order calls for a reminder, and whom it is for: pure rules, no database.

The reminder job (``app.orders.reminder_scan``) loads the facts of each due order and asks
:func:`should_remind` and :func:`should_move`; what the messages say is in ``app.orders.texts``.
Each reminder names the moment its threshold counts from (``since``): the dedupe key is built from
it, so a re-dispatch starts a new count while a re-run of the job never repeats a message.
Calendar days (an appointment "tomorrow") are Asia/Shanghai days, whatever the UTC date says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core.clock import shanghai_today, to_shanghai
from app.core.config import RemindersSection
from app.notify.chains import Addressee
from app.orders import texts
from app.orders.workflow import HELD, Action, OrderStatus

#: How far ahead the appointment rule looks (the day-before reminder needs tomorrow's orders).
APPOINTMENT_HORIZON = timedelta(days=2)


class Audience(StrEnum):
    """Who a reminder goes to; the scan turns each into users."""

    SECRETARIES = "secretaries"  # the secretaries of the order's community
    DISPATCH_TARGETS = "dispatch_targets"  # the volunteer, or every member of the team / company
    HOLDER = "holder"  # the assignee holding the order
    RESIDENT = "resident"  # the resident the order belongs to
    APPOINTMENT = "appointment"  # the resident and whoever holds or was dispatched the order
    STREET_ADMINS = "street_admins"  # the street above the community


@dataclass(frozen=True, slots=True)
class OrderTimes:
    """What the rules read of one order: its status and its moments, plain values loaded by the scan."""

    status: OrderStatus
    #: When the order last entered the dispatch queue (``app.orders.waiting``).
    queued_at: datetime
    dispatched_at: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    preferred_start: datetime | None = None
    escalation_due_at: datetime | None = None
    escalated_department: str = ""
    #: By when the work should be done (acceptance + the category's SLA).
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder to queue: the rule that fired, for whom, by which channel, saying what."""

    rule: str
    audience: Audience
    addressee: Addressee
    text: str
    #: The moment the rule's threshold counts from; part of the dedupe key.
    since: datetime | None


@dataclass(frozen=True, slots=True)
class Move:
    """A transition a scheduled job makes (``Party.SYSTEM`` in the workflow table)."""

    rule: str
    action: Action
    #: The status the order must still have; anyone's action meanwhile cancels the move.
    expected: OrderStatus
    note: str


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


#: A moment computed from the settings and the time of the run.
Bound = Callable[[RemindersSection, datetime], datetime]


@dataclass(frozen=True, slots=True)
class Window:
    """The orders a rule may fire for: one of ``statuses``, with its ``moment`` (a field of
    :class:`OrderTimes`) set, no later than ``latest`` and, with ``after``, later than that.

    The rules below ask their window first, and the reminder job scans the database with the same
    windows, so a threshold is written once."""

    statuses: frozenset[OrderStatus]
    moment: str
    latest: Bound | None = None
    after: Bound | None = None

    def holds(self, facts: OrderTimes, cfg: RemindersSection, now: datetime) -> bool:
        value: datetime | None = getattr(facts, self.moment)
        if facts.status not in self.statuses or value is None:
            return False
        if self.latest is not None and value > self.latest(cfg, now):
            return False
        return self.after is None or value > self.after(cfg, now)


UNDISPATCHED = Window(
    frozenset({OrderStatus.SUBMITTED}), "queued_at", latest=lambda c, now: now - _hours(c.undispatched_hours)
)
UNACCEPTED = Window(
    frozenset({OrderStatus.ASSIGNED}),
    "dispatched_at",
    latest=lambda c, now: now - _hours(c.unaccepted_remind_hours),
    # From the return threshold on, the order goes back to the queue instead (RETURNED).
    after=lambda c, now: now - _hours(c.unaccepted_return_hours),
)
HELD_OVERDUE = Window(HELD, "due_at", latest=lambda _c, now: now)
APPOINTMENTS = Window(
    frozenset({OrderStatus.ASSIGNED, *HELD}),
    "preferred_start",
    latest=lambda _c, now: now + APPOINTMENT_HORIZON,
    after=lambda _c, now: now,
)
UNRATED = Window(
    frozenset({OrderStatus.COMPLETED}),
    "completed_at",
    latest=lambda c, now: now - _hours(c.unrated_remind_hours),
    # An order old enough to be closed unrated in this very run is not asked about.
    after=lambda c, now: now - timedelta(days=c.unrated_close_days),
)
ESCALATIONS = Window(frozenset({OrderStatus.ESCALATED}), "escalation_due_at", latest=lambda _c, now: now)
RETURNED = Window(
    frozenset({OrderStatus.ASSIGNED}), "dispatched_at", latest=lambda c, now: now - _hours(c.unaccepted_return_hours)
)
CLOSED_UNRATED = Window(
    frozenset({OrderStatus.COMPLETED}), "completed_at", latest=lambda c, now: now - timedelta(days=c.unrated_close_days)
)
#: Every window some rule or move fires in: what the reminder job scans.
WINDOWS = (UNDISPATCHED, UNACCEPTED, HELD_OVERDUE, APPOINTMENTS, UNRATED, ESCALATIONS, RETURNED, CLOSED_UNRATED)


def undispatched_due(queued_at: datetime, cfg: RemindersSection, now: datetime) -> bool:
    """A submitted order has waited for dispatch long enough to remind the secretaries."""
    return UNDISPATCHED.holds(OrderTimes(status=OrderStatus.SUBMITTED, queued_at=queued_at), cfg, now)


def sla_overdue(due_at: datetime | None, now: datetime, *, grace_hours: float = 0) -> bool:
    """An accepted order is past its category's time limit (plus ``grace_hours``)."""
    return due_at is not None and due_at + _hours(grace_hours) <= now


def escalation_overdue(due_at: datetime | None, now: datetime) -> bool:
    """A referral to the street is past the deadline it was given."""
    return due_at is not None and due_at <= now


def _undispatched(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    # Counted from the last entry into the queue: a triage or an urge does not restart it, a
    # decline or a return to the queue does.
    if not UNDISPATCHED.holds(f, cfg, now):
        return []
    return [Reminder("undispatched", Audience.SECRETARIES, Addressee.STAFF, texts.UNDISPATCHED, f.queued_at)]


def _unaccepted(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    if not UNACCEPTED.holds(f, cfg, now):
        return []
    return [Reminder("unaccepted", Audience.DISPATCH_TARGETS, Addressee.MEMBER, texts.UNACCEPTED, f.dispatched_at)]


def _overdue(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    if not HELD_OVERDUE.holds(f, cfg, now):
        return []
    # Keyed by the acceptance, as the threshold it counts from.
    found = [Reminder("overdue", Audience.HOLDER, Addressee.MEMBER, texts.OVERDUE, f.accepted_at)]
    if sla_overdue(f.due_at, now, grace_hours=cfg.overdue_escalate_hours):
        found.append(
            Reminder("overdue_escalate", Audience.SECRETARIES, Addressee.STAFF, texts.OVERDUE_ESCALATE, f.accepted_at)
        )
    return found


def _appointment(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    start = f.preferred_start
    if start is None or not APPOINTMENTS.holds(f, cfg, now):
        return []
    found = []
    if to_shanghai(start).date() == shanghai_today(now) + timedelta(days=1):
        found.append(
            Reminder(
                "appointment_day", Audience.APPOINTMENT, Addressee.MEMBER, texts.appointment_tomorrow(start), start
            )
        )
    if start - now <= timedelta(minutes=cfg.appointment_soon_minutes):
        found.append(
            Reminder("appointment_soon", Audience.APPOINTMENT, Addressee.MEMBER, texts.APPOINTMENT_SOON, start)
        )
    return found


def _unrated(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    if not UNRATED.holds(f, cfg, now):
        return []
    return [Reminder("unrated", Audience.RESIDENT, Addressee.MEMBER, texts.UNRATED, f.completed_at)]


def _escalation_overdue(f: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    if not ESCALATIONS.holds(f, cfg, now):
        return []
    text = texts.escalation_overdue(f.escalated_department)
    return [Reminder("escalation_overdue", Audience.STREET_ADMINS, Addressee.STAFF, text, f.escalation_due_at)]


_RULES = (_undispatched, _unaccepted, _overdue, _appointment, _unrated, _escalation_overdue)


def should_remind(facts: OrderTimes, cfg: RemindersSection, now: datetime) -> list[Reminder]:
    """Every reminder the order calls for at ``now`` (none, usually). Pure: same facts, same answer."""
    return [reminder for rule in _RULES for reminder in rule(facts, cfg, now)]


def should_move(facts: OrderTimes, cfg: RemindersSection, now: datetime) -> Move | None:
    """The transition a job makes at ``now``: an assignment nobody accepted goes back to the queue;
    a completed order nobody rated is closed, without inventing a rating."""
    if RETURNED.holds(facts, cfg, now):
        return Move("unaccepted_returned", Action.EXPIRE, OrderStatus.ASSIGNED, texts.EXPIRED_NOTE)
    if CLOSED_UNRATED.holds(facts, cfg, now):
        return Move("closed_unrated", Action.CLOSE_UNRATED, OrderStatus.COMPLETED, texts.CLOSED_UNRATED_NOTE)
    return None
