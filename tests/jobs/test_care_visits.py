"""The care job under a frozen clock: each visit's order is made once, ahead of time, dispatched
to the plan's volunteer; a paused plan makes nothing; a visit not completed in time alerts the
secretaries once; a completed one never does; one completed after the alert is recorded as late.
Run on PostgreSQL too (LINLI_TEST_DATABASE_URL), where the racing runs really overlap."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app.care.models import CarePlan, CareVisit
from app.care.plans import NewPlan, create_plan, end_plan, update_plan
from app.care.visits import CareReport, make_visit, run_care_visits
from app.care.vocabulary import Every, PlanStatus
from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.notify.models import Notification
from app.orders.actions import ActionInput, act
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from tests.factories import People, make_people, make_person, make_world

#: Tuesday 2026-12-08, 09:30 Shanghai: the first visit of a weekly Tuesday plan.
FIRST = date(2026, 12, 8)


def sh(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def run_at(rt: Runtime, at: datetime) -> CareReport:
    with time_machine.travel(at, tick=False):
        return run_care_visits(rt, at)


@pytest.fixture
def cast(rt: Runtime) -> People:
    return make_people(rt, make_world(rt))


def _plan(rt: Runtime, cast: People, **changes: object) -> int:
    fields: dict[str, object] = {
        "household": cast.resident.id,
        "volunteer": cast.volunteer.id,
        "category": "grocery",
        "every": Every.WEEK,
        "weekday": 2,
        "at": time(9, 30),
        "starts_on": FIRST,
        "note": "陪老人聊聊天",
    }
    fields.update(changes)
    with time_machine.travel(sh(date(2026, 12, 1), 10), tick=False):
        return create_plan(rt, cast.grid_worker.actor(rt), NewPlan(**fields)).plan.id  # type: ignore[arg-type]


def _visits(rt: Runtime, plan_id: int) -> list[CareVisit]:
    with rt.db.read() as session:
        rows = list(session.scalars(sa.select(CareVisit).where(CareVisit.plan_id == plan_id).order_by(CareVisit.id)))
        session.expunge_all()
        return rows


def _alerts(rt: Runtime) -> list[tuple[int, str]]:
    with rt.db.read() as session:
        return [
            (user_id, body)
            for user_id, body in session.execute(
                sa.select(Notification.user_id, Notification.body).where(Notification.template_key == "care_missed")
            )
        ]


def _order(rt: Runtime, order_id: int | None) -> Order:
    assert order_id is not None
    with rt.db.read() as session:
        order = session.get(Order, order_id)
        assert order is not None
        session.expunge(order)
        return order


def _complete(rt: Runtime, cast: People, order_id: int, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        volunteer = cast.volunteer.actor(rt)
        for action in (Action.ACCEPT, Action.START, Action.COMPLETE):
            act(rt, volunteer, order_id, action, ActionInput())


def test_nothing_is_made_before_the_lead_time(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    # Lead time 24 h (config.toml): the Tuesday 09:30 visit's order comes on Monday 09:30.
    assert run_at(rt, sh(FIRST - timedelta(days=1), 9, 29)).made == 0
    assert _visits(rt, plan_id) == []


def test_a_visit_is_made_once_as_an_order_for_the_resident_dispatched_to_the_volunteer(
    rt: Runtime, cast: People
) -> None:
    plan_id = _plan(rt, cast)
    at = sh(FIRST - timedelta(days=1), 9, 30)
    assert run_at(rt, at).made == 1
    assert run_at(rt, at + timedelta(minutes=5)).made == 0  # the next run finds it made
    [visit] = _visits(rt, plan_id)
    assert (visit.on_date, visit.due_start, visit.due_end) == (FIRST, sh(FIRST, 9, 30), sh(FIRST, 11, 30))
    order = _order(rt, visit.order_id)
    assert order.status is OrderStatus.ASSIGNED
    assert (order.resident_id, order.created_by_id, order.assignee_id) == (
        cast.resident.id,
        cast.grid_worker.id,
        cast.volunteer.id,
    )
    assert (order.preferred_start, order.preferred_end) == (visit.due_start, visit.due_end)
    assert order.title == "关爱探访"
    assert order.description == "陪老人聊聊天"
    with rt.db.read() as session:
        actions = session.scalars(
            sa.select(OrderEvent.action).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        ).all()
        dispatched = session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == cast.volunteer.id, Notification.template_key == "order_dispatched")
        )
    assert list(actions) == [Action.SUBMIT, Action.DISPATCH]
    assert dispatched == 1  # the volunteer hears of it as of any dispatch


def test_the_next_weeks_visit_comes_a_week_later(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    run_at(rt, sh(FIRST - timedelta(days=1), 10))
    run_at(rt, sh(FIRST + timedelta(days=6), 10))
    assert [v.on_date for v in _visits(rt, plan_id)] == [FIRST, FIRST + timedelta(days=7)]


def test_a_paused_plan_makes_nothing_and_a_resumed_one_does_again(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    secretary = cast.secretary.actor(rt)
    update_plan(rt, secretary, plan_id, status=PlanStatus.PAUSED, volunteer=None)
    assert run_at(rt, sh(FIRST - timedelta(days=1), 10)).made == 0
    assert _visits(rt, plan_id) == []
    update_plan(rt, secretary, plan_id, status=PlanStatus.ACTIVE, volunteer=cast.other_volunteer.id)
    assert run_at(rt, sh(FIRST - timedelta(days=1), 10, 5)).made == 1
    [visit] = _visits(rt, plan_id)
    assert _order(rt, visit.order_id).assignee_id == cast.other_volunteer.id


def test_an_ended_plan_makes_nothing(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    with time_machine.travel(sh(date(2026, 12, 2), 10), tick=False):
        end_plan(rt, cast.secretary.actor(rt), plan_id)
    assert run_at(rt, sh(FIRST - timedelta(days=1), 10)).made == 0


def test_a_visit_not_completed_in_time_alerts_the_secretaries_once(rt: Runtime, cast: People) -> None:
    other_secretary = make_person(rt, "secretary-liu", (Role.SECRETARY, "SQ1"))
    make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"))  # another community's: never told
    plan_id = _plan(rt, cast)
    run_at(rt, sh(FIRST - timedelta(days=1), 10))
    # Due end 11:30, grace 2 h (config.toml): not yet at 13:29, missed at 13:30.
    assert run_at(rt, sh(FIRST, 13, 29)).alerted == 0
    assert _alerts(rt) == []
    assert run_at(rt, sh(FIRST, 13, 30)).alerted == 1
    assert run_at(rt, sh(FIRST, 13, 35)).alerted == 0
    assert run_at(rt, sh(FIRST + timedelta(days=1), 9)).alerted == 0
    alerts = _alerts(rt)
    assert sorted(user_id for user_id, _ in alerts) == sorted([cast.secretary.id, other_secretary.id])
    [visit] = _visits(rt, plan_id)
    number = _order(rt, visit.order_id).number
    assert all(body.startswith("对") and f"关爱探访（工单 {number}）" in body for _, body in alerts), alerts
    assert visit.missed_alerted_at == sh(FIRST, 13, 30)


def test_a_completed_visit_never_alerts(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    run_at(rt, sh(FIRST - timedelta(days=1), 10))
    [visit] = _visits(rt, plan_id)
    assert visit.order_id is not None
    _complete(rt, cast, visit.order_id, sh(FIRST, 10))
    report = run_at(rt, sh(FIRST, 14))
    assert (report.alerted, report.done) == (0, 1)
    assert run_at(rt, sh(FIRST + timedelta(days=2), 9)).alerted == 0
    assert _alerts(rt) == []
    [visit] = _visits(rt, plan_id)
    assert (visit.done_at, visit.missed_alerted_at) == (sh(FIRST, 10), None)


def test_a_visit_completed_after_the_alert_is_late_not_missed_again(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    run_at(rt, sh(FIRST - timedelta(days=1), 10))
    assert run_at(rt, sh(FIRST, 14)).alerted == 1
    [visit] = _visits(rt, plan_id)
    assert visit.order_id is not None
    _complete(rt, cast, visit.order_id, sh(FIRST, 16))
    report = run_at(rt, sh(FIRST, 16, 5))
    assert (report.alerted, report.late) == (0, 1)
    assert run_at(rt, sh(FIRST, 16, 10)).late == 0
    [visit] = _visits(rt, plan_id)
    assert visit.late_at == sh(FIRST, 16)
    assert len(_alerts(rt)) == 1


def test_a_visit_whose_volunteer_left_is_counted_and_blocks_no_other_plan(rt: Runtime, cast: People) -> None:
    broken = _plan(rt, cast)
    fine = _plan(rt, cast, volunteer=cast.other_volunteer.id)
    with rt.db.write() as session:
        # volunteer-li is no longer a volunteer of the community: the dispatch refuses them.
        session.execute(
            sa.text("DELETE FROM role_memberships WHERE user_id = :u AND role = 'volunteer'"), {"u": cast.volunteer.id}
        )
    report = run_at(rt, sh(FIRST - timedelta(days=1), 10))
    assert (report.made, report.failed) == (1, 1)
    assert _visits(rt, broken) == []  # nothing of the failed visit was written: the next run tries again
    assert len(_visits(rt, fine)) == 1
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


def test_concurrent_runs_make_one_visit_and_one_order(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    at = sh(FIRST - timedelta(days=1), 10)
    barrier = threading.Barrier(4)
    results: list[bool | BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            made = make_visit(rt, plan_id, FIRST)
        except BaseException as error:
            made = error  # type: ignore[assignment]
        with lock:
            results.append(made)

    with time_machine.travel(at, tick=False):
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(results, key=str) == [False, False, False, True], results
    assert len(_visits(rt, plan_id)) == 1
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(CarePlan)) == 1


def test_two_concurrent_job_runs_make_the_visit_once(rt: Runtime, cast: People) -> None:
    plan_id = _plan(rt, cast)
    at = sh(FIRST - timedelta(days=1), 10)
    barrier = threading.Barrier(2)
    reports: list[CareReport] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        report = run_care_visits(rt, at)
        with lock:
            reports.append(report)

    with time_machine.travel(at, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(report.made for report in reports) == [0, 1]
    assert sum(report.failed for report in reports) == 0
    assert len(_visits(rt, plan_id)) == 1
