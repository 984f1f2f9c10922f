"""Moving work that is stuck: reassign (转单, staff) and release (退单, the holder).

Bad paths first: each refusal answers its error and leaves the order exactly as it was (status,
version, holder, audit trail). Then the moves themselves, who hears about them, and that points
and acceptance follow the new holder.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import People, Person, World, make_order, make_people, make_person, make_world


def _snapshot(rt: Runtime, order_id: int) -> tuple[Any, ...]:
    with rt.db.read() as session:
        order = session.get(Order, order_id)
        assert order is not None
        events = session.scalar(sa.select(sa.func.count()).where(OrderEvent.order_id == order_id))
        return (order.status, order.version, order.assignee_id, order.team_id, order.accepted_at, events)


def _post(client: FlaskClient, who: Person, order_id: int, action: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/orders/{order_id}/{action}", json=body, headers=who.headers)


def _inbox_texts(client: FlaskClient, who: Person) -> list[str]:
    page = client.get("/api/v1/notifications", headers=who.logged_in(client).headers).get_json()
    return [f"{item['title']} {item['body']}" for item in page["items"]]


@pytest.fixture
def cast(rt: Runtime, client: FlaskClient) -> tuple[World, People]:
    world = make_world(rt)
    return world, make_people(rt, world, client=client)


def test_refusals_change_nothing(rt: Runtime, client: FlaskClient, cast: tuple[World, People]) -> None:
    world, people = cast
    order_id = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    before = _snapshot(rt, order_id)
    foreign = make_person(rt, "sec-sq2", (Role.SECRETARY, world.other_community), client=client)
    other_grid = make_person(rt, "grid-sq2", (Role.GRID_WORKER, world.other_grid), client=client)
    outsider_volunteer = make_person(rt, "vol-sq2", (Role.VOLUNTEER, world.other_community)).id
    to_other: dict[str, Any] = {"reason": "生病", "volunteer_id": people.other_volunteer.id}
    refusals: list[tuple[Person, str, dict[str, Any], int, str]] = [
        (foreign, "reassign", to_other, 404, "not_found"),
        (other_grid, "reassign", to_other, 404, "not_found"),
        (people.resident, "reassign", to_other, 403, "forbidden"),
        (people.volunteer, "reassign", to_other, 403, "forbidden"),
        (people.secretary, "reassign", {"volunteer_id": people.other_volunteer.id}, 400, "invalid_input"),
        (people.secretary, "reassign", {"reason": "生病"}, 400, "invalid_input"),
        (people.secretary, "reassign", {**to_other, "queue": True}, 400, "invalid_input"),
        (people.secretary, "reassign", {"reason": "生病", "volunteer_id": people.volunteer.id}, 400, "invalid_input"),
        (people.secretary, "reassign", {"reason": "生病", "volunteer_id": outsider_volunteer}, 400, "invalid_input"),
        (people.secretary, "reassign", {"reason": "生病", "team_id": 999}, 400, "invalid_input"),
        (people.other_volunteer, "release", {"reason": "出差"}, 404, "not_found"),  # not theirs to see
        (people.resident, "release", {"reason": "出差"}, 403, "forbidden"),
        (foreign, "release", {"reason": "出差"}, 404, "not_found"),
        (people.volunteer, "release", {}, 400, "invalid_input"),
        (people.volunteer, "release", {"reason": "  "}, 400, "invalid_input"),
    ]
    for who, action, body, status, code in refusals:
        response = _post(client, who, order_id, action, body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), (who.openid, body)
        assert _snapshot(rt, order_id) == before, (who.openid, action, body)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (OrderStatus.SUBMITTED, "reassign"),
        (OrderStatus.POOLED, "reassign"),
        (OrderStatus.COMPLETED, "reassign"),
        (OrderStatus.CLOSED, "reassign"),
        (OrderStatus.CANCELLED, "reassign"),
        (OrderStatus.ASSIGNED, "release"),  # not yet taken on: the assignee declines instead
        (OrderStatus.COMPLETED, "release"),
        (OrderStatus.CLOSED, "release"),
    ],
    ids=str,
)
def test_only_work_someone_holds_moves(
    rt: Runtime, client: FlaskClient, cast: tuple[World, People], status: OrderStatus, action: str
) -> None:
    world, people = cast
    order_id = make_order(rt, people, world, status=status)
    before = _snapshot(rt, order_id)
    who = people.secretary if action == "reassign" else people.volunteer
    body = {"reason": "生病", "volunteer_id": people.other_volunteer.id} if action == "reassign" else {"reason": "出差"}
    response = _post(client, who, order_id, action, body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "invalid_transition"), status
    assert _snapshot(rt, order_id) == before


def test_reassign_an_accepted_order_to_another_volunteer(
    rt: Runtime, client: FlaskClient, cast: tuple[World, People]
) -> None:
    world, people = cast
    order_id = make_order(rt, people, world, status=OrderStatus.IN_SERVICE)
    body = {"reason": "志愿者生病", "volunteer_id": people.other_volunteer.id}
    response = _post(client, people.secretary, order_id, "reassign", body)
    assert response.status_code == 200, response.get_json()
    order = response.get_json()["order"]
    assert order["status"] == "assigned"
    assert order["assignee"]["id"] == people.other_volunteer.id
    last = order["events"][-1]
    assert (last["action"], last["action_label"], last["from_status"], last["to_status"], last["note"]) == (
        "reassign",
        "改派",
        "in_service",
        "assigned",
        "志愿者生病",
    )
    with rt.db.read() as session:
        stored = session.get(Order, order_id)
        assert stored is not None
        assert (stored.accepted_at, stored.due_at) == (None, None)  # the new holder's clock starts at accept
        assert stored.dispatched_at is not None

    # The previous holder, the resident and the new holder hear of it.
    assert any("改派他人" in text and "志愿者生病" in text for text in _inbox_texts(client, people.volunteer))
    assert any("更换服务人员" in text for text in _inbox_texts(client, people.resident))
    assert any(order["number"] in text for text in _inbox_texts(client, people.other_volunteer))

    # The previous holder may no longer act on it; the new one carries it through and earns the points.
    # No longer theirs to see, so not theirs to act on: 404, as for any order of someone else's.
    assert _post(client, people.volunteer, order_id, "complete", {}).status_code == 404
    for action in ("accept", "start", "complete"):
        assert _post(client, people.other_volunteer, order_id, action, {}).status_code == 200, action
    assert _post(client, people.resident, order_id, "rate", {"score": 5}).status_code == 200
    balances = {
        who.openid: client.get("/api/v1/me", headers=who.headers).get_json()["points_balance"]
        for who in (people.volunteer, people.other_volunteer)
    }
    # The grocery category's 5 points for the one-hour floor, and the 5-star bonus.
    assert balances == {people.volunteer.openid: 0, people.other_volunteer.openid: 5 + 2}


def test_reassign_to_the_pool_or_back_to_the_queue(
    rt: Runtime, client: FlaskClient, cast: tuple[World, People]
) -> None:
    world, people = cast
    pooled = make_order(rt, people, world, status=OrderStatus.ASSIGNED)
    response = _post(client, people.grid_worker, pooled, "reassign", {"reason": "一直没人接", "pool": True})
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["order"]["status"], response.get_json()["order"]["assignee"]) == ("pooled", None)
    assert _post(client, people.other_volunteer, pooled, "claim", {}).status_code == 200

    queued = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    response = _post(client, people.secretary, queued, "reassign", {"reason": "重新安排", "queue": True})
    assert response.status_code == 200
    order = response.get_json()["order"]
    assert (order["status"], order["assignee"], order["team"]) == ("submitted", None, None)
    # Back in the queue, it can be dispatched again.
    dispatch = _post(client, people.secretary, queued, "dispatch", {"volunteer_id": people.other_volunteer.id})
    assert dispatch.status_code == 200


def test_release_gives_the_order_back_and_tells_the_secretary(
    rt: Runtime, client: FlaskClient, cast: tuple[World, People]
) -> None:
    world, people = cast
    order_id = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    response = _post(client, people.volunteer, order_id, "release", {"reason": "临时出差"})
    assert response.status_code == 200, response.get_json()
    order = response.get_json()["order"]
    assert (order["status"], order["assignee"]) == ("submitted", None)
    assert order["events"][-1]["action"] == "release"
    assert order["events"][-1]["note"] == "临时出差"
    assert any("退单" in text and "临时出差" in text for text in _inbox_texts(client, people.secretary))
    assert any("因故退单" in text for text in _inbox_texts(client, people.resident))
    # Once released it is no longer theirs: a second release is refused and changes nothing.
    before = _snapshot(rt, order_id)
    assert _post(client, people.volunteer, order_id, "release", {"reason": "再退"}).status_code == 404
    assert _snapshot(rt, order_id) == before


def test_cancelling_an_assigned_order_tells_the_volunteer_it_was_sent_to(
    rt: Runtime, client: FlaskClient, cast: tuple[World, People]
) -> None:
    # The message was addressed after the assignment was cleared, so nobody heard (fixed with
    # the holder recorded before the step).
    world, people = cast
    order_id = make_order(rt, people, world, status=OrderStatus.ASSIGNED)
    assert _post(client, people.resident, order_id, "cancel", {"reason": "不需要了"}).status_code == 200
    assert any("取消" in text for text in _inbox_texts(client, people.volunteer))
