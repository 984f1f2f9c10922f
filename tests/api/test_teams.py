"""Volunteer teams over HTTP: the community's staff list them, its secretary creates them and
manages their members; another community's teams do not exist for anyone else."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.models import AreaKind
from app.areas.tree import create_area
from app.identity.roles import Role
from app.runtime import Runtime
from app.volunteers.models import Team, TeamMember
from tests.factories import People, Person, World, make_people, make_person, make_world


def _counts(rt: Runtime) -> tuple[int, int]:
    with rt.db.read() as session:
        teams = session.scalar(sa.select(sa.func.count()).select_from(Team))
        members = session.scalar(sa.select(sa.func.count()).select_from(TeamMember))
    return int(teams or 0), int(members or 0)


def _fields(response: Any) -> list[str]:
    return [f["field"] for f in response.get_json()["error"]["details"].get("fields", [])]


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


@pytest.fixture
def people(rt: Runtime, client: FlaskClient, world: World) -> People:
    return make_people(rt, world, client=client)


@pytest.fixture
def foreign(rt: Runtime, client: FlaskClient, world: World) -> dict[str, Person]:
    """The other community's secretary and volunteer, and a street admin of another street."""
    with rt.db.write() as session:
        create_area(session, AreaKind.STREET, "JD2", "红旗街道")
        create_area(session, AreaKind.COMMUNITY, "SQ3", "红旗社区", "JD2")
    return {
        "secretary": make_person(rt, "sec2", (Role.SECRETARY, world.other_community), client=client),
        "volunteer": make_person(rt, "vol2", (Role.VOLUNTEER, world.other_community), client=client),
        "street_admin": make_person(rt, "admin2", (Role.STREET_ADMIN, "JD2"), client=client),
    }


def _create(client: FlaskClient, who: Person, **body: Any) -> Any:
    return client.post("/api/v1/teams", json=body, headers=who.headers)


# -- creating -------------------------------------------------------------------------------------


