"""三事分流 that means something: ``?level=`` narrows every list, the answer shows the lane each
level suggests (``[orders.lanes]``), and triaging tells the lane's people; nothing is dispatched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.core.config import LanesSection, Settings
from app.identity.roles import Role
from app.notify.models import Channel, Notification, OutboxMessage
from app.orders.models import Order, OrderEvent
from app.orders.workflow import OrderStatus
from app.runtime import Runtime, build_runtime
from miniprogram_api import create_app
from tests.factories import People, World, grant, make_order, make_people, make_person, make_world

MAJOR_LANE = {"level": "major", "level_label": "大事", "suggested": "escalate", "label": "建议上报街道（吹哨报到）"}


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    return make_people(rt, world, client=client)


def _triage(client: FlaskClient, order_id: int, headers: dict[str, str], level: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/orders/{order_id}/triage", json={"level": level}, headers=headers)
    assert response.status_code == 200, response.get_json()
    order: dict[str, Any] = response.get_json()["order"]
    return order


def _told(rt: Runtime, order_id: int) -> list[tuple[int, str]]:
    """(user id, body) of every inbox entry about the order other than its submission's."""
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(Notification.user_id, Notification.body)
            .where(Notification.order_id == order_id, Notification.template_key != "order_submitted")
            .order_by(Notification.user_id)
        ).all()
    return [(user_id, body) for user_id, body in rows]


def _ids(rt: Runtime, client: FlaskClient, url: str, headers: dict[str, str]) -> list[int]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


# -- bad input first -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["huge", "MAJOR", "", "大事"])
def test_an_unknown_level_filter_is_a_400_naming_level(client: FlaskClient, people: People, value: str) -> None:
    response = client.get(f"/api/v1/orders?scope=mine&level={value}", headers=people.resident.headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert [field["field"] for field in error["details"]["fields"]] == ["level"]


def test_an_unknown_lane_in_the_configuration_is_named() -> None:
    from app.core.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=r"orders\.lanes\.minor"):
        load_settings(environ={"LINLI_ORDERS__LANES__MINOR": "street"})


