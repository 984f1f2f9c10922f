"""GET /api/v1/me/service-record and its printable page: who may ask, the range, what is listed
(the ledger's minutes: a reversed order is not), and a page that escapes whatever people typed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.core.clock import shanghai_day_bounds, shanghai_today
from app.identity.models import User
from app.orders.models import Order
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry, PointsKind
from app.volunteers.models import VolunteerProfile
from app.volunteers.teams import create_team
from tests.factories import People, Person, World, make_order, make_people, make_world

URL = "/api/v1/me/service-record"
TODAY = shanghai_today()
START = TODAY - timedelta(days=29)
YESTERDAY = shanghai_day_bounds(TODAY - timedelta(days=1))[0] + timedelta(hours=10)
EVIL = '<script>alert("x")</script>&<b>'


@pytest.fixture(autouse=True)
def _today() -> None:
    """The days as of each test's start, not of collection: a run that crossed midnight in
    Shanghai (16:00 UTC) compared yesterday's date with the record's."""
    global TODAY, START, YESTERDAY  # noqa: PLW0603 - the module's days, read by every test
    TODAY = shanghai_today()
    START = TODAY - timedelta(days=29)
    YESTERDAY = shanghai_day_bounds(TODAY - timedelta(days=1))[0] + timedelta(hours=10)


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


def _entry(rt: Runtime, who: Person, kind: PointsKind, delta: int, order_id: int, minutes: int, at: datetime) -> None:
    with rt.db.write() as session:
        session.add(
            PointsEntry(
                user_id=who.id,
                delta=delta,
                reason=kind.value,
                kind=kind.value,
                order_id=order_id,
                settlement=1,
                minutes=minutes,
                created_at=at,
            )
        )


def _get(client: FlaskClient, who: Person, path: str = URL, **params: str) -> Any:
    return client.get(
        path, query_string={"from": START.isoformat(), "to": TODAY.isoformat()} | params, headers=who.headers
    )


@pytest.mark.parametrize("path", [URL, URL + ".html"])
@pytest.mark.parametrize("who", ["resident", "secretary", "street_admin"])
def test_only_volunteers_have_a_service_record(client: FlaskClient, people: People, path: str, who: str) -> None:
    assert _get(client, getattr(people, who), path).status_code == 403


@pytest.mark.parametrize("path", [URL, URL + ".html"])
@pytest.mark.parametrize(
    "params",
    [{"from": "2026-11-30", "to": "2026-11-01"}, {"from": "2025-01-01", "to": "2026-11-01"}, {"to": "x"}, {"q": "1"}],
)
def test_a_bad_range_is_400(client: FlaskClient, people: People, path: str, params: dict[str, str]) -> None:
    assert _get(client, people.volunteer, path, **params).status_code == 400


def test_without_a_token_it_is_401(client: FlaskClient) -> None:
    assert client.get(URL, query_string={"from": "2026-11-01", "to": "2026-11-02"}).status_code == 401


def test_the_record_lists_what_counts_with_totals(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    served = make_order(rt, people.resident, world, title="买菜")
    reversed_order = make_order(rt, people.resident, world, title="又撤销")
    before = make_order(rt, people.resident, world, title="上个月")
    _entry(rt, people.volunteer, PointsKind.EARNED, 10, served, 90, YESTERDAY)
    _entry(rt, people.volunteer, PointsKind.EARNED, 5, reversed_order, 60, YESTERDAY)
    _entry(rt, people.volunteer, PointsKind.REVERSED, -5, reversed_order, -60, YESTERDAY + timedelta(hours=1))
    _entry(rt, people.volunteer, PointsKind.EARNED, 7, before, 60, YESTERDAY - timedelta(days=40))
    _entry(rt, people.other_volunteer, PointsKind.EARNED, 9, served, 30, YESTERDAY)  # someone else's
    with rt.db.write() as session:
        create_team(session, world.community, "先锋队", [people.volunteer.openid])
        session.add(
            VolunteerProfile(
                user_id=people.volunteer.id,
                max_active=3,
                party_member=True,
                in_service=True,
                employer_unit="区税务局",
                unit_hours=24,
            )
        )
    body = _get(client, people.volunteer).json
    with rt.db.read() as session:
        number = session.scalar(sa.select(Order.number).where(Order.id == served))
    assert [
        (o["order_id"], o["number"], o["category"], o["minutes"], o["hours"], o["points"]) for o in body["orders"]
    ] == [(served, number, "买菜代购", 90, 1.5, 10)]
    assert body["orders"][0]["date"] == (TODAY - timedelta(days=1)).isoformat()
    assert (body["total_orders"], body["total_minutes"], body["total_hours"], body["total_points"]) == (1, 90, 1.5, 10)
    assert (body["communities"], body["teams"], body["employer_unit"], body["unit_hours"]) == (
        ["和平社区"],
        ["先锋队"],
        "区税务局",
        24,
    )
    assert body["issued"] == TODAY.isoformat()


def test_the_page_escapes_a_malicious_nickname_and_names(
    rt: Runtime, client: FlaskClient, people: People, world: World
) -> None:
    order = make_order(rt, people.resident, world)
    _entry(rt, people.volunteer, PointsKind.EARNED, 10, order, 90, YESTERDAY)
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.id == people.volunteer.id).values(nickname=EVIL[:64]))
        create_team(session, world.community, EVIL[:64], [people.volunteer.openid])
    answer = _get(client, people.volunteer, URL + ".html")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    page = answer.get_data(as_text=True)
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&lt;b&gt;" in page
    assert "志愿服务证明" in page
    assert "@media print" in page
    assert f"开具日期：{TODAY.isoformat()}" in page
    assert "1.5" in page