def test_only_the_communitys_secretary_creates_a_team(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    body = {"community": world.community, "name": "党员先锋队"}
    for who in (people.volunteer, people.resident, people.grid_worker, people.street_admin):
        response = _create(client, who, **body)
        assert response.status_code == 403, (who.openid, response.get_json())
    for who in (foreign["secretary"],):
        theirs = _create(client, who, **body)
        missing = _create(client, who, **{**body, "community": "NOPE"})
        assert theirs.status_code == missing.status_code == 404
        assert theirs.get_json()["error"]["details"] == missing.get_json()["error"]["details"]
    assert _counts(rt) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "先锋队"}, "community"),
        ({"community": "SQ1"}, "name"),
        ({"community": "SQ1", "name": "   "}, "name"),
        ({"community": "SQ1", "name": "队" * 65}, "name"),
        ({"community": "SQ1", "name": "先锋队", "leader_id": 0}, "leader_id"),
        ({"community": "SQ1", "name": "先锋队", "leader_id": "li"}, "leader_id"),
        ({"community": "SQ1", "name": "先锋队", "members": []}, "members"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(
    rt: Runtime, client: FlaskClient, people: People, body: dict[str, Any], field: str
) -> None:
    response = _create(client, people.secretary, **body)
    assert response.status_code == 400, response.get_json()
    assert field in _fields(response)
    assert _counts(rt) == (0, 0)


def test_the_leader_must_be_a_volunteer_of_the_community(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    for leader in (people.resident.id, people.grid_worker.id, foreign["volunteer"].id, 999_999):
        response = _create(client, people.secretary, community=world.community, name="先锋队", leader_id=leader)
        assert response.status_code == 400, (leader, response.get_json())
        assert _fields(response) == ["leader_id"]
    assert _counts(rt) == (0, 0)


def test_a_team_name_is_taken_once_per_community(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    assert _create(client, people.secretary, community=world.community, name="先锋队").status_code == 201
    again = _create(client, people.secretary, community=world.community, name=" 先锋队 ")
    assert again.status_code == 409, again.get_json()
    assert again.get_json()["error"]["code"] == "conflict"
    assert _fields(again) == ["name"]
    # Another community may have its own.
    assert _create(client, foreign["secretary"], community=world.other_community, name="先锋队").status_code == 201
    assert _counts(rt) == (2, 0)


def test_a_new_team_answers_with_its_leader_as_first_member(client: FlaskClient, world: World, people: People) -> None:
    response = _create(
        client, people.secretary, community=world.community, name="和平党员先锋队", leader_id=people.volunteer.id
    )
    assert response.status_code == 201, response.get_json()
    team = response.get_json()["team"]
    leader = {"id": people.volunteer.id, "name": f"用户{people.volunteer.id}"}
    assert team == {
        "id": team["id"],
        "community": {"code": world.community, "name": "和平社区", "kind": "community"},
        "name": "和平党员先锋队",
        "leader": leader,
        "member_count": 1,
        "members": [leader],
        "created_at": team["created_at"],
    }
    assert team["created_at"].endswith("+08:00")
    plain = _create(client, people.secretary, community=world.community, name="助老服务队").get_json()["team"]
    assert (plain["leader"], plain["member_count"], plain["members"]) == (None, 0, [])


# -- listing --------------------------------------------------------------------------------------


def test_the_communitys_staff_list_its_teams(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    ids = [
        _create(client, people.secretary, community=world.community, name=f"队{n}").get_json()["team"]["id"]
        for n in range(3)
    ]
    _create(client, foreign["secretary"], community=world.other_community, name="幸福里服务队")
    worker_g1 = make_person(rt, "gw-g1", (Role.GRID_WORKER, world.grid), client=client)
    for who in (people.secretary, people.grid_worker, worker_g1, people.street_admin):
        response = client.get(f"/api/v1/teams?community={world.community}", headers=who.headers)
        assert response.status_code == 200, (who.openid, response.get_json())
        items = response.get_json()["items"]
        assert [item["id"] for item in items] == ids
        assert all(item["members"] is None and item["member_count"] == 0 for item in items)
    first = client.get(f"/api/v1/teams?community={world.community}&limit=2", headers=people.secretary.headers)
    page = first.get_json()
    assert [item["id"] for item in page["items"]] == ids[:2]
    rest = client.get(
        f"/api/v1/teams?community={world.community}&limit=2&cursor={page['next_cursor']}",
        headers=people.secretary.headers,
    ).get_json()
    assert ([item["id"] for item in rest["items"]], rest["next_cursor"]) == (ids[2:], None)


def test_others_may_not_list_a_communitys_teams(
    client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    for who in (people.volunteer, people.resident):
        assert client.get(f"/api/v1/teams?community={world.community}", headers=who.headers).status_code == 403
    for who in (foreign["secretary"], foreign["street_admin"]):
        theirs = client.get(f"/api/v1/teams?community={world.community}", headers=who.headers)
        missing = client.get("/api/v1/teams?community=NOPE", headers=who.headers)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.get_json()["error"]["details"] == missing.get_json()["error"]["details"]


# -- members --------------------------------------------------------------------------------------


def _team(client: FlaskClient, who: Person, community: str, **body: Any) -> int:
    response = _create(client, who, community=community, name="先锋队", **body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["team"]["id"])


def test_adding_a_member_twice_answers_the_same_team(
    rt: Runtime, client: FlaskClient, world: World, people: People
) -> None:
    team_id = _team(client, people.secretary, world.community, leader_id=people.volunteer.id)
    url, body = f"/api/v1/teams/{team_id}/members", {"volunteer_id": people.other_volunteer.id}
    first = client.post(url, json=body, headers=people.secretary.headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["team"]["member_count"] == 2
    assert [m["id"] for m in first.get_json()["team"]["members"]] == sorted(
        [people.volunteer.id, people.other_volunteer.id]
    )
    again = client.post(url, json=body, headers=people.secretary.headers)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert _counts(rt) == (1, 2)


def test_a_member_must_be_a_volunteer_of_the_teams_community(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    team_id = _team(client, people.secretary, world.community)
    for user_id in (people.resident.id, people.secretary.id, foreign["volunteer"].id, 999_999):
        response = client.post(
            f"/api/v1/teams/{team_id}/members", json={"volunteer_id": user_id}, headers=people.secretary.headers
        )
        assert response.status_code == 400, (user_id, response.get_json())
        assert _fields(response) == ["volunteer_id"]
    for body in ({}, {"volunteer_id": 0}, {"volunteer_id": people.volunteer.id, "role": "leader"}):
        response = client.post(f"/api/v1/teams/{team_id}/members", json=body, headers=people.secretary.headers)
        assert response.status_code == 400, body
    assert _counts(rt) == (1, 0)


def test_another_communitys_team_answers_like_a_missing_one(
    rt: Runtime, client: FlaskClient, world: World, people: People, foreign: dict[str, Person]
) -> None:
    theirs = _team(client, foreign["secretary"], world.other_community, leader_id=foreign["volunteer"].id)
    missing = theirs + 1000
    before = _counts(rt)
    for who, status in ((people.secretary, 404), (people.volunteer, 403), (people.grid_worker, 403)):
        for method, path, body in (
            ("POST", "/api/v1/teams/{}/members", {"volunteer_id": people.volunteer.id}),
            ("DELETE", f"/api/v1/teams/{{}}/members/{foreign['volunteer'].id}", None),
            ("PUT", "/api/v1/teams/{}/leader", {"volunteer_id": foreign["volunteer"].id}),
        ):
            answer = client.open(path.format(theirs), method=method, json=body, headers=who.headers)
            absent = client.open(path.format(missing), method=method, json=body, headers=who.headers)
            assert answer.status_code == status, (who.openid, method, answer.get_json())
            assert (answer.status_code, answer.get_json()) == (absent.status_code, absent.get_json())
    assert _counts(rt) == before


def test_the_leader_is_changed_to_a_member_only(rt: Runtime, client: FlaskClient, world: World, people: People) -> None:
    team_id = _team(client, people.secretary, world.community, leader_id=people.volunteer.id)
    url = f"/api/v1/teams/{team_id}/leader"
    # Bad paths first: not a member (a volunteer of the community, someone else, nobody), a bad id,
    # not the secretary.
    for volunteer_id in (people.other_volunteer.id, people.resident.id, 999_999):
        refused = client.put(url, json={"volunteer_id": volunteer_id}, headers=people.secretary.headers)
        assert refused.status_code == 400, refused.get_json()
        assert _fields(refused) == ["volunteer_id"]
    assert client.put(url, json={"volunteer_id": 0}, headers=people.secretary.headers).status_code == 400
    body = {"volunteer_id": people.volunteer.id}
    for who in (people.volunteer, people.grid_worker, people.street_admin):
        assert client.put(url, json=body, headers=who.headers).status_code == 403
    listed = client.get(f"/api/v1/teams?community={world.community}", headers=people.secretary.headers).get_json()
    assert listed["items"][0]["leader"]["id"] == people.volunteer.id

    client.post(
        f"/api/v1/teams/{team_id}/members",
        json={"volunteer_id": people.other_volunteer.id},
        headers=people.secretary.headers,
    )
    changed = client.put(url, json={"volunteer_id": people.other_volunteer.id}, headers=people.secretary.headers)
    assert changed.status_code == 200, changed.get_json()
    team = changed.get_json()["team"]
    assert team["leader"]["id"] == people.other_volunteer.id
    # The previous leader stays a member.
    assert [m["id"] for m in team["members"]] == sorted([people.volunteer.id, people.other_volunteer.id])
    assert _counts(rt) == (1, 2)


def test_removing_a_member_is_204_also_when_they_were_not_in_it(
    rt: Runtime, client: FlaskClient, world: World, people: People
) -> None:
    team_id = _team(client, people.secretary, world.community, leader_id=people.volunteer.id)
    client.post(
        f"/api/v1/teams/{team_id}/members",
        json={"volunteer_id": people.other_volunteer.id},
        headers=people.secretary.headers,
    )
    url = f"/api/v1/teams/{team_id}/members/{people.other_volunteer.id}"
    for _ in range(2):
        response = client.delete(url, headers=people.secretary.headers)
        assert response.status_code == 204
        assert response.get_data() == b""
    assert _counts(rt) == (1, 1)
    # The leader leaves: the team has no leader any more.
    leader_url = f"/api/v1/teams/{team_id}/members/{people.volunteer.id}"
    assert client.delete(leader_url, headers=people.secretary.headers).status_code == 204
    listed = client.get(f"/api/v1/teams?community={world.community}", headers=people.secretary.headers).get_json()
    assert (listed["items"][0]["leader"], listed["items"][0]["member_count"]) == (None, 0)


def test_the_volunteer_picker_lists_a_teams_members(client: FlaskClient, world: World, people: People) -> None:
    team_id = _team(client, people.secretary, world.community, leader_id=people.other_volunteer.id)
    response = client.get(
        f"/api/v1/volunteers?community={world.community}&team={team_id}", headers=people.secretary.headers
    )
    assert [item["id"] for item in response.get_json()["items"]] == [people.other_volunteer.id]
    assert response.get_json()["items"][0]["teams"] == [{"id": team_id, "name": "先锋队"}]
