"""Candidates for a dispatch: who is suggested, in which order, with which reasons.

Every factor the ranking weighs is here, each alone lifting one volunteer above an otherwise equal
one (created first, so the tie-break by id would favour the other): a skill match, living in the
order's grid, a weekly slot at the order's preferred time, fewer orders held now, a quicker mean
response, a better past rating; and capacity: who holds ``max_active`` orders is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.account.profile import set_household, set_skills
from app.areas.catalogue import create_category
from app.core.clock import SHANGHAI
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from app.volunteers.catalogue import add_skill
from app.volunteers.profiles import ProfileIn, store_profile, validate
from app.volunteers.stats import record_accept, record_rating
from tests.factories import Crew, World, actor_of, make_order, make_person, make_world


def _community(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.db.write() as session:
        create_category(session, world.community, "repair", "家电维修", points=10, sla_hours=48, skill="electrician")
    make_person(rt, "sec", (Role.SECRETARY, world.community))
    make_person(rt, "res", home=(world.community, world.grid))
    return world


def _volunteer(rt: Runtime, world: World, openid: str, *, home: bool = False, skill: str | None = None) -> int:
    person = make_person(
        rt, openid, (Role.VOLUNTEER, world.community), home=(world.community, world.grid) if home else None
    )
    if skill is not None:
        set_skills(rt, actor_of(rt, openid), [skill])
    return person.id


def test_the_ranking_weighs_skill_grid_load_and_ratings(rt: Runtime, client: FlaskClient) -> None:
    world = _community(rt)
    best = _volunteer(rt, world, "vol-best", home=True, skill="electrician")
    busy = _volunteer(rt, world, "vol-busy")
    poor = _volunteer(rt, world, "vol-poor")
    idle = _volunteer(rt, world, "vol-idle")
    for score in (5, 5):
        make_order(rt, Crew("res", "sec", "vol-best"), world, status=OrderStatus.CLOSED, score=score)
    make_order(rt, Crew("res", "sec", "vol-poor"), world, status=OrderStatus.CLOSED, score=1)
    make_order(rt, Crew("res", "sec", "vol-busy"), world, status=OrderStatus.ACCEPTED)
    order_id = make_order(rt, actor_of(rt, "res"), world, category="repair", grid=world.grid)

    sec = make_person(rt, "sec").logged_in(client).headers
    response = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"] == [
        {
            "volunteer_id": best,
            "name": "用户" + str(best),
            # skill 3 + same grid 2 + accepted at once 1 + (5.0 - 3); both orders were accepted
            # within the minute of their dispatch.
            "score": 8.0,
            # The skill by its catalogue name, never its code.
            "reasons": [
                "技能匹配：电工",
                "住在同一网格",
                "当前空闲（上限 3 单）",
                "平均 1 分钟内响应",
                "历史评分 5.0（2 次）",
            ],
        },
        # busy: one order held (-1) accepted at once (+1).
        {
            "volunteer_id": busy,
            "name": "用户" + str(busy),
            "score": 0.0,
            "reasons": ["手头 1 单（上限 3）", "平均 1 分钟内响应"],
        },
        {"volunteer_id": idle, "name": "用户" + str(idle), "score": 0.0, "reasons": ["当前空闲（上限 3 单）"]},
        {
            "volunteer_id": poor,
            "name": "用户" + str(poor),
            "score": -1.0,  # accepted at once 1 + (1.0 - 3)
            "reasons": ["当前空闲（上限 3 单）", "平均 1 分钟内响应", "历史评分 1.0（1 次）"],
        },
    ]


def test_at_most_twenty_candidates_and_only_for_dispatchers(rt: Runtime, client: FlaskClient) -> None:
    world = _community(rt)
    ids = [_volunteer(rt, world, f"vol-{n:02d}") for n in range(23)]
    order_id = make_order(rt, actor_of(rt, "res"), world)
    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    # All equal: the lowest ids first, twenty of them.
    assert [item["volunteer_id"] for item in items] == sorted(ids)[:20]

    volunteer = make_person(rt, "vol-00").logged_in(client).headers
    assert client.get(f"/api/v1/orders/{order_id}/candidates", headers=volunteer).status_code == 404
    resident = make_person(rt, "res").logged_in(client).headers
    assert client.get(f"/api/v1/orders/{order_id}/candidates", headers=resident).status_code == 403
    outsider = make_person(rt, "sec2", (Role.SECRETARY, world.other_community)).logged_in(client).headers
    assert client.get(f"/api/v1/orders/{order_id}/candidates", headers=outsider).status_code == 404


def test_the_catalogue_names_skills_in_the_reasons_and_the_categories(rt: Runtime, client: FlaskClient) -> None:
    """A skill the secretary added is named as the catalogue names it, never by its code."""
    world = _community(rt)
    add_skill(rt, world.community, "kites", "风筝修补")
    with rt.db.write() as session:
        create_category(session, world.community, "kites", "风筝", points=1, sla_hours=24, skill="kites")
    _volunteer(rt, world, "vol-kite", skill="kites")
    order_id = make_order(rt, actor_of(rt, "res"), world, category="kites")
    sec = make_person(rt, "sec").logged_in(client).headers
    (item,) = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    assert item["reasons"][0] == "技能匹配：风筝修补"
    catalogue = client.get(f"/api/v1/categories?community={world.community}", headers=sec).get_json()["items"]
    assert {c["code"]: c["skill_name"] for c in catalogue} == {"grocery": None, "repair": "电工", "kites": "风筝修补"}


# -- each factor alone -----------------------------------------------------------------------------


def _next_wednesday_at(hour: int) -> datetime:
    """A Wednesday at ``hour`` Shanghai time, within the coming two weeks (in the future)."""
    today = datetime.now(SHANGHAI).date() + timedelta(days=1)
    wednesday = today + timedelta(days=(2 - today.weekday()) % 7)
    return datetime.combine(wednesday, time(hour), tzinfo=SHANGHAI)


def _profile(
    rt: Runtime,
    openid: str,
    *,
    skills: list[str] | None = None,
    slots: list[tuple[int, str, str]] | None = None,
    max_active: int = 3,
) -> None:
    actor = actor_of(rt, openid)
    wanted = ProfileIn(
        skills=skills or [],
        availability=slots or [],
        max_active=max_active,
        party_member=False,
        in_service=False,
        employer_unit=None,
        unit_hours=None,
    )
    with rt.db.write() as session:
        store_profile(
            session,
            actor.user_id,
            wanted,
            validate(session, actor.user_id, actor.communities_as(Role.VOLUNTEER), wanted),
        )


def _repair_on_wednesday(rt: Runtime, world: World) -> int:
    """A repair (the skill electrician) in the grid, wanted next Wednesday 10:00–11:00."""
    return make_order(
        rt,
        actor_of(rt, "res"),
        world,
        category="repair",
        grid=world.grid,
        preferred_start=_next_wednesday_at(10),
        preferred_end=_next_wednesday_at(11),
    )


def _hold_one(rt: Runtime, world: World, openid: str) -> None:
    make_order(rt, Crew("res", "sec", openid), world, status=OrderStatus.ACCEPTED)


def _rated(rt: Runtime, user_id: int, *scores: int) -> None:
    """Ratings counted as the rate action counts them."""
    with rt.db.write() as session:
        for score in scores:
            record_rating(session, user_id, score)


def _responded(rt: Runtime, user_id: int, *minutes: int) -> None:
    """Accepts counted as the accept action counts them, so many minutes after each dispatch."""
    with rt.db.write() as session:
        for each in minutes:
            record_accept(session, user_id, each)


#: factor → (what makes the favoured volunteer better, what the other gets, the order's fields,
#: the favoured one's reason, a reason the other one must not have).
Setup = Callable[[Runtime, World, str, int], object]
FACTORS: dict[str, tuple[Setup, Setup, dict[str, Any], str, str | None]] = {
    "skill": (
        lambda rt, world, openid, _id: set_skills(rt, actor_of(rt, openid), ["electrician"]),
        lambda rt, world, openid, _id: set_skills(rt, actor_of(rt, openid), ["plumber"]),
        {"category": "repair"},
        "技能匹配：电工",
        "技能匹配：电工",
    ),
    "grid": (
        lambda rt, world, openid, _id: set_household(
            rt, actor_of(rt, openid), community=world.community, grid=world.grid, building="1", unit="1", room="101"
        ),
        lambda rt, world, openid, _id: set_household(
            rt, actor_of(rt, openid), community=world.community, grid=None, building="1", unit="1", room="101"
        ),
        {"grid": "SQ1-G1"},
        "住在同一网格",
        "住在同一网格",
    ),
    "availability": (
        lambda rt, world, openid, _id: _profile(rt, openid, slots=[(3, "09:00", "12:00"), (5, "09:00", "12:00")]),
        # Free that Wednesday, but only once the order's window is over.
        lambda rt, world, openid, _id: _profile(rt, openid, slots=[(3, "12:00", "18:00")]),
        {"preferred_start": _next_wednesday_at(10), "preferred_end": _next_wednesday_at(11)},
        "周三 9:00–12:00 有空",
        "周三 12:00–18:00 有空",
    ),
    "load": (
        lambda rt, world, openid, user_id: _responded(rt, user_id, 0),  # as quick as the other (who accepted one)
        lambda rt, world, openid, _id: _hold_one(rt, world, openid),
        {},
        "当前空闲（上限 3 单）",
        "当前空闲（上限 3 单）",
    ),
    "response": (
        lambda rt, world, openid, user_id: _responded(rt, user_id, 10, 14),
        lambda rt, world, openid, user_id: _responded(rt, user_id, 90),
        {},
        "平均 12 分钟响应",
        "平均 12 分钟响应",
    ),
    "rating": (
        lambda rt, world, openid, user_id: _rated(rt, user_id, 5, 5, 4),
        lambda rt, world, openid, user_id: _rated(rt, user_id, 3),
        {},
        "历史评分 4.7（3 次）",
        "历史评分 4.7（3 次）",
    ),
}


@pytest.mark.parametrize("factor", sorted(FACTORS))
def test_each_factor_alone_lifts_a_volunteer(rt: Runtime, client: FlaskClient, factor: str) -> None:
    favour, other, fields, reason, not_theirs = FACTORS[factor]
    world = _community(rt)
    # The other one first: the lower id, so a tie would put them first.
    others = _volunteer(rt, world, "vol-other")
    favoured = _volunteer(rt, world, "vol-favoured")
    other(rt, world, "vol-other", others)
    favour(rt, world, "vol-favoured", favoured)
    order_id = make_order(rt, actor_of(rt, "res"), world, **fields)

    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]

    assert [item["volunteer_id"] for item in items] == [favoured, others], items
    assert reason in items[0]["reasons"], items[0]
    assert not_theirs not in items[1]["reasons"], items[1]
    assert items[0]["score"] > items[1]["score"]


def test_the_reasons_say_what_the_other_one_has(rt: Runtime, client: FlaskClient) -> None:
    """The one behind gets the sentences of their own data: a later slot, a slower mean, one held."""
    world = _community(rt)
    slow = _volunteer(rt, world, "vol-slow")
    _profile(rt, "vol-slow", slots=[(3, "10:30", "18:00")])
    _hold_one(rt, world, "vol-slow")  # accepted within the minute
    _responded(rt, slow, 100, 200)
    order_id = make_order(
        rt, actor_of(rt, "res"), world, preferred_start=_next_wednesday_at(10), preferred_end=_next_wednesday_at(11)
    )
    sec = make_person(rt, "sec").logged_in(client).headers
    (item,) = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    # 0 + 100 + 200 minutes over three accepts.
    assert item["reasons"] == ["周三 10:30–18:00 有空", "手头 1 单（上限 3）", "平均 100 分钟响应"]
    # free 1.5, one held -1, (1 - 100/120) of a quick response.
    assert item["score"] == round(1.5 - 1 + (1 - 100 / 120), 2)


def test_who_holds_their_max_active_is_left_out(rt: Runtime, client: FlaskClient) -> None:
    world = _community(rt)
    full = _volunteer(rt, world, "vol-full", home=True, skill="electrician")
    roomy = _volunteer(rt, world, "vol-roomy")
    _profile(rt, "vol-full", skills=["electrician"], max_active=1)
    _profile(rt, "vol-roomy", max_active=2)
    _hold_one(rt, world, "vol-full")
    _hold_one(rt, world, "vol-roomy")
    order_id = make_order(rt, actor_of(rt, "res"), world, category="repair", grid=world.grid)

    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]

    # The best match on paper holds all they take at once: not proposed; the picker still lists them.
    assert [item["volunteer_id"] for item in items] == [roomy]
    assert "手头 1 单（上限 2）" in items[0]["reasons"]
    listed = client.get(f"/api/v1/volunteers?community={world.community}", headers=sec).get_json()["items"]
    assert {v["id"]: v["max_active"] for v in listed} == {full: 1, roomy: 2}


def test_the_whole_community_is_scored_when_few_have_the_skill_or_the_grid(rt: Runtime, client: FlaskClient) -> None:
    """Narrowing to the skilled and the neighbours never leaves the dispatcher with too few names."""
    world = _community(rt)
    skilled = _volunteer(rt, world, "vol-skilled", skill="electrician")
    rest = [_volunteer(rt, world, f"vol-{n}") for n in range(3)]
    order_id = make_order(rt, actor_of(rt, "res"), world, category="repair")
    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    assert [item["volunteer_id"] for item in items] == [skilled, *rest]


def test_a_lower_tier_is_scored_when_it_could_still_place_someone(rt: Runtime, client: FlaskClient) -> None:
    """Twenty volunteers with the skill in the grid, all poorly rated (5 - 2 = 3), fill a page: a
    volunteer with the skill only who is free and well rated (3 + 1.5 + 2 = 6.5), and one with
    neither who is free, quick and well rated (1.5 + 1 + 2 = 4.5), still rank above them."""
    world = _community(rt)
    poor = [_volunteer(rt, world, f"vol-poor-{n:02d}", home=True, skill="electrician") for n in range(20)]
    for user_id in poor:
        _rated(rt, user_id, 1)
    skilled = _volunteer(rt, world, "vol-skilled", skill="electrician")
    _profile(rt, "vol-skilled", skills=["electrician"], slots=[(3, "09:00", "12:00")])
    _rated(rt, skilled, 5)
    neither = _volunteer(rt, world, "vol-neither")
    _profile(rt, "vol-neither", slots=[(3, "08:00", "11:00")])
    _rated(rt, neither, 5)
    _responded(rt, neither, 0)
    order_id = _repair_on_wednesday(rt, world)
    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    assert [item["volunteer_id"] for item in items] == [skilled, neither, *poor[:18]]
    assert [item["score"] for item in items[:3]] == [6.5, 4.5, 3.0]
    assert items[1]["reasons"] == [
        "周三 8:00–11:00 有空",
        "当前空闲（上限 3 单）",
        "平均 1 分钟内响应",
        "历史评分 5.0（1 次）",
    ]


def test_a_lower_tier_is_not_scored_when_nobody_there_could_place(rt: Runtime, client: FlaskClient) -> None:
    """Twenty with the skill in the grid and five stars (5 + 2 = 7): one with the skill only can
    reach 3 + 1.5 + 1 + 2 = 7.5 at most, so that tier is still scored and ranks where it belongs;
    everyone else (4.5 at most) is not proposed."""
    world = _community(rt)
    good = [_volunteer(rt, world, f"vol-good-{n:02d}", home=True, skill="electrician") for n in range(20)]
    for user_id in good:
        _rated(rt, user_id, 5)
    best_other = _volunteer(rt, world, "vol-other", skill="electrician")
    _profile(rt, "vol-other", skills=["electrician"], slots=[(3, "09:00", "12:00")])
    _rated(rt, best_other, 5)
    _responded(rt, best_other, 0)
    _volunteer(rt, world, "vol-neither")
    order_id = _repair_on_wednesday(rt, world)
    sec = make_person(rt, "sec").logged_in(client).headers
    items = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    assert [item["volunteer_id"] for item in items] == [best_other, *good[:19]]
    assert [item["score"] for item in items[:2]] == [7.5, 7.0]
