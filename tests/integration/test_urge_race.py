"""Two urges of one order at once: one is recorded, the other is told to wait (429 with
Retry-After), never 409.

Why one of them used to get 409: on PostgreSQL (READ COMMITTED) both requests read the order
before either writes, both see it not urged, and the second's conditional UPDATE (guarded by the
version it read) finds the version moved by the first: "changed meanwhile", 409
``invalid_transition``. SQLite hides it, because BEGIN IMMEDIATE queues the two writers whole.
The first test replays that interleaving on one connection, so it holds on SQLite too; the second
races real requests (it would have failed on PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app.core.clock import now_utc
from app.core.errors import InvalidTransitionError, RateLimitedError
from app.orders import handlers
from app.orders.models import Order, OrderEvent
from app.orders.steps import Step
from app.orders.workflow import Action
from app.runtime import Runtime
from miniprogram_api import create_app
from tests.factories import make_order, make_people, make_world
from wechat_sim import SimulatorServer


def _urge_on_a_stale_read(rt: Runtime, order_id: int, actor_id: int, meanwhile: dict[str, object]) -> None:
    """Read the order, let "another request" commit ``meanwhile`` under it, then urge from the stale read."""
    with rt.db.write() as session:
        order = session.get(Order, order_id)
        assert order is not None
        # Behind the ORM's back, as a concurrent transaction's commit would look: the object keeps
        # the version (and last_urged_at) this request read.
        session.execute(
            sa.update(Order)
            .where(Order.id == order_id)
            .values(version=Order.version + 1, **meanwhile)
            .execution_options(synchronize_session=False)
        )
        handlers.urge(Step(session, order, actor_id, "api"), rt.settings.orders.urge_interval_hours)


def test_an_urge_that_lost_the_race_to_another_urge_is_told_to_wait(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world)
    with pytest.raises(RateLimitedError) as refused:
        _urge_on_a_stale_read(rt, order_id, people.resident.id, {"last_urged_at": now_utc()})
    hours = rt.settings.orders.urge_interval_hours
    assert hours * 3600 - 5 <= refused.value.retry_after <= hours * 3600
    with rt.db.read() as session:
        urges = session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.action == "urge"))
    assert urges == 0


def test_an_urge_that_lost_to_another_change_still_reports_the_change(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    order_id = make_order(rt, people, world)
    with pytest.raises(InvalidTransitionError):
        _urge_on_a_stale_read(rt, order_id, people.resident.id, {"title": "改了标题"})


@pytest.fixture
def base_url(rt: Runtime, simulator: SimulatorServer) -> Iterator[str]:
    """The app on Werkzeug's threaded server (one thread per request) on a free loopback port."""
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_two_simultaneous_urges_answer_200_and_429(rt: Runtime, client: FlaskClient, base_url: str) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    for _ in range(5):
        order_id = make_order(rt, people, world)
        barrier = threading.Barrier(2)
        answers: list[requests.Response] = []
        lock = threading.Lock()

        def urge(
            order: int = order_id,
            gate: threading.Barrier = barrier,
            into: list[requests.Response] = answers,
            guard: threading.Lock = lock,
        ) -> None:
            with requests.Session() as http:
                gate.wait(timeout=30)
                response = http.post(
                    f"{base_url}/api/v1/orders/{order}/urge", json={}, headers=people.resident.headers, timeout=60
                )
            with guard:
                into.append(response)

        threads = [threading.Thread(target=urge) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert Counter(answer.status_code for answer in answers) == Counter({200: 1, 429: 1})
        refused = next(answer for answer in answers if answer.status_code == 429)
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) == refused.json()["error"]["details"]["retry_after"]
        with rt.db.read() as session:
            urges = session.scalar(
                sa.select(sa.func.count())
                .select_from(OrderEvent)
                .where(OrderEvent.order_id == order_id, OrderEvent.action == Action.URGE)
            )
        assert urges == 1
