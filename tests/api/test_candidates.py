"""Candidates for a dispatch: who is suggested, in which order, with which reasons.

Every factor the ranking weighs is present here: a skill match, living in the order's grid, the
orders a volunteer holds now, and past ratings (a rated volunteer answered 500 before).
"""

from __future__ import annotations

from flask.testing import FlaskClient

from app.account.profile import set_skills
from app.areas.catalogue import create_category
from app.identity.roles import Role
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
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
            "score": 7.0,  # skill 3 + same grid 2 + (5.0 - 3)
            # The skill by its catalogue name, never its code.
            "reasons": ["技能匹配：电工", "住在同一网格", "当前空闲", "历史评分 5.0（2 次）"],
        },
        {"volunteer_id": idle, "name": "用户" + str(idle), "score": 0.0, "reasons": ["当前空闲"]},
        {"volunteer_id": busy, "name": "用户" + str(busy), "score": -1.0, "reasons": ["手头 1 单"]},
        {
            "volunteer_id": poor,
            "name": "用户" + str(poor),
            "score": -2.0,  # 1.0 - 3
            "reasons": ["当前空闲", "历史评分 1.0（1 次）"],
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


def test_a_skill_without_a_catalogue_name_is_shown_as_it_is(rt: Runtime, client: FlaskClient) -> None:
    """An operator's own skill code is never hidden; the categories answer names known skills."""
    world = _community(rt)
    with rt.db.write() as session:
        create_category(session, world.community, "kites", "风筝修补", points=1, sla_hours=24, skill="风筝")
    _volunteer(rt, world, "vol-kite", skill="风筝")
    order_id = make_order(rt, actor_of(rt, "res"), world, category="kites")
    sec = make_person(rt, "sec").logged_in(client).headers
    (item,) = client.get(f"/api/v1/orders/{order_id}/candidates", headers=sec).get_json()["items"]
    assert item["reasons"][0] == "技能匹配：风筝"
    catalogue = client.get(f"/api/v1/categories?community={world.community}", headers=sec).get_json()["items"]
    assert {c["code"]: c["skill_name"] for c in catalogue} == {"grocery": None, "repair": "电工", "kites": "风筝"}
