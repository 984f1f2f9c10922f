"""The month's summary to volunteers: who hears, what they read, once per volunteer and month
(two runs, two threads), its subscribe message, and statements that do not grow with volunteers."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.notify.consent import add_grants
from app.notify.delivery import deliver_due
from app.notify.models import Notification, OutboxMessage
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry, PointsKind
from app.timebank.month_summary import last_month, send_month_summaries
from jobs.registry import job_specs
from jobs.scheduler import fire
from tests.api.test_statement_counts import counting
from tests.factories import Person, make_person, make_world

#: 09:00 on 1 December, Shanghai: November is the month summarised.
RUN_AT = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
IN_NOVEMBER = datetime(2026, 11, 15, 10, 0, tzinfo=SHANGHAI)


def _entry(rt: Runtime, who: Person, kind: PointsKind, delta: int, at: datetime, minutes: int | None = None) -> None:
    with rt.db.write() as session:
        session.add(
            PointsEntry(user_id=who.id, delta=delta, reason=kind.value, kind=kind.value, minutes=minutes, created_at=at)
        )


def _inbox(rt: Runtime) -> list[tuple[int, str, str]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.user_id, Notification.title, Notification.body)
            .where(Notification.template_key == "points_changed")
            .order_by(Notification.user_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_last_month_is_the_shanghai_month_before() -> None:
    assert last_month(RUN_AT) == (date(2026, 11, 1), date(2026, 12, 1))
    # 1 January 00:30 Shanghai is still 31 December in UTC: December is the month before.
    assert last_month(datetime(2025, 12, 31, 16, 30, tzinfo=UTC))[0] == date(2025, 12, 1)


def test_nobody_whose_points_did_not_move_hears_anything(rt: Runtime) -> None:
    make_world(rt)
    idle = make_person(rt, "volunteer-idle", (Role.VOLUNTEER, "SQ1"))
    _entry(rt, idle, PointsKind.ADJUSTED, 10, IN_NOVEMBER - timedelta(days=30))  # October
    _entry(rt, idle, PointsKind.ADJUSTED, 1, RUN_AT - timedelta(hours=1))  # December already
    assert send_month_summaries(rt, RUN_AT) == 0
    assert _inbox(rt) == []


def test_a_volunteer_hears_hours_points_and_balance_once_across_two_runs(rt: Runtime) -> None:
    make_world(rt)
    li = make_person(rt, "volunteer-li", (Role.VOLUNTEER, "SQ1"))
    chen = make_person(rt, "volunteer-chen", (Role.VOLUNTEER, "SQ1"))
    _entry(rt, li, PointsKind.ADJUSTED, 20, IN_NOVEMBER - timedelta(days=40))  # an older balance
    _entry(rt, li, PointsKind.EARNED, 7, IN_NOVEMBER, minutes=60)
    _entry(rt, li, PointsKind.EARNED, 10, IN_NOVEMBER, minutes=90)
    _entry(rt, li, PointsKind.REDEEMED, -5, IN_NOVEMBER)
    _entry(rt, chen, PointsKind.HELD, 0, IN_NOVEMBER, minutes=30)
    with rt.db.write() as session:
        add_grants(session, li.id, ["points_changed"])
    assert send_month_summaries(rt, RUN_AT) == 2
    assert send_month_summaries(rt, RUN_AT + timedelta(hours=3)) == 0
    assert _inbox(rt) == [
        (li.id, "2026年11月服务小结", "2026年11月您服务 2.5 小时，获得 17 积分，当前积分余额 32。感谢您的服务！"),
        (chen.id, "2026年11月服务小结", "2026年11月您服务 0.5 小时，获得 0 积分，当前积分余额 0。感谢您的服务！"),
    ]
    with rt.db.read() as session:
        pushes = session.execute(
            sa.select(OutboxMessage.recipient_user_id, OutboxMessage.status, OutboxMessage.payload).where(
                OutboxMessage.template_key == "points_changed"
            )
        ).all()
    by_user = {user_id: payload for user_id, _status, payload in pushes}
    assert by_user[li.id]["data"]["thing3"] == {"value": "服务 2.5 小时，获得 17 积分"}
    deliver_due(rt, now=RUN_AT)
    with rt.db.read() as session:
        delivered = dict(
            session.execute(
                sa.select(OutboxMessage.recipient_user_id, OutboxMessage.status).where(
                    OutboxMessage.template_key == "points_changed"
                )
            ).all()
        )
    assert delivered[li.id].value == "sent"
    assert delivered[chen.id].value == "skipped"  # no grant: never sent blind


def test_two_processes_at_once_queue_each_summary_once(rt: Runtime) -> None:
    make_world(rt)
    people = [make_person(rt, f"volunteer-{n}", (Role.VOLUNTEER, "SQ1")) for n in range(5)]
    for person in people:
        _entry(rt, person, PointsKind.EARNED, 5, IN_NOVEMBER, minutes=60)
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(send_month_summaries(rt, RUN_AT))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 5
    assert len(_inbox(rt)) == 5


def test_the_job_runs_on_the_first_once_per_month(rt: Runtime) -> None:
    make_world(rt)
    li = make_person(rt, "volunteer-li", (Role.VOLUNTEER, "SQ1"))
    _entry(rt, li, PointsKind.EARNED, 5, IN_NOVEMBER, minutes=60)
    [spec] = [spec for spec in job_specs(rt.settings) if spec.id == "month_summary"]
    assert (spec.monthly_day, spec.daily_at) == (1, (9, 0))
    assert spec.slot(RUN_AT) == spec.slot(RUN_AT + timedelta(days=5)) == "2026-12"
    with time_machine.travel(RUN_AT, tick=False):
        assert fire(rt, spec) == "queued=1"
    with time_machine.travel(RUN_AT + timedelta(minutes=1), tick=False):
        assert fire(rt, spec) is None  # the month's slot already ran


def test_statements_do_not_grow_with_the_volunteers(rt: Runtime) -> None:
    make_world(rt)

    def selects_for(n: int, month: datetime) -> int:
        for i in range(n):
            person = make_person(rt, f"volunteer-{month:%m}-{i}", (Role.VOLUNTEER, "SQ1"))
            _entry(rt, person, PointsKind.EARNED, 5, month, minutes=60)
        with counting(rt) as statements:
            assert send_month_summaries(rt, month.replace(day=1) + timedelta(days=32)) >= n
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    assert selects_for(2, IN_NOVEMBER) == selects_for(9, IN_NOVEMBER - timedelta(days=61))
