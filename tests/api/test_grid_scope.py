"""Grid workers act in their grid: one rule (``Actor.covers``) behind every endpoint.

A grid worker whose role is held for grid G1 of a community sees and acts on G1's orders and
households (and on those with no grid yet), not on another grid's, even in the same community:
not in the detail, the community list, ordering on a resident's behalf, verifying a household,
or the return visits. A community-wide grid worker and the secretary see all of it.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.models import Household
from app.identity.roles import Role
from app.orders.models import Order
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import Crew, People, Person, World, make_order, make_people, make_person, make_world

G2 = "SQ1-G2"


class Grids:
    def __init__(self, rt: Runtime, client: FlaskClient) -> None:
        self.world: World = make_world(rt)
        with rt.db.write() as session:
            create_area(session, AreaKind.GRID, G2, "和平二网格", self.world.community)
        self.people: People = make_people(rt, self.world, client=client)
        community = self.world.community
        self.g1_worker = make_person(rt, "grid-g1", (Role.GRID_WORKER, self.world.grid), client=client)
        self.g1_resident = make_person(rt, "res-g1", home=(community, self.world.grid), client=client)
        self.g2_resident = make_person(rt, "res-g2", home=(community, G2), client=client)
        crew = Crew(self.g2_resident.openid, self.people.secretary.openid, self.people.volunteer.openid)
        self.g2_order = make_order(rt, crew, self.world, status=OrderStatus.CLOSED, score=1)
        self.g1_order = make_order(rt, self.g1_resident, self.world)


@pytest.fixture
def grids(rt: Runtime, client: FlaskClient) -> Grids:
    return Grids(rt, client)


def _count_orders(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Order)) or 0)


def _ids(client: FlaskClient, who: Person, url: str) -> list[int]:
    response = client.get(url, headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_the_detail_and_the_community_list_hold_only_their_grid(client: FlaskClient, grids: Grids) -> None:
    worker = grids.g1_worker
    assert client.get(f"/api/v1/orders/{grids.g2_order}", headers=worker.headers).status_code == 404
    assert client.get(f"/api/v1/orders/{grids.g1_order}", headers=worker.headers).status_code == 200
    assert _ids(client, worker, "/api/v1/orders?scope=community") == [grids.g1_order]
    everyone = {grids.g1_order, grids.g2_order}
    assert set(_ids(client, grids.people.grid_worker, "/api/v1/orders?scope=community")) == everyone
    assert set(_ids(client, grids.people.secretary, "/api/v1/orders?scope=community")) == everyone


def test_ordering_on_behalf_only_for_residents_of_their_grid(rt: Runtime, client: FlaskClient, grids: Grids) -> None:
    body: dict[str, Any] = {
        "community": grids.world.community,
        "category": "grocery",
        "kind": "service",
        "title": "买药",
    }
    before = _count_orders(rt)
    other_grid = client.post(
        "/api/v1/orders", json={**body, "on_behalf_of": grids.g2_resident.id}, headers=grids.g1_worker.headers
    )
    assert (other_grid.status_code, other_grid.get_json()["error"]["code"]) == (400, "invalid_input")
    moved = client.post(
        "/api/v1/orders",
        json={**body, "on_behalf_of": grids.g1_resident.id, "address": {"grid": G2}},
        headers=grids.g1_worker.headers,
    )
    assert (moved.status_code, moved.get_json()["error"]["code"]) == (400, "invalid_input")
    assert _count_orders(rt) == before

    own = client.post(
        "/api/v1/orders", json={**body, "on_behalf_of": grids.g1_resident.id}, headers=grids.g1_worker.headers
    )
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["order"]["address"]["grid"]["code"] == grids.world.grid
    anyone = client.post(
        "/api/v1/orders", json={**body, "on_behalf_of": grids.g2_resident.id}, headers=grids.people.grid_worker.headers
    )
    assert anyone.status_code == 201, anyone.get_json()


def test_verifying_a_household_of_another_grid_is_not_found(rt: Runtime, client: FlaskClient, grids: Grids) -> None:
    def verified(person: Person) -> bool:
        with rt.db.read() as session:
            return bool(session.scalar(sa.select(Household.verified).where(Household.user_id == person.id)))

    refused = client.post(f"/api/v1/households/{grids.g2_resident.id}/verify", json={}, headers=grids.g1_worker.headers)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (404, "not_found")
    assert not verified(grids.g2_resident)
    ok = client.post(f"/api/v1/households/{grids.g1_resident.id}/verify", json={}, headers=grids.g1_worker.headers)
    assert ok.status_code == 200, ok.get_json()
    assert verified(grids.g1_resident)


def test_return_visits_of_another_grid_are_neither_listed_nor_recorded(client: FlaskClient, grids: Grids) -> None:
    listed = _ids(client, grids.people.secretary, "/api/v1/return-visits")
    assert len(listed) == 1  # the 1-star rating of the G2 order
    visit = listed[0]
    assert _ids(client, grids.g1_worker, "/api/v1/return-visits") == []
    refused = client.post(
        f"/api/v1/return-visits/{visit}", json={"note": "已电话回访"}, headers=grids.g1_worker.headers
    )
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (404, "not_found")
    assert _ids(client, grids.people.secretary, "/api/v1/return-visits") == [visit]  # still to do
    done = client.post(
        f"/api/v1/return-visits/{visit}",
        json={"note": "已电话回访", "points": "pay"},  # the 1-star rating held the points
        headers=grids.people.grid_worker.headers,
    )
    assert done.status_code == 200, done.get_json()
