"""The reminder job's cost follows the due rows, not the open ones: over many open orders of which
none is due it runs one query per window, finds nothing, loads nothing and writes nothing; and an
order reminded once costs the later firings no write however long it stays inside the window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.core.clock import now_utc
from app.identity.models import RoleMembership
from app.identity.roles import Role
from app.notify.models import Notification
from app.orders.models import Order, OrderEvent, OrderReminder
from app.orders.reminder_scan import ReminderReport, run_reminders
from app.orders.reminders import WINDOWS
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import People, World, make_order, make_people, make_world


def test_nothing_due_means_one_select_per_window_and_no_write(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    for status in (OrderStatus.SUBMITTED, OrderStatus.ASSIGNED, OrderStatus.POOLED, OrderStatus.ACCEPTED):
        for _ in range(5):
            make_order(rt, people, world, status=status)
    for _ in range(3):
        make_order(rt, people, world, status=OrderStatus.COMPLETED)
    report, statements = _statements_of(rt, lambda: run_reminders(rt, now_utc()))

    assert sum(report.queued.values()) == 0
    assert report.moved == {}
    assert statements == ["SELECT"] * len(WINDOWS)


def _statements_of(rt: Runtime, work: Callable[[], ReminderReport]) -> tuple[ReminderReport, list[str]]:
    """What ``work`` answers, and the first word of each statement it sent (transaction control left out)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    sa.event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        return work(), [s for s in statements if s not in {"BEGIN", "ROLLBACK", "COMMIT"}]
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", record)


def _completed_unrated(rt: Runtime, world: World, people: People, count: int, hours_ago: float) -> list[int]:
    ids = [make_order(rt, people, world, status=OrderStatus.COMPLETED) for _ in range(count)]
    with rt.db.write() as session:
        session.execute(
            sa.update(Order).where(Order.id.in_(ids)).values(completed_at=now_utc() - timedelta(hours=hours_ago))
        )
    return ids


def test_a_reminder_once_queued_costs_later_firings_no_write_whatever_the_orders_in_its_window(
    rt: Runtime,
) -> None:
    """Completed orders stay unrated (inside the "unrated" window) for days after their one
    reminder. The firings after the first leave them out: no write, and the same few statements
    for 3 orders as for 12."""
    hours = rt.settings.reminders.unrated_remind_hours + 1
    world = make_world(rt)
    people = make_people(rt, world)
    ids = _completed_unrated(rt, world, people, 3, hours)
    first = run_reminders(rt, now_utc())
    assert first.queued["unrated"] == 3
    again, few = _statements_of(rt, lambda: run_reminders(rt, now_utc() + timedelta(minutes=1)))
    assert sum(again.queued.values()) == 0
    assert set(few) == {"SELECT"}  # the windows, the orders' facts, what was queued: no write
    more = ids + _completed_unrated(rt, world, people, 9, hours)
    assert run_reminders(rt, now_utc()).queued["unrated"] == 9  # only the new ones
    again, many = _statements_of(rt, lambda: run_reminders(rt, now_utc() + timedelta(minutes=2)))
    assert sum(again.queued.values()) == 0
    assert many == few
    # Completed again at another moment (a dispute reopened it, the volunteer finished again):
    # a new "since", so the resident is asked again.
    with rt.db.write() as session:
        session.execute(
            sa.update(Order).where(Order.id == more[0]).values(completed_at=now_utc() - timedelta(hours=hours + 1))
        )
    assert run_reminders(rt, now_utc()).queued["unrated"] == 1


def _reminded(rt: Runtime, order_id: int) -> list[int]:
    with rt.db.read() as session:
        return sorted(
            session.scalars(
                sa.select(Notification.user_id).where(
                    Notification.order_id == order_id, Notification.template_key == "reminder"
                )
            )
        )


def test_a_reminder_to_whoever_holds_the_order_is_owed_again_to_the_next_holder(rt: Runtime) -> None:
    """The appointment is in half an hour: the volunteer holding it and the resident are told.
    The order changes hands (same appointment, same moment): the new holder is told too, the
    resident not twice."""
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    with rt.db.write() as session:
        session.execute(
            sa.update(Order).where(Order.id == order_id).values(preferred_start=now_utc() + timedelta(minutes=30))
        )
    run_reminders(rt, now_utc())
    first = _reminded(rt, order_id)
    assert people.volunteer.id in first
    assert people.resident.id in first
    with rt.db.write() as session:
        session.execute(sa.update(Order).where(Order.id == order_id).values(assignee_id=people.other_volunteer.id))
    run_reminders(rt, now_utc())
    second = _reminded(rt, order_id)
    assert people.other_volunteer.id in second
    assert second.count(people.resident.id) == first.count(people.resident.id)


def test_a_reminder_nobody_could_hear_is_tried_again_once_someone_can(rt: Runtime) -> None:
    """An order waits for dispatch in a community whose secretary has gone: nothing to queue, and
    nothing recorded; once a secretary is appointed, the next firing tells them."""
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world, status=OrderStatus.SUBMITTED)
    long_ago = now_utc() - timedelta(hours=rt.settings.reminders.undispatched_hours + 1)
    with rt.db.write() as session:
        session.execute(sa.update(Order).where(Order.id == order_id).values(created_at=long_ago))
        session.execute(sa.update(OrderEvent).where(OrderEvent.order_id == order_id).values(created_at=long_ago))
        held = [
            {"user_id": m.user_id, "role": m.role, "area_id": m.area_id}
            for m in session.scalars(sa.select(RoleMembership).where(RoleMembership.role == Role.SECRETARY))
        ]
        session.execute(sa.delete(RoleMembership).where(RoleMembership.role == Role.SECRETARY))
    assert held
    assert run_reminders(rt, now_utc()).queued["undispatched"] == 0
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OrderReminder)) == 0
    with rt.db.write() as session:
        session.execute(sa.insert(RoleMembership), held)
    assert run_reminders(rt, now_utc()).queued["undispatched"] >= 1
    assert people.secretary.id in _reminded(rt, order_id)
