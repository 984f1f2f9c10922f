"""The claim race through HTTP under a real multi-threaded server (goals G1 and G2 of
docs/operations.md, "Claims"): 50 volunteers released at once on one pooled order,
exactly one wins, the 49 others get 409 ``already_claimed``, nobody gets a 5xx (on SQLite: no
"database is locked"), and the database agrees with the winner's answer."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.identity.grants import assign_role
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action
from app.runtime import Runtime
from miniprogram_api import create_app
from tests.factories import World, make_world
from wechat_sim import SimulatorServer

CLAIMERS = 50
ROUNDS = 3
#: Generous bounds so that a hung server fails the test instead of hanging the suite.
REQUEST_TIMEOUT_SECONDS = 60
BARRIER_TIMEOUT_SECONDS = 30


@pytest.fixture
def base_url(rt: Runtime, simulator: SimulatorServer) -> Iterator[str]:
    """The app served by Werkzeug's threaded server on a free loopback port (one thread per request)."""
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


def _login(base: str, openid: str) -> requests.Session:
    """A session of its own (its own keep-alive connection) carrying ``openid``'s bearer token."""
    session = requests.Session()
    code = f"sim:{openid}#{uuid.uuid4().hex[:8]}"
    response = session.post(f"{base}/api/v1/auth/login", json={"code": code}, timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 200, response.text
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    return session


def _my_id(base: str, session: requests.Session) -> int:
    response = session.get(f"{base}/api/v1/me", timeout=REQUEST_TIMEOUT_SECONDS)
    assert response.status_code == 200, response.text
    user_id: int = response.json()["id"]
    return user_id


def _pooled_order(base: str, resident: requests.Session, secretary: requests.Session, world: World) -> int:
    body = {"community": world.community, "category": "grocery", "title": "帮忙买菜", "description": "两斤青菜"}
    created = resident.post(f"{base}/api/v1/orders", json=body, timeout=REQUEST_TIMEOUT_SECONDS)
    assert created.status_code in (200, 201), created.text
    order_id: int = created.json()["order"]["id"]
    published = secretary.post(
        f"{base}/api/v1/orders/{order_id}/dispatch", json={"pool": True}, timeout=REQUEST_TIMEOUT_SECONDS
    )
    assert published.status_code == 200, published.text
    assert published.json()["order"]["status"] == "pooled"
    return order_id


def _race(base: str, claimers: list[requests.Session], order_id: int, action: str = "claim") -> list[Outcome]:
    """Release every claimer at once on ``order_id`` (each posting ``action``); one outcome per
    claimer, in claimer order."""
    barrier = threading.Barrier(len(claimers))
    outcomes: list[Outcome | None] = [None] * len(claimers)

    def claim(index: int) -> None:
        barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        try:
            response = claimers[index].post(
                f"{base}/api/v1/orders/{order_id}/{action}", json={}, timeout=REQUEST_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:  # a transport failure is an outcome, not a crash
            outcomes[index] = Outcome(status=-1, body={"exception": repr(exc)})
            return
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text[:500]}
        outcomes[index] = Outcome(status=response.status_code, body=body)

    threads = [threading.Thread(target=claim, args=(i,), name=f"claimer-{i}") for i in range(len(claimers))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS + REQUEST_TIMEOUT_SECONDS + 10
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "some claimers never got an answer"
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def test_fifty_simultaneous_claims_have_exactly_one_winner(rt: Runtime, base_url: str) -> None:
    world = make_world(rt)
    openids = [f"vol{i}" for i in range(CLAIMERS)]
    with rt.db.write() as db:
        for openid in openids:
            assign_role(db, openid, Role.VOLUNTEER, world.community)
        assign_role(db, "secretary-race", Role.SECRETARY, world.community)

    sessions: list[requests.Session] = []
    try:
        resident = _login(base_url, "resident-race")
        sessions.append(resident)
        household = {"community": world.community, "grid": world.grid, "building": "3", "unit": "2", "room": "301"}
        answer = resident.put(f"{base_url}/api/v1/me/household", json=household, timeout=REQUEST_TIMEOUT_SECONDS)
        assert answer.status_code == 200, answer.text
        secretary = _login(base_url, "secretary-race")
        sessions.append(secretary)
        claimers = [_login(base_url, openid) for openid in openids]
        sessions.extend(claimers)
        # /me also opens each claimer's keep-alive connection before the race.
        claimer_ids = [_my_id(base_url, claimer) for claimer in claimers]
        assert len(set(claimer_ids)) == CLAIMERS

        winners: list[int] = []
        for _ in range(ROUNDS):
            order_id = _pooled_order(base_url, resident, secretary, world)
            outcomes = _race(base_url, claimers, order_id)

            statuses = Counter(outcome.status for outcome in outcomes)
            server_errors = [o for o in outcomes if o.status >= 500]
            assert server_errors == [], f"order {order_id}: {statuses}, e.g. {server_errors[:3]}"
            others = [o for o in outcomes if o.status not in (200, 409)]
            assert others == [], f"order {order_id}: {statuses}, e.g. {others[:3]}"
            assert statuses == Counter({200: 1, 409: CLAIMERS - 1}), statuses
            codes = Counter(o.body.get("error", {}).get("code") for o in outcomes if o.status == 409)
            assert codes == Counter({"already_claimed": CLAIMERS - 1}), codes

            winner_index = next(i for i, o in enumerate(outcomes) if o.status == 200)
            won = outcomes[winner_index].body["order"]
            assert won["status"] == "accepted"
            assert won["assignee"]["id"] == claimer_ids[winner_index]
            assert _my_id(base_url, claimers[winner_index]) == won["assignee"]["id"]

            with rt.db.read() as db:
                claims = db.scalars(
                    sa.select(OrderEvent).where(OrderEvent.order_id == order_id, OrderEvent.action == Action.CLAIM)
                ).all()
                stored = db.get(Order, order_id)
                assert stored is not None
                assert [event.actor_id for event in claims] == [won["assignee"]["id"]]
                assert stored.assignee_id == won["assignee"]["id"]
                assert stored.status.value == "accepted"
            winners.append(winner_index)
        assert len(winners) == ROUNDS
    finally:
        for http in sessions:
            http.close()
