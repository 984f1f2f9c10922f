"""Property staff join their company by invitation, and can then accept its orders."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.models import Invitation
from app.property.companies import create_property_company
from app.runtime import Runtime
from tests.factories import make_order, make_people, make_person, make_world


def _invitations(rt: Runtime) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Invitation)) or 0)


def test_a_property_invitation_names_a_company_of_the_community(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    with rt.db.write() as session:
        ours = create_property_company(session, "安居物业", communities=[world.community]).id
        theirs = create_property_company(session, "幸福物业", communities=[world.other_community]).id
    sec = people.secretary.headers
    refusals = [
        {"role": "property_company", "area": world.community},  # which company?
        {"role": "property_company", "area": world.community, "property_company_id": theirs},
        {"role": "property_company", "area": world.community, "property_company_id": 999_999},
        {"role": "volunteer", "area": world.community, "property_company_id": ours},
        {"role": "property_company", "area": world.community, "property_company_id": 0},
    ]
    for body in refusals:
        response = client.post("/api/v1/invitations", json=body, headers=sec)
        assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_input"), body
    assert _invitations(rt) == 0

    body = {"role": "property_company", "area": world.community, "property_company_id": ours}
    created = client.post("/api/v1/invitations", json=body, headers=sec)
    assert created.status_code == 201, created.get_json()
    staff = make_person(rt, "pm-zhang", client=client)
    redeemed = client.post(
        "/api/v1/invitations/redeem", json={"code": created.get_json()["code"]}, headers=staff.headers
    )
    assert redeemed.status_code == 200, redeemed.get_json()

    # Linked to the company: its orders are on their list, and they can accept them.
    order_id = make_order(rt, people.resident, world)
    dispatched = client.post(f"/api/v1/orders/{order_id}/dispatch", json={"property_company_id": ours}, headers=sec)
    assert dispatched.status_code == 200
    staff = staff.logged_in(client)
    listed = client.get("/api/v1/orders?scope=assigned", headers=staff.headers).get_json()["items"]
    assert [item["id"] for item in listed] == [order_id]
    accepted = client.post(f"/api/v1/orders/{order_id}/accept", json={}, headers=staff.headers)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["order"]["assignee"]["id"] == staff.id
