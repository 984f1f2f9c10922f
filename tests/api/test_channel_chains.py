"""Messages reach people through the chain of channels of their purpose ([notify.chains]): the
first channel that can reach the person carries it, each skip is recorded in the message's trail,
a refusal moves on to the next channel in the same delivery run, a blocked follower falls back,
and messages to one person go out in the order they were queued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.areas.models import Area
from app.core.clock import now_utc
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.delivery import deliver_due
from app.notify.models import Channel, DeliveryStatus, OutboxMessage
from app.notify.outbox import notify_user
from app.notify.payloads import Rendered
from app.orders.workflow import OrderStatus
from app.runtime import Runtime
from tests.factories import People, make_order, make_people, make_world
from wechat_sim import SimulatorServer

SUBSCRIBE_PATH = "/cgi-bin/message/subscribe/send"


def _follow(rt: Runtime, person_id: int, oa_openid: str, *, blocked: bool = False) -> None:
    with rt.db.write() as session:
        session.execute(
            sa.update(User)
            .where(User.id == person_id)
            .values(oa_openid=oa_openid, oa_following=True, oa_blocked_at=now_utc() if blocked else None)
        )


def _subscribe(client: FlaskClient, headers: dict[str, str], *keys: str) -> None:
    response = client.post("/api/v1/subscriptions", json={"accepted": list(keys)}, headers=headers)
    assert response.status_code == 200, response.get_json()


def _dispatch(client: FlaskClient, people: People, order_id: int) -> None:
    response = client.post(
        f"/api/v1/orders/{order_id}/dispatch",
        json={"volunteer_id": people.volunteer.id},
        headers=people.secretary.headers,
    )
    assert response.status_code == 200, response.get_json()


def _row(rt: Runtime, **where: Any) -> OutboxMessage:
    with rt.db.read() as session:
        row = session.scalars(sa.select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id.desc())).first()
        assert row is not None, where
        session.expunge(row)
        return row


def _trail(row: OutboxMessage) -> list[tuple[str, str, str]]:
    return [(entry["channel"], entry["outcome"], entry["detail"]) for entry in row.trail]


def test_a_dispatch_goes_by_subscribe_message_while_a_grant_is_left(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _follow(rt, people.volunteer.id, "oa-volunteer-li")  # following too: the grant still wins
    _subscribe(client, people.volunteer.headers, "order_dispatched")
    order_id = make_order(rt, people, world)
    _dispatch(client, people, order_id)
    deliver_due(rt)

    row = _row(rt, template_key="order_dispatched")
    assert (row.status, row.channel, row.recipient) == (DeliveryStatus.SENT, Channel.SUBSCRIBE, "volunteer-li")
    assert _trail(row) == [("subscribe", "sent", "")]
    [message] = simulator.state.messages("volunteer-li")
    assert message["channel"] == "subscribe"
    assert simulator.state.messages("oa-volunteer-li") == []


def test_no_grant_but_a_bound_follower_gets_the_official_account_message(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _follow(rt, people.volunteer.id, "oa-volunteer-li")
    order_id = make_order(rt, people, world)
    _dispatch(client, people, order_id)
    deliver_due(rt)

    row = _row(rt, template_key="order_dispatched")
    assert (row.status, row.channel, row.recipient) == (DeliveryStatus.SENT, Channel.TEMPLATE, "oa-volunteer-li")
    # The skip is recorded, then the send; WeChat's msgid is kept for the delivery receipt.
    assert [(c, o) for c, o, _ in _trail(row)] == [("subscribe", "skipped"), ("template", "sent")]
    assert _trail(row)[0][2] == "no_grant"
    [message] = simulator.state.messages("oa-volunteer-li")
    assert (message["channel"], message["template_id"]) == ("template", "sim-oa-order-dispatched")
    assert row.wechat_msgid == str(message["msgid"])
    # It opens the order in the mini-program, like the subscribe message would.
    assert message["miniprogram"]["pagepath"] == f"pages/order/detail?id={order_id}"


def test_neither_grant_nor_follower_leaves_the_inbox_only(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    order_id = make_order(rt, people, world)
    _dispatch(client, people, order_id)
    report = deliver_due(rt)

    row = _row(rt, template_key="order_dispatched")
    assert row.status == DeliveryStatus.SKIPPED
    assert _trail(row) == [("subscribe", "skipped", "no_grant"), ("template", "skipped", "not_bound")]
    assert report.sent == 0
    assert simulator.state.messages("volunteer-li") == []
    inbox = client.get("/api/v1/notifications", headers=people.volunteer.headers).get_json()["items"]
    assert [item["template_key"] for item in inbox] == ["order_dispatched"]


def test_staff_without_the_official_account_reach_the_community_robot(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    with rt.db.write() as session:
        session.execute(sa.update(Area).where(Area.code == world.community).values(wecom_robot_key="robot-sq1"))
    people = make_people(rt, world, client=client)
    make_order(rt, people, world)
    deliver_due(rt)

    row = _row(rt, template_key="order_submitted", recipient_user_id=people.secretary.id)
    assert (row.status, row.channel, row.recipient) == (DeliveryStatus.SENT, Channel.WECOM, "robot-sq1")
    # template: not bound; subscribe: order_submitted has no subscribe template (left out when
    # queued); the robot carried it, addressed to her by name.
    assert [(c, o) for c, o, _ in _trail(row)] == [("template", "skipped"), ("wecom", "sent")]
    [message] = simulator.state.messages("wecom:robot-sq1")
    assert message["channel"] == "wecom"
    content = message["data"]["content"]
    assert "新工单待派单" in content
    assert "secretary-wang" not in content  # a name, never an openid, in a group chat


def test_a_refusal_moves_on_to_the_next_channel_in_the_same_run(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _follow(rt, people.volunteer.id, "oa-volunteer-li")
    _subscribe(client, people.volunteer.headers, "order_dispatched")
    order_id = make_order(rt, people, world)
    _dispatch(client, people, order_id)
    # The user turned the template off in WeChat's settings since granting: 43101.
    simulator.state.inject_fault(SUBSCRIBE_PATH, errcode=43101)
    report = deliver_due(rt)

    row = _row(rt, template_key="order_dispatched")
    assert (row.status, row.channel) == (DeliveryStatus.SENT, Channel.TEMPLATE)
    assert [(c, o) for c, o, _ in _trail(row)] == [("subscribe", "skipped"), ("template", "sent")]
    assert "43101" in _trail(row)[0][2]
    assert report.rerouted == 1
    assert report.retried == report.dead == 0
    assert [m["channel"] for m in simulator.state.messages("oa-volunteer-li")] == ["template"]


def test_a_blocked_follower_falls_back_on_the_next_message(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    # A receipt said "failed:user block" (app/notify/receipts.py sets this).
    _follow(rt, people.volunteer.id, "oa-volunteer-li", blocked=True)
    _subscribe(client, people.volunteer.headers, "order_dispatched")
    first, second = make_order(rt, people, world), make_order(rt, people, world)
    _dispatch(client, people, first)
    _dispatch(client, people, second)
    deliver_due(rt)

    rows = [_row(rt, template_key="order_dispatched", order_id=oid) for oid in (first, second)]
    # The one grant carries the first; the second finds neither a grant nor a follower who
    # takes template messages.
    assert (rows[0].status, rows[0].channel) == (DeliveryStatus.SENT, Channel.SUBSCRIBE)
    assert rows[1].status == DeliveryStatus.SKIPPED
    assert _trail(rows[1]) == [("subscribe", "skipped", "no_grant"), ("template", "skipped", "blocked")]
    assert simulator.state.messages("oa-volunteer-li") == []


def test_messages_to_one_person_wait_for_an_earlier_one_backing_off(
    client: FlaskClient, rt: Runtime, simulator: SimulatorServer
) -> None:
    world = make_world(rt)
    people = make_people(rt, world, client=client)
    _subscribe(client, people.resident.headers, "order_claimed", "order_started")
    order_id = make_order(rt, people, world, status=OrderStatus.ACCEPTED)
    started = client.post(f"/api/v1/orders/{order_id}/start", json={}, headers=people.volunteer.headers)
    assert started.status_code == 200, started.get_json()
    # WeChat is busy for the first send only.
    simulator.state.inject_fault(SUBSCRIBE_PATH, errcode=-1)
    t0 = now_utc()
    first = deliver_due(rt, now=t0)
    claimed = _row(rt, template_key="order_claimed", recipient_user_id=people.resident.id)
    started_row = _row(rt, template_key="order_started", recipient_user_id=people.resident.id)
    assert (claimed.status, claimed.attempts) == (DeliveryStatus.PENDING, 1)
    # The later message was never even claimed while the earlier one backs off.
    assert (started_row.status, started_row.attempts) == (DeliveryStatus.PENDING, 0)
    assert first.retried == 1
    assert simulator.state.messages("alice") == []

    deliver_due(rt, now=t0 + timedelta(hours=2))
    received = [m["template_id"] for m in simulator.state.messages("alice")]
    assert received == ["sim-tmpl-order-claimed", "sim-tmpl-order-started"]


def test_a_deleted_account_is_not_reached_on_any_channel(rt: Runtime, simulator: SimulatorServer) -> None:
    world = make_world(rt)
    people = make_people(rt, world)
    with rt.db.write() as session:
        user = session.get(User, people.volunteer.id)
        assert user is not None
        notify_user(
            session,
            rt.settings.notify,
            user=user,
            template_key="reminder",
            rendered=Rendered(data={"thing1": {"value": "提醒"}}, title="工单提醒", body="提醒"),
            dedupe_key="test:deleted",
            addressee=Addressee.MEMBER,
        )
        user.oa_openid, user.oa_following = "oa-volunteer-li", True
        user.deleted_at = now_utc()  # deleted after the message was queued
    deliver_due(rt)
    row = _row(rt, template_key="reminder")
    assert row.status == DeliveryStatus.SKIPPED
    assert simulator.state.messages("oa-volunteer-li") == [] == simulator.state.messages("volunteer-li")
