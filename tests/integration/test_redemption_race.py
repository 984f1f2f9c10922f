"""Redemption races through HTTP under a real multi-threaded server, and the expiry job in two
threads at once, on SQLite and (with LINLI_TEST_DATABASE_URL) PostgreSQL:

- 20 simultaneous redemptions by one volunteer whose balance covers 5: exactly 5 codes, 15 × 409
  ``insufficient_points``, a balance of 0 and a ledger that adds up;
- 10 rich volunteers on a reward with 3 in stock: exactly 3 codes, 7 × 409 ``out_of_stock``;
- one code verified from 10 tills at once: one 200, nine 409 ``already_redeemed``;
- two expiry runs at once over the same expired codes: each refunded exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa

from app.core.clock import now_utc
from app.identity.actor import actor_by_id
from app.identity.grants import assign_role
from app.identity.roles import Role
from app.runtime import Runtime
from app.timebank.expiry import ExpiryReport, expire_redemptions
from app.timebank.ledger import PointsEntry, balance_of
from app.timebank.models import Redemption, RedemptionStatus, Reward
from app.timebank.redemptions import redeem_reward
from tests.factories import Person, World, make_merchant, make_reward, make_world
from tests.integration.test_claim_race import (  # the threaded server and a logged-in session
    BARRIER_TIMEOUT_SECONDS,
    REQUEST_TIMEOUT_SECONDS,
    _login,
    _my_id,
    base_url,  # noqa: F401 - a fixture, used by name
)

Outcome = tuple[int, dict[str, Any]]


def _all_at_once(calls: Sequence[Callable[[], requests.Response | None]]) -> list[Outcome]:
    """Release every call at once; (status, JSON body) per call, in order (-1 for a transport
    failure, 0 for a call that is no request)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        try:
            response = calls[index]()
        except requests.RequestException as exc:
            outcomes[index] = (-1, {"exception": repr(exc)})
            return
        if response is None:
            outcomes[index] = (0, {})
            return
        try:
            outcomes[index] = (response.status_code, response.json())
        except ValueError:
            outcomes[index] = (response.status_code, {"text": response.text[:500]})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS + REQUEST_TIMEOUT_SECONDS + 10
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "some calls never got an answer"
    return [outcome for outcome in outcomes if outcome is not None]


def _codes(outcomes: list[Outcome]) -> Counter[tuple[int, str | None]]:
    return Counter((status, body.get("error", {}).get("code")) for status, body in outcomes)


def _volunteer(rt: Runtime, base: str, world: World, openid: str, points: int) -> tuple[requests.Session, int]:
    with rt.db.write() as session:
        assign_role(session, openid, Role.VOLUNTEER, world.community)
    http = _login(base, openid)
    user_id = _my_id(base, http)
    with rt.db.write() as session:
        session.add(PointsEntry(user_id=user_id, delta=points, reason="test_earned"))
    return http, user_id


def _redeem(base: str, http: requests.Session, reward_id: int) -> Callable[[], requests.Response]:
    return lambda: http.post(
        f"{base}/api/v1/redemptions", json={"reward_id": reward_id}, timeout=REQUEST_TIMEOUT_SECONDS
    )


def test_twenty_redemptions_against_a_balance_for_five(rt: Runtime, base_url: str) -> None:  # noqa: F811
    world = make_world(rt)
    reward = make_reward(rt, world.community, make_merchant(rt, world.community, "惠民超市"), points=30)
    owner, user_id = _volunteer(rt, base_url, world, "vol-race", points=150)
    # One volunteer on 20 phones (a session each, its own connection): 20 taps, no shared key.
    phones = [_login(base_url, "vol-race") for _ in range(20)]
    try:
        outcomes = _all_at_once([_redeem(base_url, phone, reward) for phone in phones])
        assert _codes(outcomes) == Counter({(201, None): 5, (409, "insufficient_points"): 15}), _codes(outcomes)
        with rt.db.read() as session:
            assert balance_of(session, user_id) == 0
            spent = session.scalars(
                sa.select(PointsEntry.delta).where(PointsEntry.user_id == user_id, PointsEntry.reason == "redeemed")
            ).all()
            issued = session.scalars(sa.select(Redemption.code).where(Redemption.user_id == user_id)).all()
        assert spent == [-30] * 5
        assert len(issued) == 5
        assert set(issued) == {body["redemption"]["code"] for status, body in outcomes if status == 201}
    finally:
        for http in (owner, *phones):
            http.close()


def test_three_in_stock_go_to_three_of_ten_volunteers(rt: Runtime, base_url: str) -> None:  # noqa: F811
    world = make_world(rt)
    reward = make_reward(rt, world.community, make_merchant(rt, world.community, "惠民超市"), points=10, stock=3)
    volunteers = [_volunteer(rt, base_url, world, f"rich-{i}", points=100) for i in range(10)]
    try:
        outcomes = _all_at_once([_redeem(base_url, http, reward) for http, _ in volunteers])
        assert _codes(outcomes) == Counter({(201, None): 3, (409, "out_of_stock"): 7}), _codes(outcomes)
        with rt.db.read() as session:
            assert session.scalar(sa.select(Reward.stock).where(Reward.id == reward)) == 0
            balances = sorted(balance_of(session, user_id) for _, user_id in volunteers)
        assert balances == [90] * 3 + [100] * 7
    finally:
        for http, _ in volunteers:
            http.close()


