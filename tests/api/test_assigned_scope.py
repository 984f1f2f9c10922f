"""``scope=assigned``: what the caller holds, and what waits for their team or property company.

An order dispatched to a team (or a company) may be accepted by any of its people, so until one
does it is on each member's list; once a member accepts it, it is theirs alone.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from app.identity.grants import assign_role
from app.identity.roles import Role
from app.property.companies import create_property_company
from app.runtime import Runtime
from app.volunteers.teams import create_team
from tests.factories import Person, make_order, make_people, make_person, make_world


def _assigned(client: FlaskClient, who: Person) -> list[int]:
    response = client.get("/api/v1/orders?scope=assigned", headers=who.headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_team_and_company_orders_wait_on_their_peoples_lists(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    staff = make_person(rt, "pm-zhang", client=client)
    with rt.db.write() as session:
        assign_role(session, staff.openid, Role.PROPERTY_COMPANY, world.community)
        team = create_team(
            session, world.community, "助老服务队", [people.volunteer.openid, people.other_volunteer.openid]
        )
        company = create_property_company(
            session, "安居物业", communities=[world.community], staff_openids=[staff.openid]
        )
        team_id, company_id = team.id, company.id
    to_team, to_company, elsewhere = (make_order(rt, people.resident, world) for _ in range(3))
    sec = people.secretary.headers
    assert client.post(f"/api/v1/orders/{to_team}/dispatch", json={"team_id": team_id}, headers=sec).status_code == 200
    body = {"property_company_id": company_id}
    assert client.post(f"/api/v1/orders/{to_company}/dispatch", json=body, headers=sec).status_code == 200
    # A bystander volunteer (no team) sees none of them; the order still in the queue is nobody's.
    bystander = make_person(rt, "vol-solo", (Role.VOLUNTEER, world.community), client=client)
    assert _assigned(client, bystander) == []

    assert _assigned(client, people.volunteer) == [to_team]
    assert _assigned(client, people.other_volunteer) == [to_team]
    assert _assigned(client, staff) == [to_company]
    assert elsewhere not in _assigned(client, people.secretary)

    # Once one member accepts, the order is theirs alone.
    accepted = client.post(f"/api/v1/orders/{to_team}/accept", json={}, headers=people.other_volunteer.headers)
    assert accepted.status_code == 200, accepted.get_json()
    assert _assigned(client, people.other_volunteer) == [to_team]
    assert _assigned(client, people.volunteer) == []
