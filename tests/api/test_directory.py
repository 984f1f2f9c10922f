"""The volunteer picker (``GET /api/v1/volunteers``): who may list a community's volunteers, what a
row says (skills, the community's teams, the orders held now, the rating; never a phone), the
filters and the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.account.profile import set_skills
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.volunteers.teams import create_team
from tests.factories import Crew, Person, World, actor_of, make_order, make_person, make_world

URL = "/api/v1/volunteers"
FULL_PHONE = re.compile(r"1\d{10}")


def named(rt: Runtime, openid: str, nickname: str, *grants: tuple[Role, str], phone: str | None = None) -> Person:
    """A user with a nickname (what the picker shows and ``q`` matches) and ``grants``."""
    person = make_person(rt, openid, phone=phone)
    with rt.db.write() as session:
        for role, area in grants:
            assign_role(session, openid, role, area, nickname=nickname)
    return person


@dataclass(frozen=True)
class Picker:
    world: World
    li: Person
    chen: Person
    wang: Person
    elsewhere: Person
    team_id: int
    other_team_id: int


def _picker(rt: Runtime) -> Picker:
    """Three volunteers of SQ1 (李师傅 the electrician, busy and well rated, in a team; 陈阿姨 idle;
    王师傅 an electrician too), one of SQ2, staff and a resident of SQ1."""
    world = make_world(rt)
    sq1, sq2 = world.community, world.other_community
    li = named(rt, "vol-li", "李师傅", (Role.VOLUNTEER, sq1), phone="13912345678")
    chen = named(rt, "vol-chen", "陈阿姨", (Role.VOLUNTEER, sq1))
    wang = named(rt, "vol-wang", "王师傅", (Role.VOLUNTEER, sq1))
    elsewhere = named(rt, "vol-sq2", "赵师傅", (Role.VOLUNTEER, sq2))
    for openid in ("vol-li", "vol-wang", "vol-sq2"):
        set_skills(rt, actor_of(rt, openid), ["electrician"])
    set_skills(rt, actor_of(rt, "vol-li"), ["electrician", "escort"])
    make_person(rt, "sec", (Role.SECRETARY, sq1))
    make_person(rt, "res", home=(sq1, world.grid))
    make_person(rt, "sec2", (Role.SECRETARY, sq2))
    make_person(rt, "res2", home=(sq2, world.other_grid))
    with rt.db.write() as session:
        team_id = create_team(session, sq1, "党员先锋队", ["vol-li"]).id
        other_team_id = create_team(session, sq2, "幸福里服务队", ["vol-sq2"]).id
    crew = Crew("res", "sec", "vol-li")
    for score in (5, 4):
        make_order(rt, crew, world, status=OrderStatus.CLOSED, score=score)
    make_order(rt, crew, world, status=OrderStatus.ACCEPTED)
    make_order(rt, crew, world, status=OrderStatus.ASSIGNED)
    make_order(rt, crew, world, status=OrderStatus.COMPLETED)  # done: no longer held
    # Held in the other community: not this community's load.
    make_order(rt, Crew("res2", "sec2", "vol-sq2"), world, community=sq2, status=OrderStatus.ACCEPTED)
    return Picker(world, li, chen, wang, elsewhere, team_id, other_team_id)


def _get(client: FlaskClient, who: Person, query: str) -> Any:
    response = client.get(f"{URL}?{query}", headers=who.logged_in(client).headers)
    return response


def _ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


# -- who may list ---------------------------------------------------------------------------------


def test_callers_who_never_dispatch_get_403(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    admin = make_person(rt, "admin", (Role.STREET_ADMIN, p.world.street))
    for who in (p.li, make_person(rt, "res"), make_person(rt, "nobody"), admin):
        for community in (p.world.community, "NOPE"):
            response = _get(client, who, f"community={community}")
            assert response.status_code == 403, (who.openid, response.get_json())
            assert response.get_json()["error"]["code"] == "forbidden"


def test_another_communitys_dispatcher_gets_the_404_of_an_unknown_community(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    foreign = make_person(rt, "sec2")
    foreign_worker = make_person(rt, "gw2", (Role.GRID_WORKER, p.world.other_grid))
    for who in (foreign, foreign_worker):
        theirs = _get(client, who, f"community={p.world.community}")
        missing = _get(client, who, "community=NOPE")
        assert theirs.status_code == 404, theirs.get_json()
        assert theirs.get_json()["error"]["code"] == "not_found"
        assert theirs.get_json()["error"]["details"] == missing.get_json()["error"]["details"] == {}
    # A grid is not a community.
    assert _get(client, make_person(rt, "sec"), f"community={p.world.grid}").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "community"),
        ("community=SQ1&limit=0", "limit"),
        ("community=SQ1&limit=101", "limit"),
        ("community=SQ1&team=0", "team"),
        ("community=SQ1&team=x", "team"),
        (f"community=SQ1&q={'长' * 33}", "q"),
        ("community=SQ1&phone=139", "phone"),  # no such filter: staff may not search by number
    ],
)
def test_a_bad_query_is_400_naming_the_field(rt: Runtime, client: FlaskClient, query: str, field: str) -> None:
    world = make_world(rt)
    sec = make_person(rt, "sec", (Role.SECRETARY, world.community))
    response = _get(client, sec, query)
    assert response.status_code == 400, response.get_json()
    assert field in [f["field"] for f in response.get_json()["error"]["details"]["fields"]]


def test_a_cursor_the_server_did_not_make_is_400(rt: Runtime, client: FlaskClient) -> None:
    world = make_world(rt)
    sec = make_person(rt, "sec", (Role.SECRETARY, world.community))
    response = _get(client, sec, f"community={world.community}&cursor=not-a-cursor")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


# -- what a row says ------------------------------------------------------------------------------

#: What a row says of a volunteer who never filled in their profile.
REGISTRY_DEFAULTS = {
    "max_active": 3,
    "response_minutes": None,
    "party_member": False,
    "in_service": False,
    "employer_unit": None,
}


def test_rows_hold_skills_teams_load_and_rating_and_no_phone(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    response = _get(client, make_person(rt, "sec"), f"community={p.world.community}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body == {
        "items": [
            {
                "id": p.li.id,
                "name": "李师傅",
                "skills": ["electrician", "escort"],
                "teams": [{"id": p.team_id, "name": "党员先锋队"}],
                "current_load": 2,  # one accepted, one assigned; closed and completed ones are done
                "rating": {"average": 4.5, "count": 2},
                **REGISTRY_DEFAULTS,
                "response_minutes": 0.0,  # every accept of theirs came within the minute
            },
            {
                "id": p.chen.id,
                "name": "陈阿姨",
                "skills": [],
                "teams": [],
                "current_load": 0,
                "rating": {"average": None, "count": 0},
                **REGISTRY_DEFAULTS,
            },
            {
                "id": p.wang.id,
                "name": "王师傅",
                "skills": ["electrician"],
                "teams": [],
                "current_load": 0,
                "rating": {"average": None, "count": 0},
                **REGISTRY_DEFAULTS,
            },
        ],
        "next_cursor": None,
    }
    assert not FULL_PHONE.search(response.get_data(as_text=True))


def test_a_grid_worker_of_one_grid_lists_the_whole_communitys_volunteers(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    worker = make_person(rt, "gw", (Role.GRID_WORKER, p.world.grid))
    response = _get(client, worker, f"community={p.world.community}")
    assert response.status_code == 200, response.get_json()
    assert _ids(response.get_json()) == [p.li.id, p.chen.id, p.wang.id]


def test_filters_by_skill_name_and_team(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    sec = make_person(rt, "sec")
    sq1 = p.world.community

    def ids(query: str) -> list[int]:
        response = _get(client, sec, f"community={sq1}&{query}")
        assert response.status_code == 200, (query, response.get_json())
        return _ids(response.get_json())

    assert ids("skill=electrician") == [p.li.id, p.wang.id]
    assert ids("skill=escort") == [p.li.id]
    assert ids("skill=plumber") == []
    assert ids("q=师傅") == [p.li.id, p.wang.id]
    assert ids("q=%20陈%20") == [p.chen.id]  # spaces around a typed name are ignored
    assert ids("q=%25") == []  # a LIKE wildcard is matched as the character it is
    assert ids("q=139") == []  # phone digits match nobody: names only
    assert ids("skill=electrician&q=王") == [p.wang.id]
    assert ids(f"team={p.team_id}") == [p.li.id]
    assert ids(f"team={p.other_team_id}") == []  # another community's team: nobody here
    assert ids("skill=&q=") == [p.li.id, p.chen.id, p.wang.id]  # empty filters filter nothing


def test_pages_walk_every_volunteer_once(rt: Runtime, client: FlaskClient) -> None:
    p = _picker(rt)
    more = [named(rt, f"vol-{n}", f"志愿者{n}", (Role.VOLUNTEER, p.world.community)).id for n in range(4)]
    sec = make_person(rt, "sec").logged_in(client)
    pages, cursor = [], None
    while True:
        query = f"community={p.world.community}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"{URL}?{query}", headers=sec.headers).get_json()
        pages.append(_ids(body))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    everyone = [p.li.id, p.chen.id, p.wang.id, *more]
    assert pages == [everyone[0:2], everyone[2:4], everyone[4:6], everyone[6:7]]
