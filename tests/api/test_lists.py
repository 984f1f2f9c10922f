"""Lists whose rows come from several indexed branches (what I posted or what is mine; several
communities of a street) page newest first without gaps or repeats."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.identity.roles import Role
from app.runtime import Runtime
from tests.factories import actor_of, make_order, make_person, make_world


def _pages(client: FlaskClient, url: str, headers: dict[str, str]) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_mine_merges_my_own_orders_and_those_i_posted_for_others(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    elder = make_person(rt, "elder", home=(world.community, world.grid))
    worker = make_person(rt, "worker", (Role.GRID_WORKER, world.community), home=(world.community, world.grid))
    made = []
    for n in range(5):  # alternating: for the elder (代下单), then the worker's own
        fields = {"on_behalf_of": elder.id} if n % 2 == 0 else {}
        made.append(make_order(rt, actor_of(rt, "worker"), world, **fields))  # type: ignore[arg-type]
    newest_first = sorted(made, reverse=True)
    headers = worker.logged_in(client).headers
    assert _pages(client, "/api/v1/orders?scope=mine&limit=2", headers) == [
        newest_first[0:2],
        newest_first[2:4],
        newest_first[4:5],
    ]
    elder_pages = _pages(client, "/api/v1/orders?scope=mine&limit=2", elder.logged_in(client).headers)
    assert [order_id for page in elder_pages for order_id in page] == [
        order_id for order_id in newest_first if made.index(order_id) % 2 == 0
    ]


def test_a_street_admin_pages_through_every_community_of_the_street(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    make_person(rt, "res1", home=(world.community, world.grid))
    make_person(rt, "res2", home=(world.other_community, world.other_grid))
    made = []
    for n in range(5):
        resident, community = ("res1", world.community) if n % 2 else ("res2", world.other_community)
        made.append(make_order(rt, actor_of(rt, resident), world, community=community))
    headers = make_person(rt, "admin", (Role.STREET_ADMIN, world.street)).logged_in(client).headers
    pages = _pages(client, "/api/v1/orders?scope=community&limit=2", headers)
    assert pages == [sorted(made, reverse=True)[i : i + 2] for i in range(0, 5, 2)]
    only_one = _pages(client, f"/api/v1/orders?scope=community&community={world.community}&limit=10", headers)
    assert only_one == [sorted(made[1::2], reverse=True)]
