"""Rate limits through the API, on the database storage (the default without Redis): the request
past a limit answers 429 ``rate_limited`` with ``Retry-After`` and writes nothing; another caller
is not affected; after the window the same caller gets through again. The client's address is the
connection's unless ``server.trusted_proxies`` says how many proxies to believe.

The shared test settings switch limits off (tests log in faster than people do); each test here
builds an app with them on and small numbers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import sqlalchemy as sa
import time_machine
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.bot.models import BotBindCode
from app.core.clock import now_utc
from app.core.config import DEFAULT_CONFIG_PATH, load_settings
from app.identity.models import Invitation, User
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests.conftest import make_settings
from tests.factories import World, make_order, make_people, make_person, make_world
from wechat_sim import SimulatorServer

OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.9"


class Limited(Protocol):
    def __call__(self, *, trusted_proxies: int = 0, enabled: bool = True, **limits: str) -> FlaskClient: ...


@pytest.fixture
def limited(rt: Runtime, simulator: SimulatorServer, tmp_path: Path) -> Iterator[Limited]:
    """A test client of an app with rate limits on, counted in the test database."""
    runtimes: list[Runtime] = []

    def make(*, trusted_proxies: int = 0, enabled: bool = True, **limits: str) -> FlaskClient:
        settings = make_settings(
            rt.settings.database_url,
            simulator.base_url,
            tmp_path,
            limits={"enabled": enabled, "storage": "database", **limits},
            server={"trusted_proxies": trusted_proxies},
        )
        runtime = build_runtime(settings)
        runtimes.append(runtime)
        app = create_app(runtime=runtime)
        app.testing = True
        return app.test_client()

    yield make
    for runtime in runtimes:
        runtime.db.dispose()


def assert_limited(response: TestResponse) -> int:
    """429 in the error envelope, the wait in whole seconds in the header and the details alike."""
    assert response.status_code == 429, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    wait = int(response.headers["Retry-After"])
    assert error["details"] == {"retry_after": wait}
    assert 1 <= wait <= 60
    assert "请" in error["message"]
    return wait


def _login(client: FlaskClient, openid: str, address: str = OFFICE, **headers: str) -> TestResponse:
    code = f"sim:{openid}#{uuid.uuid4().hex[:8]}"
    return client.post(
        "/api/v1/auth/login", json={"code": code}, headers=headers, environ_overrides={"REMOTE_ADDR": address}
    )


def _count(rt: Runtime, model: type[Any], *where: Any) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _later(seconds: int = 61) -> time_machine.travel:
    return time_machine.travel(now_utc() + timedelta(seconds=seconds))


def test_login_past_the_address_limit_is_429_and_creates_nobody(rt: Runtime, limited: Limited) -> None:
    client = limited(login_per_ip="3/minute")
    for i in range(3):
        assert _login(client, f"walk-in-{i}").status_code == 200
    refused = _login(client, "walk-in-3")
    assert_limited(refused)
    assert _count(rt, User, User.openid == "walk-in-3") == 0
    # Another address has its own count.
    assert _login(client, "walk-in-3", address=ELSEWHERE).status_code == 200
    with _later():
        assert _login(client, "walk-in-4").status_code == 200


def test_a_shared_office_address_takes_a_hundred_logins_a_minute_as_shipped(limited: Limited) -> None:
    """config.toml's login_per_ip leaves room for a community office or a carrier's shared address."""
    shipped = load_settings(DEFAULT_CONFIG_PATH, environ={}).limits
    assert shipped.enabled
    client = limited(login_per_ip=shipped.login_per_ip)
    answers = [_login(client, f"neighbour-{i}").status_code for i in range(100)]
    assert answers == [200] * 100


def test_login_past_the_openid_limit_is_429_and_leaves_the_user_as_it_was(rt: Runtime, limited: Limited) -> None:
    client = limited(login_per_openid="2/minute")
    assert _login(client, "amy", address="192.0.2.1").status_code == 200
    assert _login(client, "amy", address="192.0.2.2").status_code == 200
    with rt.db.read() as session:
        before = session.scalar(sa.select(User.last_login_at).where(User.openid == "amy"))
    # Per person: a new address does not help.
    assert_limited(_login(client, "amy", address="192.0.2.3"))
    with rt.db.read() as session:
        assert session.scalar(sa.select(User.last_login_at).where(User.openid == "amy")) == before
    assert _login(client, "ben", address="192.0.2.3").status_code == 200
    with _later():
        assert _login(client, "amy").status_code == 200


def _order_body(world: World, title: str) -> dict[str, str]:
    return {"community": world.community, "category": "grocery", "title": title}


def test_order_past_the_per_user_limit_is_429_and_not_created(
    rt: Runtime, client: FlaskClient, limited: Limited
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    neighbour = make_person(rt, "bob", home=(world.community, world.grid), client=client)
    limiting = limited(order_create_per_user="2/minute")
    resident = people.resident.headers
    for i in range(2):
        assert limiting.post("/api/v1/orders", json=_order_body(world, f"第{i}件"), headers=resident).status_code == 201
    assert_limited(limiting.post("/api/v1/orders", json=_order_body(world, "第三件"), headers=resident))
    assert _count(rt, Order) == 2
    neighbours = limiting.post("/api/v1/orders", json=_order_body(world, "邻居的"), headers=neighbour.headers)
    assert neighbours.status_code == 201
    with _later():
        again = limiting.post("/api/v1/orders", json=_order_body(world, "第三件"), headers=resident)
        assert again.status_code == 201
    assert _count(rt, Order) == 4


def test_urge_past_the_per_user_limit_is_429_and_records_nothing(
    rt: Runtime, client: FlaskClient, limited: Limited
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    orders = [make_order(rt, people, world) for _ in range(3)]
    limiting = limited(urge_per_user="2/minute")

    def urge(order_id: int) -> TestResponse:
        return limiting.post(f"/api/v1/orders/{order_id}/urge", json={}, headers=people.resident.headers)

    assert [urge(order_id).status_code for order_id in orders[:2]] == [200, 200]
    assert_limited(urge(orders[2]))
    assert _count(rt, OrderEvent, OrderEvent.action == Action.URGE) == 2
    with rt.db.read() as session:
        order = session.get(Order, orders[2])
        assert order is not None
        assert order.last_urged_at is None
    with _later():
        assert urge(orders[2]).status_code == 200


def test_claim_past_the_per_volunteer_limit_is_429_and_leaves_the_order_pooled(
    rt: Runtime, client: FlaskClient, limited: Limited
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    first, second = (make_order(rt, people, world, status=OrderStatus.POOLED) for _ in range(2))
    limiting = limited(claim_per_user="1/minute")
    assert limiting.post(f"/api/v1/orders/{first}/claim", json={}, headers=people.volunteer.headers).status_code == 200
    assert_limited(limiting.post(f"/api/v1/orders/{second}/claim", json={}, headers=people.volunteer.headers))
    with rt.db.read() as session:
        order = session.get(Order, second)
        assert order is not None
        assert order.status is OrderStatus.POOLED
        assert order.assignee_id is None
    # The limit is the volunteer's, not the order's.
    taken = limiting.post(f"/api/v1/orders/{second}/claim", json={}, headers=people.other_volunteer.headers)
    assert taken.status_code == 200


def _invitation(rt: Runtime, client: FlaskClient, world: World) -> str:
    secretary = make_person(rt, "secretary-wang", (Role.SECRETARY, world.community), client=client)
    created = client.post(
        "/api/v1/invitations", json={"role": "volunteer", "area": world.community}, headers=secretary.headers
    )
    assert created.status_code == 201
    code: str = created.get_json()["code"]
    return code


def _redeem(client: FlaskClient, headers: dict[str, str], code: str, address: str) -> TestResponse:
    return client.post(
        "/api/v1/invitations/redeem",
        json={"code": code},
        headers=headers,
        environ_overrides={"REMOTE_ADDR": address},
    )


def test_redeem_is_limited_per_user_and_per_address(rt: Runtime, client: FlaskClient, limited: Limited) -> None:
    world = make_world(rt)
    code = _invitation(rt, client, world)
    guesser, other, newcomer = (make_person(rt, name, client=client) for name in ("guesser", "other", "newcomer"))
    limiting = limited(redeem_per_user="2/minute", redeem_per_ip="3/minute")
    for _ in range(2):
        assert _redeem(limiting, guesser.headers, "ZZZZZZZZ", OFFICE).status_code == 404
    # The guesser's third try, even with the right code, is refused and the code stays unused.
    assert_limited(_redeem(limiting, guesser.headers, code, ELSEWHERE))
    assert _count(rt, Invitation, Invitation.redeemed_at.is_not(None)) == 0
    # The office address has seen two requests: one more from it passes, the next does not.
    assert _redeem(limiting, other.headers, "YYYYYYYY", OFFICE).status_code == 404
    assert_limited(_redeem(limiting, newcomer.headers, code, OFFICE))
    assert _count(rt, Invitation, Invitation.redeemed_at.is_not(None)) == 0
    assert _redeem(limiting, newcomer.headers, code, "192.0.2.50").status_code == 200
    with _later():
        assert _redeem(limiting, guesser.headers, "ZZZZZZZZ", OFFICE).status_code == 404


def test_bind_codes_are_limited_per_user_and_per_address(rt: Runtime, client: FlaskClient, limited: Limited) -> None:
    amy, ben = (make_person(rt, name, client=client) for name in ("amy", "ben"))
    limiting = limited(bind_code_per_user="2/minute", bind_code_per_ip="3/minute")

    def ask(headers: dict[str, str], address: str) -> TestResponse:
        return limiting.post("/api/v1/bot/bind-code", headers=headers, environ_overrides={"REMOTE_ADDR": address})

    for _ in range(2):
        assert ask(amy.headers, OFFICE).status_code == 201
    assert_limited(ask(amy.headers, ELSEWHERE))
    assert _count(rt, BotBindCode, BotBindCode.user_id == amy.id) == 1  # each replaces the last
    assert ask(ben.headers, OFFICE).status_code == 201
    assert_limited(ask(ben.headers, OFFICE))  # the office's fourth request
    assert _count(rt, BotBindCode, BotBindCode.user_id == ben.id) == 1
    with _later():
        assert ask(amy.headers, OFFICE).status_code == 201


def test_limits_switched_off_let_everything_through(limited: Limited) -> None:
    """``limits.enabled = false`` is the switch for load benchmarks."""
    client = limited(enabled=False, login_per_ip="1/minute", login_per_openid="1/minute")
    assert [_login(client, "amy").status_code for _ in range(5)] == [200] * 5


# -- the client's address ---------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(limited: Limited) -> None:
    client = limited(login_per_ip="2/minute")
    for i in range(2):
        assert _login(client, f"p{i}", address="10.0.0.1", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code == 200
    # Anyone can write the header: with no proxy configured it does not pick the counter.
    assert_limited(_login(client, "p2", address="10.0.0.1", **{"X-Forwarded-For": "192.0.2.99"}))


def test_forwarded_for_names_the_client_behind_one_trusted_proxy(limited: Limited) -> None:
    client = limited(trusted_proxies=1, login_per_ip="2/minute")
    proxy = "10.0.0.1"
    for i in range(2):
        assert _login(client, f"q{i}", address=proxy, **{"X-Forwarded-For": "192.0.2.10"}).status_code == 200
    assert_limited(_login(client, "q2", address=proxy, **{"X-Forwarded-For": "192.0.2.10"}))
    # What the client wrote before the proxy's own entry is not believed.
    assert_limited(_login(client, "q3", address=proxy, **{"X-Forwarded-For": "192.0.2.77, 192.0.2.10"}))
    # Another client behind the same proxy has its own count.
    assert _login(client, "q4", address=proxy, **{"X-Forwarded-For": "192.0.2.11"}).status_code == 200


# -- the document -----------------------------------------------------------------------------


def _responses(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = doc["paths"][path][method]["responses"]
    return responses


LIMITED: list[tuple[str, str, list[str]]] = [
    ("post", "/api/v1/auth/login", ["login_per_ip", "login_per_openid"]),
    ("post", "/api/v1/orders", ["order_create_per_user"]),
    ("post", "/api/v1/orders/{order_id}/claim", ["claim_per_user"]),
    ("post", "/api/v1/orders/{order_id}/urge", ["urge_per_user"]),
    ("post", "/api/v1/invitations/redeem", ["redeem_per_ip", "redeem_per_user"]),
    ("post", "/api/v1/bot/bind-code", ["bind_code_per_ip", "bind_code_per_user"]),
]


@pytest.mark.parametrize(("method", "path", "names"), LIMITED)
def test_limited_endpoints_document_429_with_retry_after(
    limited: Limited, method: str, path: str, names: list[str]
) -> None:
    doc = limited(login_per_ip="77/minute").get("/openapi.json").get_json()
    too_many = _responses(doc, method, path)["429"]
    assert too_many["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert too_many["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
    for name in names:
        assert f"limits.{name}" in too_many["description"]
    if path == "/api/v1/auth/login":
        assert "77/minute" in too_many["description"]  # this server's value


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/orders/{order_id}"), ("post", "/api/v1/orders/{order_id}/accept"), ("get", "/api/v1/me")],
)
def test_endpoints_without_limits_document_no_429(client: FlaskClient, method: str, path: str) -> None:
    assert "429" not in _responses(client.get("/openapi.json").get_json(), method, path)
