"""随手拍 (reports): a photo and a place, likely duplicates, merging a duplicate into its original,
the close fan-out to the duplicates' reporters, and how the statistics count merged ones.

Bad paths first: every refusal answers its error and leaves orders, their audit trail and the
outbox exactly as they were. Then what is offered and what is not, the merge, the fan-out.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.catalogue import create_category
from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.core.clock import now_utc
from app.identity.roles import Role
from app.notify.models import Notification
from app.orders.actions import ActionInput, Target, act
from app.orders.anonymise import apply_retention
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderKind, OrderStatus
from app.runtime import Runtime
from tests.api.test_statement_counts import counting
from tests.factories import People, Person, World, make_order, make_people, make_person, make_photo, make_world

S = OrderStatus
#: A spot in 阳光小区 (GCJ-02), and one about 50 m east of it, and one about 1.1 km away.
SPOT = {"latitude": 39.909187, "longitude": 116.397451}
NEAR = {"latitude": 39.909187, "longitude": 116.398040}
FAR = {"latitude": 39.919187, "longitude": 116.397451}
OTHER_GRID = "SQ1-G2"


@pytest.fixture
def world(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.db.write() as session:
        create_area(session, AreaKind.GRID, OTHER_GRID, "二网格", world.community)
        create_category(session, world.community, "sanitation", "环境卫生", points=5, sla_hours=24)
    return world


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    return make_people(rt, world, client=client)


@pytest.fixture
def bob(rt: Runtime, world: World, client: FlaskClient) -> Person:
    """Another resident of the grid."""
    return make_person(rt, "bob", home=(world.community, world.grid), client=client)


def _body(world: World, title: str, description: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "community": world.community,
        "category": "grocery",
        "kind": "report",
        "title": title,
        "description": description,
        **extra,
    }


def _report(
    client: FlaskClient,
    rt: Runtime,
    world: World,
    who: Person,
    title: str,
    description: str = "",
    *,
    grid: str | None = None,
    category: str = "grocery",
    location: dict[str, float] | None = None,
) -> dict[str, Any]:
    """A 随手拍 posted through the API: a fresh photo, the grid, and the spot (else building 3)."""
    address: dict[str, Any] = {"grid": grid or world.grid}
    if location is None:
        address["building"] = "3"
    extra: dict[str, Any] = {"address": address, "photos": [make_photo(rt, who)], "category": category}
    if location is not None:
        extra["location"] = location
    response = client.post("/api/v1/orders", json=_body(world, title, description, **extra), headers=who.headers)
    assert response.status_code == 201, response.get_json()
    order: dict[str, Any] = response.get_json()["order"]
    return order


def _rows(rt: Runtime) -> tuple[int, ...]:
    with rt.db.read() as session:
        return tuple(
            int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for model in (Order, OrderEvent, Notification)
        )


def _state(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Order.id, Order.status, Order.version, Order.duplicate_of_id).order_by(Order.id)
        ).all()
        return [tuple(row) for row in rows]


def _set_created(rt: Runtime, order_id: int, days_ago: float) -> None:
    with rt.db.write() as session:
        session.execute(
            sa.update(Order).where(Order.id == order_id).values(created_at=now_utc() - timedelta(days=days_ago))
        )


def _merge(client: FlaskClient, who: Person, order_id: int, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/orders/{order_id}/duplicate-of", json=body, headers=who.headers)


def _texts(rt: Runtime, user_id: int, words: str) -> list[str]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                sa.select(Notification.body).where(Notification.user_id == user_id, Notification.body.contains(words))
            )
        )


# -- a photo and a place -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"address": {"building": "3"}}, "photos"),  # no photo
        ({"photos": "PHOTO", "address": {"grid": "SQ1-G1"}}, "location"),  # neither spot nor building
        ({"photos": "PHOTO", "address": {"building": "  "}}, "location"),  # a blank building is none
        ({"photos": "PHOTO", "location": {"latitude": 39.9}}, "location.longitude"),
        ({"photos": "PHOTO", "location": {"latitude": 95, "longitude": 116.4}}, "location.latitude"),
        ({"photos": "PHOTO", "location": {"latitude": 0, "longitude": 0}}, "location.latitude"),  # no fix
        ({"photos": "PHOTO", "location": {"latitude": 39.9, "longitude": -74.0}}, "location.longitude"),
        ({"photos": "PHOTO", "location": {"latitude": "39.9", "longitude": 116.4}}, "location.latitude"),
        ({"photos": "PHOTO", "location": {"latitude": True, "longitude": 116.4}}, "location.latitude"),
        ({"photos": "PHOTO", "location": {"latitude": 39.9, "longitude": None}}, "location.longitude"),
        ({"kind": "service", "photos": "PHOTO", "location": SPOT}, "location"),  # reports only
    ],
)
def test_a_report_without_a_photo_or_a_place_is_400_and_writes_nothing(
    client: FlaskClient, rt: Runtime, world: World, people: People, extra: dict[str, Any], field: str
) -> None:
    if extra.get("photos") == "PHOTO":
        extra = {**extra, "photos": [make_photo(rt, people.resident)]}
    before = _rows(rt)
    body = _body(world, "路灯坏了", **extra)
    response = client.post("/api/v1/orders", json=body, headers=people.resident.headers)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    fields = [item["field"] for item in error["details"]["fields"]]
    assert any(name == field or name.startswith(field + ".") for name in fields), fields
    assert _rows(rt) == before


def test_coordinates_are_kept_to_six_places_and_shown_to_staff_the_owner_and_the_holder(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    posted = _report(
        client, rt, world, people.resident, "路灯坏了", location={"latitude": 39.90918749, "longitude": 116.4}
    )
    assert posted["location"] == {"latitude": 39.909187, "longitude": 116.4}
    assert posted["address"]["building"] == ""  # the spot alone, never the reporter's home
    with rt.db.read() as session:
        order = session.get(Order, posted["id"])
        assert order is not None
        assert (order.latitude, order.longitude) == (Decimal("39.909187"), Decimal("116.400000"))

    def seen(who: Person) -> Any:
        response = client.get(f"/api/v1/orders/{posted['id']}", headers=who.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["order"]["location"]

    for staff in (people.secretary, people.grid_worker, people.street_admin):
        assert seen(staff) == posted["location"]
    client.post(f"/api/v1/orders/{posted['id']}/dispatch", json={"pool": True}, headers=people.secretary.headers)
    pool = client.get("/api/v1/tasks/pool", headers=people.volunteer.headers).get_json()["items"]
    assert [(item["id"], item["location"]) for item in pool] == [(posted["id"], None)]
    assert seen(people.volunteer) is None
    claimed = client.post(f"/api/v1/orders/{posted['id']}/claim", json={}, headers=people.volunteer.headers)
    assert claimed.get_json()["order"]["location"] == posted["location"]  # at work: they must find the spot
    assert seen(people.resident) == posted["location"]


# -- likely duplicates ---------------------------------------------------------------------------


def test_an_open_report_of_the_same_grid_category_and_words_is_offered(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    first = _report(client, rt, world, people.resident, "3栋门口路灯坏了", "晚上一片漆黑", location=SPOT)
    assert first["likely_duplicates"] == []
    second = _report(client, rt, world, bob, "3栋门口的路灯坏了", "晚上不亮", location=NEAR)
    offered = second["likely_duplicates"]
    assert [(item["id"], item["number"], item["title"]) for item in offered] == [
        (first["id"], first["number"], first["title"])
    ]
    assert 0.35 <= offered[0]["similarity"] <= 1
    # Staff see the same from either side; the poster's read of the order does not carry them.
    for order_id, other in ((second["id"], first["id"]), (first["id"], second["id"])):
        listed = client.get(f"/api/v1/orders/{order_id}/duplicates", headers=people.grid_worker.headers)
        assert listed.status_code == 200, listed.get_json()
        assert [item["id"] for item in listed.get_json()["likely"]] == [other]
    detail = client.get(f"/api/v1/orders/{second['id']}", headers=bob.headers).get_json()["order"]
    assert detail["likely_duplicates"] is None


@pytest.mark.parametrize("case", ["other_grid", "other_category", "old", "dissimilar", "far", "closed", "merged"])
def test_no_duplicate_is_offered_from_another_grid_category_time_text_or_place(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person, case: str
) -> None:
    title, description = "3栋门口路灯坏了", "晚上一片漆黑"
    grid = OTHER_GRID if case == "other_grid" else None
    category = "sanitation" if case == "other_category" else "grocery"
    location = FAR if case == "far" else SPOT
    if case == "dissimilar":
        title, description = "垃圾桶满了没人清", "气味很大"
    if case == "closed":
        first_id = make_order(rt, people, world, status=S.CLOSED, kind=OrderKind.REPORT, grid=world.grid, title=title)
    else:
        first_id = _report(
            client, rt, world, people.resident, title, description, grid=grid, category=category, location=location
        )["id"]
    if case == "old":
        _set_created(rt, first_id, days_ago=15)  # [orders.reports] duplicate_window_days = 14
    if case == "merged":
        root = _report(client, rt, world, people.resident, "小区健身器材坏了", location=SPOT)
        assert _merge(client, people.secretary, first_id, {"original": root["id"]}).status_code == 200
    second = _report(client, rt, world, bob, "3栋门口的路灯坏了", "晚上不亮", location=SPOT)
    assert second["likely_duplicates"] == [], case


def test_the_duplicate_lookup_reads_a_constant_number_of_statements(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    _report(client, rt, world, people.resident, "3栋门口路灯坏了", location=SPOT)
    photo = make_photo(rt, bob)
    body = _body(world, "3栋门口的路灯坏了", address={"grid": world.grid}, location=SPOT, photos=[photo])
    with counting(rt) as few:
        response = client.post("/api/v1/orders", json=body, headers=bob.headers)
    assert len(response.get_json()["order"]["likely_duplicates"]) == 1
    for n in range(6):
        _report(client, rt, world, people.resident, f"{n}号楼门口路灯坏了", location=SPOT)
        make_order(rt, people, world, grid=world.grid)  # a service order: never read
    with counting(rt) as few_get:
        client.get(f"/api/v1/orders/{response.get_json()['order']['id']}/duplicates", headers=people.secretary.headers)
    body = {**body, "photos": [make_photo(rt, bob)]}
    with counting(rt) as many:
        response = client.post("/api/v1/orders", json=body, headers=bob.headers)
    assert len(response.get_json()["order"]["likely_duplicates"]) == 5  # [orders.reports] max_duplicates
    assert len(many) == len(few)
    for n in range(3):
        _report(client, rt, world, people.resident, f"{n}单元门口路灯坏了", location=SPOT)
    with counting(rt) as many_get:
        client.get(f"/api/v1/orders/{response.get_json()['order']['id']}/duplicates", headers=people.secretary.headers)
    assert len(many_get) == len(few_get)


def test_only_staff_see_a_reports_duplicates(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    report = _report(client, rt, world, people.resident, "路灯坏了", location=SPOT)
    url = f"/api/v1/orders/{report['id']}/duplicates"
    assert client.get(url, headers=people.resident.headers).status_code == 403  # the owner sees the order
    assert client.get(url, headers=bob.headers).status_code == 404
    assert client.get(url, headers=people.volunteer.headers).status_code == 404
    service = make_order(rt, people, world)
    answer = client.get(f"/api/v1/orders/{service}/duplicates", headers=people.secretary.headers)
    assert answer.get_json() == {"likely": [], "merged": []}


# -- merging -------------------------------------------------------------------------------------


def test_refused_merges_change_nothing(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    original = _report(client, rt, world, people.resident, "3栋门口路灯坏了", location=SPOT)
    duplicate = _report(client, rt, world, bob, "3栋门口的路灯坏了", location=SPOT)
    closed = make_order(rt, people, world, status=S.CLOSED, kind=OrderKind.REPORT, grid=world.grid)
    cancelled = make_order(rt, people, world, status=S.CANCELLED, kind=OrderKind.REPORT, grid=world.grid)
    service = make_order(rt, people, world, grid=world.grid)
    held = make_order(rt, people, world, status=S.ACCEPTED, kind=OrderKind.REPORT, grid=world.grid)
    sq2_secretary = make_person(rt, "sec-sq2", (Role.SECRETARY, world.other_community), client=client)
    sq2_owner = make_person(rt, "sq2-owner", home=(world.other_community, world.other_grid))
    foreign = make_order(rt, sq2_owner, world, community=world.other_community, kind=OrderKind.REPORT)
    both = make_person(
        rt, "sec-both", (Role.SECRETARY, world.community), (Role.SECRETARY, world.other_community), client=client
    )
    other_grid_worker = make_person(rt, "grid-g2", (Role.GRID_WORKER, OTHER_GRID), client=client)
    dup = duplicate["id"]
    refusals: list[tuple[Person, int, dict[str, Any], int, str]] = [
        (people.resident, dup, {"original": original["id"]}, 404, "not_found"),  # not theirs to see
        (bob, dup, {"original": original["id"]}, 403, "forbidden"),  # the reporter
        (people.volunteer, dup, {"original": original["id"]}, 404, "not_found"),
        (people.street_admin, dup, {"original": original["id"]}, 403, "forbidden"),
        (other_grid_worker, dup, {"original": original["id"]}, 404, "not_found"),
        (sq2_secretary, dup, {"original": foreign}, 404, "not_found"),
        (people.secretary, dup, {}, 400, "invalid_input"),
        (people.secretary, dup, {"original": "x"}, 400, "invalid_input"),
        (people.secretary, dup, {"original": dup}, 400, "invalid_input"),  # itself
        (people.secretary, dup, {"original": 10**9}, 404, "not_found"),
        (people.secretary, dup, {"original": foreign}, 404, "not_found"),  # another community's
        (both, dup, {"original": foreign}, 400, "invalid_input"),  # seen, but another community's
        (people.secretary, dup, {"original": closed}, 400, "invalid_input"),
        (people.secretary, dup, {"original": cancelled}, 400, "invalid_input"),
        (people.secretary, dup, {"original": service}, 400, "invalid_input"),  # another kind
        (people.secretary, service, {"original": original["id"]}, 409, "invalid_transition"),  # not a report
        (people.secretary, held, {"original": original["id"]}, 409, "invalid_transition"),  # taken on
        (people.secretary, closed, {"original": original["id"]}, 409, "invalid_transition"),
    ]
    before, state = _rows(rt), _state(rt)
    for who, order_id, body, status, code in refusals:
        response = _merge(client, who, order_id, body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), (who.openid, body)
        assert (_rows(rt), _state(rt)) == (before, state), (who.openid, body)


def test_a_merged_report_leaves_the_queue_and_its_reporter_hears_where_it_went(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    original = _report(client, rt, world, people.resident, "3栋门口路灯坏了", location=SPOT)
    duplicate = _report(client, rt, world, bob, "3栋门口的路灯坏了", location=SPOT)
    client.post(
        f"/api/v1/orders/{duplicate['id']}/dispatch",
        json={"volunteer_id": people.volunteer.id},
        headers=people.secretary.headers,
    )
    response = _merge(client, people.grid_worker, duplicate["id"], {"original": original["id"], "note": "同一盏灯"})
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()["order"]
    assert (merged["status"], merged["duplicate_of"], merged["assignee"]) == (
        "cancelled",
        {"id": original["id"], "number": original["number"]},
        None,
    )
    last = merged["events"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == ("merge", "assigned", "cancelled")
    assert original["number"] in last["note"]
    assert "同一盏灯" in last["note"]
    assert len(_texts(rt, bob.id, "已合并")) == 1
    assert original["number"] in _texts(rt, bob.id, "已合并")[0]
    assert len(_texts(rt, people.volunteer.id, "无需再处理")) == 1  # it was dispatched to them
    queue = client.get(
        f"/api/v1/orders?scope=community&community={world.community}&status=submitted",
        headers=people.secretary.headers,
    ).get_json()["items"]
    assert [item["id"] for item in queue] == [original["id"]]
    seen = client.get(f"/api/v1/orders/{original['id']}", headers=people.secretary.headers).get_json()["order"]
    assert (seen["status"], seen["duplicate_of"]) == ("submitted", None)
    listed = client.get(f"/api/v1/orders/{original['id']}/duplicates", headers=people.secretary.headers).get_json()
    assert listed == {"likely": [], "merged": [{"id": duplicate["id"], "number": duplicate["number"]}]}


def test_merges_never_chain(client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person) -> None:
    a = _report(client, rt, world, people.resident, "路灯坏了", location=SPOT)
    b = _report(client, rt, world, bob, "路灯坏了", location=SPOT)
    c = _report(client, rt, world, bob, "路灯坏了", location=SPOT)
    d = _report(client, rt, world, bob, "路灯坏了", location=SPOT)
    # Into a report that was merged itself: into its original instead.
    assert _merge(client, people.secretary, b["id"], {"original": a["id"]}).status_code == 200
    answer = _merge(client, people.secretary, c["id"], {"original": b["id"]}).get_json()["order"]
    assert answer["duplicate_of"]["id"] == a["id"]
    # Merging an original elsewhere takes its duplicates along to the new root.
    assert _merge(client, people.secretary, a["id"], {"original": d["id"]}).status_code == 200
    with rt.db.read() as session:
        pointed = {row.id: row.duplicate_of_id for row in session.execute(sa.select(Order.id, Order.duplicate_of_id))}
    assert pointed == {a["id"]: d["id"], b["id"]: d["id"], c["id"]: d["id"], d["id"]: None}
    # And back into one of its own duplicates: refused, nothing written.
    before = _state(rt)
    assert _merge(client, people.secretary, d["id"], {"original": b["id"]}).status_code == 400
    assert _state(rt) == before


def test_when_the_original_is_done_every_merged_reporter_hears_once(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    carol = make_person(rt, "carol", home=(world.community, world.grid), client=client)
    original = make_order(rt, people, world, kind=OrderKind.REPORT, grid=world.grid, title="路灯坏了")
    reports = [
        _report(client, rt, world, bob, "路灯坏了", location=SPOT),
        _report(client, rt, world, carol, "路灯坏了", location=SPOT),
        _report(client, rt, world, bob, "门口路灯坏了", location=SPOT),  # bob twice: told once
        _report(client, rt, world, people.resident, "路灯又坏了", location=SPOT),  # the original's owner
    ]
    for report in reports:
        assert _merge(client, people.secretary, report["id"], {"original": original}).status_code == 200
    done = "已处理完毕"
    steps = [
        (people.secretary, Action.DISPATCH, ActionInput(target=Target(volunteer_id=people.volunteer.id))),
        (people.volunteer, Action.ACCEPT, ActionInput()),
        (people.volunteer, Action.START, ActionInput()),
    ]
    for who, action, data in steps:
        act(rt, who.actor(rt), original, action, data)
    assert _texts(rt, bob.id, done) == _texts(rt, carol.id, done) == []
    act(rt, people.volunteer.actor(rt), original, Action.COMPLETE, ActionInput(note="换了灯泡"))
    act(rt, people.resident.actor(rt), original, Action.DISPUTE, ActionInput(reason="还是不亮"))
    act(rt, people.volunteer.actor(rt), original, Action.COMPLETE, ActionInput(note="换了线路"))
    act(rt, people.resident.actor(rt), original, Action.RATE, ActionInput(score=5))
    for reporter in (bob, carol):
        told = _texts(rt, reporter.id, done)
        assert len(told) == 1, (reporter.openid, told)
    assert _texts(rt, people.resident.id, done) == []  # told as the original's owner, as usual
    with rt.db.read() as session:
        order_ids = set(
            session.scalars(
                sa.select(Notification.order_id).where(Notification.user_id == bob.id, Notification.body.contains(done))
            )
        )
    assert order_ids == {reports[0]["id"]}  # about their own report, which they may open


def test_a_resolved_escalated_original_tells_its_merged_reporters(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    original = _report(client, rt, world, people.resident, "路面塌陷", location=SPOT)
    duplicate = _report(client, rt, world, bob, "路面塌陷了", location=SPOT)
    assert _merge(client, people.secretary, duplicate["id"], {"original": original["id"]}).status_code == 200
    secretary = people.secretary.actor(rt)
    act(rt, secretary, original["id"], Action.ESCALATE, ActionInput(department="城管中队", due_hours=24))
    act(rt, secretary, original["id"], Action.RESOLVE, ActionInput(note="已修复"))
    assert len(_texts(rt, bob.id, "已处理完毕")) == 1


# -- statistics ----------------------------------------------------------------------------------


def test_stats_count_merged_duplicates_and_grid_rows_still_add_up(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    original = _report(client, rt, world, people.resident, "路灯坏了", location=SPOT)
    duplicates = [_report(client, rt, world, bob, "路灯坏了", location=SPOT) for _ in range(2)]
    elsewhere = _report(client, rt, world, bob, "路灯坏了", grid=OTHER_GRID, location=SPOT)
    for duplicate in duplicates:
        assert _merge(client, people.secretary, duplicate["id"], {"original": original["id"]}).status_code == 200
    make_order(rt, people, world, status=S.CANCELLED)  # cancelled by the resident: not merged
    day = now_utc().date()
    query = f"area={world.community}&from={day - timedelta(days=1)}&to={day + timedelta(days=1)}"
    response = client.get(f"/api/v1/stats?{query}", headers=people.secretary.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    totals = body["totals"]
    assert (totals["orders"], totals["merged_duplicates"], totals["by_status"]["cancelled"]) == (5, 2, 3)
    rows = {row["area"]: row for row in body["by_grid"]}
    assert (rows[world.grid]["merged_duplicates"], rows[OTHER_GRID]["merged_duplicates"]) == (2, 0)
    assert sum(row["orders"] for row in rows.values()) == totals["orders"]
    assert sum(row["merged_duplicates"] for row in rows.values()) == totals["merged_duplicates"]
    assert elsewhere["likely_duplicates"] == []


def test_retention_clears_a_finished_reports_coordinates(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    original = _report(client, rt, world, people.resident, "路灯坏了", location=SPOT)
    duplicate = _report(client, rt, world, bob, "路灯坏了", location=NEAR)
    assert _merge(client, people.secretary, duplicate["id"], {"original": original["id"]}).status_code == 200
    long_ago = now_utc() - timedelta(days=rt.settings.privacy.retention_days + 1)
    with rt.db.write() as session:
        session.execute(sa.update(Order).values(updated_at=long_ago))

    apply_retention(rt, now_utc())

    with rt.db.read() as session:
        rows = session.execute(sa.select(Order.id, Order.latitude, Order.longitude))
        places = {row.id: (row.latitude, row.longitude) for row in rows}
    assert places[duplicate["id"]] == (None, None)  # merged, so cancelled: finished
    assert places[original["id"]] == (Decimal("39.909187"), Decimal("116.397451"))  # open: kept


def test_the_duplicate_lookup_reads_the_report_index(
    client: FlaskClient, rt: Runtime, world: World, people: People, bob: Person
) -> None:
    """The candidates' statement, explained as SQLite plans it (with its real parameters)."""
    if not rt.db.is_sqlite:
        pytest.skip("the plan's wording is SQLite's")
    _report(client, rt, world, people.resident, "路灯坏了", location=SPOT)
    plans: list[str] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if statement.startswith("SELECT") and "kind = 'report'" in statement:
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            plans.append(" ".join(str(row[-1]) for row in rows))

    sa.event.listen(rt.db.engine, "before_cursor_execute", explain)
    try:
        _report(client, rt, world, bob, "路灯坏了", location=SPOT)
        _report(client, rt, world, bob, "路灯坏了", grid=OTHER_GRID)
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", explain)
    assert len(plans) == 2, plans
    for plan in plans:
        assert "USING INDEX ix_orders_report_grid_category_created_at" in plan, plans
        assert "TEMP B-TREE" not in plan, plans  # read in the index's order: newest first, then stop
