"""Bot fixtures: WeChat's side in plain and AES safe mode, and a cast of users on both communities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.bot.models import BotInbound
from app.identity.models import User
from app.identity.roles import Role
from app.notify.models import SubscriptionGrant
from app.orders.models import OrderEvent
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests import factories
from tests.bot.wechat_server import AES_KEY, TOKEN, WeChatServer
from tests.conftest import make_settings, runtime_with
from tests.factories import World, make_order, make_people, make_person, make_world
from wechat_sim import SimulatorServer


@pytest.fixture(scope="session")
def aes_runtime(
    database_url: str, simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    """A second runtime on the same database whose Official Account is in AES safe mode."""
    settings = make_settings(
        database_url,
        simulator.base_url,
        tmp_path_factory.mktemp("var-aes"),
        wechat={"official_account": {"secret": "test-oa-secret", "token": TOKEN, "encoding_aes_key": AES_KEY}},
    )
    runtime = build_runtime(settings)
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def aes_client(rt: Runtime, aes_runtime: Runtime) -> FlaskClient:
    # ``rt`` is requested so that the tables are emptied after the test, as for every other test.
    del rt
    app = create_app(runtime=aes_runtime)
    app.testing = True
    return app.test_client()


@pytest.fixture
def plain(client: FlaskClient) -> WeChatServer:
    return WeChatServer(client)


@pytest.fixture
def safe(aes_client: FlaskClient) -> WeChatServer:
    return WeChatServer(aes_client, aes=True)


@pytest.fixture(params=["plain", "aes"])
def wechat(request: pytest.FixtureRequest) -> WeChatServer:
    """The test runs once with plain pushes and once in AES safe mode."""
    server: WeChatServer = request.getfixturevalue("plain" if request.param == "plain" else "safe")
    return server


def server_with(server: WeChatServer, **sections: dict[str, Any]) -> WeChatServer:
    """The same WeChat side (plain or AES) against an app whose settings differ by ``sections``."""
    app = create_app(runtime=runtime_with(server.client.application.extensions["linli"], **sections))
    app.testing = True
    return WeChatServer(app.test_client(), aes=server.aes, token=server.token)


#: One acceptance is counted from WeChat's push, not from POST /subscriptions.
EVENTS_CONSENT = {"notify": {"consent_from": "events"}}


@dataclass(frozen=True)
class Person(factories.Person):
    """A logged-in user of the cast, and the openid they have on the Official Account."""

    @property
    def oa_openid(self) -> str:
        return f"oa-{self.openid}"


def _on_the_account(person: factories.Person) -> Person:
    return Person(openid=person.openid, id=person.id, auth=person.auth)


class Cast:
    """SQ1: the usual cast of ``tests.factories.make_people`` (a resident, a secretary, a grid
    worker, two volunteers, the street admin); SQ2: a secretary and a volunteer."""

    def __init__(self, client: FlaskClient, rt: Runtime) -> None:
        self.client = client
        self.rt = rt
        self.world: World = make_world(rt)
        w = self.world
        self.people = make_people(rt, w, client=client)
        self.secretary = _on_the_account(self.people.secretary)
        self.volunteer = _on_the_account(self.people.volunteer)
        self.other_volunteer = _on_the_account(self.people.other_volunteer)
        self.sq2_secretary = self._person("secretary-zhao", Role.SECRETARY, w.other_community)
        self.sq2_volunteer = self._person("volunteer-sun", Role.VOLUNTEER, w.other_community)
        self.resident = _on_the_account(self.people.resident)

    def _person(self, openid: str, role: Role | None, area: str | None) -> Person:
        grants = [(role, area)] if role is not None and area is not None else []
        return _on_the_account(make_person(self.rt, openid, *grants, client=self.client))

    def bind_code(self, person: Person) -> str:
        response = self.client.post("/api/v1/bot/bind-code", headers=person.headers)
        assert response.status_code == 201, response.get_json()
        code: str = response.get_json()["code"]
        return code

    def bind(self, wechat: WeChatServer, person: Person) -> str:
        push = wechat.text(person.oa_openid, f"绑定 {self.bind_code(person)}")
        assert push.status == 200, push
        assert push.reply is not None, push
        assert push.reply.startswith("绑定成功"), push
        return push.reply

    def submit(self, title: str = "帮忙买菜") -> dict[str, Any]:
        """A new order of the resident (``make_order``), as the resident sees it."""
        return self.order(make_order(self.rt, self.people, self.world, title=title), self.resident)

    def order(self, order_id: int, viewer: Person | None = None) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/orders/{order_id}", headers=(viewer or self.secretary).headers)
        assert response.status_code == 200
        order: dict[str, Any] = response.get_json()["order"]
        return order

    def act(self, order_id: int, action: str, person: Person, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(f"/api/v1/orders/{order_id}/{action}", json=body or {}, headers=person.headers)
        assert response.status_code == 200, response.get_json()
        order: dict[str, Any] = response.get_json()["order"]
        return order


@pytest.fixture
def cast(client: FlaskClient, rt: Runtime) -> Cast:
    return Cast(client, rt)


def grants_of(rt: Runtime, person: Person) -> dict[str, int]:
    """The person's one-time subscribe grants left, by template key."""
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(SubscriptionGrant.template_key, SubscriptionGrant.remaining).where(
                SubscriptionGrant.user_id == person.id
            )
        )
        return dict(rows.all())


def snapshot(rt: Runtime) -> dict[str, Any]:
    """What a rejected push must leave untouched."""
    with rt.db.read() as session:
        return {
            "inbound": session.scalar(sa.select(sa.func.count()).select_from(BotInbound)),
            "events": session.scalar(sa.select(sa.func.count()).select_from(OrderEvent)),
            "grants": sorted(session.execute(sa.select(SubscriptionGrant.template_key, SubscriptionGrant.remaining))),
            "oa": sorted(
                session.execute(sa.select(User.id, User.oa_openid, User.oa_following)), key=lambda row: row[0]
            ),
        }
