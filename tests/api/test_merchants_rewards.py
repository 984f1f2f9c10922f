"""Merchants (商业合伙人) and the rewards catalogue over HTTP: who may list and register them, the
tenancy answers, the checks on a reward's merchant, price and stock, and merchant staff joining
by invitation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.identity.roles import Role
from app.runtime import Runtime
from app.timebank.models import Merchant, MerchantStaff, Reward
from tests.factories import People, World, make_merchant, make_people, make_person, make_reward, make_world


def _count(rt: Runtime, model: type[Any]) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def _code(response: Any) -> tuple[int, str | None]:
    body = response.get_json() or {}
    return response.status_code, body.get("error", {}).get("code")


def _cast(rt: Runtime, client: FlaskClient) -> tuple[World, People]:
    world = make_world(rt)
    return world, make_people(rt, world, client=client)


# -- merchants ---------------------------------------------------------------------------------------


def test_registering_a_merchant_is_for_the_communitys_secretary(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    body = {"community": world.community, "name": "惠民超市"}
    for who in (people.resident, people.volunteer, people.grid_worker):
        assert _code(client.post("/api/v1/merchants", json=body, headers=who.headers)) == (403, "forbidden")
    other = {"community": world.other_community, "name": "惠民超市"}
    assert _code(client.post("/api/v1/merchants", json=other, headers=people.secretary.headers)) == (404, "not_found")
    unknown = {"community": "NOPE", "name": "惠民超市"}
    assert _code(client.post("/api/v1/merchants", json=unknown, headers=people.secretary.headers))[0] == 404
    for bad in ({"community": world.community, "name": ""}, {"community": world.community, "name": "长" * 65}):
        assert _code(client.post("/api/v1/merchants", json=bad, headers=people.secretary.headers))[0] == 400
    assert _count(rt, Merchant) == 0

    created = client.post("/api/v1/merchants", json=body, headers=people.secretary.headers)
    assert created.status_code == 201, created.get_json()
    merchant = created.get_json()["merchant"]
    assert (merchant["name"], merchant["staff_count"]) == ("惠民超市", 0)
    again = client.post("/api/v1/merchants", json={**body, "name": " 惠民超市 "}, headers=people.secretary.headers)
    assert _code(again) == (409, "merchant_name_taken")
    assert _count(rt, Merchant) == 1


def test_merchants_are_listed_for_the_communitys_staff_only(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    ours = make_merchant(rt, world.community, "惠民超市")
    make_merchant(rt, world.other_community, "幸福药店")
    query = f"/api/v1/merchants?community={world.community}"
    for who in (people.resident, people.volunteer):
        assert _code(client.get(query, headers=who.headers)) == (403, "forbidden")
    stranger = make_person(rt, "sec-sq2", (Role.SECRETARY, world.other_community), client=client)
    assert _code(client.get(query, headers=stranger.headers)) == (404, "not_found")
    for who in (people.secretary, people.grid_worker, people.street_admin):
        listed = client.get(query, headers=who.headers)
        assert listed.status_code == 200, listed.get_json()
        assert [m["id"] for m in listed.get_json()["items"]] == [ours]


def test_merchant_staff_join_by_an_invitation_naming_their_merchant(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    ours = make_merchant(rt, world.community, "惠民超市")
    theirs = make_merchant(rt, world.other_community, "幸福药店")
    refusals = [
        {"role": "merchant", "area": world.community},  # which merchant?
        {"role": "merchant", "area": world.community, "merchant_id": theirs},
        {"role": "merchant", "area": world.community, "merchant_id": 999_999},
        {"role": "volunteer", "area": world.community, "merchant_id": ours},
        {"role": "merchant", "area": world.community, "merchant_id": 0},
        {"role": "merchant", "area": world.community, "merchant_id": 2**63},
    ]
    for body in refusals:
        response = client.post("/api/v1/invitations", json=body, headers=people.secretary.headers)
        assert _code(response) == (400, "invalid_input"), body

    body = {"role": "merchant", "area": world.community, "merchant_id": ours}
    created = client.post("/api/v1/invitations", json=body, headers=people.secretary.headers)
    assert created.status_code == 201, created.get_json()
    cashier = make_person(rt, "cashier-liu", client=client)
    redeemed = client.post(
        "/api/v1/invitations/redeem", json={"code": created.get_json()["code"]}, headers=cashier.headers
    )
    assert redeemed.status_code == 200, redeemed.get_json()
    assert {"role": "merchant", "area": world.community} in [
        {"role": r["role"], "area": r["area"]["code"]} for r in redeemed.get_json()["roles"]
    ]
    with rt.db.read() as session:
        assert session.get(MerchantStaff, (ours, cashier.id)) is not None
    listed = client.get(f"/api/v1/merchants?community={world.community}", headers=people.secretary.headers)
    assert listed.get_json()["items"][0]["staff_count"] == 1


# -- rewards -----------------------------------------------------------------------------------------


def test_a_reward_needs_a_merchant_of_its_community_and_a_price(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    ours = make_merchant(rt, world.community, "惠民超市")
    theirs = make_merchant(rt, world.other_community, "幸福药店")
    good = {"community": world.community, "name": "洗衣液一瓶", "points": 30, "merchant_id": ours, "stock": 20}
    sec = people.secretary.headers
    for who in (people.resident, people.volunteer, people.grid_worker):
        assert _code(client.post("/api/v1/rewards", json=good, headers=who.headers)) == (403, "forbidden")
    assert _code(client.post("/api/v1/rewards", json={**good, "community": world.other_community}, headers=sec)) == (
        404,
        "not_found",
    )
    bad_bodies = [
        {**good, "merchant_id": theirs},  # a merchant of another community
        {**good, "merchant_id": 999_999},
        {**good, "merchant_id": 0},
        {**good, "points": 0},
        {**good, "points": -5},
        {**good, "stock": 0},
        {**good, "name": ""},
        {**good, "extra": 1},
    ]
    for body in bad_bodies:
        response = client.post("/api/v1/rewards", json=body, headers=sec)
        assert _code(response) == (400, "invalid_input"), body
    assert client.post("/api/v1/rewards", json={**good, "merchant_id": theirs}, headers=sec).get_json()["error"][
        "details"
    ] == {"fields": [{"field": "merchant_id", "problem": "unknown"}]}
    assert _count(rt, Reward) == 0

    created = client.post("/api/v1/rewards", json=good, headers=sec)
    assert created.status_code == 201, created.get_json()
    reward = created.get_json()["reward"]
    assert reward["merchant"] == {"id": ours, "name": "惠民超市"}
    assert (reward["points"], reward["stock"], reward["active"]) == (30, 20, True)
    unlimited = client.post("/api/v1/rewards", json={k: v for k, v in good.items() if k != "stock"}, headers=sec)
    assert unlimited.status_code == 201
    assert unlimited.get_json()["reward"]["stock"] is None


def test_the_catalogue_is_for_the_communitys_volunteers_and_staff(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    merchant = make_merchant(rt, world.community, "惠民超市")
    first = make_reward(rt, world.community, merchant, points=30, stock=5)
    second = make_reward(rt, world.community, merchant, points=10)
    make_reward(rt, world.other_community, make_merchant(rt, world.other_community, "幸福药店"), points=5)
    query = f"/api/v1/rewards?community={world.community}"
    assert _code(client.get(query, headers=people.resident.headers)) == (403, "forbidden")
    stranger = make_person(rt, "vol-sq2", (Role.VOLUNTEER, world.other_community), client=client)
    assert _code(client.get(query, headers=stranger.headers)) == (404, "not_found")
    for who in (people.volunteer, people.secretary, people.grid_worker, people.street_admin):
        listed = client.get(query, headers=who.headers)
        assert listed.status_code == 200, listed.get_json()
        assert [r["id"] for r in listed.get_json()["items"]] == [first, second]
    paged = client.get(f"{query}&limit=1", headers=people.volunteer.headers).get_json()
    assert [r["id"] for r in paged["items"]] == [first]
    rest = client.get(f"{query}&limit=1&cursor={paged['next_cursor']}", headers=people.volunteer.headers).get_json()
    assert ([r["id"] for r in rest["items"]], rest["next_cursor"]) == ([second], None)


def test_a_withdrawn_reward_leaves_the_catalogue(rt: Runtime, client: FlaskClient) -> None:
    world, people = _cast(rt, client)
    reward = make_reward(rt, world.community, make_merchant(rt, world.community, "惠民超市"), points=30)
    url = f"/api/v1/rewards/{reward}/withdraw"
    assert _code(client.post(url, json={}, headers=people.volunteer.headers)) == (403, "forbidden")
    stranger = make_person(rt, "sec-sq2", (Role.SECRETARY, world.other_community), client=client)
    assert _code(client.post(url, json={}, headers=stranger.headers)) == (404, "not_found")
    assert _code(client.post("/api/v1/rewards/999999/withdraw", json={}, headers=people.secretary.headers))[0] == 404
    for _ in range(2):  # withdrawing twice answers the same
        withdrawn = client.post(url, json={}, headers=people.secretary.headers)
        assert withdrawn.status_code == 200, withdrawn.get_json()
        assert withdrawn.get_json()["reward"]["active"] is False
    listed = client.get(f"/api/v1/rewards?community={world.community}", headers=people.volunteer.headers)
    assert listed.get_json()["items"] == []
