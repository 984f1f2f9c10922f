"""Time-travel tests of every reminder and escalation rule, the 08:30 digest and the job guard.

Orders are created and moved through the real services with the clock frozen
(``time_machine.travel(..., tick=False)``; the services stamp times with ``app.clock.now_utc``),
then ``run_reminders(rt, now=later)`` runs with the clock frozen at ``later`` as well, as the job
does. For every rule: one second before the threshold nothing is queued; one second after, exactly
the expected inbox rows (``Notification``) and outbox rows (``OutboxMessage``) go to exactly the
expected users; a second run at the same time or later queues nothing more (once per threshold).
Calendar-day rules are checked where the UTC date and the Asia/Shanghai date differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.areas.catalogue import create_category
from app.areas.models import Area
from app.core.clock import SHANGHAI
from app.core.errors import InvalidTransitionError
from app.core.job_runs import JobRun
from app.identity.grants import assign_role
from app.identity.models import User
from app.identity.roles import Role
from app.notify.consent import add_grants
from app.notify.delivery import deliver_due
from app.notify.models import Notification, OutboxMessage
from app.orders.actions import ActionInput, Target, act
from app.orders.digest import digest_facts, send_daily_digests
from app.orders.models import Order, OrderEvent, Rating
from app.orders.reminder_scan import ReminderReport, run_reminders
from app.orders.workflow import OPEN, Action, OrderStatus, TriageLevel
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry
from jobs.registry import JobSpec, job_specs
from jobs.scheduler import fire
from tests.factories import World, actor_of, make_order, make_world
from wechat_sim import SimulatorServer

SECOND = timedelta(seconds=1)

RESIDENT = "res-alice"
OTHER_RESIDENT = "res-bob"  # lives in the other community
SEC1 = "sec-wang"
SEC2 = "sec-zhao"
VOL1 = "vol-li"
VOL2 = "vol-chen"
STREET = "street-liu"
OTHER_SEC = "sec-other"  # secretary of the other community: must never hear about SQ1's orders
ROBOT_KEY = "robot-key-sq1"


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai, as the aware UTC instant the services store."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


# -- the cast ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cast:
    world: World
    ids: dict[str, int]


@pytest.fixture
def cast(rt: Runtime) -> Cast:
    """Two communities under one street: a resident, two secretaries, two volunteers, a street admin
    in SQ1's street, and a secretary plus a resident in SQ2. Staff follow the Official Account;
    residents and volunteers have granted enough "reminder" subscribe messages."""
    world = make_world(rt)
    people = [
        (RESIDENT, Role.RESIDENT, world.community),
        (SEC1, Role.SECRETARY, world.community),
        (SEC2, Role.SECRETARY, world.community),
        (VOL1, Role.VOLUNTEER, world.community),
        (VOL2, Role.VOLUNTEER, world.community),
        (STREET, Role.STREET_ADMIN, world.street),
        (OTHER_SEC, Role.SECRETARY, world.other_community),
        (OTHER_RESIDENT, Role.RESIDENT, world.other_community),
    ]
    ids: dict[str, int] = {}
    with rt.db.write() as session:
        for openid, role, area in people:
            user = assign_role(session, openid, role, area, nickname=openid)
            ids[openid] = user.id
            if role in {Role.SECRETARY, Role.STREET_ADMIN}:
                user.oa_openid, user.oa_following = f"oa-{openid}", True
            else:
                add_grants(session, user.id, ["reminder"] * 6)
        # SLAs that no threshold of config.toml shares, so a rule using the wrong number shows.
        create_category(session, world.community, "repair", "家电维修", points=10, sla_hours=6)
        create_category(session, world.community, "escort", "陪同就医", points=10, sla_hours=240)
    return Cast(world, ids)


def submit(
    rt: Runtime,
    at: datetime,
    *,
    who: str = RESIDENT,
    community: str = "SQ1",
    category: str = "grocery",
    start: datetime | None = None,
) -> int:
    """A grocery service order (``make_order``) posted at ``at``."""
    with time_machine.travel(at, tick=False):
        return make_order(rt, actor_of(rt, who), World(), community=community, category=category, preferred_start=start)


def do(rt: Runtime, at: datetime, who: str, order_id: int, action: Action, data: ActionInput | None = None) -> None:
    with time_machine.travel(at, tick=False):
        act(rt, actor_of(rt, who), order_id, action, data or ActionInput())


def dispatch(rt: Runtime, cast: Cast, at: datetime, order_id: int, volunteer: str = VOL1) -> None:
    do(rt, at, SEC1, order_id, Action.DISPATCH, ActionInput(target=Target(volunteer_id=cast.ids[volunteer])))


def run_at(rt: Runtime, at: datetime) -> ReminderReport:
    """The job at ``at``: the clock is frozen there too, as when the scheduler fires it."""
    with time_machine.travel(at, tick=False):
        return run_reminders(rt, now=at)


def order_row(rt: Runtime, order_id: int) -> Order:
    with rt.db.read() as session:
        order = session.get(Order, order_id)
        assert order is not None
        session.expunge(order)
        return order


def last_event(rt: Runtime, order_id: int) -> OrderEvent:
    with rt.db.read() as session:
        event = session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id.desc()).limit(1)
        ).one()
        session.expunge(event)
        return event


# -- what was queued ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    inbox: int
    outbox: int


def mark(rt: Runtime) -> Mark:
    with rt.db.read() as session:
        return Mark(
            int(session.scalar(sa.select(sa.func.max(Notification.id))) or 0),
            int(session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0),
        )


def _label(session: sa.orm.Session, dedupe_key: str) -> str:
    """The rule of a reminder ("unaccepted"), "on_<action>" for a transition's message, or the key's head."""
    parts = dedupe_key.split(":")
    if parts[0] == "remind":
        return parts[1]
    if parts[0] == "order" and parts[2] == "event":
        event = session.get(OrderEvent, int(parts[3]))
        return f"on_{event.action.value}" if event else "on_?"
    return parts[0]


def inbox_since(rt: Runtime, since: Mark) -> list[tuple[str, str]]:
    """New inbox rows as sorted (label, recipient openid)."""
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.dedupe_key, User.openid)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id > since.inbox)
        ).all()
        return sorted((_label(session, key), openid or "") for key, openid in rows)


def outbox_since(rt: Runtime, since: Mark) -> list[tuple[str, str, str, str]]:
    """New outbox rows as sorted (label, recipient openid or robot key, channel, status)."""
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(
                OutboxMessage.dedupe_key,
                User.openid,
                OutboxMessage.recipient,
                OutboxMessage.channel,
                OutboxMessage.status,
            )
            .outerjoin(User, User.id == OutboxMessage.recipient_user_id)
            .where(OutboxMessage.id > since.outbox)
        ).all()
        return sorted(
            (_label(session, key), openid or recipient, channel.value, status.value)
            for key, openid, recipient, channel, status in rows
        )


def to_staff(label: str, *openids: str) -> list[tuple[str, str, str, str]]:
    return sorted((label, openid, "template", "pending") for openid in openids)


def to_app_users(label: str, *openids: str) -> list[tuple[str, str, str, str]]:
    return sorted((label, openid, "subscribe", "pending") for openid in openids)


def assert_nothing_new(rt: Runtime, since: Mark) -> None:
    assert inbox_since(rt, since) == []
    assert outbox_since(rt, since) == []


# -- submitted but not dispatched --------------------------------------------------------------


def test_undispatched_order_reminds_every_secretary_once(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 10, 0)
    order_id = submit(rt, t0)
    # Dispatched (and accepted, with a long SLA) just before the threshold: never reminded.
    in_time = submit(rt, t0, category="escort")
    dispatch(rt, cast, t0 + hours(cfg.undispatched_hours) - 2 * SECOND, in_time)
    do(rt, t0 + hours(cfg.undispatched_hours) - SECOND, VOL1, in_time, Action.ACCEPT)
    due = t0 + hours(cfg.undispatched_hours)

    before = mark(rt)
    run_at(rt, due - SECOND)
    assert_nothing_new(rt, before)

    report = run_at(rt, due + SECOND)
    assert report.queued.get("undispatched") == 2
    assert inbox_since(rt, before) == [("undispatched", SEC1), ("undispatched", SEC2)]
    assert outbox_since(rt, before) == to_staff("undispatched", SEC1, SEC2)
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.order_id, Notification.body).where(Notification.id > before.inbox)
        ).all()
    assert {order for order, _body in rows} == {order_id}
    assert all("超时未派单" in body for _order, body in rows)
    # Delivered, they go as Official Account template messages to the secretaries' OA openids.
    with time_machine.travel(due + SECOND, tick=False):
        deliver_due(rt, now=due + SECOND)
    with rt.db.read() as session:
        sent = session.execute(
            sa.select(OutboxMessage.recipient, OutboxMessage.channel, OutboxMessage.status).where(
                OutboxMessage.id > before.outbox
            )
        ).all()
    assert sorted(sent) == [(f"oa-{SEC1}", "template", "sent"), (f"oa-{SEC2}", "template", "sent")]

    once = mark(rt)
    for later in (due + SECOND, due + hours(1), due + timedelta(days=3)):
        report = run_at(rt, later)
        assert report.queued.get("undispatched") == 0
    assert_nothing_new(rt, once)
    assert order_row(rt, order_id).status is OrderStatus.SUBMITTED


def test_triage_and_urge_do_not_restart_the_undispatched_count(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 10, 0)
    order_id = submit(rt, t0)
    due = t0 + hours(cfg.undispatched_hours)
    # The secretary looks at it and the resident urges it, both before the threshold.
    do(rt, due - hours(1), SEC1, order_id, Action.TRIAGE, ActionInput(level=TriageLevel.ROUTINE))
    do(rt, due - timedelta(minutes=30), RESIDENT, order_id, Action.URGE)
    before = mark(rt)
    assert run_at(rt, due + SECOND).queued.get("undispatched") == 2
    once = mark(rt)
    # Two hours after the triage nothing new: the count runs from entering the queue.
    for later in (due + hours(1), due + hours(cfg.undispatched_hours) + SECOND):
        assert run_at(rt, later).queued.get("undispatched") == 0
    assert_nothing_new(rt, once)
    assert inbox_since(rt, before) == [("undispatched", SEC1), ("undispatched", SEC2)]


# -- assigned but not accepted -----------------------------------------------------------------


def test_unaccepted_reminds_the_volunteer_then_returns_the_order_and_tells_the_secretaries(
    rt: Runtime, cast: Cast
) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 9, 0)
    order_id = submit(rt, t0)
    dispatched = t0 + timedelta(minutes=30)
    dispatch(rt, cast, dispatched, order_id)
    remind = dispatched + hours(cfg.unaccepted_remind_hours)
    back = dispatched + hours(cfg.unaccepted_return_hours)

    before = mark(rt)
    run_at(rt, remind - SECOND)
    assert_nothing_new(rt, before)

    run_at(rt, remind + SECOND)
    assert inbox_since(rt, before) == [("unaccepted", VOL1)]
    assert outbox_since(rt, before) == to_app_users("unaccepted", VOL1)

    once = mark(rt)
    for later in (remind + SECOND, remind + hours(1), back - SECOND):
        report = run_at(rt, later)
        assert report.moved == {}
    assert_nothing_new(rt, once)
    assert order_row(rt, order_id).status is OrderStatus.ASSIGNED

    report = run_at(rt, back + SECOND)
    assert report.moved == {"unaccepted_returned": 1}
    returned = order_row(rt, order_id)
    assert returned.status is OrderStatus.SUBMITTED
    assert returned.assignee_id is None
    event = last_event(rt, order_id)
    assert (event.action, event.actor_id, event.channel) == (Action.EXPIRE, None, "job")
    assert (event.from_status, event.to_status) == (OrderStatus.ASSIGNED, OrderStatus.SUBMITTED)
    assert event.created_at == back + SECOND
    # The secretaries hear that it is back in the queue; the volunteer gets no second reminder.
    assert inbox_since(rt, once) == [("on_expire", SEC1), ("on_expire", SEC2)]
    assert outbox_since(rt, once) == to_staff("on_expire", SEC1, SEC2)

    moved = mark(rt)
    report = run_at(rt, back + SECOND)
    assert report.moved == {}
    assert [row for row in inbox_since(rt, moved) if row[0] in {"unaccepted", "on_expire"}] == []


def test_a_redispatch_restarts_the_unaccepted_count(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 9, 0)
    order_id = submit(rt, t0)
    first = t0 + timedelta(minutes=10)
    dispatch(rt, cast, first, order_id)
    before = mark(rt)
    run_at(rt, first + hours(cfg.unaccepted_remind_hours) + SECOND)
    assert inbox_since(rt, before) == [("unaccepted", VOL1)]

    # The volunteer declines; the secretary dispatches to the same volunteer again.
    declined = first + hours(cfg.unaccepted_remind_hours) + timedelta(minutes=30)
    do(rt, declined, VOL1, order_id, Action.DECLINE, ActionInput(reason="今天在外地"))
    second = declined + timedelta(minutes=10)
    dispatch(rt, cast, second, order_id)

    again = mark(rt)
    run_at(rt, second + hours(cfg.unaccepted_remind_hours) - SECOND)
    assert_nothing_new(rt, again)
    # Same volunteer, new dispatched_at: a new count, so a new reminder is allowed.
    run_at(rt, second + hours(cfg.unaccepted_remind_hours) + SECOND)
    assert inbox_since(rt, again) == [("unaccepted", VOL1)]
    assert outbox_since(rt, again) == to_app_users("unaccepted", VOL1)

    run_at(rt, first + hours(cfg.unaccepted_return_hours) + SECOND)
    assert order_row(rt, order_id).status is OrderStatus.ASSIGNED
    report = run_at(rt, second + hours(cfg.unaccepted_return_hours) + SECOND)
    assert report.moved == {"unaccepted_returned": 1}
    assert order_row(rt, order_id).status is OrderStatus.SUBMITTED


def test_a_returned_order_does_not_remind_the_secretaries_twice(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 9, 0)
    order_id = submit(rt, t0)
    dispatched = t0 + timedelta(minutes=5)  # dispatched in time: no undispatched reminder
    dispatch(rt, cast, dispatched, order_id)
    back = dispatched + hours(cfg.unaccepted_return_hours) + SECOND
    run_at(rt, back)
    assert order_row(rt, order_id).status is OrderStatus.SUBMITTED
    told = mark(rt)
    # One minute later (the next firing of sla_reminders) the secretaries have just been told.
    run_at(rt, back + timedelta(minutes=1))
    assert inbox_since(rt, told) == []


# -- accepted but past the category's SLA --------------------------------------------------------


def test_overdue_uses_the_category_sla_then_escalates_to_the_secretaries(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    t0 = sh(2026, 11, 23, 9, 0)
    repair = submit(rt, t0, category="repair")  # sla_hours=6
    grocery = submit(rt, t0)  # sla_hours=24
    for order_id in (repair, grocery):
        dispatch(rt, cast, t0 + timedelta(minutes=5), order_id)
    accepted = t0 + timedelta(minutes=10)
    do(rt, accepted, VOL1, repair, Action.ACCEPT)
    do(rt, accepted, VOL1, grocery, Action.ACCEPT)
    do(rt, accepted + timedelta(minutes=1), VOL1, repair, Action.START)  # in service still counts
    sla_end = accepted + hours(6)
    escalate = sla_end + hours(cfg.overdue_escalate_hours)

    before = mark(rt)
    run_at(rt, sla_end - SECOND)
    assert_nothing_new(rt, before)

    run_at(rt, sla_end + SECOND)
    assert inbox_since(rt, before) == [("overdue", VOL1)]
    assert outbox_since(rt, before) == to_app_users("overdue", VOL1)
    with rt.db.read() as session:
        assert session.scalar(sa.select(Notification.order_id).where(Notification.id > before.inbox)) == repair

    once = mark(rt)
    run_at(rt, sla_end + SECOND)
    run_at(rt, escalate - SECOND)
    # The grocery order's own SLA (24 h) ended meanwhile: its reminder, and nothing about repair.
    assert accepted + hours(24) < escalate - SECOND
    with rt.db.read() as session:
        orders = set(session.scalars(sa.select(Notification.order_id).where(Notification.id > once.inbox)))
    assert orders == {grocery}
    assert inbox_since(rt, once) == [("overdue", VOL1)]

    escalated = mark(rt)
    run_at(rt, escalate + SECOND)
    assert inbox_since(rt, escalated) == [("overdue_escalate", SEC1), ("overdue_escalate", SEC2)]
    assert outbox_since(rt, escalated) == to_staff("overdue_escalate", SEC1, SEC2)

    done = mark(rt)
    for later in (escalate + SECOND, escalate + timedelta(days=2)):
        run_at(rt, later)
    # grocery escalates too once its own 24 + 24 h are up; repair never again.
    with rt.db.read() as session:
        orders = set(session.scalars(sa.select(Notification.order_id).where(Notification.id > done.inbox)))
    assert repair not in orders


# -- completed but not rated --------------------------------------------------------------------


def _completed_order(rt: Runtime, cast: Cast, completed: datetime) -> int:
    order_id = submit(rt, completed - hours(3))
    dispatch(rt, cast, completed - hours(2), order_id)
    do(rt, completed - hours(1), VOL1, order_id, Action.ACCEPT)
    do(rt, completed, VOL1, order_id, Action.COMPLETE, ActionInput(note="已送到"))
    return order_id


def test_unrated_reminds_the_resident_once_then_closes_without_inventing_a_rating(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    completed = sh(2026, 11, 23, 18, 0)
    order_id = _completed_order(rt, cast, completed)
    remind = completed + hours(cfg.unrated_remind_hours)
    close = completed + timedelta(days=cfg.unrated_close_days)

    before = mark(rt)
    run_at(rt, remind - SECOND)
    assert_nothing_new(rt, before)

    run_at(rt, remind + SECOND)
    assert inbox_since(rt, before) == [("unrated", RESIDENT)]
    assert outbox_since(rt, before) == to_app_users("unrated", RESIDENT)

    once = mark(rt)
    for later in (remind + SECOND, remind + timedelta(days=3), close - SECOND):
        report = run_at(rt, later)
        assert report.moved == {}
    assert_nothing_new(rt, once)
    assert order_row(rt, order_id).status is OrderStatus.COMPLETED

    report = run_at(rt, close + SECOND)
    assert report.moved == {"closed_unrated": 1}
    closed = order_row(rt, order_id)
    assert closed.status is OrderStatus.CLOSED
    assert closed.closed_at == close + SECOND
    event = last_event(rt, order_id)
    assert (event.action, event.actor_id, event.channel) == (Action.CLOSE_UNRATED, None, "job")
    assert (event.from_status, event.to_status) == (OrderStatus.COMPLETED, OrderStatus.CLOSED)
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Rating)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 0
    assert_nothing_new(rt, once)  # closing quietly: no message to anyone
    with pytest.raises(InvalidTransitionError):
        do(rt, close + hours(1), RESIDENT, order_id, Action.RATE, ActionInput(score=5))

    run_at(rt, close + timedelta(days=30))
    assert_nothing_new(rt, once)


def test_an_order_closed_unrated_in_this_run_gets_no_please_rate(rt: Runtime, cast: Cast) -> None:
    cfg = rt.settings.reminders
    completed = sh(2026, 11, 10, 18, 0)
    order_id = _completed_order(rt, cast, completed)
    before = mark(rt)
    # The job process was down for the whole week: its first run is past the close threshold.
    report = run_at(rt, completed + timedelta(days=cfg.unrated_close_days) + hours(1))
    assert report.moved == {"closed_unrated": 1}
    assert order_row(rt, order_id).status is OrderStatus.CLOSED
    assert inbox_since(rt, before) == []


# -- escalated to the street, past its deadline -------------------------------------------------


def test_escalation_past_its_deadline_tells_the_street_admin_once(rt: Runtime, cast: Cast) -> None:
    t0 = sh(2026, 11, 23, 9, 0)
    order_id = submit(rt, t0)
    escalated_at = t0 + timedelta(minutes=20)
    data = ActionInput(department="城管中队", note="占道经营", due_hours=48)
    do(rt, escalated_at, SEC1, order_id, Action.ESCALATE, data)
    due = escalated_at + hours(48)
    assert order_row(rt, order_id).escalation_due_at == due

    before = mark(rt)
    run_at(rt, due - SECOND)
    assert_nothing_new(rt, before)

    run_at(rt, due + SECOND)
    assert inbox_since(rt, before) == [("escalation_overdue", STREET)]
    assert outbox_since(rt, before) == to_staff("escalation_overdue", STREET)
    with rt.db.read() as session:
        body = session.scalar(sa.select(Notification.body).where(Notification.id > before.inbox))
    assert body is not None
    assert "城管中队" in body

    once = mark(rt)
    for later in (due + SECOND, due + hours(1), due + timedelta(days=10)):
        run_at(rt, later)
    assert_nothing_new(rt, once)


# -- appointments ------------------------------------------------------------------------------


def _held_appointment(rt: Runtime, cast: Cast, created: datetime, start: datetime) -> int:
    """An accepted order of a category with a long SLA (so that no overdue rule interferes)."""
    order_id = submit(rt, created, category="escort", start=start)
    dispatch(rt, cast, created + SECOND, order_id)
    do(rt, created + 2 * SECOND, VOL1, order_id, Action.ACCEPT)
    return order_id


def test_appointment_tomorrow_follows_the_shanghai_calendar_day(rt: Runtime, cast: Cast) -> None:
    start = sh(2026, 11, 25, 9, 0)
    order_id = _held_appointment(rt, cast, sh(2026, 11, 23, 10, 0), start)
    before = mark(rt)

    # 23:59 Shanghai two days before: within the scan window but not "tomorrow".
    run_at(rt, sh(2026, 11, 23, 23, 59))
    assert_nothing_new(rt, before)
    # Midnight in Shanghai is 16:00 UTC: at 15:59:59 UTC nothing, at 16:00:01 UTC (same UTC date) it fires.
    assert sh(2026, 11, 23, 23, 59, 59) == datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)
    run_at(rt, datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC))
    assert_nothing_new(rt, before)
    run_at(rt, datetime(2026, 11, 23, 16, 0, 1, tzinfo=UTC))
    assert inbox_since(rt, before) == [("appointment_day", RESIDENT), ("appointment_day", VOL1)]
    assert outbox_since(rt, before) == to_app_users("appointment_day", RESIDENT, VOL1)
    with rt.db.read() as session:
        bodies = set(session.scalars(sa.select(Notification.body).where(Notification.id > before.inbox)))
    assert bodies == {f"工单 {order_row(rt, order_id).number}「帮忙买菜」：明天 11月25日 09:00 有预约服务"}

    once = mark(rt)
    soon = start - timedelta(minutes=rt.settings.reminders.appointment_soon_minutes)
    for later in (sh(2026, 11, 24, 23, 59), sh(2026, 11, 25, 0, 1), soon - SECOND):
        run_at(rt, later)
    assert_nothing_new(rt, once)

    run_at(rt, soon + SECOND)
    assert inbox_since(rt, once) == [("appointment_soon", RESIDENT), ("appointment_soon", VOL1)]
    assert outbox_since(rt, once) == to_app_users("appointment_soon", RESIDENT, VOL1)

    twice = mark(rt)
    for later in (soon + SECOND, start - SECOND, start + hours(1)):
        run_at(rt, later)
    assert_nothing_new(rt, twice)


def test_appointment_day_where_the_utc_and_shanghai_dates_differ(rt: Runtime, cast: Cast) -> None:
    created = sh(2026, 11, 23, 8, 0)
    # now = 2026-11-23 17:00 UTC = 2026-11-24 01:00 Shanghai.
    now = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert now == sh(2026, 11, 24, 1, 0)
    # Tomorrow in Shanghai (the 25th) although the UTC dates are two days apart (23rd → 25th).
    day_after_start = sh(2026, 11, 25, 9, 0)  # = 2026-11-25 01:00 UTC
    assert (day_after_start.date() - now.date()).days == 2
    day_after = _held_appointment(rt, cast, created, day_after_start)
    # Today in Shanghai (the 24th) although UTC says "tomorrow" (23rd → 24th 12:00 UTC).
    same_day_start = sh(2026, 11, 24, 20, 0)
    assert (same_day_start.date() - now.date()).days == 1
    same_day = _held_appointment(rt, cast, created, same_day_start)

    before = mark(rt)
    report = run_at(rt, now)
    assert report.queued.get("appointment") == 2
    assert inbox_since(rt, before) == [("appointment_day", RESIDENT), ("appointment_day", VOL1)]
    with rt.db.read() as session:
        orders = set(session.scalars(sa.select(Notification.order_id).where(Notification.id > before.inbox)))
    assert orders == {day_after}
    assert same_day not in orders


def test_appointment_soon_fires_within_the_configured_minutes_for_an_assigned_order(rt: Runtime, cast: Cast) -> None:
    minutes = rt.settings.reminders.appointment_soon_minutes
    start = sh(2026, 11, 24, 15, 0)
    order_id = submit(rt, sh(2026, 11, 24, 13, 0), category="escort", start=start)
    dispatch(rt, cast, sh(2026, 11, 24, 13, 30), order_id)  # assigned, not accepted yet
    before = mark(rt)
    run_at(rt, start - timedelta(minutes=minutes) - SECOND)
    assert_nothing_new(rt, before)
    run_at(rt, start - timedelta(minutes=minutes) + SECOND)
    assert inbox_since(rt, before) == [("appointment_soon", RESIDENT), ("appointment_soon", VOL1)]
    assert outbox_since(rt, before) == to_app_users("appointment_soon", RESIDENT, VOL1)


# -- the 08:30 digest --------------------------------------------------------------------------


@pytest.fixture
def digest_day(rt: Runtime, cast: Cast) -> dict[str, int]:
    """Orders around Shanghai day 2026-11-23 ("yesterday" for a digest at 2026-11-24 08:30 Shanghai)."""
    with rt.db.write() as session:
        community = session.scalar(sa.select(Area).where(Area.code == cast.world.community))
        assert community is not None
        community.wecom_robot_key = ROBOT_KEY
    o: dict[str, int] = {}
    # Closed unrated yesterday: completed a week before.
    o["closed_unrated"] = _completed_order(rt, cast, sh(2026, 11, 16, 11, 0))
    # Day before yesterday, still waiting for a dispatcher: open and overdue.
    o["old_submitted"] = submit(rt, sh(2026, 11, 22, 23, 50))
    # Day before yesterday, accepted, 24 h SLA long past: open and overdue.
    o["old_held"] = submit(rt, sh(2026, 11, 22, 8, 0))
    dispatch(rt, cast, sh(2026, 11, 22, 8, 10), o["old_held"])
    do(rt, sh(2026, 11, 22, 8, 30), VOL1, o["old_held"], Action.ACCEPT)
    # Yesterday (Shanghai) from its first minutes to its last hour:
    o["rated_5"] = submit(rt, sh(2026, 11, 23, 0, 5))  # = 2026-11-22 16:05 UTC, the UTC day before
    o["rated_2"] = submit(rt, sh(2026, 11, 23, 9, 0))
    o["held"] = submit(rt, sh(2026, 11, 23, 10, 0))
    o["cancelled"] = submit(rt, sh(2026, 11, 23, 11, 0))
    do(rt, sh(2026, 11, 23, 11, 5), RESIDENT, o["cancelled"], Action.CANCEL, ActionInput(reason="不需要了"))
    run_at(rt, sh(2026, 11, 23, 12, 0))  # closes "closed_unrated" (completed 7 days + 1 h ago)
    for key, score, at in (("rated_5", 5, sh(2026, 11, 23, 15, 0)), ("rated_2", 2, sh(2026, 11, 23, 18, 0))):
        dispatch(rt, cast, at - hours(3), o[key])
        do(rt, at - hours(2), VOL1, o[key], Action.ACCEPT)
        do(rt, at - hours(1), VOL1, o[key], Action.COMPLETE)
        do(rt, at, RESIDENT, o[key], Action.RATE, ActionInput(score=score))
    dispatch(rt, cast, sh(2026, 11, 23, 10, 20), o["held"])
    do(rt, sh(2026, 11, 23, 10, 30), VOL1, o["held"], Action.ACCEPT)  # SLA ends today 10:30: not overdue yet
    o["late_evening"] = submit(rt, sh(2026, 11, 23, 23, 30))  # = 15:30 UTC: yesterday in Shanghai
    o["just_after_midnight"] = submit(rt, sh(2026, 11, 24, 0, 10))  # = 16:10 UTC on the 23rd: today
    o["other_community"] = submit(rt, sh(2026, 11, 23, 12, 0), who=OTHER_RESIDENT, community="SQ2")
    return o


def _community(session: sa.orm.Session, code: str) -> Area:
    community = session.scalar(sa.select(Area).where(Area.code == code))
    assert community is not None
    return community


def test_digest_facts_count_the_shanghai_day_before(rt: Runtime, cast: Cast, digest_day: dict[str, int]) -> None:
    at = sh(2026, 11, 24, 8, 30)
    assert at == datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert order_row(rt, digest_day["closed_unrated"]).closed_at == sh(2026, 11, 23, 12, 0)
    with rt.db.read() as session:
        community = _community(session, cast.world.community)
        facts = digest_facts(session, rt.settings.reminders, community, at)
        # Cross-check "open" with the rows themselves.
        open_now = session.scalar(
            sa.select(sa.func.count())
            .select_from(Order)
            .where(Order.community_id == community.id, Order.status.in_(list(OPEN)))
        )
        tomorrow = digest_facts(session, rt.settings.reminders, community, at + timedelta(days=1))
    assert facts.day == "2026-11-23"
    # rated_5, rated_2, held, cancelled, late_evening; not just_after_midnight, nor the other community.
    assert facts.submitted == 5
    assert facts.closed == 3  # rated_5, rated_2, closed_unrated
    assert facts.open == open_now == 5  # old_submitted, old_held, held, late_evening, just_after_midnight
    # old_held past its SLA; old_submitted, late_evening, just_after_midnight undispatched > 2 h.
    assert facts.overdue == 4
    assert facts.average_rating == pytest.approx(3.5)
    # The next day's digest is about the 24th, which has just_after_midnight (00:10 Shanghai).
    assert (tomorrow.day, tomorrow.submitted, tomorrow.closed) == ("2026-11-24", 1, 0)


def test_daily_digest_goes_to_every_secretary_and_the_robot_once_a_day(
    rt: Runtime, cast: Cast, digest_day: dict[str, int], simulator: SimulatorServer
) -> None:
    at = sh(2026, 11, 24, 8, 30)
    before = mark(rt)
    with time_machine.travel(at, tick=False):
        queued = send_daily_digests(rt, now=at)
    assert queued == 4  # two SQ1 secretaries, the SQ1 robot, the SQ2 secretary
    assert inbox_since(rt, before) == [("digest", OTHER_SEC), ("digest", SEC1), ("digest", SEC2)]
    assert outbox_since(rt, before) == sorted(
        [*to_staff("digest", SEC1, SEC2, OTHER_SEC), ("digest", ROBOT_KEY, "wecom", "pending")]
    )
    with rt.db.read() as session:
        bodies = dict(
            session.execute(
                sa.select(User.openid, Notification.body)
                .join(User, User.id == Notification.user_id)
                .where(Notification.id > before.inbox)
            ).all()
        )
        robot = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "wecom")).one()
        markdown = robot.payload["markdown"]["content"]
    sq1 = "和平社区 2026-11-23：新增工单 5 件，办结 3 件，平均评分 3.5；目前待办 5 件，其中超时 4 件。"
    sq2 = "幸福里社区 2026-11-23：新增工单 1 件，办结 0 件，平均评分 无；目前待办 1 件，其中超时 1 件。"
    assert bodies == {SEC1: sq1, SEC2: sq1, OTHER_SEC: sq2}
    assert "和平社区 2026-11-23" in markdown
    assert '新增工单：<font color="info">5</font> 件' in markdown
    assert "办结：3 件，平均评分 3.5" in markdown
    assert '待办：5 件，其中超时 <font color="warning">4</font> 件' in markdown

    # Once per day: later the same Shanghai day nothing more.
    once = mark(rt)
    for later in (at + timedelta(minutes=1), sh(2026, 11, 24, 23, 59)):
        with time_machine.travel(later, tick=False):
            assert send_daily_digests(rt, now=later) == 0
    assert_nothing_new(rt, once)

    # The queued messages (with everything else pending) reach WeChat and the robot.
    with time_machine.travel(at + timedelta(minutes=2), tick=False):
        delivered = deliver_due(rt)
    # Every message claimed is sent, or skipped when no channel reaches its person (inbox only).
    assert delivered.claimed == delivered.sent + delivered.skipped
    assert delivered.sent > 4
    digest_template = rt.settings.notify.oa_templates["digest"]
    got = sorted(m["touser"] for m in simulator.state.messages() if m.get("template_id") == digest_template)
    assert got == sorted(f"oa-{openid}" for openid in (SEC1, SEC2, OTHER_SEC))
    assert [m["data"]["content"] for m in simulator.state.messages(f"wecom:{ROBOT_KEY}")] == [markdown]

    # The next Shanghai day is a new digest.
    next_day = at + timedelta(days=1)
    with time_machine.travel(next_day, tick=False):
        assert send_daily_digests(rt, now=next_day) == 4


# -- the job guard -----------------------------------------------------------------------------


def _spec(rt: Runtime, job_id: str) -> JobSpec:
    return next(spec for spec in job_specs(rt.settings) if spec.id == job_id)


def test_digest_slot_is_the_shanghai_date(rt: Runtime) -> None:
    spec = _spec(rt, "daily_digest")
    assert spec.daily_at == (8, 30)
    assert spec.slot(datetime(2026, 11, 23, 15, 59, tzinfo=UTC)) == "2026-11-23"
    assert spec.slot(datetime(2026, 11, 23, 16, 0, tzinfo=UTC)) == "2026-11-24"  # 00:00 Shanghai
    assert spec.slot(sh(2026, 11, 24, 8, 30)) == "2026-11-24"


def test_fire_runs_an_exclusive_job_once_per_slot(rt: Runtime, cast: Cast) -> None:
    spec = _spec(rt, "daily_digest")
    assert spec.exclusive
    at = sh(2026, 11, 24, 8, 30)
    with time_machine.travel(at, tick=False):
        first = fire(rt, spec)
    with time_machine.travel(at + timedelta(seconds=20), tick=False):
        second = fire(rt, spec)
    assert first == "queued=3"  # SQ1's two secretaries (no robot here) and SQ2's one
    assert second is None
    with rt.db.read() as session:
        runs = session.execute(sa.select(JobRun.job_id, JobRun.slot, JobRun.outcome)).all()
    assert [tuple(run) for run in runs] == [("daily_digest", "2026-11-24", "queued=3")]

    # The next Shanghai day is a new slot.
    with time_machine.travel(at + timedelta(days=1), tick=False):
        assert fire(rt, spec) == "queued=3"

    reminders = _spec(rt, "sla_reminders")
    with time_machine.travel(at + timedelta(seconds=5), tick=False):
        assert fire(rt, reminders) is not None
    with time_machine.travel(at + timedelta(seconds=50), tick=False):
        assert fire(rt, reminders) is None  # same 60 s slot
    with time_machine.travel(at + timedelta(seconds=65), tick=False):
        assert fire(rt, reminders) is not None
