"""Redemptions over HTTP: spending points for a code, the Idempotency-Key, verifying the code at
the merchant once, expiry and cancellation giving the points back, the inbox, the export and
account deletion. Bad paths first in each test; races are in tests/integration/test_redemption_race.py."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.core.clock import now_utc
from app.core.idempotency import IdempotencyKey
from app.identity.roles import Role
from app.notify.models import Notification
from app.runtime import Runtime
from app.timebank.expiry import expire_redemptions
from app.timebank.ledger import PointsEntry, balance_of
from app.timebank.models import Redemption, Reward
from jobs import expire_redemptions as expire_job
from tests.api.test_statement_counts import counting
from tests.factories import (
    People,
    Person,
    World,
    give_points,
    make_merchant,
    make_people,
    make_person,
    make_reward,
    make_world,
)


def _code(response: Any) -> tuple[int, str | None]:
    body = response.get_json() or {}
    return response.status_code, body.get("error", {}).get("code")


def _balance(rt: Runtime, who: Person) -> int:
    with rt.db.read() as session:
        return balance_of(session, who.id)


def _count(rt: Runtime, model: type[Any], *where: Any) -> int:
    with rt.db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def _stock(rt: Runtime, reward_id: int) -> int | None:
    with rt.db.read() as session:
        reward = session.get(Reward, reward_id)
        assert reward is not None
        return reward.stock


class Shop:
    """One community's merchant with a cashier, and a reward of 30 points, 5 in stock."""

    def __init__(self, rt: Runtime, client: FlaskClient, world: World, people: People) -> None:
        self.cashier = make_person(rt, "cashier-liu", client=client)
        self.merchant = make_merchant(rt, world.community, "惠民超市", self.cashier)
        self.reward = make_reward(rt, world.community, self.merchant, points=30, stock=5)
        give_points(rt, people.volunteer, 100)


def _setup(rt: Runtime, client: FlaskClient) -> tuple[World, People, Shop]:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    return world, people, Shop(rt, client, world, people)


def _redeem(client: FlaskClient, who: Person, reward_id: int, key: str | None = None) -> Any:
    headers = who.headers | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=headers)


# -- issuing --------------------------------------------------------------------------------------


def test_only_a_volunteer_of_the_rewards_community_redeems(rt: Runtime, client: FlaskClient) -> None:
    world, people, shop = _setup(rt, client)
    give_points(rt, people.resident, 100)
    assert _code(_redeem(client, people.resident, shop.reward)) == (403, "forbidden")
    assert _code(_redeem(client, people.secretary, shop.reward)) == (403, "forbidden")
    stranger = make_person(rt, "vol-sq2", (Role.VOLUNTEER, world.other_community), client=client)
    give_points(rt, stranger, 100)
    assert _code(_redeem(client, stranger, shop.reward)) == (404, "not_found")
    assert _code(_redeem(client, people.volunteer, 999_999)) == (404, "not_found")
    for bad in ({"reward_id": 0}, {"reward_id": 2**63}, {"reward_id": None}, {}, {"reward_id": 1, "x": 1}):
        response = client.post("/api/v1/redemptions", json=bad, headers=people.volunteer.headers)
        assert _code(response) == (400, "invalid_input"), bad
    assert _count(rt, Redemption) == 0
    assert _balance(rt, people.volunteer) == 100
    assert _stock(rt, shop.reward) == 5


