"""The order loop over HTTP as real users: 居民下单、社区派单、专人接单、居民评单."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.orders.models import OrderEvent, ReturnVisit
from app.orders.workflow import OrderKind
from app.runtime import Runtime
from app.timebank.ledger import PointsEntry
from tests.factories import make_order, make_people, make_world


def _post(client: FlaskClient, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    response = client.post(path, json=body or {}, headers=headers)
    assert response.status_code in (200, 201), (path, response.get_json())
    return response.get_json()["order"]


def test_the_pool_path_from_submit_to_closed(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    new = {"community": world.community, "category": "grocery", "title": "帮忙买菜", "description": "两斤青菜"}
    order = _post(client, "/api/v1/orders", people.resident.headers, new)
    assert order["status"] == "submitted"
    assert order["number"].count("-") == 1
    assert order["address"]["room"] == "301"  # the owner sees her own room
    assert order["contact_phone"] == "13812345678"
    oid = order["id"]

    assert (
        _post(client, f"/api/v1/orders/{oid}/triage", people.secretary.headers, {"level": "routine"})["level"]
        == "routine"
    )
    assert (
        _post(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"pool": True})["status"] == "pooled"
    )

    pool = client.get("/api/v1/tasks/pool", headers=people.volunteer.headers).get_json()["items"]
    assert [item["id"] for item in pool] == [oid]
    assert pool[0]["contact_phone"] == "138****5678"  # masked before accepting
    assert pool[0]["address"]["room"] == "***"

    claimed = _post(client, f"/api/v1/orders/{oid}/claim", people.volunteer.headers)
    assert claimed["status"] == "accepted"
    assert claimed["assignee"]["id"] == people.volunteer.id
    assert claimed["contact_phone"] == "13812345678"  # the assignee sees it once accepted
    late = client.post(f"/api/v1/orders/{oid}/claim", json={}, headers=people.other_volunteer.headers)
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "already_claimed")

    assert _post(client, f"/api/v1/orders/{oid}/start", people.volunteer.headers)["status"] == "in_service"
    done = _post(client, f"/api/v1/orders/{oid}/complete", people.volunteer.headers, {"note": "已送到家门口"})
    assert done["status"] == "completed"
    closed = _post(client, f"/api/v1/orders/{oid}/rate", people.resident.headers, {"score": 5, "comment": "谢谢小李"})
    assert closed["status"] == "closed"
    assert closed["rating"]["score"] == 5

    detail = client.get(f"/api/v1/orders/{oid}", headers=people.secretary.headers).get_json()["order"]
    assert [e["action"] for e in detail["events"]] == [
        "submit",
        "triage",
        "publish",
        "claim",
        "start",
        "complete",
        "rate",
    ]
    assert detail["events"][3]["actor"]["id"] == people.volunteer.id
    assert all(e["at"].endswith("+08:00") for e in detail["events"])
    me = client.get("/api/v1/me", headers=people.volunteer.headers).get_json()
    # The grocery category's 5 points for the one-hour floor, and the 5-star bonus ([timebank]).
    assert me["points_balance"] == 5 + 2


def test_assigned_path_with_decline_and_redispatch(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    oid = make_order(rt, people, world)

    assigned = _post(
        client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id}
    )
    assert assigned["status"] == "assigned"
    # Assigned but not accepted: the volunteer sees the order, but not the phone or the room.
    seen = client.get(f"/api/v1/orders/{oid}", headers=people.volunteer.headers).get_json()["order"]
    assert seen["contact_phone"] == "138****5678"
    # The other volunteer may not act for the assignee, and does not even see the order.
    assert (
        client.post(f"/api/v1/orders/{oid}/accept", json={}, headers=people.other_volunteer.headers).status_code == 404
    )

    declined = _post(client, f"/api/v1/orders/{oid}/decline", people.volunteer.headers, {"reason": "今天在外地"})
    assert declined["status"] == "submitted"
    assert declined["assignee"] is None

    candidates = client.get(f"/api/v1/orders/{oid}/candidates", headers=people.secretary.headers).get_json()["items"]
    assert {c["volunteer_id"] for c in candidates} == {people.volunteer.id, people.other_volunteer.id}
    assert all(c["reasons"] for c in candidates)

    _post(
        client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.other_volunteer.id}
    )
    accepted = _post(client, f"/api/v1/orders/{oid}/accept", people.other_volunteer.headers)
    assert accepted["status"] == "accepted"
    assert accepted["contact_phone"] == "13812345678"
    _post(client, f"/api/v1/orders/{oid}/complete", people.other_volunteer.headers)
    _post(client, f"/api/v1/orders/{oid}/rate", people.resident.headers, {"score": 2, "comment": "来晚了"})

    detail = client.get(f"/api/v1/orders/{oid}", headers=people.resident.headers).get_json()["order"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["events"]] == [
        ("submit", None, "submitted"),
        ("dispatch", "submitted", "assigned"),
        ("decline", "assigned", "submitted"),
        ("dispatch", "submitted", "assigned"),
        ("accept", "assigned", "accepted"),
        ("complete", "accepted", "completed"),
        ("rate", "completed", "closed"),
    ]
    assert detail["events"][2]["note"] == "今天在外地"
    # A low rating puts the order on the secretary's return-visit list.
    visits = client.get("/api/v1/return-visits", headers=people.secretary.headers).get_json()["items"]
    assert [(v["order_id"], v["reason"]) for v in visits] == [(oid, "low_rating")]
    # Two stars held the points: the call decides them.
    recorded = client.post(
        f"/api/v1/return-visits/{visits[0]['id']}",
        json={"note": "已电话致歉", "points": "pay"},
        headers=people.secretary.headers,
    )
    assert recorded.status_code == 200
    assert recorded.get_json()["done"] is True


def test_dispute_sends_the_order_back_to_the_assignee(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    oid = make_order(rt, people, world)
    _post(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id})
    _post(client, f"/api/v1/orders/{oid}/accept", people.volunteer.headers)
    _post(client, f"/api/v1/orders/{oid}/complete", people.volunteer.headers)
    disputed = _post(client, f"/api/v1/orders/{oid}/dispute", people.resident.headers, {"reason": "米没有送到"})
    assert disputed["status"] == "accepted"
    assert disputed["assignee"]["id"] == people.volunteer.id
    with rt.db.read() as session:
        assert session.scalar(sa.select(ReturnVisit.reason)) == "dispute"
        assert session.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 0


def test_cancel_reject_escalate_resolve_and_urge(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    first = make_order(rt, people, world)
    assert (
        _post(client, f"/api/v1/orders/{first}/cancel", people.resident.headers, {"reason": "不需要了"})["status"]
        == "cancelled"
    )

    second = make_order(rt, people, world)
    assert (
        _post(client, f"/api/v1/orders/{second}/reject", people.secretary.headers, {"reason": "重复提交"})["status"]
        == "rejected"
    )

    third = make_order(rt, people, world, kind=OrderKind.REPORT)
    escalated = _post(
        client,
        f"/api/v1/orders/{third}/escalate",
        people.secretary.headers,
        {"department": "城管中队", "note": "占道经营", "due_hours": 48},
    )
    assert escalated["status"] == "escalated"
    assert escalated["escalation"]["department"] == "城管中队"
    urged = client.post(f"/api/v1/orders/{third}/urge", json={}, headers=people.resident.headers)
    assert urged.status_code == 200
    again = client.post(f"/api/v1/orders/{third}/urge", json={}, headers=people.resident.headers)
    assert again.status_code == 429
    # The interval is a rate limit: the wait in seconds, in the header and the envelope alike.
    wait = again.get_json()["error"]["details"]["retry_after"]
    assert 0 < wait <= 4 * 3600
    assert again.headers["Retry-After"] == str(wait)
    resolved = _post(client, f"/api/v1/orders/{third}/resolve", people.secretary.headers, {"note": "已清理"})
    assert resolved["status"] == "completed"
    with rt.db.read() as session:
        urges = session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.action == "urge"))
    assert urges == 1


def test_lists_by_scope_with_cursor_paging(client: FlaskClient, rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    ids = [make_order(rt, people, world, title=f"第{i}件事") for i in range(5)]
    first = client.get("/api/v1/orders?scope=mine&limit=2", headers=people.resident.headers).get_json()
    assert [o["id"] for o in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/api/v1/orders?scope=mine&limit=2&cursor={first['next_cursor']}", headers=people.resident.headers
    ).get_json()
    assert [o["id"] for o in second["items"]] == ids[::-1][2:4]
    community = client.get(
        "/api/v1/orders?scope=community&status=submitted", headers=people.secretary.headers
    ).get_json()
    assert len(community["items"]) == 5
    assert community["next_cursor"] is None
    assert client.get("/api/v1/orders?scope=community", headers=people.resident.headers).status_code == 403
    assert client.get("/api/v1/orders?scope=assigned", headers=people.volunteer.headers).get_json()["items"] == []
    for bad in ("limit=0", "limit=101", "limit=x", "scope=all", "status=lost", "cursor=%%%", "color=red"):
        response = client.get(f"/api/v1/orders?{bad}", headers=people.resident.headers)
        assert response.status_code == 400, bad
