"""Notifications end to end: order steps over HTTP → outbox → the real delivery code → the WeChat
simulator, plus the in-app inbox, one-time grants, refusals (43101) and the outbox accounting."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.core.clock import now_utc
from app.identity.models import User
from app.identity.roles import Role
from app.notify.delivery import deliver_due, outbox_counts
from app.notify.models import Channel, DeliveryStatus, Notification, OutboxMessage, SubscriptionGrant
from app.runtime import Runtime
from tests.factories import People, grant, login, make_order, make_people, make_world
from wechat_sim import SimulatorServer

# A title far over WeChat's 20-character `thing` limit, so that cutting is exercised.
LONG_TITLE = "帮忙买菜并且顺路去药店取降压药再送到三号楼二单元三零一室谢谢您辛苦了"
# Longer than the 10 characters a `name` field allows.
LONG_NICKNAME = "热心肠的志愿者小李同学今天也在"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} ([01]\d|2[0-3]):[0-5]\d")


# -- helpers -------------------------------------------------------------------------------------


def _act(client: FlaskClient, path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    response = client.post(path, json=body or {}, headers=headers)
    assert response.status_code in (200, 201), (path, response.get_json())
    return response.get_json()["order"]


def _subscribe(client: FlaskClient, headers: dict[str, str], *keys: str) -> dict[str, int]:
    response = client.post("/api/v1/subscriptions", json={"accepted": list(keys)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    remaining: dict[str, int] = response.get_json()["remaining"]
    return remaining


def _deliver(rt: Runtime) -> None:
    report = deliver_due(rt)
    assert report.dead == 0, report.errors
    assert report.retried == 0, report.errors


def _rows(rt: Runtime, **where: Any) -> list[OutboxMessage]:
    with rt.db.read() as session:
        query = sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _user_id(rt: Runtime, openid: str) -> int:
    with rt.db.read() as session:
        user_id = session.scalar(sa.select(User.id).where(User.openid == openid))
    assert user_id is not None
    return int(user_id)


def _grant_left(rt: Runtime, openid: str, key: str) -> int | None:
    with rt.db.read() as session:
        return session.scalar(
            sa.select(SubscriptionGrant.remaining)
            .join(User, User.id == SubscriptionGrant.user_id)
            .where(User.openid == openid, SubscriptionGrant.template_key == key)
        )


def _inbox(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/notifications{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    page: dict[str, Any] = response.get_json()
    return page


def _assert_within_wechat_limits(data: dict[str, Any]) -> None:
    """WeChat's subscribe-message field rules (docs/wechat.md), checked independently of the app's code."""
    assert data
    for key, item in data.items():
        value = item["value"]
        assert isinstance(value, str), (key, value)
        assert value.strip(), (key, value)
        prefix = re.sub(r"\d+$", "", key)
        if prefix == "thing":
            assert len(value) <= 20, (key, value)
        elif prefix == "name":
            assert len(value) <= 10, (key, value)
        elif prefix == "phrase":
            assert len(value) <= 5, (key, value)
            assert all(_CJK.match(ch) for ch in value), (key, value)
        elif prefix == "character_string":
            assert len(value) <= 32, (key, value)
            assert not _CJK.search(value), (key, value)
        elif prefix == "number":
            assert len(value) <= 32, (key, value)
            assert value.replace(".", "", 1).isdigit(), (key, value)
        elif prefix in ("time", "date"):
            assert _MOMENT.fullmatch(value), (key, value)
        else:
            pytest.fail(f"unexpected data key {key}")


def _assert_accounting(rt: Runtime, expected_rows: int) -> dict[str, int]:
    counts = outbox_counts(rt)
    with rt.db.read() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    assert set(counts) == {"pending", "sending", "sent", "dead", "skipped"}
    assert sum(counts.values()) == total == expected_rows, counts
    return counts


def _link_official_account(rt: Runtime, openid: str, oa_openid: str) -> None:
    # The bot links users to the Official Account (a later issue); here the link is made directly.
    with rt.db.write() as session:
        session.execute(sa.update(User).where(User.openid == openid).values(oa_openid=oa_openid, oa_following=True))


# -- the lifecycle -------------------------------------------------------------------------------


def _volunteer_serves_and_resident_hears(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer, people: People, oid: int
) -> None:
    """Accept, start, complete: after each step exactly one more subscribe message reaches alice."""
    expected = [("accept", "order_claimed"), ("start", "order_started"), ("complete", "order_completed")]
    for step, (action, key) in enumerate(expected, start=1):
        _act(client, f"/api/v1/orders/{oid}/{action}", people.volunteer.headers)
        _deliver(rt)
        received = simulator.state.messages("alice")
        assert len(received) == step, received
        assert received[-1]["kind"] == "subscribe"
        template_id = rt.settings.notify.subscribe_templates[key]
        assert received[-1]["template_id"] == template_id == f"sim-tmpl-{key.replace('_', '-')}"
        assert received[-1]["page"] == f"pages/order/detail?id={oid}"
    resident_messages = simulator.state.messages("alice")
    assert [m["data"]["name3"]["value"] for m in resident_messages] == [LONG_NICKNAME[:10]] * 3


def test_each_step_pushes_the_right_message_to_the_right_people(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    cfg = rt.settings.notify
    assert _subscribe(client, people.resident.headers, "order_claimed", "order_started", "order_completed") == {
        "order_claimed": 1,
        "order_started": 1,
        "order_completed": 1,
    }
    assert _subscribe(client, people.volunteer.headers, "order_dispatched") == {"order_dispatched": 1}
    assert _subscribe(client, people.other_volunteer.headers, "order_dispatched") == {"order_dispatched": 1}
    _link_official_account(rt, "secretary-wang", "oa-secretary-wang")
    with rt.db.write() as session:  # a long name: the `name` field must be cut to 10 characters
        session.execute(sa.update(User).where(User.openid == "volunteer-li").values(nickname=LONG_NICKNAME))
    state = simulator.state

    oid = make_order(rt, people, world, title=LONG_TITLE)
    _deliver(rt)
    [submitted] = state.messages("oa-secretary-wang")
    assert submitted["kind"] == "template"
    assert submitted["template_id"] == cfg.oa_templates["order_submitted"] == "sim-oa-order-submitted"
    assert submitted["data"]["thing2"]["value"].startswith(LONG_TITLE[:10])
    assert len(submitted["data"]["thing2"]["value"]) == 20
    assert state.messages("secretary-wang") == []  # the OA openid, never the mini-program one
    assert state.messages("alice") == []  # nobody tells the resident about her own submission

    _act(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id})
    _deliver(rt)
    [dispatched] = state.messages("volunteer-li")
    assert dispatched["kind"] == "subscribe"
    assert dispatched["template_id"] == "sim-tmpl-order-dispatched"
    assert dispatched["page"] == f"pages/order/detail?id={oid}"
    assert state.messages("volunteer-chen") == []  # only the assignee hears of the dispatch

    _volunteer_serves_and_resident_hears(client, rt, simulator, people, oid)

    # Over HTTP too: the simulator's own listing of what alice received, oldest first.
    listed = requests.get(f"{simulator.base_url}/_sim/messages", params={"touser": "alice"}, timeout=5).json()
    assert [m["template_id"] for m in listed["items"]] == [
        "sim-tmpl-order-claimed",
        "sim-tmpl-order-started",
        "sim-tmpl-order-completed",
    ]
    assert {m["touser"] for m in listed["items"]} == {"alice"}

    everything = state.messages()
    assert len(everything) == 5
    for message in everything:
        _assert_within_wechat_limits(message["data"])
    rows = _rows(rt)
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert all(row.attempts == 1 and row.sent_at is not None for row in rows)
    counts = _assert_accounting(rt, expected_rows=5)
    assert counts == {"pending": 0, "sending": 0, "sent": 5, "dead": 0, "skipped": 0}
    # The grants are spent: one acceptance, one message.
    assert _grant_left(rt, "alice", "order_claimed") == 0
    assert _grant_left(rt, "volunteer-li", "order_dispatched") == 0
    assert _grant_left(rt, "volunteer-chen", "order_dispatched") == 1

    inbox = _inbox(client, people.resident.headers)
    assert [n["template_key"] for n in inbox["items"]] == ["order_completed", "order_started", "order_claimed"]
    assert all(n["order_id"] == oid for n in inbox["items"])
    assert inbox["unread"] == 3
    secretary_inbox = _inbox(client, people.secretary.headers)
    assert [n["template_key"] for n in secretary_inbox["items"]] == ["order_submitted"]


def test_no_grant_means_inbox_only_and_one_grant_allows_one_message(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    # The secretary does not follow the Official Account: her template message is skipped too.
    first = make_order(rt, people, world)
    _act(client, f"/api/v1/orders/{first}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id})
    _act(client, f"/api/v1/orders/{first}/accept", people.volunteer.headers)
    _deliver(rt)

    assert simulator.state.messages() == []
    assert [n["template_key"] for n in _inbox(client, people.resident.headers)["items"]] == ["order_claimed"]
    assert [n["template_key"] for n in _inbox(client, people.volunteer.headers)["items"]] == ["order_dispatched"]
    skipped = _rows(rt)
    assert [(r.template_key, r.status, r.last_error, r.attempts) for r in skipped] == [
        # Every channel of each chain was looked at, and why it could not carry the message.
        ("order_submitted", DeliveryStatus.SKIPPED, "template:not_bound wecom:no_robot", 0),
        ("order_dispatched", DeliveryStatus.SKIPPED, "subscribe:no_grant template:not_bound", 0),
        ("order_claimed", DeliveryStatus.SKIPPED, "subscribe:no_grant template:not_bound", 0),
    ]
    assert [entry["detail"] for entry in skipped[1].trail] == ["no_grant", "not_bound"]

    # One acceptance of order_claimed, then two orders accepted: the first message goes, the second
    # is skipped for want of a grant.
    assert _subscribe(client, people.resident.headers, "order_claimed") == {"order_claimed": 1}
    second, third = make_order(rt, people, world), make_order(rt, people, world)
    for oid in (second, third):
        _act(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id})
        _act(client, f"/api/v1/orders/{oid}/accept", people.volunteer.headers)
    _deliver(rt)
    received = simulator.state.messages("alice")
    assert [(m["template_id"], m["page"]) for m in received] == [
        ("sim-tmpl-order-claimed", f"pages/order/detail?id={second}")
    ]
    claimed_rows = _rows(rt, template_key="order_claimed")
    assert [(r.order_id, r.status) for r in claimed_rows] == [
        (first, DeliveryStatus.SKIPPED),
        (second, DeliveryStatus.SENT),
        (third, DeliveryStatus.SKIPPED),
    ]
    assert claimed_rows[2].last_error == "subscribe:no_grant template:not_bound"
    assert _grant_left(rt, "alice", "order_claimed") == 0
    # The inbox has every one of them, whatever WeChat got.
    inbox = _inbox(client, people.resident.headers)
    assert [(n["template_key"], n["order_id"]) for n in inbox["items"]] == [
        ("order_claimed", third),
        ("order_claimed", second),
        ("order_claimed", first),
    ]
    # 3 orders x (submitted, dispatched, claimed)
    counts = _assert_accounting(rt, expected_rows=9)
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "dead": 0, "skipped": 8}


def test_a_refusing_user_is_skipped_at_once_and_loses_the_grant(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    grant(rt, "refuse-xxx", Role.VOLUNTEER, world.community)
    refuser = login(client, "refuse-xxx")
    refuser_id = client.get("/api/v1/me", headers=refuser).get_json()["id"]
    # Three acceptances: one is spent when the message is sent, the 43101 answer clears the rest.
    for expected in (1, 2, 3):
        assert _subscribe(client, refuser, "order_dispatched") == {"order_dispatched": expected}

    oid = make_order(rt, people, world)
    _act(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": refuser_id})
    assert _grant_left(rt, "refuse-xxx", "order_dispatched") == 3
    report = deliver_due(rt)
    # Refused on the subscribe channel, on to the template channel at once: not bound, so the
    # inbox is all there is (the secretary's order_submitted: skipped too).
    assert (report.rerouted, report.skipped, report.retried, report.dead, report.sent) == (1, 2, 0, 0, 0)
    [row] = _rows(rt, template_key="order_dispatched")
    assert row.recipient == "refuse-xxx"
    assert row.status == DeliveryStatus.SKIPPED
    assert row.attempts == 1
    assert "43101" in row.last_error
    assert row.locked_until is None
    assert _grant_left(rt, "refuse-xxx", "order_dispatched") == 0

    # Nothing is retried later either, and WeChat recorded nothing for that user.
    again = deliver_due(rt, now=now_utc() + timedelta(days=1))
    assert again.claimed == 0
    [row] = _rows(rt, template_key="order_dispatched")
    assert (row.status, row.attempts) == (DeliveryStatus.SKIPPED, 1)
    assert simulator.state.messages("refuse-xxx") == []
    # The inbox still tells them.
    assert [n["template_key"] for n in _inbox(client, refuser)["items"]] == ["order_dispatched"]
    # A later dispatch to the same user is not even tried: no grant is left.
    _act(client, f"/api/v1/orders/{oid}/decline", refuser, {"reason": "没空"})
    _act(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": refuser_id})
    deliver_due(rt)
    second = _rows(rt, template_key="order_dispatched")[-1]
    assert (second.status, second.last_error, second.attempts) == (
        DeliveryStatus.SKIPPED,
        "subscribe:no_grant template:not_bound",
        0,
    )
    # submitted (secretary, not following), dispatched, reminder (decline → secretary), dispatched
    _assert_accounting(rt, expected_rows=4)


def test_subscribe_messages_carry_the_configured_miniprogram_state(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _subscribe(client, people.volunteer.headers, "order_dispatched")
    oid = make_order(rt, people, world)
    _act(client, f"/api/v1/orders/{oid}/dispatch", people.secretary.headers, {"volunteer_id": people.volunteer.id})
    _deliver(rt)
    [row] = _rows(rt, template_key="order_dispatched")
    assert (row.status, row.channel) == (DeliveryStatus.SENT, Channel.SUBSCRIBE)
    [message] = simulator.state.messages("volunteer-li")
    assert message["miniprogram_state"] == rt.settings.notify.miniprogram_state == "formal"


def test_template_messages_open_the_order_in_the_mini_program(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _link_official_account(rt, "secretary-wang", "oa-secretary-wang")
    oid = make_order(rt, people, world)
    _deliver(rt)
    [row] = _rows(rt, template_key="order_submitted")
    assert row.payload["page"] == f"pages/order/detail?id={oid}"
    [message] = simulator.state.messages("oa-secretary-wang")
    assert (message["miniprogram"] or {}).get("pagepath") == f"pages/order/detail?id={oid}"
    assert message["miniprogram"]["appid"] == rt.settings.wechat.miniprogram.appid


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"accepted": ["order_claimed", "no_such_template"]},
        {"accepted": ["no_such_template"]},
        {"accepted": "order_claimed"},
        {"accepted": {"order_claimed": True}},
        {"accepted": [1, 2]},
        {"accepted": [""]},
        {"accepted": ["order_claimed"], "extra": 1},
        {},
        None,
        [],
    ],
    ids=["unknown-among-known", "unknown", "str", "object", "numbers", "empty-key", "extra", "empty", "none", "list"],
)
def test_bad_subscriptions_are_refused_and_record_nothing(client: FlaskClient, rt: Runtime, body: Any) -> None:
    headers = login(client, "alice")
    if body is None:
        response = client.post("/api/v1/subscriptions", headers=headers)
    else:
        response = client.post("/api/v1/subscriptions", json=body, headers=headers)
    assert response.status_code == 400, response.get_json()
    assert "error" in response.get_json()
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SubscriptionGrant)) == 0


def test_subscriptions_need_a_login(client: FlaskClient, rt: Runtime) -> None:
    response = client.post("/api/v1/subscriptions", json={"accepted": ["order_claimed"]})
    assert response.status_code == 401
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SubscriptionGrant)) == 0


def test_inbox_paging_bad_input_and_mark_read_of_someone_elses(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    ids = [make_order(rt, people, world, title=f"第{i}件事") for i in range(3)]
    for oid in ids:
        _act(client, f"/api/v1/orders/{oid}/reject", people.secretary.headers, {"reason": "重复提交"})
    # Each rejection puts one entry in the resident's inbox.
    first = _inbox(client, people.resident.headers, "?limit=2")
    assert [n["order_id"] for n in first["items"]] == ids[::-1][:2]
    assert first["unread"] == 3
    second = _inbox(client, people.resident.headers, f"?limit=2&cursor={first['next_cursor']}")
    assert [n["order_id"] for n in second["items"]] == ids[:1]
    assert second["next_cursor"] is None

    for bad in ("limit=0", "limit=101", "limit=x", "limit=-1", "cursor=%%%", "color=red"):
        response = client.get(f"/api/v1/notifications?{bad}", headers=people.resident.headers)
        assert response.status_code == 400, bad

    theirs = [n["id"] for n in first["items"]]
    # Someone else's ids: nothing is marked, and the owner still sees them unread.
    stranger = client.post("/api/v1/notifications/read", json={"ids": theirs}, headers=people.volunteer.headers)
    assert stranger.status_code == 200
    assert stranger.get_json()["marked"] == 0
    after = _inbox(client, people.resident.headers)
    assert after["unread"] == 3
    assert not any(n["read"] for n in after["items"])
    with rt.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).where(Notification.read_at.is_not(None))) == 0
    bad_bodies: list[dict[str, Any]] = [{"ids": []}, {"ids": ["x"]}, {"ids": [0]}, {}]
    for bad_body in bad_bodies:
        assert (
            client.post("/api/v1/notifications/read", json=bad_body, headers=people.resident.headers).status_code == 400
        )

    # The owner may mark them, once.
    own = client.post("/api/v1/notifications/read", json={"ids": theirs}, headers=people.resident.headers)
    assert own.get_json()["marked"] == 2
    again = client.post("/api/v1/notifications/read", json={"ids": theirs}, headers=people.resident.headers)
    assert again.get_json()["marked"] == 0
    assert _inbox(client, people.resident.headers)["unread"] == 1
    # rejections: 3 secretary (submitted, skipped) + 3 resident reminders (skipped, no grant)
    deliver_due(rt)
    counts = _assert_accounting(rt, expected_rows=6)
    assert counts["skipped"] == 6
    assert simulator.state.messages() == []
