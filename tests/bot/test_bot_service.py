"""The bot's services on their own: the replay/dedupe store, consent parsing, order lookup rules."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.bot.events import consent_decisions
from app.bot.models import BotInbound
from app.bot.replay import InboundClaim, claim_inbound
from app.core.clock import now_utc
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.identity.actor import load_actor
from app.identity.models import User
from app.identity.roles import Role
from app.orders.access import check_may_dispatch
from app.orders.queries import find_order
from app.runtime import Runtime
from tests.bot.conftest import Cast
from tests.factories import grant


def test_claims_tell_replays_from_retries(rt: Runtime) -> None:
    claim = claim_inbound
    assert claim(rt, nonce_key="nonce:1:a", message_key="msg:1") is InboundClaim.NEW
    assert claim(rt, nonce_key="nonce:1:a", message_key="msg:1") is InboundClaim.REPLAY
    assert claim(rt, nonce_key="nonce:2:b", message_key="msg:1") is InboundClaim.DUPLICATE
    assert claim(rt, nonce_key="nonce:3:c", message_key=None) is InboundClaim.NEW
    with rt.db.read() as session:
        keys = set(session.scalars(sa.select(BotInbound.dedupe_key)))
    assert keys == {"nonce:1:a", "msg:1", "nonce:2:b", "nonce:3:c"}


def test_old_claims_are_pruned(rt: Runtime) -> None:
    with rt.db.write() as session:
        session.add(BotInbound(dedupe_key="msg:old", created_at=now_utc() - timedelta(days=2)))
    assert claim_inbound(rt, nonce_key="nonce:9:z", message_key="msg:old") is InboundClaim.NEW


def test_only_one_of_many_concurrent_claims_wins(rt: Runtime) -> None:
    results: list[InboundClaim] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(i: int) -> None:
        start.wait()
        outcome = claim_inbound(rt, nonce_key=f"nonce:{i}", message_key="msg:race")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([InboundClaim.NEW] + [InboundClaim.DUPLICATE] * 5)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"SubscribeMsgPopupEvent": {"List": {"TemplateId": "t1", "SubscribeStatusString": "accept"}}},
            [("t1", "accept")],
        ),
        (
            {
                "SubscribeMsgChangeEvent": {
                    "List": [
                        {"TemplateId": "t1", "SubscribeStatusString": "reject"},
                        {"TemplateId": "t2", "SubscribeStatusString": " Accept "},
                    ]
                }
            },
            [("t1", "reject"), ("t2", "accept")],
        ),
        ({"List": {"TemplateId": "t3", "SubscribeStatusString": "reject"}}, [("t3", "reject")]),  # the JSON push
        ({"SubscribeMsgPopupEvent": {"List": "garbage"}}, []),
        ({"SubscribeMsgPopupEvent": {"List": [{"TemplateId": "t1"}, "x", None]}}, []),
        ({}, []),
    ],
)
def test_consent_lists_of_one_or_many(data: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert consent_decisions(data) == expected


def test_find_order_needs_one_match_in_the_actors_communities(rt: Runtime, cast: Cast) -> None:
    order = cast.submit()
    with rt.db.read() as session:
        secretary = session.get(User, cast.secretary.id)
        sq2 = session.get(User, cast.sq2_secretary.id)
        assert secretary is not None
        assert sq2 is not None
        secretary_actor, sq2_actor = load_actor(session, secretary), load_actor(session, sq2)
    assert find_order(rt, secretary_actor, order["number"]) == (order["id"], "submitted")
    with pytest.raises(NotFoundError):
        find_order(rt, sq2_actor, order["number"])

    # A street admin covers both communities; once both have the number, it is ambiguous.
    grant(rt, "street-admin", Role.STREET_ADMIN, cast.world.street)
    grant(rt, "resident-sq2", Role.RESIDENT, cast.world.other_community)
    with rt.db.read() as session:
        admin = session.scalar(sa.select(User).where(User.openid == "street-admin"))
        assert admin is not None
        admin_actor = load_actor(session, admin)
    assert find_order(rt, admin_actor, order["number"])[0] == order["id"]
    sq2_resident = cast._person("resident-sq2", None, None)
    household = {"community": cast.world.other_community, "building": "1", "unit": "1", "room": "101"}
    cast.client.put("/api/v1/me/household", json=household, headers=sq2_resident.headers)
    body = {"community": cast.world.other_community, "category": "grocery", "kind": "service", "title": "买菜"}
    twin = cast.client.post("/api/v1/orders", json=body, headers=sq2_resident.headers).get_json()["order"]
    assert twin["number"] == order["number"]  # numbers are per community
    with pytest.raises(InvalidInputError):
        find_order(rt, admin_actor, order["number"])


def test_only_dispatchers_may_dispatch(rt: Runtime, cast: Cast) -> None:
    grant(rt, "grid-worker", Role.GRID_WORKER, cast.world.grid)
    with rt.db.read() as session:
        worker = session.scalar(sa.select(User).where(User.openid == "grid-worker"))
        volunteer = session.get(User, cast.volunteer.id)
        assert worker is not None
        assert volunteer is not None
        worker_actor, volunteer_actor = load_actor(session, worker), load_actor(session, volunteer)
    check_may_dispatch(worker_actor)
    with pytest.raises(ForbiddenError):
        check_may_dispatch(volunteer_actor)
