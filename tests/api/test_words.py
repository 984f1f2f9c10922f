"""Words a person reads: no raw codes (skills, levels) in what people read, the department named
once in a referral, a holder who claims again told it is theirs, and the return visit carrying
what the resident wrote."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.notify.models import Notification
from app.orders.workflow import OrderStatus
from app.property.companies import create_property_company
from app.runtime import Runtime
from tests.factories import People, World, make_order, make_people, make_person, make_world


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    return make_people(rt, world, client=client)


def _post(client: FlaskClient, order_id: int, action: str, headers: dict[str, str], body: Any = None) -> Any:
    return client.post(f"/api/v1/orders/{order_id}/{action}", json=body or {}, headers=headers)


def _ok(client: FlaskClient, order_id: int, action: str, headers: dict[str, str], body: Any = None) -> Any:
    response = _post(client, order_id, action, headers, body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["order"]


def _bodies(rt: Runtime, order_id: int, template_key: str) -> list[str]:
    with rt.db.read() as session:
        return list(
            session.scalars(
                sa.select(Notification.body).where(
                    Notification.order_id == order_id, Notification.template_key == template_key
                )
            )
        )


# -- claiming what you hold ----------------------------------------------------------------------


def test_a_claim_by_the_holder_says_it_is_theirs(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world, status=OrderStatus.POOLED)
    _ok(client, order_id, "claim", people.volunteer.headers)
    again = _post(client, order_id, "claim", people.volunteer.headers)
    # The code stays the one a lost race has (the order is taken either way); the words and
    # details say it is the caller's.
    assert again.status_code == 409
    assert again.get_json()["error"] == {
        "code": "already_claimed",
        "message": "该工单已由您接下，无需重复接单",
        "details": {"yours": True},
    }
    late = _post(client, order_id, "claim", people.other_volunteer.headers).get_json()["error"]
    assert (late["code"], late["message"], late["details"]) == (
        "already_claimed",
        "手慢了，该任务已被其他志愿者认领",
        {},
    )


def test_a_property_staff_member_holding_an_order_hears_it_is_theirs(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    """Not "only volunteers may claim" (403) to someone who holds it."""
    with rt.db.write() as session:
        company = create_property_company(
            session, "阳光物业", communities=[world.community], staff_openids=["pm-sun"]
        ).id
    staff = make_person(rt, "pm-sun", client=client)
    order_id = make_order(rt, people, world)
    _ok(client, order_id, "dispatch", people.secretary.headers, {"property_company_id": company})
    _ok(client, order_id, "accept", staff.headers)
    again = _post(client, order_id, "claim", staff.headers)
    assert (again.status_code, again.get_json()["error"]["details"]) == (409, {"yours": True})


# -- levels, skills, departments in words --------------------------------------------------------


def test_the_audit_trail_says_the_level_in_words(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    for level, words in (("major", "大事"), ("minor", "小事"), ("routine", "一般事")):
        order = _ok(client, order_id, "triage", people.secretary.headers, {"level": level})
        event = order["events"][-1]
        assert (event["action"], event["action_label"], event["note"]) == ("triage", "分流", f"三事分流：{words}")
    # The grid worker told of the 小事 reads the words too, never the code.
    (notice,) = [body for body in _bodies(rt, order_id, "reminder") if "小事" in body]
    assert "minor" not in notice


def test_a_referral_names_its_department_once(client: FlaskClient, rt: Runtime, world: World, people: People) -> None:
    order_id = make_order(rt, people, world)
    body = {"department": "城管中队", "note": "楼道堆物需要清理", "due_hours": 24}
    order = _ok(client, order_id, "escalate", people.secretary.headers, body)
    assert order["events"][-1]["note"] == "城管中队：楼道堆物需要清理"
    (told,) = _bodies(rt, order_id, "order_escalated")
    assert told.count("城管中队") == 1, told
    assert told == f"和平社区上报工单 {order['number']}「帮忙买菜」（城管中队：楼道堆物需要清理），请报到处理。"
    # Without a note, the department alone.
    bare = make_order(rt, people, world)
    order = _ok(client, bare, "escalate", people.secretary.headers, {"department": "城管中队", "due_hours": 24})
    assert _bodies(rt, bare, "order_escalated") == [
        f"和平社区上报工单 {order['number']}「帮忙买菜」（城管中队），请报到处理。"
    ]


# -- return visits carry the resident's words ----------------------------------------------------


def test_a_low_rating_puts_its_comment_on_the_return_visit(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    rated = make_order(rt, people, world, status=OrderStatus.COMPLETED)
    _ok(client, rated, "rate", people.resident.headers, {"score": 2, "comment": "来得太晚，菜也不新鲜"})
    disputed = make_order(rt, people, world, status=OrderStatus.COMPLETED)
    _ok(client, disputed, "dispute", people.resident.headers, {"reason": "菜没送到"})
    fine = make_order(rt, people, world, status=OrderStatus.COMPLETED)
    _ok(client, fine, "rate", people.resident.headers, {"score": 5, "comment": "很好"})

    visits = client.get("/api/v1/return-visits", headers=people.secretary.headers).get_json()["items"]
    shown = [(v["order_id"], v["reason"], v["reason_label"], v["score"], v["comment"], v["note"]) for v in visits]
    assert shown == [
        (disputed, "dispute", "申诉回访", None, "菜没送到", ""),
        (rated, "low_rating", "差评回访", 2, "来得太晚，菜也不新鲜", ""),
    ]
    # Recording the call keeps what the resident wrote beside what they said.
    recorded = client.post(
        f"/api/v1/return-visits/{visits[1]['id']}",
        json={"note": "已致歉", "points": "pay"},
        headers=people.secretary.headers,
    ).get_json()
    assert (recorded["comment"], recorded["note"], recorded["score"]) == ("来得太晚，菜也不新鲜", "已致歉", 2)
