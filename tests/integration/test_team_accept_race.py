"""An order dispatched to a team is accepted exactly once: two members tapping 「接单」 at the same
moment through a real multi-threaded server get one 200 and one 409 ``already_claimed``, never a
5xx, and the database holds the winner as the assignee, one accept event and one response time.
Runs on SQLite and, with LINLI_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from collections import Counter

import requests
import sqlalchemy as sa

from app.identity.grants import assign_role
from app.identity.roles import Role
from app.orders.models import Order, OrderEvent
from app.orders.workflow import Action
from app.runtime import Runtime
from app.volunteers.models import VolunteerStats
from tests.factories import make_world
from tests.integration.test_claim_race import REQUEST_TIMEOUT_SECONDS, _login, _my_id, _race, base_url

__all__ = ["base_url"]  # the fixture, used by name

ROUNDS = 5
MEMBERS = 2


def test_two_members_accepting_a_team_order_at_once_one_wins(rt: Runtime, base_url: str) -> None:
    world = make_world(rt)
    openids = [f"member{i}" for i in range(MEMBERS)]
    with rt.db.write() as db:
        for openid in openids:
            assign_role(db, openid, Role.VOLUNTEER, world.community)
        assign_role(db, "secretary-team", Role.SECRETARY, world.community)
    sessions: list[requests.Session] = []
    try:
        resident = _login(base_url, "resident-team")
        secretary = _login(base_url, "secretary-team")
        members = [_login(base_url, openid) for openid in openids]
        sessions += [resident, secretary, *members]
        household = {"community": world.community, "grid": world.grid, "building": "3", "unit": "2", "room": "301"}
        placed = resident.put(f"{base_url}/api/v1/me/household", json=household, timeout=REQUEST_TIMEOUT_SECONDS)
        assert placed.status_code == 200, placed.text
        ids = [_my_id(base_url, member) for member in members]
        team = secretary.post(
            f"{base_url}/api/v1/teams",
            json={"community": world.community, "name": "党员先锋队", "leader_id": ids[0]},
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        assert team.status_code == 201, team.text
        team_id = team.json()["team"]["id"]
        joined = secretary.post(
            f"{base_url}/api/v1/teams/{team_id}/members", json={"volunteer_id": ids[1]}, timeout=REQUEST_TIMEOUT_SECONDS
        )
        assert joined.status_code == 200, joined.text

        for round_ in range(ROUNDS):
            body = {"community": world.community, "category": "grocery", "title": f"帮忙买菜 {round_}"}
            order_id = resident.post(f"{base_url}/api/v1/orders", json=body, timeout=REQUEST_TIMEOUT_SECONDS).json()[
                "order"
            ]["id"]
            dispatched = secretary.post(
                f"{base_url}/api/v1/orders/{order_id}/dispatch",
                json={"team_id": team_id},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            assert dispatched.status_code == 200, dispatched.text

            outcomes = _race(base_url, members, order_id, action="accept")

            assert Counter(o.status for o in outcomes) == Counter({200: 1, 409: 1}), outcomes
            (lost,) = [o for o in outcomes if o.status == 409]
            assert lost.body["error"]["code"] == "already_claimed", lost.body
            winner = ids[next(i for i, o in enumerate(outcomes) if o.status == 200)]
            with rt.db.read() as db:
                stored = db.get(Order, order_id)
                assert stored is not None
                assert (stored.status.value, stored.assignee_id) == ("accepted", winner)
                accepts = db.scalars(
                    sa.select(OrderEvent.actor_id).where(
                        OrderEvent.order_id == order_id, OrderEvent.action == Action.ACCEPT
                    )
                ).all()
                assert accepts == [winner]
                counted = db.scalar(sa.select(sa.func.coalesce(sa.func.sum(VolunteerStats.accepted_count), 0)))
                assert counted == round_ + 1  # one response time per order, the winner's
    finally:
        for http in sessions:
            http.close()
