"""Property companies over HTTP: a company serves one or more communities; secretaries register
them for their own community, street admins for the street's; dispatchers list those serving
their community and dispatch to them there."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.roles import Role
from app.property.models import PropertyCompany, PropertyCompanyCommunity
from app.runtime import Runtime
from tests.factories import People, Person, World, make_order, make_people, make_person, make_world

URL = "/api/v1/property-companies"
SQ1 = {"code": "SQ1", "name": "和平社区", "kind": "community"}
SQ2 = {"code": "SQ2", "name": "幸福里社区", "kind": "community"}


def _rows(rt: Runtime) -> tuple[int, int]:
    with rt.db.read() as session:
        companies = session.scalar(sa.select(sa.func.count()).select_from(PropertyCompany))
        served = session.scalar(sa.select(sa.func.count()).select_from(PropertyCompanyCommunity))
    return int(companies or 0), int(served or 0)


@pytest.fixture
def world(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "红旗街道")
        create_area(session, AreaKind.COMMUNITY, "SQ3", "红旗社区", "JD2")
    return world


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


@pytest.fixture
def others(rt: Runtime, client: FlaskClient, world: World) -> dict[str, Person]:
    return {
        "sq2_secretary": make_person(rt, "sec2", (Role.SECRETARY, world.other_community), client=client),
        "jd2_admin": make_person(rt, "admin2", (Role.STREET_ADMIN, "JD2"), client=client),
    }


def _register(client: FlaskClient, who: Person, name: str, *communities: str) -> Any:
    return client.post(URL, json={"name": name, "communities": list(communities)}, headers=who.headers)


# -- registering ----------------------------------------------------------------------------------


def test_roles_that_do_not_register_companies_get_403(rt: Runtime, client: FlaskClient, people: People) -> None:
    for who in (people.volunteer, people.resident, people.grid_worker):
        response = _register(client, who, "阳光物业", "SQ1")
        assert response.status_code == 403, (who.openid, response.get_json())
    assert _rows(rt) == (0, 0)


def test_a_community_not_theirs_answers_like_an_unknown_one(
    rt: Runtime, client: FlaskClient, people: People, others: dict[str, Person]
) -> None:
    cases = [
        (people.secretary, ["SQ2"]),  # the neighbouring community
        (people.secretary, ["SQ1", "SQ2"]),  # one of them not theirs: nothing is registered
        (others["sq2_secretary"], ["SQ1"]),
        (others["jd2_admin"], ["SQ1"]),  # another street's
        (people.street_admin, ["SQ3"]),
    ]
    for who, codes in cases:
        response = _register(client, who, "阳光物业", *codes)
        missing = _register(client, who, "阳光物业", *[code if code != codes[-1] else "NOPE" for code in codes])
        assert response.status_code == 404, (who.openid, codes, response.get_json())
        assert response.get_json()["error"]["details"] == {"area": codes[-1]}
        assert missing.get_json()["error"]["details"] == {"area": "NOPE"}
        assert (
            response.get_json()["error"]["message"].replace(codes[-1], "NOPE") == missing.get_json()["error"]["message"]
        )
    # A grid is not a community.
    assert _register(client, people.secretary, "阳光物业", "SQ1-G1").status_code == 404
    assert _rows(rt) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"communities": ["SQ1"]}, "name"),
        ({"name": "  ", "communities": ["SQ1"]}, "name"),
        ({"name": "物" * 65, "communities": ["SQ1"]}, "name"),
        ({"name": "阳光物业"}, "communities"),
        ({"name": "阳光物业", "communities": []}, "communities"),
        ({"name": "阳光物业", "communities": "SQ1"}, "communities"),
        ({"name": "阳光物业", "communities": [""]}, "communities.0"),
        ({"name": "阳光物业", "communities": ["SQ1"], "community_id": 1}, "community_id"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(
    rt: Runtime, client: FlaskClient, people: People, body: dict[str, Any], field: str
) -> None:
    response = client.post(URL, json=body, headers=people.secretary.headers)
    assert response.status_code == 400, response.get_json()
    assert field in [f["field"] for f in response.get_json()["error"]["details"]["fields"]]
    assert _rows(rt) == (0, 0)


def test_a_secretary_registers_for_their_community_a_street_admin_for_several(
    rt: Runtime, client: FlaskClient, people: People
) -> None:
    own = _register(client, people.secretary, "安居物业", "SQ1")
    assert own.status_code == 201, own.get_json()
    company = own.get_json()["property_company"]
    assert company == {
        "id": company["id"],
        "name": "安居物业",
        "communities": [SQ1],
        "staff_count": 0,
        "created_at": company["created_at"],
    }
    both = _register(client, people.street_admin, "阳光物业", "SQ2", "SQ1", "SQ2")
    assert both.status_code == 201, both.get_json()
    assert both.get_json()["property_company"]["communities"] == [SQ2, SQ1]  # as given, each once
    assert _rows(rt) == (2, 3)


def test_a_name_is_taken_once_among_the_companies_serving_a_community(
    rt: Runtime, client: FlaskClient, people: People, others: dict[str, Person]
) -> None:
    assert _register(client, people.secretary, "阳光物业", "SQ1").status_code == 201
    twin = _register(client, people.street_admin, "阳光物业", "SQ2", "SQ1")
    assert twin.status_code == 409, twin.get_json()
    assert twin.get_json()["error"]["code"] == "conflict"
    # The same firm registered by another street for its own community is another company here.
    assert _register(client, others["jd2_admin"], "阳光物业", "SQ3").status_code == 201
    assert _rows(rt) == (2, 2)


# -- listing and dispatching ----------------------------------------------------------------------


def test_dispatchers_list_the_companies_serving_their_community(
    rt: Runtime, client: FlaskClient, world: World, people: People, others: dict[str, Person]
) -> None:
    shared = _register(client, people.street_admin, "阳光物业", "SQ1", "SQ2").get_json()["property_company"]["id"]
    own = _register(client, people.secretary, "安居物业", "SQ1").get_json()["property_company"]["id"]
    theirs = _register(client, others["sq2_secretary"], "幸福物业", "SQ2").get_json()["property_company"]["id"]
    worker_g1 = make_person(rt, "gw-g1", (Role.GRID_WORKER, world.grid), client=client)
    for who in (people.secretary, people.grid_worker, worker_g1):
        response = client.get(f"{URL}?community=SQ1", headers=who.headers)
        assert response.status_code == 200, (who.openid, response.get_json())
        items = response.get_json()["items"]
        assert [item["id"] for item in items] == [shared, own]
        # Only the communities the caller works in: SQ2 is not SQ1's staff's business.
        assert [item["communities"] for item in items] == [[SQ1], [SQ1]]
    admin = client.get(f"{URL}?community=SQ2&limit=1", headers=people.street_admin.headers).get_json()
    assert [(item["id"], item["communities"]) for item in admin["items"]] == [(shared, [SQ1, SQ2])]
    rest = client.get(f"{URL}?community=SQ2&limit=1&cursor={admin['next_cursor']}", headers=people.street_admin.headers)
    assert [item["id"] for item in rest.get_json()["items"]] == [theirs]
    assert rest.get_json()["next_cursor"] is None


def test_others_may_not_list_a_communitys_companies(
    client: FlaskClient, people: People, others: dict[str, Person]
) -> None:
    for who in (people.volunteer, people.resident):
        assert client.get(f"{URL}?community=SQ1", headers=who.headers).status_code == 403
    for who in (others["sq2_secretary"], others["jd2_admin"]):
        theirs = client.get(f"{URL}?community=SQ1", headers=who.headers)
        missing = client.get(f"{URL}?community=NOPE", headers=who.headers)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.get_json()["error"]["details"] == missing.get_json()["error"]["details"]


def test_a_company_serving_two_communities_takes_orders_of_both_and_only_those(
    rt: Runtime, client: FlaskClient, world: World, people: People, others: dict[str, Person]
) -> None:
    shared = _register(client, people.street_admin, "阳光物业", "SQ1", "SQ2").get_json()["property_company"]["id"]
    elsewhere = _register(client, others["jd2_admin"], "红旗物业", "SQ3").get_json()["property_company"]["id"]
    resident2 = make_person(rt, "res2", home=(world.other_community, world.other_grid))
    sq1_order = make_order(rt, people.resident, world)
    sq2_order = make_order(rt, resident2, world, community=world.other_community)
    for order_id, who in ((sq1_order, people.secretary), (sq2_order, others["sq2_secretary"])):
        response = client.post(
            f"/api/v1/orders/{order_id}/dispatch", json={"property_company_id": shared}, headers=who.headers
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["order"]["property_company"] == {"id": shared, "name": "阳光物业"}
    third = make_order(rt, people.resident, world)
    refused = client.post(
        f"/api/v1/orders/{third}/dispatch", json={"property_company_id": elsewhere}, headers=people.secretary.headers
    )
    assert refused.status_code == 400
    # Its staff are invited in either community, for the same company.
    for who, area in ((people.secretary, "SQ1"), (others["sq2_secretary"], "SQ2")):
        invited = client.post(
            "/api/v1/invitations",
            json={"role": "property_company", "area": area, "property_company_id": shared},
            headers=who.headers,
        )
        assert invited.status_code == 201, invited.get_json()
