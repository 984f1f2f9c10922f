"""The test factories themselves: the cast is who it says, and make_order reaches every status."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.identity.models import Household, User
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action, OrderStatus
from app.runtime import Runtime
from tests.factories import RESIDENT_PHONE, make_order, make_people, make_world


def test_make_people_makes_the_usual_cast(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    expected = {
        people.resident: {(Role.RESIDENT, world.community)},
        people.secretary: {(Role.SECRETARY, world.community)},
        people.grid_worker: {(Role.GRID_WORKER, world.community)},
        people.volunteer: {(Role.VOLUNTEER, world.community)},
        people.other_volunteer: {(Role.VOLUNTEER, world.community)},
        people.street_admin: {(Role.STREET_ADMIN, world.street)},
    }
    for person, roles in expected.items():
        actor = person.actor(rt)
        assert (actor.user_id, actor.openid) == (person.id, person.openid)
        assert {(m.role, m.area_code) for m in actor.memberships} == roles, person.openid
    with rt.db.read() as session:
        resident = session.get(User, people.resident.id)
        household = session.scalar(sa.select(Household).where(Household.user_id == people.resident.id))
        assert resident is not None
        assert household is not None
        assert resident.phone == RESIDENT_PHONE
        assert (household.building, household.unit, household.room) == ("3", "2", "301")
    with pytest.raises(AssertionError, match="not logged in"):
        _ = people.resident.headers


@pytest.mark.parametrize("via_pool", [False, True], ids=["dispatched", "pooled"])
@pytest.mark.parametrize("status", list(OrderStatus), ids=lambda s: s.value)
def test_make_order_reaches_every_status(rt: Runtime, status: OrderStatus, via_pool: bool) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    oid = make_order(rt, people, world, status=status, via_pool=via_pool, title="修灯")
    with rt.db.read() as session:
        order = session.get(Order, oid)
        assert order is not None
        actions = list(session.scalars(sa.select(OrderEvent.action).where(OrderEvent.order_id == oid)))
        assert (order.status, order.title, order.resident_id) == (status, "修灯", people.resident.id)
        if status in {OrderStatus.ACCEPTED, OrderStatus.IN_SERVICE, OrderStatus.COMPLETED, OrderStatus.CLOSED}:
            assert order.assignee_id == people.volunteer.id
            assert actions[1:3] == ([Action.PUBLISH, Action.CLAIM] if via_pool else [Action.DISPATCH, Action.ACCEPT])
    assert actions[0] is Action.SUBMIT


def test_make_order_for_one_person_only_submits(rt: Runtime) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    actor = people.resident.actor(rt)
    assert make_order(rt, actor, world) != make_order(rt, people.resident, world)
    with pytest.raises(TypeError, match="needs People or a Crew"):
        make_order(rt, actor, world, status=OrderStatus.ASSIGNED)
