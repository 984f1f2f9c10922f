"""Content security on every text others will read: an action's reason, note, comment or
department that WeChat judges risky (the simulator: text containing 违规测试) is a 422
``content_rejected`` naming the field, and the order is exactly as it was: no event, no message, no
rating, no return visit, the same version. The check runs before the write transaction."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.models import Base
from app.orders.models import ReturnVisit
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.wechat.gateway import Verdict
from tests.factories import People, World, make_order, make_people, make_world
from wechat_sim import SimulatorServer

RISKY = "这是违规测试"


@dataclass(frozen=True)
class Case:
    """One action with a text field: from which status, by whom, the body with ``{text}`` in the field."""

    action: str
    status: OrderStatus
    who: str
    body: dict[str, Any]
    field: str


def _with(body: dict[str, Any], text: str, people: People) -> dict[str, Any]:
    filled = {key: (value.format(text=text) if isinstance(value, str) else value) for key, value in body.items()}
    if filled.get("volunteer_id") == "other":
        filled["volunteer_id"] = people.other_volunteer.id
    return filled


S = OrderStatus
CASES = [
    Case("dispatch", S.SUBMITTED, "secretary", {"volunteer_id": "other", "note": "{text}"}, "note"),
    Case("dispatch", S.SUBMITTED, "secretary", {"pool": True, "note": "{text}"}, "note"),
    Case("decline", S.ASSIGNED, "volunteer", {"reason": "{text}"}, "reason"),
    Case("complete", S.ACCEPTED, "volunteer", {"note": "{text}"}, "note"),
    Case("rate", S.COMPLETED, "resident", {"score": 1, "comment": "{text}"}, "comment"),
    Case("dispute", S.COMPLETED, "resident", {"reason": "{text}"}, "reason"),
    Case("cancel", S.SUBMITTED, "resident", {"reason": "{text}"}, "reason"),
    Case("reject", S.SUBMITTED, "secretary", {"reason": "{text}"}, "reason"),
    Case("escalate", S.SUBMITTED, "secretary", {"department": "城管中队", "note": "{text}", "due_hours": 24}, "note"),
    Case("escalate", S.SUBMITTED, "secretary", {"department": "{text}科", "due_hours": 24}, "department"),
    Case(
        "escalate", S.SUBMITTED, "secretary", {"department": "{text}科", "note": "占道", "due_hours": 24}, "department"
    ),
    Case("resolve", S.ESCALATED, "secretary", {"note": "{text}"}, "note"),
    Case("reassign", S.ACCEPTED, "secretary", {"reason": "{text}", "queue": True}, "reason"),
    Case("reassign", S.ASSIGNED, "grid_worker", {"reason": "{text}", "volunteer_id": "other"}, "reason"),
    Case("release", S.ACCEPTED, "volunteer", {"reason": "{text}"}, "reason"),
]


def _id(case: Case) -> str:
    return f"{case.action}-{case.field}-{case.status.value}"


def snapshot(rt: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: "unchanged" means exactly this is equal before and after."""
    with rt.db.read() as session:
        return {
            table.name: [tuple(row) for row in session.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    return make_people(rt, world, client=client)


def _post(client: FlaskClient, people: People, case: Case, order_id: int, text: str) -> Any:
    headers = getattr(people, case.who).headers
    return client.post(f"/api/v1/orders/{order_id}/{case.action}", json=_with(case.body, text, people), headers=headers)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_a_risky_text_is_refused_and_changes_nothing(
    client: FlaskClient, rt: Runtime, world: World, people: People, case: Case
) -> None:
    order_id = make_order(rt, people, world, status=case.status)
    before = snapshot(rt)
    response = _post(client, people, case, order_id, RISKY)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "content_rejected"
    assert error["details"]["fields"] == [case.field]
    # No event, no inbox entry or outbox row, no rating, points or return visit; the same version.
    assert snapshot(rt) == before
    # The same action with a clean text goes through: the check refuses the text, not the action.
    done = _post(client, people, case, order_id, "正常说明")
    assert done.status_code == 200, done.get_json()


def test_review_or_wechat_down_lets_an_action_through(
    client: FlaskClient, rt: Runtime, world: World, people: People, simulator: SimulatorServer
) -> None:
    """Only "risky" stops an action: its text is signed in the audit trail, and work must not wait
    for WeChat."""
    first, second = (make_order(rt, people, world) for _ in range(2))
    reject = client.post(
        f"/api/v1/orders/{first}/reject", json={"reason": "这是复核测试"}, headers=people.secretary.headers
    )
    assert reject.status_code == 200, reject.get_json()
    assert reject.get_json()["order"]["events"][-1]["note"] == "这是复核测试"
    simulator.state.inject_fault("/wxa/msg_sec_check", http_status=503)
    down = client.post(f"/api/v1/orders/{second}/cancel", json={"reason": "不需要了"}, headers=people.resident.headers)
    assert down.status_code == 200, down.get_json()


def test_no_text_no_call(
    client: FlaskClient, rt: Runtime, world: World, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = make_order(rt, people, world, status=S.ASSIGNED)
    cancelled = make_order(rt, people, world)
    calls: list[str] = []
    monkeypatch.setattr(rt.wechat, "check_text", lambda content, **_kw: calls.append(content))
    for action in ("accept", "start"):
        response = client.post(f"/api/v1/orders/{order_id}/{action}", json={}, headers=people.volunteer.headers)
        assert response.status_code == 200
    # An empty optional text is no text either.
    response = client.post(f"/api/v1/orders/{cancelled}/cancel", json={"reason": " "}, headers=people.resident.headers)
    assert response.status_code == 200
    assert calls == []


def test_who_may_not_act_hears_so_and_wechat_is_not_asked(
    client: FlaskClient, rt: Runtime, world: World, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Visibility, role and status are answered first (404, 403, 409), as without a text: nobody
    learns anything from a 422, and nobody spends the content-security quota for nothing."""
    order_id = make_order(rt, people, world)
    calls: list[str] = []
    original = rt.wechat.check_text

    def counted(content: str, **kw: Any) -> Verdict:
        calls.append(content)
        return original(content, **kw)

    monkeypatch.setattr(rt.wechat, "check_text", counted)
    body = {"reason": RISKY}
    stranger = client.post(f"/api/v1/orders/{order_id}/reject", json=body, headers=people.other_volunteer.headers)
    assert (stranger.status_code, stranger.get_json()["error"]["code"]) == (404, "not_found")
    resident = client.post(f"/api/v1/orders/{order_id}/reject", json=body, headers=people.resident.headers)
    assert (resident.status_code, resident.get_json()["error"]["code"]) == (403, "forbidden")
    release = client.post(f"/api/v1/orders/{order_id}/release", json=body, headers=people.secretary.headers)
    assert release.status_code == 403
    dispute = client.post(f"/api/v1/orders/{order_id}/dispute", json=body, headers=people.resident.headers)
    assert (dispute.status_code, dispute.get_json()["error"]["code"]) == (409, "invalid_transition")
    assert calls == []
    risky = client.post(f"/api/v1/orders/{order_id}/reject", json=body, headers=people.secretary.headers)
    assert risky.status_code == 422
    assert calls == [RISKY]


def test_the_check_holds_no_write_lock(
    client: FlaskClient, rt: Runtime, world: World, people: People, simulator: SimulatorServer
) -> None:
    """While WeChat thinks (a slow answer), another writer gets the database at once."""
    if not rt.db.is_sqlite:
        pytest.skip("the write lock is SQLite's")
    order_id = make_order(rt, people, world)
    simulator.state.inject_fault("/wxa/msg_sec_check", delay_seconds=1.2)
    answers: list[int] = []
    acting = threading.Thread(
        target=lambda: answers.append(
            client.post(
                f"/api/v1/orders/{order_id}/reject", json={"reason": "重复提交"}, headers=people.secretary.headers
            ).status_code
        )
    )
    acting.start()
    time.sleep(0.5)  # the action is waiting for WeChat now
    path = rt.settings.database_url.removeprefix("sqlite:///")
    probe = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")  # "database is locked" if the action held the write lock
        probe.execute("ROLLBACK")
    finally:
        probe.close()
    acting.join()
    assert answers == [200]


# -- return visits ---------------------------------------------------------------------------------


def test_a_risky_return_visit_note_is_refused(client: FlaskClient, rt: Runtime, world: World, people: People) -> None:
    make_order(rt, people, world, status=S.CLOSED, score=1)
    with rt.db.read() as session:
        visit_id = session.scalar(sa.select(ReturnVisit.id))
    before = snapshot(rt)
    response = client.post(
        f"/api/v1/return-visits/{visit_id}", json={"note": RISKY, "points": "pay"}, headers=people.secretary.headers
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "content_rejected")
    assert response.get_json()["error"]["details"]["fields"] == ["note"]
    assert snapshot(rt) == before
    done = client.post(
        f"/api/v1/return-visits/{visit_id}", json={"note": "已回访", "points": "pay"}, headers=people.secretary.headers
    )
    assert done.status_code == 200
    assert done.get_json()["done"] is True


# -- naming the field to fix -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"title": RISKY}, ["title"]),
        ({"description": RISKY}, ["description"]),
        ({"title": RISKY + "了", "description": RISKY}, ["title", "description"]),
    ],
)
def test_a_new_orders_risky_field_is_named(
    client: FlaskClient, rt: Runtime, world: World, people: People, fields: dict[str, str], named: list[str]
) -> None:
    body = {"community": world.community, "category": "grocery", "title": "帮忙买菜", **fields}
    before = snapshot(rt)
    response = client.post("/api/v1/orders", json=body, headers=people.resident.headers)
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "content_rejected")
    assert response.get_json()["error"]["details"]["fields"] == named
    assert snapshot(rt) == before
