"""One definition of "waiting for dispatch since", shared by the reminder and the daily digest.

Before the domain layout the digest counted an undispatched order from its last change
(``updated_at``) while the reminder counted from its last entry into the queue: a triage or an
urge hid a long-waiting order from the secretary's digest although the reminder had fired for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.areas.models import Area
from app.identity.actor import Actor, load_actor
from app.identity.grants import assign_role
from app.identity.models import User
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.digest import digest_facts
from app.orders.reminder_scan import run_reminders
from app.orders.submit import NewOrder, submit_order
from app.orders.workflow import Action, OrderKind, TriageLevel
from app.runtime import Runtime
from tests.factories import make_world

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
HOUR = timedelta(hours=1)


def _actor(rt: Runtime, openid: str) -> Actor:
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.openid == openid))
        assert user is not None
        return load_actor(session, user)


def _at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def _overdue_in_digest(rt: Runtime, community_code: str, now: datetime) -> int:
    with rt.db.read() as session:
        community = session.scalar(sa.select(Area).where(Area.code == community_code))
        assert community is not None
        return digest_facts(session, rt.settings.reminders, community, now).overdue


def test_a_triaged_order_still_counts_as_waiting_in_the_digest(rt: Runtime) -> None:
    world = make_world(rt)
    with rt.db.write() as session:
        assign_role(session, "res-a", Role.RESIDENT, world.community, nickname="阿姨")
        assign_role(session, "sec-a", Role.SECRETARY, world.community, nickname="王书记")
        volunteer = assign_role(session, "vol-a", Role.VOLUNTEER, world.community, nickname="小李")
        volunteer_id = volunteer.id
    order = NewOrder(
        community=world.community, category="grocery", kind=OrderKind.SERVICE, title="买菜", description=""
    )
    with _at(T0):
        waiting = submit_order(rt, _actor(rt, "res-a"), order).id
        declined = submit_order(rt, _actor(rt, "res-a"), order).id
    # Triaged 3 h later: the order changed, but it never left the queue.
    with _at(T0 + 3 * HOUR):
        act(rt, _actor(rt, "sec-a"), waiting, Action.TRIAGE, ActionInput(level=TriageLevel.ROUTINE))
        act(rt, _actor(rt, "sec-a"), declined, Action.DISPATCH, ActionInput(target=Target(volunteer_id=volunteer_id)))
    # Declined at 3.5 h: it entered the queue again, and waits from then.
    with _at(T0 + 3.5 * HOUR):
        act(rt, _actor(rt, "vol-a"), declined, Action.DECLINE, ActionInput(reason="今天没空"))

    now = T0 + 4 * HOUR
    with _at(now):
        report = run_reminders(rt, now)
    # The reminder fired for the triaged order only (waiting 4 h > 2 h; the declined one 0.5 h).
    assert report.queued["undispatched"] == 1
    # The digest agrees: one overdue order, the triaged one.
    assert _overdue_in_digest(rt, world.community, now) == 1
    later = T0 + 5.5 * HOUR  # the declined order has waited 2 h by now
    assert _overdue_in_digest(rt, world.community, later) == 2