def test_routine_suggests_volunteers_and_tells_nobody(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    order = _triage(client, order_id, people.secretary.headers, "routine")
    assert order["lane"] == {
        "level": "routine",
        "level_label": "一般事",
        "suggested": "volunteers",
        "label": "建议派给志愿者或发布到任务池",
    }
    assert (order["status"], order["assignee"], order["team"], order["property_company"]) == (
        "submitted",
        None,
        None,
        None,
    )
    assert _told(rt, order_id) == []


# -- major: the street hears of it, escalation is offered ---------------------------------------


def test_major_tells_the_street_admins_and_offers_escalation(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    order = _triage(client, order_id, people.secretary.headers, "major")
    assert order["level"] == "major"
    assert order["lane"] == MAJOR_LANE
    # Nothing was dispatched or escalated: the secretary still decides.
    assert (order["status"], order["assignee"], order["escalation"]) == ("submitted", None, None)
    # The street admin hears (not the secretary who triaged, nor the grid worker or volunteers),
    # in words, through the staff channel (Official Account template message).
    assert _told(rt, order_id) == [
        (people.street_admin.id, f"工单 {order['number']}「帮忙买菜」：分流为大事：建议上报街道（吹哨报到）")
    ]
    with rt.db.read() as session:
        channels = session.scalars(sa.select(OutboxMessage.channel).where(OutboxMessage.order_id == order_id))
        assert set(channels) == {Channel.TEMPLATE}
    # The detail says the same, and the escalation it suggests is there to take.
    detail = client.get(f"/api/v1/orders/{order_id}", headers=people.secretary.headers).get_json()["order"]
    assert detail["lane"] == MAJOR_LANE
    escalate = {"department": "城管中队", "due_hours": 24}
    response = client.post(f"/api/v1/orders/{order_id}/escalate", json=escalate, headers=people.secretary.headers)
    assert response.status_code == 200, response.get_json()


def test_major_by_a_grid_worker_tells_the_secretaries_too(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    _triage(client, order_id, people.grid_worker.headers, "major")
    # Only a secretary may escalate: they hear of it, with the street; the grid worker does not.
    assert [user_id for user_id, _ in _told(rt, order_id)] == sorted([people.secretary.id, people.street_admin.id])


# -- minor: the grid's workers ---------------------------------------------------------------------


def test_minor_tells_the_grid_workers_of_the_orders_grid(client: FlaskClient, rt: Runtime, world: World) -> None:
    people = make_people(rt, world, client=client)
    on_grid = make_person(rt, "gridworker-qian", (Role.GRID_WORKER, world.grid))
    elsewhere = make_person(rt, "gridworker-other", (Role.GRID_WORKER, world.other_grid))
    order_id = make_order(rt, people, world)  # at the resident's home, in world.grid
    order = _triage(client, order_id, people.secretary.headers, "minor")
    assert order["lane"]["suggested"] == "grid_worker"
    assert order["lane"]["label"] == "建议网格员就近处理"
    # The grid's own worker; not the community-wide one (who covers it too, but the grid has its
    # own), nor another community's.
    assert [user_id for user_id, _ in _told(rt, order_id)] == [on_grid.id]
    assert elsewhere.id != on_grid.id


def test_minor_without_a_grid_worker_on_the_grid_tells_the_community_wide_ones(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    order = _triage(client, order_id, people.secretary.headers, "minor")
    told = _told(rt, order_id)
    assert told == [(people.grid_worker.id, f"工单 {order['number']}「帮忙买菜」：分流为小事：建议网格员就近处理")]


def test_a_grid_worker_triaging_minor_is_not_told_of_their_own_step(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    order_id = make_order(rt, people, world)
    _triage(client, order_id, people.grid_worker.headers, "minor")
    assert _told(rt, order_id) == []


# -- the lanes come from the configuration -------------------------------------------------------


@pytest.fixture
def property_lanes(settings: Settings, rt: Runtime) -> Iterator[FlaskClient]:
    """An API whose 小事 go to the property company. ``rt`` is asked for so that its tables are
    emptied after the test, as for every other."""
    del rt
    changed = settings.model_copy(
        update={"orders": settings.orders.model_copy(update={"lanes": LanesSection(minor="property_company")})}
    )
    runtime = build_runtime(changed)
    app = create_app(runtime=runtime)
    app.testing = True
    yield app.test_client()
    runtime.db.dispose()


def test_a_configured_lane_is_suggested_and_tells_nobody(
    property_lanes: FlaskClient, rt: Runtime, world: World
) -> None:
    people = make_people(rt, world, client=property_lanes)
    order_id = make_order(rt, people, world)
    order = _triage(property_lanes, order_id, people.secretary.headers, "minor")
    assert order["lane"] == {
        "level": "minor",
        "level_label": "小事",
        "suggested": "property_company",
        "label": "建议派给物业企业处理",
    }
    assert _told(rt, order_id) == []
    assert order["property_company"] is None  # suggested, not dispatched


# -- the filter ------------------------------------------------------------------------------------


def test_level_narrows_every_scope(client: FlaskClient, rt: Runtime, world: World, people: People) -> None:
    major, minor, untriaged = (make_order(rt, people, world) for _ in range(3))
    _triage(client, major, people.secretary.headers, "major")
    _triage(client, minor, people.secretary.headers, "minor")
    held = make_order(rt, people, world)
    _triage(client, held, people.secretary.headers, "major")
    for action, body in (("dispatch", {"volunteer_id": people.volunteer.id}), ("accept", {})):
        who = people.secretary if action == "dispatch" else people.volunteer
        assert client.post(f"/api/v1/orders/{held}/{action}", json=body, headers=who.headers).status_code == 200

    sec = people.secretary.headers
    assert _ids(rt, client, "/api/v1/orders?scope=community&level=major", sec) == [held, major]
    assert _ids(rt, client, "/api/v1/orders?scope=community&level=minor", sec) == [minor]
    assert _ids(rt, client, "/api/v1/orders?scope=community&level=routine", sec) == []
    assert _ids(rt, client, "/api/v1/orders?scope=community&level=major&status=submitted", sec) == [major]
    assert untriaged in _ids(rt, client, "/api/v1/orders?scope=community", sec)
    assert _ids(rt, client, "/api/v1/orders?scope=mine&level=minor", people.resident.headers) == [minor]
    assert _ids(rt, client, "/api/v1/orders?scope=assigned&level=major", people.volunteer.headers) == [held]
    assert _ids(rt, client, "/api/v1/orders?scope=assigned&level=minor", people.volunteer.headers) == []
    # A grid worker held on another grid sees none of these, filtered or not.
    grant(rt, "gridworker-far", Role.GRID_WORKER, world.other_grid)
    far = make_person(rt, "gridworker-far", client=client)
    assert _ids(rt, client, "/api/v1/orders?scope=community&level=major", far.headers) == []


def test_a_level_filter_walks_its_own_index(client: FlaskClient, rt: Runtime, world: World, people: People) -> None:
    """The community's list of one level, with no status, is answered from
    ix_orders_community_id_level_id, not by walking the community's other orders."""
    order_id = make_order(rt, people, world)
    _triage(client, order_id, people.secretary.headers, "major")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        assert _ids(rt, client, "/api/v1/orders?scope=community&level=major", people.secretary.headers) == [order_id]
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", record)
    if not rt.db.is_sqlite:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    listing = [(sql, params) for sql, params in seen if "FROM orders" in sql and "orders.level" in sql]
    assert len(listing) == 1, [sql for sql, _ in seen]
    sql, params = listing[0]
    with rt.db.engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "ix_orders_community_id_level_id" in plan, plan


def test_the_audit_trail_keeps_each_triage(client: FlaskClient, rt: Runtime, world: World, people: People) -> None:
    order_id = make_order(rt, people, world)
    _triage(client, order_id, people.secretary.headers, "routine")
    order = _triage(client, order_id, people.secretary.headers, "major")  # re-triaged: the lane follows
    assert order["lane"] == MAJOR_LANE
    with rt.db.read() as session:
        assert session.scalar(sa.select(Order.status).where(Order.id == order_id)) is OrderStatus.SUBMITTED
        triages = session.scalar(
            sa.select(sa.func.count()).where(OrderEvent.order_id == order_id, OrderEvent.action == "triage")
        )
    assert triages == 2
