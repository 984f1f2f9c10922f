"""The volunteer's pool, best matches first: their skill, then their own grid, then a preferred
time that falls in one of their weekly slots (Asia/Shanghai), then whoever has waited longest."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Unpack

from flask.testing import FlaskClient

from app.account.profile import set_household
from app.areas.catalogue import create_category
from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.volunteers.shapes import SlotOut
from tests.api.test_candidates import _profile
from tests.factories import Crew, OrderFields, actor_of, make_order, make_person, make_world


def _next(weekday: int, hour: int, minute: int = 0) -> datetime:
    """The coming ``weekday`` (1 = Monday) at hour:minute Shanghai time, at least a day ahead."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=1)
    day += timedelta(days=(weekday - 1 - day.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def test_the_pool_ranks_skill_grid_then_a_time_in_the_volunteers_slots(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    with rt.db.write() as session:
        create_category(session, world.community, "repair", "家电维修", points=10, sla_hours=48, skill="electrician")
    make_person(rt, "sec", (Role.SECRETARY, world.community))
    make_person(rt, "res", home=(world.community, None))  # orders in no grid unless told
    volunteer = make_person(rt, "vol", (Role.VOLUNTEER, world.community))
    actor = actor_of(rt, "vol")
    set_household(rt, actor, community=world.community, grid=world.grid, building="1", unit="1", room="101")
    _profile(rt, "vol", skills=["electrician"], slots=[(3, "09:00", "12:00"), (7, "23:00", "24:00")])

    crew = Crew("res", "sec", "vol")

    def pooled(**fields: Unpack[OrderFields]) -> int:
        return make_order(rt, crew, world, status=OrderStatus.POOLED, **fields)

    plain = pooled()
    # Wednesday 13:00–14:00: after the volunteer's morning slot.
    missed = pooled(preferred_start=_next(3, 13), preferred_end=_next(3, 14))
    # Wednesday 8:30–9:30 overlaps 9:00–12:00.
    overlapping = pooled(preferred_start=_next(3, 8, 30), preferred_end=_next(3, 9, 30))
    # Sunday 23:30 with no end: the hour after it, cut at midnight, in the slot 23:00–24:00.
    late_sunday = pooled(preferred_start=_next(7, 23, 30))
    same_grid = pooled(grid=world.grid)
    skilled = pooled(category="repair")

    response = client.get("/api/v1/tasks/pool", headers=volunteer.logged_in(client).headers)

    assert response.status_code == 200, response.get_json()
    assert [item["id"] for item in response.get_json()["items"]] == [
        skilled,
        same_grid,
        overlapping,
        late_sunday,
        plain,
        missed,
    ]
    registry = client.get("/api/v1/me/volunteer", headers=volunteer.logged_in(client).headers).get_json()
    assert [SlotOut(**slot) for slot in registry["availability"]] == [
        SlotOut(weekday=3, start="09:00", end="12:00"),
        SlotOut(weekday=7, start="23:00", end="24:00"),
    ]
