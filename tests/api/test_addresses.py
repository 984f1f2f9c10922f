"""Where an order is: a report (随手拍) is where the problem is, never filled from the reporter's
home; a service or a wish is at the resident's home only when no address was given at all."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.orders.models import Order
from app.runtime import Runtime
from tests.factories import HOME, People, Person, World, make_people, make_photo, make_world

EMPTY = {"grid": None, "building": "", "unit": "", "room": ""}


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, world: World, client: FlaskClient) -> People:
    """The usual cast; the resident lives at world.grid, building 3, unit 2, room 301."""
    return make_people(rt, world, client=client)


#: Where a report without a building is: the mini-program's coordinates.
SPOT = {"latitude": 39.909187, "longitude": 116.397451}


def _post(client: FlaskClient, world: World, people: People, kind: str, address: Any, **extra: Any) -> Any:
    body: dict[str, Any] = {"community": world.community, "category": "grocery", "kind": kind, "title": "楼道灯坏了"}
    if address is not ...:
        body["address"] = address
    poster: Person = people.grid_worker if "on_behalf_of" in extra else people.resident
    return client.post("/api/v1/orders", json={**body, **extra}, headers=poster.headers)


def _photo(rt: Runtime, who: Person) -> list[int]:
    """A report's photo, uploaded by whoever posts it."""
    return [make_photo(rt, who)]


def _address(response: Any, client: FlaskClient | None = None, people: People | None = None) -> dict[str, Any]:
    """The order's address as its owner sees it (in full). With ``client`` and ``people`` it is read
    again as the resident: staff who posted it may see the room masked."""
    assert response.status_code == 201, response.get_json()
    order = response.get_json()["order"]
    if client is not None and people is not None:
        order = client.get(f"/api/v1/orders/{order['id']}", headers=people.resident.headers).get_json()["order"]
    address: dict[str, Any] = order["address"]
    grid = address["grid"]
    return {**address, "grid": grid["code"] if grid else None}


def _home(world: World) -> dict[str, Any]:
    return {"grid": world.grid, **HOME}


# -- bad input first -------------------------------------------------------------------------------


def test_a_reports_grid_of_another_community_is_refused_and_nothing_filled_in(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    address = {"grid": world.other_grid, "building": "5"}
    response = _post(client, world, people, "report", address, photos=_photo(rt, people.resident))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"][0]["field"] == "address.grid"
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


# -- reports ---------------------------------------------------------------------------------------


def test_a_partial_report_address_is_not_completed_from_the_home(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    """The reporter lives in building 3, unit 2, room 301; what they saw is at building 5."""
    address = {"grid": world.grid, "building": "5"}
    response = _post(client, world, people, "report", address, photos=_photo(rt, people.resident))
    assert _address(response) == {"grid": world.grid, "building": "5", "unit": "", "room": ""}


def test_a_located_report_without_an_address_is_not_at_the_home(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    """Its coordinates say where it is; the address stays empty, never the reporter's home."""
    addresses: list[Any] = [..., {}]
    for address in addresses:
        response = _post(client, world, people, "report", address, photos=_photo(rt, people.resident), location=SPOT)
        assert _address(response) == EMPTY


def test_a_report_posted_for_a_resident_is_not_at_their_home(
    client: FlaskClient, rt: Runtime, world: World, people: People
) -> None:
    photos = _photo(rt, people.grid_worker)
    response = _post(client, world, people, "report", {"building": "7"}, on_behalf_of=people.resident.id, photos=photos)
    assert _address(response, client, people) == {**EMPTY, "building": "7"}


# -- services and wishes ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["service", "wish"])
def test_no_address_at_all_is_the_home(client: FlaskClient, world: World, people: People, kind: str) -> None:
    assert _address(_post(client, world, people, kind, ...)) == _home(world)
    # An empty address object gives nothing either.
    assert _address(_post(client, world, people, kind, {})) == _home(world)
    assert _address(_post(client, world, people, kind, {"grid": None})) == _home(world)


@pytest.mark.parametrize("kind", ["service", "wish"])
def test_a_given_address_is_taken_as_it_stands(client: FlaskClient, world: World, people: People, kind: str) -> None:
    """For a neighbour, say: the resident's own unit and room are not mixed in."""
    partial = _post(client, world, people, kind, {"building": "5", "room": "102"})
    assert _address(partial) == {**EMPTY, "building": "5", "room": "102"}
    full = {"grid": world.grid, "building": "9", "unit": "1", "room": "101"}
    assert _address(_post(client, world, people, kind, full)) == full


def test_a_service_posted_for_a_resident_without_an_address_is_at_their_home(
    client: FlaskClient, world: World, people: People
) -> None:
    response = _post(client, world, people, "service", ..., on_behalf_of=people.resident.id)
    assert _address(response, client, people) == _home(world)
