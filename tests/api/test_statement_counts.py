"""What the main list and detail endpoints cost in SQL statements.

Presentation loads related rows in batches: listing N orders costs the same number of statements
whatever N is and whatever the orders were dispatched to (volunteer, team, property company). The
counts include authentication; they are measured on the engine, so every statement counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.actor import Actor, load_actor
from app.identity.grants import assign_role
from app.identity.households import place_household
from app.identity.models import User
from app.identity.roles import Role
from app.orders.actions import ActionInput, Target, act
from app.orders.submit import NewOrder, submit_order
from app.orders.workflow import Action, OrderKind
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.volunteers.teams import create_team
from tests.factories import World, login, make_world


@contextmanager
def counting(rt: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(rt.db.engine, "before_cursor_execute", record)


def _actor(rt: Runtime, openid: str) -> Actor:
    with rt.db.read() as session:
        user = session.scalar(sa.select(User).where(User.openid == openid))
        assert user is not None
        return load_actor(session, user)


def _setup(rt: Runtime) -> tuple[World, int, int, int]:
    world = make_world(rt)
    with rt.db.write() as session:
        assign_role(session, "res", Role.RESIDENT, world.community, nickname="王阿姨")
        place_household(
            session,
            _user_id(session, "res"),
            community=world.community,
            grid=world.grid,
            building="3",
            unit="2",
            room="301",
        )
        assign_role(session, "sec", Role.SECRETARY, world.community, nickname="书记")
        volunteer = assign_role(session, "vol", Role.VOLUNTEER, world.community, nickname="小李")
        team = create_team(session, world.community, "党员先锋队", ["vol"])
        company = create_property_company(session, world.community, "阳光物业", ["pm"])
        return world, volunteer.id, team.id, company.id


def _user_id(session: sa.orm.Session, openid: str) -> int:
    user_id = session.scalar(sa.select(User.id).where(User.openid == openid))
    assert user_id is not None
    return user_id


def _orders(rt: Runtime, world: World, targets: list[Target]) -> list[int]:
    resident, secretary = _actor(rt, "res"), _actor(rt, "sec")
    ids = []
    for target in targets:
        new = NewOrder(
            community=world.community, category="grocery", kind=OrderKind.SERVICE, title="买菜", description=""
        )
        order_id = submit_order(rt, resident, new).id
        act(rt, secretary, order_id, Action.DISPATCH, ActionInput(target=target))
        ids.append(order_id)
    return ids


def _list_cost(rt: Runtime, client: FlaskClient, headers: dict[str, str], expected: int) -> int:
    with counting(rt) as statements:
        response = client.get("/api/v1/orders?scope=community&limit=100", headers=headers)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == expected
    return len(statements)


def test_listing_costs_the_same_for_3_and_12_orders_whatever_they_went_to(rt: Runtime, client: FlaskClient) -> None:
    world, volunteer_id, team_id, company_id = _setup(rt)
    mixed = [Target(volunteer_id=volunteer_id), Target(team_id=team_id), Target(property_company_id=company_id)]
    _orders(rt, world, mixed)
    sec = login(client, "sec")
    vol = login(client, "vol")
    few = _list_cost(rt, client, sec, 3)
    _orders(rt, world, [Target(team_id=team_id)] * 6 + [Target(property_company_id=company_id)] * 3)
    many = _list_cost(rt, client, sec, 12)
    assert many == few
    # The team's volunteer listing what they hold runs the same presentation: no dearer.
    with counting(rt) as statements:
        assert client.get("/api/v1/orders?scope=assigned", headers=vol).status_code == 200
    assert len(statements) <= few


def test_detail_costs_a_fixed_number_of_statements(rt: Runtime, client: FlaskClient) -> None:
    world, _volunteer_id, team_id, _company_id = _setup(rt)
    (order_id,) = _orders(rt, world, [Target(team_id=team_id)])
    sec, vol = login(client, "sec"), login(client, "vol")
    counts = []
    for headers in (sec, vol):
        with counting(rt) as statements:
            response = client.get(f"/api/v1/orders/{order_id}", headers=headers)
        assert response.status_code == 200
        counts.append(len(statements))
    # Auth (token → user → roles), the order, its team membership check, then one batch query per
    # related table (areas, category, team, attachments, ratings, events, users) and the
    # transaction's own statements: 16 on SQLite and 14 on PostgreSQL when this was written.
    assert max(counts) <= 16
