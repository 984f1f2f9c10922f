"""The outbox's send threads are the process's, kept from run to run: a scheduler thread pool
runs the delivery job on any of its threads, and idle send threads must not pile up per thread."""

from __future__ import annotations

import threading

from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.delivery import deliver_due
from app.notify.models import SubscriptionGrant
from app.notify.outbox import notify_user
from app.notify.payloads import Rendered
from app.runtime import Runtime
from tests.factories import make_people, make_world
from wechat_sim import SimulatorServer


def _send_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name.startswith("outbox-send")}


def _queue(rt: Runtime, user_id: int, count: int, first: int) -> None:
    with rt.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        for index in range(first, first + count):
            notify_user(
                session,
                rt.settings.notify,
                user=user,
                template_key="reminder",
                rendered=Rendered(data={"thing1": {"value": f"提醒{index}"}}, title="工单提醒", body="提醒"),
                dedupe_key=f"test:pool:{index}",
                addressee=Addressee.MEMBER,
            )


def test_runs_on_different_threads_share_one_set_of_send_threads(rt: Runtime, simulator: SimulatorServer) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    with rt.db.write() as session:
        session.merge(SubscriptionGrant(user_id=people.volunteer.id, template_key="reminder", remaining=10))
    sent: list[int] = []
    seen: list[set[threading.Thread]] = []
    for run in range(3):
        _queue(rt, people.volunteer.id, 1, run)
        # Each run on a thread of its own, as APScheduler's pool may pick any of its threads.
        worker = threading.Thread(target=lambda: sent.append(deliver_due(rt).sent))
        worker.start()
        worker.join()
        seen.append(_send_threads())
    assert sent == [1, 1, 1]
    assert len(simulator.state.messages("volunteer-li")) == 3
    # The thread that sent the first message sent the others: no new send threads per run. (The
    # first run may still see a thread of an earlier test's pool on its way out.)
    assert seen[2] == seen[1] <= seen[0]
    assert 1 <= len(seen[1]) <= rt.settings.notify.send_threads
