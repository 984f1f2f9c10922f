"""Posting orders: validation, Idempotency-Key, content security, 代下单, numbers, dispatch targets."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.core.idempotency import IdempotencyKey
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.volunteers.teams import create_team
from tests.factories import World, grant, login, make_world
from wechat_sim import SimulatorServer


def _resident(client: FlaskClient, world: World, openid: str = "alice", community: str | None = None) -> dict[str, str]:
    headers = login(client, openid)
    body = {"community": community or world.community, "grid": world.grid if not community else None, "room": "301"}
    assert client.put("/api/v1/me/household", json=body, headers=headers).status_code == 200
    return headers


def _body(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "community": world.community,
        "category": "grocery",
        "title": "帮忙买菜",
        "description": "两斤青菜",
        **extra,
    }


def _count(rt: Runtime, model: type) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_bad_orders_are_400_and_write_nothing(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = _resident(client, world)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**_body(world), "title": ""}, 400, "invalid_input"),
        ({**_body(world), "title": "买" * 51}, 400, "invalid_input"),
        ({**_body(world), "description": "字" * 1001}, 400, "invalid_input"),
        ({k: v for k, v in _body(world).items() if k != "title"}, 400, "invalid_input"),
        ({**_body(world), "category": "nope"}, 400, "invalid_input"),
        ({**_body(world), "community": "NOPE"}, 400, "invalid_input"),
        ({**_body(world), "kind": "favour"}, 400, "invalid_input"),
        ({**_body(world), "contact_phone": "12345"}, 400, "invalid_input"),
        ({**_body(world), "preferred_start": "2026-12-01 09:00"}, 400, "invalid_input"),  # no offset
        (
            {
                **_body(world),
                "preferred_start": "2026-12-01T10:00:00+08:00",
                "preferred_end": "2026-12-01T09:00:00+08:00",
            },
            400,
            "invalid_input",
        ),
        ({**_body(world), "address": {"grid": world.other_grid}}, 400, "invalid_input"),
        ({**_body(world), "photos": [999999]}, 400, "invalid_input"),
        ({**_body(world), "photos": list(range(1, 11))}, 400, "invalid_input"),
        ({**_body(world), "on_behalf_of": 1}, 403, "forbidden"),
        ({**_body(world), "community": world.other_community}, 403, "forbidden"),
        ({**_body(world), "surprise": True}, 400, "invalid_input"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/orders", json=body, headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), body
    assert client.post("/api/v1/orders", data="[", content_type="application/json", headers=headers).status_code == 400
    assert client.post("/api/v1/orders", json=_body(world)).status_code == 401
    assert _count(rt, Order) == 0
    assert _count(rt, OrderEvent) == 0


def test_order_numbers_count_per_community_and_day(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    first = _resident(client, world)
    other = _resident(client, world, "bob", world.other_community)
    numbers = [
        client.post("/api/v1/orders", json=_body(world), headers=first).get_json()["order"]["number"] for _ in range(3)
    ]
    elsewhere = client.post(
        "/api/v1/orders", json=_body(world, community=world.other_community), headers=other
    ).get_json()["order"]["number"]
    day = numbers[0].split("-")[0]
    assert numbers == [f"{day}-0001", f"{day}-0002", f"{day}-0003"]
    assert elsewhere == f"{day}-0001"


def test_concurrent_posts_in_one_community_get_consecutive_numbers(app: Any, rt: Runtime) -> None:
    # On PostgreSQL the counter is bumped in a transaction of its own (app.orders.submit._numbering):
    # a burst of residents of one community still gets 0001..N, each number once.
    world = make_world(rt)
    setup_client = app.test_client()
    posters = [_resident(setup_client, world, f"burst-{n}") for n in range(8)]
    numbers: list[str] = []
    barrier = threading.Barrier(len(posters))

    def post(headers: dict[str, str]) -> None:
        local = app.test_client()
        barrier.wait()
        response = local.post("/api/v1/orders", json=_body(world), headers=headers)
        assert response.status_code == 201, response.get_json()
        numbers.append(response.get_json()["order"]["number"])

    threads = [threading.Thread(target=post, args=(headers,)) for headers in posters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    day = numbers[0].split("-")[0]
    assert sorted(numbers) == [f"{day}-{n:04d}" for n in range(1, len(posters) + 1)]
    assert _count(rt, Order) == len(posters)


def test_idempotency_key_replays_the_first_answer(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = _resident(client, world)
    keyed = {**headers, "Idempotency-Key": "req-42"}
    first = client.post("/api/v1/orders", json=_body(world), headers=keyed)
    again = client.post("/api/v1/orders", json=_body(world), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert _count(rt, Order) == 1

    different = client.post("/api/v1/orders", json=_body(world, title="帮忙修灯"), headers=keyed)
    assert (different.status_code, different.get_json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert _count(rt, Order) == 1
    # The key belongs to its user: someone else may use the same string.
    other = {**_resident(client, world, "bob"), "Idempotency-Key": "req-42"}
    assert client.post("/api/v1/orders", json=_body(world), headers=other).status_code == 201
    assert _count(rt, Order) == 2
    too_long = {**headers, "Idempotency-Key": "k" * 129}
    assert client.post("/api/v1/orders", json=_body(world), headers=too_long).status_code == 400
    assert _count(rt, IdempotencyKey) == 2


def test_concurrent_requests_with_one_key_create_one_order(app: Any, rt: Runtime) -> None:
    world = make_world(rt)
    setup_client = app.test_client()
    headers = {**_resident(setup_client, world), "Idempotency-Key": "burst-1"}
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        local = app.test_client()
        barrier.wait()
        answers.append(local.post("/api/v1/orders", json=_body(world), headers=headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 8
    assert _count(rt, Order) == 1


def test_content_security(client: FlaskClient, rt: Runtime, simulator: SimulatorServer) -> None:
    world = make_world(rt)
    headers = _resident(client, world)
    risky = client.post("/api/v1/orders", json=_body(world, description="这是违规测试"), headers=headers)
    assert (risky.status_code, risky.get_json()["error"]["code"]) == (422, "content_rejected")
    assert _count(rt, Order) == 0
    review = client.post("/api/v1/orders", json=_body(world, description="这是复核测试"), headers=headers)
    assert review.status_code == 201
    assert review.get_json()["order"]["needs_review"] is True
    # WeChat unreachable: the order is taken, and flagged for the secretary to look at first.
    simulator.state.inject_fault("/wxa/msg_sec_check", http_status=503)
    down = client.post("/api/v1/orders", json=_body(world), headers=headers)
    assert down.status_code == 201
    assert down.get_json()["order"]["needs_review"] is True
    assert (
        client.post("/api/v1/orders", json=_body(world), headers=headers).get_json()["order"]["needs_review"] is False
    )


def test_grid_worker_posts_on_behalf_of_a_resident(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    resident = _resident(client, world, "grandma")
    resident_id = client.get("/api/v1/me", headers=resident).get_json()["id"]
    grant(rt, "gridworker-zhao", Role.GRID_WORKER, world.grid)
    worker = login(client, "gridworker-zhao")
    response = client.post("/api/v1/orders", json=_body(world, on_behalf_of=resident_id), headers=worker)
    assert response.status_code == 201
    order = response.get_json()["order"]
    assert order["resident"]["id"] == resident_id
    assert order["posted_by"]["name"] != order["resident"]["name"]
    # The poster is staff: the room is masked to them, as to all staff (PIPL minimum necessary).
    assert order["address"]["room"] == "***"
    mine = client.get("/api/v1/orders?scope=mine", headers=resident).get_json()["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    assert mine[0]["address"]["room"] == "301"  # taken from the resident's household
    # Not a resident of this community: refused, nothing written.
    stranger = login(client, "stranger")
    stranger_id = client.get("/api/v1/me", headers=stranger).get_json()["id"]
    refused = client.post("/api/v1/orders", json=_body(world, on_behalf_of=stranger_id), headers=worker)
    assert refused.status_code == 400
    assert _count(rt, Order) == 1


def test_dispatch_to_team_and_property_company(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    resident = _resident(client, world)
    grant(rt, "secretary-wang", Role.SECRETARY, world.community)
    for openid in ("member-a", "member-b"):
        grant(rt, openid, Role.VOLUNTEER, world.community)
    with rt.db.write() as session:
        team_id = create_team(session, world.community, "党员先锋队", ["member-a", "member-b"]).id
        company_id = create_property_company(
            session, "阳光物业", communities=[world.community], staff_openids=["wuye-staff"]
        ).id
        other_team = create_team(session, world.other_community, "别处的队", []).id
    secretary = login(client, "secretary-wang")

    first = client.post("/api/v1/orders", json=_body(world), headers=resident).get_json()["order"]["id"]
    sent = client.post(f"/api/v1/orders/{first}/dispatch", json={"team_id": team_id}, headers=secretary)
    assert sent.get_json()["order"]["team"]["id"] == team_id
    member = login(client, "member-b")
    accepted = client.post(f"/api/v1/orders/{first}/accept", json={}, headers=member).get_json()["order"]
    assert accepted["status"] == "accepted"
    assert accepted["assignee"]["id"] == client.get("/api/v1/me", headers=member).get_json()["id"]
    # Once one member holds it, the rest of the team no longer acts on it.
    assert client.post(f"/api/v1/orders/{first}/start", json={}, headers=login(client, "member-a")).status_code == 404

    second = client.post("/api/v1/orders", json=_body(world), headers=resident).get_json()["order"]["id"]
    client.post(f"/api/v1/orders/{second}/dispatch", json={"property_company_id": company_id}, headers=secretary)
    staff = login(client, "wuye-staff")
    assert (
        client.post(f"/api/v1/orders/{second}/accept", json={}, headers=staff).get_json()["order"]["status"]
        == "accepted"
    )

    third = client.post("/api/v1/orders", json=_body(world), headers=resident).get_json()["order"]["id"]
    for bad in ({"team_id": other_team}, {"volunteer_id": 999999}, {}, {"team_id": team_id, "pool": True}):
        response = client.post(f"/api/v1/orders/{third}/dispatch", json=bad, headers=secretary)
        assert response.status_code == 400, bad
    assert client.get(f"/api/v1/orders/{third}", headers=secretary).get_json()["order"]["status"] == "submitted"


def test_rating_rules(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    resident = _resident(client, world)
    grant(rt, "secretary-wang", Role.SECRETARY, world.community)
    grant(rt, "volunteer-li", Role.VOLUNTEER, world.community)
    secretary, volunteer = login(client, "secretary-wang"), login(client, "volunteer-li")
    oid = client.post("/api/v1/orders", json=_body(world), headers=resident).get_json()["order"]["id"]
    client.post(f"/api/v1/orders/{oid}/dispatch", json={"pool": True}, headers=secretary)
    client.post(f"/api/v1/orders/{oid}/claim", json={}, headers=volunteer)
    client.post(f"/api/v1/orders/{oid}/complete", json={}, headers=volunteer)
    for bad in ({"score": 0}, {"score": 6}, {"score": "five"}, {}, {"score": 5, "aspects": {"speed": 9}}):
        assert client.post(f"/api/v1/orders/{oid}/rate", json=bad, headers=resident).status_code == 400, bad
    assert client.post(f"/api/v1/orders/{oid}/rate", json={"score": 4}, headers=volunteer).status_code == 403
    assert client.post(f"/api/v1/orders/{oid}/rate", json={"score": 4}, headers=resident).status_code == 200
    twice = client.post(f"/api/v1/orders/{oid}/rate", json={"score": 5}, headers=resident)
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "invalid_transition")
    assert client.get(f"/api/v1/orders/{oid}", headers=resident).get_json()["order"]["rating"]["score"] == 4


def test_categories_and_skills(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    headers = login(client, "anyone")
    items = client.get(f"/api/v1/categories?community={world.community}", headers=headers).get_json()["items"]
    assert [c["code"] for c in items] == ["grocery"]
    assert client.get("/api/v1/categories?community=NOPE", headers=headers).status_code == 404
    assert client.get("/api/v1/categories", headers=headers).status_code == 400
    assert client.put("/api/v1/me/skills", json={"skills": ["electrician"]}, headers=headers).status_code == 403
    grant(rt, "anyone", Role.VOLUNTEER, world.community)
    profile = client.put("/api/v1/me/skills", json={"skills": ["electrician", "escort"]}, headers=headers).get_json()
    assert profile["skills"] == ["electrician", "escort"]