def test_one_code_verified_from_ten_tills_at_once(rt: Runtime, base_url: str) -> None:  # noqa: F811
    world = make_world(rt)
    volunteer, _ = _volunteer(rt, base_url, world, "vol-till", points=30)
    cashier = _login(base_url, "cashier-race")
    merchant = make_merchant(rt, world.community, "惠民超市", Person("cashier-race", _my_id(base_url, cashier)))
    reward = make_reward(rt, world.community, merchant, points=30)
    tills = [_login(base_url, "cashier-race") for _ in range(10)]
    try:
        created = _redeem(base_url, volunteer, reward)()
        assert created.status_code == 201, created.text
        code = created.json()["redemption"]["code"]
        verify = f"{base_url}/api/v1/redemptions/{code}/verify"
        calls = [lambda till=till: till.post(verify, json={}, timeout=REQUEST_TIMEOUT_SECONDS) for till in tills]
        outcomes = _all_at_once(calls)
        assert _codes(outcomes) == Counter({(200, None): 1, (409, "already_redeemed"): 9}), _codes(outcomes)
    finally:
        for http in (volunteer, cashier, *tills):
            http.close()


def test_two_expiry_runs_at_once_refund_each_code_once(rt: Runtime) -> None:
    world = make_world(rt)
    reward = make_reward(rt, world.community, make_merchant(rt, world.community, "惠民超市"), points=10, stock=50)
    with rt.db.write() as session:
        user = assign_role(session, "vol-expiry", Role.VOLUNTEER, world.community)
        user_id = user.id
        session.add(PointsEntry(user_id=user_id, delta=300, reason="test_earned"))
    with rt.db.read() as session:
        actor = actor_by_id(session, user_id)
    assert actor is not None
    for _ in range(30):
        redeem_reward(rt, actor, reward)
    later = now_utc() + timedelta(hours=rt.settings.timebank.redemptions.valid_hours, minutes=1)
    barrier = threading.Barrier(2)
    reports: list[ExpiryReport] = []

    def run() -> None:
        barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
        reports.append(expire_redemptions(rt, later))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    assert sum(report.expired for report in reports) == 30
    assert sum(report.points for report in reports) == 300
    assert expire_redemptions(rt, later).expired == 0
    with rt.db.read() as session:
        assert balance_of(session, user_id) == 300
        refunded = sa.and_(PointsEntry.reason == "redemption_refunded", PointsEntry.user_id == user_id)
        refunds = session.scalar(sa.select(sa.func.count()).where(refunded))
        statuses = set(session.scalars(sa.select(Redemption.status)))
        stock = session.scalar(sa.select(Reward.stock).where(Reward.id == reward))
    assert refunds == 30
    assert statuses == {RedemptionStatus.EXPIRED}
    assert stock == 50


def test_expiry_and_new_redemptions_of_the_same_reward_at_once(rt: Runtime, base_url: str) -> None:  # noqa: F811
    """The job giving stock back while the same volunteers take more of the same reward: no
    deadlock (PostgreSQL), no 5xx, every ledger adds up to what its codes say."""
    world = make_world(rt)
    reward = make_reward(rt, world.community, make_merchant(rt, world.community, "惠民超市"), points=10, stock=100)
    volunteers = [_volunteer(rt, base_url, world, f"busy-{i}", points=50) for i in range(8)]
    try:
        for http, _ in volunteers:  # each holds two codes that will be past their time
            for _ in range(2):
                assert _redeem(base_url, http, reward)().status_code == 201
        with rt.db.write() as session:
            session.execute(sa.update(Redemption).values(expires_at=now_utc() - timedelta(minutes=1)))
        reports: list[ExpiryReport] = []

        def expire() -> None:
            reports.append(expire_redemptions(rt, now_utc()))

        calls = [expire, expire, *(_redeem(base_url, http, reward) for http, _ in volunteers)]
        outcomes = _all_at_once(calls)
        assert [status for status, _ in outcomes] == [0, 0] + [201] * len(volunteers), _codes(outcomes)
        assert sum(report.expired for report in reports) == 2 * len(volunteers)
        with rt.db.read() as session:
            for _, user_id in volunteers:
                # 50 earned, 3 × 10 spent, 2 × 10 refunded.
                assert balance_of(session, user_id) == 40
            stock = session.scalar(sa.select(Reward.stock).where(Reward.id == reward))
        assert stock == 100 - len(volunteers)
    finally:
        for http, _ in volunteers:
            http.close()
