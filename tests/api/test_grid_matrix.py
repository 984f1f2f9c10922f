"""The grid rule as a generated matrix: every documented endpoint that takes an order id × orders
of another grid of the same community in every state → 404 to a grid worker of grid G1, exactly
the answer for an order that does not exist, and nothing written. The same endpoints on G1's own
orders never answer 404 to them, and a community-wide grid worker sees G2's: the matrix does not
pass because nobody can see anything.

The endpoints come from the registry (``OPERATIONS``) and their bodies from the tenancy matrix, so a
new order endpoint is in both matrices as soon as it has a body there.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.roles import Role
from app.orders.workflow import OrderKind
from app.orders.workflow import OrderStatus as S
from app.runtime import Runtime
from miniprogram_api.registry import Operation
from tests.api.test_tenancy import BODY_TEMPLATES, ORDER_OPERATIONS, Ids, _changes, _key, _snapshot
from tests.factories import Crew, Person, World, make_order, make_people, make_person, make_world

G2 = "SQ1-G2"
STATES = (S.SUBMITTED, S.POOLED, S.ASSIGNED, S.ACCEPTED, S.IN_SERVICE, S.COMPLETED, S.CLOSED)


@dataclass
class Grids:
    g1_worker: Person
    community_worker: Person
    ids: Ids
    #: state → order id, in G2 (not the G1 worker's) and in G1 (theirs)
    g2: dict[str, int]
    g1: dict[str, int]


def _orders(rt: Runtime, crew: Crew, world: World, grid: str) -> dict[str, int]:
    orders = {state.value: make_order(rt, crew, world, status=state, score=1, comment="很差") for state in STATES}
    # A report's address is only what the reporter gives (never their home): name the grid.
    orders["escalated"] = make_order(rt, crew, world, status=S.ESCALATED, kind=OrderKind.REPORT, grid=grid)
    return orders


def _grids(rt: Runtime, client: FlaskClient) -> Grids:
    world = make_world(rt)
    with rt.db.write() as session:
        create_area(session, AreaKind.GRID, G2, "和平二网格", world.community)
    people = make_people(rt, world, client=client)
    community = world.community
    g1_resident = make_person(rt, "res-g1", home=(community, world.grid), phone="13700001111")
    g2_resident = make_person(rt, "res-g2", home=(community, G2), phone="13700002222")
    secretary, volunteer = people.secretary.openid, people.volunteer.openid
    return Grids(
        g1_worker=make_person(rt, "grid-g1", (Role.GRID_WORKER, world.grid), client=client),
        community_worker=people.grid_worker,
        ids=Ids(people.volunteer.id, people.other_volunteer.id),
        g2=_orders(rt, Crew(g2_resident.openid, secretary, volunteer), world, G2),
        g1=_orders(rt, Crew(g1_resident.openid, secretary, volunteer), world, world.grid),
    )


def _call(client: FlaskClient, method: str, path: str, who: Person, body: object) -> tuple[int, object]:
    if method == "GET":
        response = client.get(path, headers=who.headers)
    else:
        response = client.open(path, method=method, json=body, headers=who.headers)
    return response.status_code, response.get_json()


@pytest.mark.parametrize("operation", ORDER_OPERATIONS, ids=_key)
def test_a_grid_worker_gets_404_on_another_grids_orders(operation: Operation, client: FlaskClient, rt: Runtime) -> None:
    key = _key(operation)
    g = _grids(rt, client)
    method = operation.method.upper()
    bodies = BODY_TEMPLATES[key](g.ids)
    nonexistent = max(*g.g1.values(), *g.g2.values()) + 1000
    baseline = _snapshot(rt)
    problems = []
    for body in bodies:
        absent = _call(client, method, operation.path.format(order_id=nonexistent), g.g1_worker, body)
        assert absent[0] == 404, (key, absent)
        for state, oid in g.g2.items():
            answer = _call(client, method, operation.path.format(order_id=oid), g.g1_worker, body)
            if answer != absent:
                problems.append(f"{key} on G2's {state} order, body {body}: {answer} (a missing order: {absent})")
    if changed := _changes(baseline, _snapshot(rt)):
        problems.append(f"{key}: wrote {changed}")
    assert not problems, "\n".join(problems)

    # Not trivially: on the worker's own grid no state of any order answers "not found".
    for body in bodies:
        for state, oid in g.g1.items():
            status, own = _call(client, method, operation.path.format(order_id=oid), g.g1_worker, body)
            assert status != 404, (key, state, body, own)


def test_a_community_wide_grid_worker_sees_every_grid(client: FlaskClient, rt: Runtime) -> None:
    g = _grids(rt, client)
    for state, oid in g.g2.items():
        status, answer = _call(client, "GET", f"/api/v1/orders/{oid}", g.community_worker, None)
        assert status == 200, (state, answer)


def test_every_order_endpoint_is_in_the_grid_matrix() -> None:
    """The matrix is generated from the registry: nothing can be left out by forgetting it here."""
    assert {_key(op) for op in ORDER_OPERATIONS} <= BODY_TEMPLATES.keys()
    assert len(ORDER_OPERATIONS) >= 19