def test_not_enough_points_is_a_409_that_says_the_balance_and_the_price(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    poor = people.other_volunteer
    give_points(rt, poor, 29)
    refused = _redeem(client, poor, shop.reward)
    assert _code(refused) == (409, "insufficient_points")
    error = refused.get_json()["error"]
    assert error["details"] == {"balance": 29, "points": 30}
    assert error["message"] == "积分不足：当前余额 29 分，兑换「洗衣液一瓶」需要 30 分"
    assert _balance(rt, poor) == 29
    assert (_count(rt, Redemption), _stock(rt, shop.reward)) == (0, 5)


def test_a_redemption_spends_the_price_and_takes_one_from_stock(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    created = _redeem(client, people.volunteer, shop.reward)
    assert created.status_code == 201, created.get_json()
    redemption = created.get_json()["redemption"]
    assert (redemption["status"], redemption["points"], redemption["redeemed_at"]) == ("issued", 30, None)
    assert redemption["reward"] == {
        "id": shop.reward,
        "name": "洗衣液一瓶",
        "merchant": {"id": shop.merchant, "name": "惠民超市"},
    }
    assert len(redemption["code"]) == 10
    assert not set(redemption["code"]) & set("01OIL")
    assert _balance(rt, people.volunteer) == 70
    assert _stock(rt, shop.reward) == 4
    with rt.db.read() as session:
        stored = session.scalars(sa.select(Redemption)).one()
        spend = session.get(PointsEntry, stored.spend_entry_id)
        assert spend is not None
        assert (spend.user_id, spend.delta, spend.reason, spend.order_id) == (
            people.volunteer.id,
            -30,
            "redeemed",
            None,
        )
        assert stored.expires_at - stored.created_at == timedelta(hours=rt.settings.timebank.redemptions.valid_hours)

    second = _redeem(client, people.volunteer, shop.reward)
    assert second.status_code == 201
    mine = client.get("/api/v1/redemptions", headers=people.volunteer.headers).get_json()
    assert [r["id"] for r in mine["items"]] == [second.get_json()["redemption"]["id"], redemption["id"]]
    assert client.get("/api/v1/redemptions", headers=people.other_volunteer.headers).get_json()["items"] == []
    page = client.get("/api/v1/redemptions?limit=1", headers=people.volunteer.headers).get_json()
    rest = client.get(f"/api/v1/redemptions?limit=1&cursor={page['next_cursor']}", headers=people.volunteer.headers)
    assert [r["id"] for r in rest.get_json()["items"]] == [redemption["id"]]


def test_the_last_one_in_stock_goes_once(rt: Runtime, client: FlaskClient) -> None:
    world, people, shop = _setup(rt, client)
    last = make_reward(rt, world.community, shop.merchant, points=10, stock=1)
    give_points(rt, people.other_volunteer, 100)
    assert _redeem(client, people.volunteer, last).status_code == 201
    assert _code(_redeem(client, people.other_volunteer, last)) == (409, "out_of_stock")
    assert _balance(rt, people.other_volunteer) == 100
    assert _stock(rt, last) == 0


def test_a_withdrawn_reward_is_not_redeemed(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    withdrawn = client.post(f"/api/v1/rewards/{shop.reward}/withdraw", json={}, headers=people.secretary.headers)
    assert withdrawn.status_code == 200
    assert _code(_redeem(client, people.volunteer, shop.reward)) == (409, "reward_withdrawn")
    assert _balance(rt, people.volunteer) == 100


def test_an_idempotency_key_replays_the_first_code_and_spends_once(rt: Runtime, client: FlaskClient) -> None:
    world, people, shop = _setup(rt, client)
    blank = _redeem(client, people.volunteer, shop.reward, key="   ")
    assert _code(blank) == (400, "invalid_input")
    assert _code(_redeem(client, people.volunteer, shop.reward, key="k" * 129)) == (400, "invalid_input")

    first = _redeem(client, people.volunteer, shop.reward, key="tap-1")
    assert first.status_code == 201
    replay = _redeem(client, people.volunteer, shop.reward, key="tap-1")
    assert replay.status_code == 201
    assert replay.get_json() == first.get_json()
    other_reward = make_reward(rt, world.community, shop.merchant, points=5)
    reused = _redeem(client, people.volunteer, other_reward, key="tap-1")
    assert _code(reused) == (409, "idempotency_key_reused")
    # The same key from someone else is their own key.
    give_points(rt, people.other_volunteer, 30)
    assert _redeem(client, people.other_volunteer, shop.reward, key="tap-1").status_code == 201
    assert _count(rt, Redemption, Redemption.user_id == people.volunteer.id) == 1
    assert _balance(rt, people.volunteer) == 70
    assert _stock(rt, shop.reward) == 3

    # A key first used for an order is refused here: one key, one request.
    order = {"community": world.community, "category": "grocery", "kind": "service", "title": "帮忙买菜"}
    posted = client.post("/api/v1/orders", json=order, headers=people.resident.headers | {"Idempotency-Key": "k2"})
    assert posted.status_code == 201
    give_points(rt, people.resident, 0)
    grant_resident = make_person(rt, "alice", (Role.VOLUNTEER, world.community), client=client)
    give_points(rt, grant_resident, 30)
    assert _code(_redeem(client, grant_resident, shop.reward, key="k2")) == (409, "idempotency_key_reused")

    # Past the window the key may be used afresh.
    with rt.db.write() as session:
        session.execute(sa.update(IdempotencyKey).values(created_at=now_utc() - timedelta(hours=25)))
    fresh = _redeem(client, people.volunteer, shop.reward, key="tap-1")
    assert fresh.status_code == 201
    assert fresh.get_json()["redemption"]["id"] != first.get_json()["redemption"]["id"]


def test_a_failed_redemption_keeps_no_key(rt: Runtime, client: FlaskClient) -> None:
    """A refusal writes nothing, not even the key: the same tap after earning points works."""
    _world, people, shop = _setup(rt, client)
    poor = people.other_volunteer
    assert _code(_redeem(client, poor, shop.reward, key="tap-9")) == (409, "insufficient_points")
    assert _count(rt, IdempotencyKey) == 0
    give_points(rt, poor, 30)
    assert _redeem(client, poor, shop.reward, key="tap-9").status_code == 201


# -- verifying ------------------------------------------------------------------------------------


def _issued(client: FlaskClient, people: People, shop: Shop) -> dict[str, Any]:
    created = _redeem(client, people.volunteer, shop.reward)
    assert created.status_code == 201, created.get_json()
    redemption: dict[str, Any] = created.get_json()["redemption"]
    return redemption


def _verify(client: FlaskClient, who: Person, code: str) -> Any:
    return client.post(f"/api/v1/redemptions/{code}/verify", json={}, headers=who.headers)


def test_only_the_rewards_merchant_verifies_and_others_see_nothing(rt: Runtime, client: FlaskClient) -> None:
    world, people, shop = _setup(rt, client)
    code = _issued(client, people, shop)["code"]
    assert _code(_verify(client, people.volunteer, code)) == (403, "forbidden")
    assert _code(_verify(client, people.secretary, code)) == (403, "forbidden")
    neighbour = make_person(rt, "cashier-zhou", client=client)
    make_merchant(rt, world.community, "便民药店", neighbour)
    far = make_person(rt, "cashier-wu", client=client)
    make_merchant(rt, world.other_community, "幸福药店", far)
    for who in (neighbour.logged_in(client), far.logged_in(client)):
        assert _code(_verify(client, who, code)) == (404, "not_found")
    cashier = shop.cashier.logged_in(client)
    for unknown in ("ABCDEFGHJK", "short", "0" * 10, "中文兑换码", "A" * 200):
        assert _code(_verify(client, cashier, unknown)) == (404, "not_found"), unknown
    with rt.db.read() as session:
        assert session.scalars(sa.select(Redemption.status)).one() == "issued"


def test_a_code_is_verified_once_and_the_volunteer_is_told(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    redemption = _issued(client, people, shop)
    cashier = shop.cashier.logged_in(client)
    typed = f"{redemption['code'][:5].lower()}-{redemption['code'][5:]}"  # as a person types it
    verified = _verify(client, cashier, typed)
    assert verified.status_code == 200, verified.get_json()
    answer = verified.get_json()["redemption"]
    assert (answer["status"], answer["id"]) == ("redeemed", redemption["id"])
    assert answer["redeemed_at"] is not None
    assert _code(_verify(client, cashier, redemption["code"])) == (409, "already_redeemed")
    assert _balance(rt, people.volunteer) == 70  # spent once, not refunded
    with rt.db.read() as session:
        stored = session.scalars(sa.select(Redemption)).one()
        assert stored.redeemed_by_id == shop.cashier.id
        inbox = session.execute(
            sa.select(Notification.title, Notification.body).where(Notification.user_id == people.volunteer.id)
        ).all()
    assert [title for title, _ in inbox] == ["兑换码已使用"]
    assert redemption["code"] in inbox[0].body
    # The volunteer cannot take back a code already used.
    cancel = client.post(f"/api/v1/redemptions/{redemption['id']}/cancel", json={}, headers=people.volunteer.headers)
    assert _code(cancel) == (409, "already_redeemed")


def test_an_expired_code_is_refused_and_the_job_refunds_it_once(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    redemption = _issued(client, people, shop)
    fresh = _issued(client, people, shop)
    assert _balance(rt, people.volunteer) == 40
    assert expire_job.run(rt) == "expired=0 points=0"  # nothing is due yet
    with rt.db.write() as session:
        session.execute(
            sa.update(Redemption)
            .where(Redemption.id == redemption["id"])
            .values(expires_at=now_utc() - timedelta(minutes=1))
        )
    cashier = shop.cashier.logged_in(client)
    assert _code(_verify(client, cashier, redemption["code"])) == (409, "redemption_expired")

    assert expire_job.run(rt) == "expired=1 points=30"
    assert expire_job.run(rt) == "expired=0 points=0"
    assert expire_redemptions(rt, now_utc()).expired == 0
    assert _balance(rt, people.volunteer) == 70
    assert _stock(rt, shop.reward) == 4  # 5, two taken, one back
    with rt.db.read() as session:
        stored = session.get(Redemption, redemption["id"])
        assert stored is not None
        assert stored.status == "expired"
        refund = session.get(PointsEntry, stored.refund_entry_id)
        assert refund is not None
        assert (refund.delta, refund.reason) == (30, "redemption_refunded")
        inbox = session.scalars(sa.select(Notification.title).where(Notification.user_id == people.volunteer.id)).all()
    assert inbox == ["兑换码已过期"]
    assert _code(_verify(client, cashier, redemption["code"])) == (409, "redemption_expired")
    assert _verify(client, cashier, fresh["code"]).status_code == 200


def test_a_volunteer_cancels_their_own_unused_code(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    redemption = _issued(client, people, shop)
    url = f"/api/v1/redemptions/{redemption['id']}/cancel"
    assert _code(client.post(url, json={}, headers=people.other_volunteer.headers)) == (404, "not_found")
    assert _code(client.post(url, json={}, headers=people.secretary.headers)) == (404, "not_found")
    assert _code(client.post("/api/v1/redemptions/999999/cancel", json={}, headers=people.volunteer.headers))[0] == 404
    assert _balance(rt, people.volunteer) == 70

    cancelled = client.post(url, json={}, headers=people.volunteer.headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["redemption"]["status"] == "cancelled"
    assert _balance(rt, people.volunteer) == 100
    assert _stock(rt, shop.reward) == 5
    assert _code(client.post(url, json={}, headers=people.volunteer.headers)) == (409, "redemption_cancelled")
    assert _code(_verify(client, shop.cashier.logged_in(client), redemption["code"])) == (409, "redemption_cancelled")
    assert expire_redemptions(rt, now_utc() + timedelta(days=30)).expired == 0
    assert _balance(rt, people.volunteer) == 100


# -- the person's rights -----------------------------------------------------------------------------


def test_the_export_lists_redemptions_and_merchants(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    redemption = _issued(client, people, shop)
    exported = json.loads(client.get("/api/v1/me/export", headers=people.volunteer.headers).get_data(as_text=True))
    assert [r["code"] for r in exported["redemptions"]] == [redemption["code"]]
    assert exported["points_balance"] == 70
    cashier = json.loads(client.get("/api/v1/me/export", headers=shop.cashier.headers).get_data(as_text=True))
    assert cashier["merchants"] == [{"id": shop.merchant, "name": "惠民超市", "community": "SQ1"}]
    assert cashier["redemptions"] == []


def test_deleting_an_account_cancels_its_open_codes_and_unlinks_its_till(rt: Runtime, client: FlaskClient) -> None:
    _world, people, shop = _setup(rt, client)
    used = _issued(client, people, shop)
    open_code = _issued(client, people, shop)
    assert _verify(client, shop.cashier.logged_in(client), used["code"]).status_code == 200
    assert client.delete("/api/v1/me", headers=people.volunteer.headers).status_code == 204
    with rt.db.read() as session:
        statuses = {row.id: row.status for row in session.execute(sa.select(Redemption.id, Redemption.status))}
        assert balance_of(session, people.volunteer.id) == 70  # the open code's 30 came back
    assert statuses == {used["id"]: "redeemed", open_code["id"]: "cancelled"}

    assert client.delete("/api/v1/me", headers=shop.cashier.logged_in(client).headers).status_code == 204
    listed = client.get("/api/v1/merchants?community=SQ1", headers=people.secretary.headers).get_json()
    assert listed["items"][0]["staff_count"] == 0


def test_statements_of_redeeming_and_listing(rt: Runtime, client: FlaskClient) -> None:
    """A redemption is a fixed handful of statements (the lock, the sum, the stock, two inserts),
    and the list costs the same whatever its length."""
    _world, people, shop = _setup(rt, client)
    give_points(rt, people.volunteer, 1000)
    _redeem(client, people.volunteer, shop.reward)  # warm: the first request loads what it caches
    with counting(rt) as issuing:
        assert _redeem(client, people.volunteer, shop.reward).status_code == 201
    with counting(rt) as short:
        assert len(client.get("/api/v1/redemptions", headers=people.volunteer.headers).get_json()["items"]) == 2
    for _ in range(3):
        assert _redeem(client, people.volunteer, shop.reward).status_code == 201
    with counting(rt) as long:
        assert len(client.get("/api/v1/redemptions", headers=people.volunteer.headers).get_json()["items"]) == 5
    assert len(long) == len(short)
    assert len(issuing) <= 12, issuing  # 11 on SQLite: BEGINs and authentication included
