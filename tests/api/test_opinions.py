"""民情收集 over HTTP: logging a visit, reading the log, and making an order of an item, once.

Bad paths first: each answers its 4xx and writes nothing (the rows of every table a visit or an
order touches are compared before and after). The visits are held in March 2026, before the real
clock, so that no test depends on when it runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.community.opinions.models import OpinionItem, OpinionVisit, OpinionVisitHousehold, OpinionVisitStaff
from app.core.clock import now_utc
from app.identity.models import Household
from app.identity.roles import Role
from app.notify.models import Notification
from app.orders.models import Order, OrderEvent, OrderNumberCounter
from app.runtime import Runtime
from tests.api.test_statement_counts import counting
from tests.factories import People, Person, make_people, make_person, make_world

URL = "/api/v1/opinion-visits"
RISKY = "这是违规测试"
#: 2026-03-10 15:00 in Shanghai.
HELD = "2026-03-10T15:00:00+08:00"

_WRITTEN = (OpinionVisit, OpinionItem, OpinionVisitStaff, OpinionVisitHousehold, Order, OrderEvent, Notification)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient) -> People:
    return make_people(rt, make_world(rt), client=client)


def _rows(rt: Runtime) -> dict[str, Any]:
    """Every row of the tables a visit or an order writes (the items whole: a link is an update)."""
    with rt.db.read() as session:
        counts = {m.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(m)) for m in _WRITTEN}
        items = session.execute(sa.select(OpinionItem.id, OpinionItem.order_id).order_by(OpinionItem.id)).all()
        counters = session.execute(sa.select(OrderNumberCounter.community_id, OrderNumberCounter.last)).all()
        return {**counts, "items": [tuple(r) for r in items], "counters": sorted(tuple(r) for r in counters)}


def _household(rt: Runtime, person: Person) -> int:
    with rt.db.read() as session:
        household_id = session.scalar(sa.select(Household.id).where(Household.user_id == person.id))
        assert household_id is not None
        return household_id


def _body(people: People, rt: Runtime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community": "SQ1",
        "grid": "SQ1-G1",
        "kind": "home_visit",
        "held_at": HELD,
        "place": "阳光小区 3 栋",
        "staff": [people.secretary.id, people.grid_worker.id],
        "households": [_household(rt, people.resident)],
        "residents_met": 2,
        "items": [
            {"text": "楼道灯坏了一个月，晚上上下楼看不见", "category": "设施维修"},
            {"text": "希望小区多设几张休息长椅"},
        ],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def _post(client: FlaskClient, who: Person, body: dict[str, Any]) -> Any:
    return client.post(URL, json=body, headers=who.headers)


def _visit(client: FlaskClient, who: Person, body: dict[str, Any]) -> dict[str, Any]:
    response = _post(client, who, body)
    assert response.status_code == 201, response.get_json()
    visit: dict[str, Any] = response.get_json()["visit"]
    return visit


def _fields(response: Any) -> list[str]:
    return [f["field"] for f in response.get_json()["error"]["details"]["fields"]]


# -- logging a visit: bad paths ---------------------------------------------------------------


def test_without_a_token_401_and_non_staff_403(rt: Runtime, client: FlaskClient, people: People) -> None:
    body = _body(people, rt)
    before = _rows(rt)
    assert client.post(URL, json=body).status_code == 401
    for who in (people.resident, people.volunteer):
        response = _post(client, who, body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")
        assert client.get(f"{URL}?area=SQ1", headers=who.headers).status_code == 403
    assert _rows(rt) == before


def test_another_communitys_staff_and_an_unknown_community_are_404(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    other = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    before = _rows(rt)
    assert _post(client, other, _body(people, rt, staff=[other.id], households=[], grid=None)).status_code == 404
    assert _post(client, people.secretary, _body(people, rt, community="NOPE", grid=None)).status_code == 404
    assert _rows(rt) == before


def _bad_bodies(people: People, rt: Runtime, sq2: Person) -> list[tuple[dict[str, Any], str]]:
    """(body, the field the 400 names)."""
    future = (now_utc() + timedelta(minutes=5)).isoformat()
    return [
        (_body(people, rt, staff=[people.secretary.id, people.volunteer.id]), "staff"),  # a volunteer is no staff
        (_body(people, rt, staff=[sq2.id]), "staff"),  # staff of another community
        (_body(people, rt, staff=[999999]), "staff"),
        (_body(people, rt, staff=[]), "staff"),
        (_body(people, rt, staff=[people.secretary.id, people.secretary.id]), "staff"),
        (_body(people, rt, households=[_household(rt, sq2)]), "households"),  # a household of SQ2
        (_body(people, rt, households=[999999]), "households"),
        (_body(people, rt, held_at=future), "held_at"),
        (_body(people, rt, held_at="2026-03-10T15:00:00"), "held_at"),  # no offset
        (_body(people, rt, items=[]), "items"),
        (_body(people, rt, items=[{"text": f"第{n}条"} for n in range(51)]), "items"),
        (_body(people, rt, items=[{"text": "长" * 501}]), "items.0.text"),
        (_body(people, rt, items=[{"text": "   "}]), "items.0.text"),
        (_body(people, rt, items=[{"text": "好", "category": "类" * 33}]), "items.0.category"),
        (_body(people, rt, kind="party"), "kind"),
        (_body(people, rt, grid="SQ2-G1"), "grid"),  # a grid of another community
        (_body(people, rt, grid="NOPE"), "grid"),
        (_body(people, rt, residents_met=-1), "residents_met"),
        (_body(people, rt, residents_met=0), "residents_met"),  # the items were said by somebody
        (_body(people, rt, place=""), "place"),
        ({**_body(people, rt), "mood": "good"}, "mood"),
    ]


def test_a_bad_visit_is_400_naming_the_field_and_writes_nothing(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    sq2 = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), home=("SQ2", None), client=client)
    cases = _bad_bodies(people, rt, sq2)
    before = _rows(rt)
    for body, field in cases:
        response = _post(client, people.secretary, body)
        assert response.status_code == 400, (field, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_input"
        assert field in _fields(response), (field, response.get_json())
    assert _rows(rt) == before


def test_a_grid_worker_of_one_grid_logs_that_grid_only(rt: Runtime, client: FlaskClient, people: People) -> None:
    with rt.db.write() as session:
        create_area(session, AreaKind.GRID, "SQ1-G2", "和平二网格", "SQ1")
    own = make_person(rt, "gridworker-g2", (Role.GRID_WORKER, "SQ1-G2"), client=client)
    before = _rows(rt)
    response = _post(client, own, _body(people, rt, staff=[own.id]))  # SQ1-G1 is not theirs
    assert response.status_code == 400
    assert _fields(response) == ["grid"]
    assert _rows(rt) == before
    visit = _visit(client, own, _body(people, rt, grid="SQ1-G2", staff=[own.id]))
    assert visit["grid"] == "SQ1-G2"
    # The log of SQ1-G1 is not theirs to read either.
    other = _visit(client, people.secretary, _body(people, rt))
    assert client.get(f"{URL}/{other['id']}", headers=own.headers).status_code == 404
    assert [v["id"] for v in client.get(f"{URL}?area=SQ1", headers=own.headers).get_json()["items"]] == [visit["id"]]
    assert client.get(f"{URL}?area=SQ1-G1", headers=own.headers).status_code == 404


def test_a_risky_item_is_refused_as_orders_are_and_writes_nothing(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    body = _body(people, rt, items=[{"text": "路灯不亮"}, {"text": f"{RISKY}的内容"}])
    before = _rows(rt)
    response = _post(client, people.secretary, body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "content_rejected"
    assert error["details"]["fields"] == ["items.1.text"]
    assert _rows(rt) == before


def test_a_risky_item_among_fifty_long_ones_is_found(rt: Runtime, client: FlaskClient, people: People) -> None:
    # Thirty items of 500 characters are more than one content check takes (2500): they are asked
    # in batches, so the last one is judged too instead of the call failing and letting it through.
    # (Fifty of 500 Chinese characters are 75 KB: over the 64 KiB of a JSON body, a 413.)
    items = [{"text": "长" * 500} for _ in range(29)] + [{"text": "长" * 480 + RISKY}]
    before = _rows(rt)
    response = _post(client, people.secretary, _body(people, rt, items=items))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"]["fields"] == ["items.29.text"]
    assert _rows(rt) == before
    assert _visit(client, people.secretary, _body(people, rt, items=items[:29]))["items"][28]["n"] == 29
    fifty = _body(people, rt, items=[{"text": f"第{n}条"} for n in range(50)])
    assert len(_visit(client, people.secretary, fifty)["items"]) == 50


# -- logging and reading: happy paths ---------------------------------------------------------


def test_a_visit_is_logged_and_read_back(rt: Runtime, client: FlaskClient, people: People) -> None:
    household = _household(rt, people.resident)
    visit = _visit(client, people.grid_worker, _body(people, rt))
    assert visit["community"] == "SQ1"
    assert visit["grid"] == "SQ1-G1"
    assert (visit["kind"], visit["kind_label"]) == ("home_visit", "三访三问")
    assert visit["held_at"] == HELD
    assert [s["id"] for s in visit["staff"]] == sorted([people.secretary.id, people.grid_worker.id])
    assert visit["households"] == [household]
    assert visit["residents_met"] == 2
    assert visit["items"] == [
        {"n": 1, "text": "楼道灯坏了一个月，晚上上下楼看不见", "category": "设施维修", "order": None},
        {"n": 2, "text": "希望小区多设几张休息长椅", "category": "", "order": None},
    ]
    assert visit["recorded_by"]["id"] == people.grid_worker.id
    for who in (people.secretary, people.grid_worker, people.street_admin):
        response = client.get(f"{URL}/{visit['id']}", headers=who.headers)
        assert response.status_code == 200
        assert response.get_json()["visit"] == visit
    # A street admin is staff too: their log in one of their communities, no grid.
    by_street = _visit(client, people.street_admin, _body(people, rt, grid=None, kind="reception_day"))
    assert (by_street["grid"], by_street["kind_label"]) == (None, "接待日")


def test_another_communitys_visit_is_404_like_one_that_does_not_exist(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    visit = _visit(client, people.secretary, _body(people, rt))
    other = make_person(rt, "secretary-sq2", (Role.SECRETARY, "SQ2"), client=client)
    before = _rows(rt)
    for path in (f"{URL}/{visit['id']}", f"{URL}/{visit['id'] + 1000}"):
        response = client.get(path, headers=other.headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (404, "not_found")
    for n in (1, 2):
        response = client.post(
            f"{URL}/{visit['id']}/items/{n}/order", json={"category": "grocery"}, headers=other.headers
        )
        assert response.status_code == 404
    assert client.get(f"{URL}?area=SQ1", headers=other.headers).status_code == 404
    assert client.get(f"{URL}?area=JD1", headers=people.secretary.headers).status_code == 404  # not a street admin
    assert _rows(rt) == before


def test_the_list_filters_by_shanghai_days_and_kind_and_pages(rt: Runtime, client: FlaskClient, people: People) -> None:
    late = _visit(client, people.secretary, _body(people, rt, held_at="2026-03-31T23:30:00+08:00"))
    early = _visit(client, people.secretary, _body(people, rt, held_at="2026-04-01T00:10:00+08:00", kind="tea_talk"))
    first = _visit(client, people.secretary, _body(people, rt, held_at="2026-03-01T00:00:00+08:00", grid=None))

    def ids(query: str, who: Person = people.secretary) -> list[int]:
        response = client.get(f"{URL}?{query}", headers=who.headers)
        assert response.status_code == 200, response.get_json()
        return [v["id"] for v in response.get_json()["items"]]

    assert ids("area=SQ1&from=2026-03-01&to=2026-03-31") == [first["id"], late["id"]]
    assert ids("area=SQ1&from=2026-04-01") == [early["id"]]
    assert ids("area=SQ1&to=2026-02-28") == []
    assert ids("area=SQ1&kind=tea_talk") == [early["id"]]
    assert ids("area=SQ1-G1") == [early["id"], late["id"]]
    assert ids("area=JD1", people.street_admin) == [first["id"], early["id"], late["id"]]
    page = client.get(f"{URL}?area=SQ1&limit=2", headers=people.secretary.headers).get_json()
    assert [v["id"] for v in page["items"]] == [first["id"], early["id"]]
    rest = client.get(f"{URL}?area=SQ1&limit=2&cursor={page['next_cursor']}", headers=people.secretary.headers)
    assert [v["id"] for v in rest.get_json()["items"]] == [late["id"]]
    assert rest.get_json()["next_cursor"] is None
    for bad in (
        "area=SQ1&from=2026-04-01&to=2026-03-01",
        "area=SQ1&kind=party",
        "area=SQ1&cursor=!!",
        "from=2026-03-01",
    ):
        assert client.get(f"{URL}?{bad}", headers=people.secretary.headers).status_code == 400, bad


# -- an item becomes an order -------------------------------------------------------------------


def _order_url(visit: dict[str, Any], n: int) -> str:
    return f"{URL}/{visit['id']}/items/{n}/order"


def test_bad_item_orders_write_nothing(rt: Runtime, client: FlaskClient, people: People) -> None:
    visit = _visit(client, people.secretary, _body(people, rt))
    before = _rows(rt)
    on_behalf = {"category": "grocery", "on_behalf_of": people.resident.id}
    cases: list[tuple[Person, str, dict[str, Any], int, str]] = [
        (people.secretary, _order_url(visit, 3), on_behalf, 404, "not_found"),  # no third item
        (people.secretary, f"{URL}/{visit['id'] + 99}/items/1/order", on_behalf, 404, "not_found"),
        (people.secretary, _order_url(visit, 1), {"category": "nope", "on_behalf_of": people.resident.id}, 400, ""),
        (people.secretary, _order_url(visit, 1), {"category": "grocery", "on_behalf_of": people.volunteer.id}, 400, ""),
        (people.secretary, _order_url(visit, 1), {**on_behalf, "title": "x"}, 400, "invalid_input"),  # too short
        (people.secretary, _order_url(visit, 1), {**on_behalf, "kind": "gift"}, 400, "invalid_input"),
        (people.secretary, _order_url(visit, 1), {**on_behalf, "title": f"{RISKY}标题"}, 422, "content_rejected"),
        # Without on_behalf_of the poster must be a resident of the community, as for any order.
        (people.secretary, _order_url(visit, 1), {"category": "grocery"}, 403, "forbidden"),
        (people.volunteer, _order_url(visit, 1), on_behalf, 403, "forbidden"),
        (people.resident, _order_url(visit, 1), on_behalf, 403, "forbidden"),
    ]
    for who, url, body, status, code in cases:
        response = client.post(url, json=body, headers=who.headers)
        assert response.status_code == status, (url, body, response.get_json())
        if code:
            assert response.get_json()["error"]["code"] == code
    assert _rows(rt) == before


def test_an_item_becomes_one_order_and_the_visit_shows_it(rt: Runtime, client: FlaskClient, people: People) -> None:
    visit = _visit(client, people.grid_worker, _body(people, rt))
    body = {"category": "grocery", "on_behalf_of": people.resident.id}
    response = client.post(_order_url(visit, 1), json=body, headers=people.grid_worker.headers)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    order = answer["order"]
    assert order["description"] == "楼道灯坏了一个月，晚上上下楼看不见"
    assert order["title"] == "民情：楼道灯坏了一个月，晚上上下楼看不见"
    assert order["resident"]["id"] == people.resident.id
    assert order["posted_by"]["id"] == people.grid_worker.id
    assert order["status"] == "submitted"
    assert answer["item"] == {
        "n": 1,
        "text": "楼道灯坏了一个月，晚上上下楼看不见",
        "category": "设施维修",
        "order": {"id": order["id"], "number": order["number"], "status": "submitted", "status_label": "待派单"},
    }
    # The order's audit trail says where it came from, as any order's says who posted it.
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=people.secretary.headers).get_json()["order"]
    (submitted,) = detail["events"]
    assert submitted["action"] == "submit"
    assert submitted["actor"]["id"] == people.grid_worker.id
    assert f"走访记录 {visit['id']} 第 1 条" in submitted["note"]

    before = _rows(rt)
    again = client.post(_order_url(visit, 1), json=body, headers=people.secretary.headers)
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "item_already_ordered"
    assert (error["details"]["order_id"], error["details"]["number"]) == (order["id"], order["number"])
    assert _rows(rt) == before

    shown = client.get(f"{URL}/{visit['id']}", headers=people.secretary.headers).get_json()["visit"]
    assert shown["items"][0]["order"]["number"] == order["number"]
    assert shown["items"][1]["order"] is None
    # A title of the staff's own, and the second item's order is a second order.
    second = client.post(
        _order_url(visit, 2), json={**body, "title": "增设休息长椅", "kind": "wish"}, headers=people.secretary.headers
    )
    assert second.status_code == 201, second.get_json()
    assert (second.get_json()["order"]["title"], second.get_json()["order"]["kind"]) == ("增设休息长椅", "wish")
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 2


def test_two_calls_at_once_make_one_order(app: Flask, rt: Runtime, client: FlaskClient, people: People) -> None:
    visit = _visit(client, people.secretary, _body(people, rt))
    body = {"category": "grocery", "on_behalf_of": people.resident.id}
    callers = [people.secretary, people.grid_worker, people.secretary, people.grid_worker]
    barrier = threading.Barrier(len(callers))
    answers: list[tuple[int, dict[str, Any]]] = []

    def call(who: Person) -> None:
        local = app.test_client()
        barrier.wait()
        response = local.post(_order_url(visit, 1), json=body, headers=who.headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=call, args=(who,)) for who in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409, 409, 409], answers
    (made,) = [answer["order"] for status, answer in answers if status == 201]
    for status, answer in answers:
        if status == 409:
            assert answer["error"]["details"]["order_id"] == made["id"]
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
        assert session.scalar(sa.select(OpinionItem.order_id).where(OpinionItem.position == 1)) == made["id"]


def test_the_log_survives_held_at_just_now(rt: Runtime, client: FlaskClient, people: People) -> None:
    # A moment a second ago is not the future.
    just_now = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    assert _visit(client, people.secretary, _body(people, rt, held_at=just_now))["id"] > 0


def test_reading_the_log_costs_the_same_statements_for_one_visit_or_many(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    first = _visit(client, people.secretary, _body(people, rt))
    made = {"category": "grocery", "on_behalf_of": people.resident.id}
    assert client.post(_order_url(first, 1), json=made, headers=people.secretary.headers).status_code == 201

    def cost() -> tuple[int, int]:
        with counting(rt) as statements:
            page = client.get(f"{URL}?area=SQ1", headers=people.secretary.headers)
            assert page.status_code == 200
        return len(statements), len(page.get_json()["items"])

    one, shown = cost()
    assert shown == 1
    for _ in range(4):
        _visit(client, people.secretary, _body(people, rt, items=[{"text": f"第{n}条"} for n in range(1, 6)]))
    assert cost() == (one, 5)
