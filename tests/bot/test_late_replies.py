"""A bot reply that misses the reply budget is not lost: the callback answers ``success`` in time,
the handler finishes, and its text goes out as a customer-service message (客服消息) through
the outbox and the delivery job. WeChat's resend of the same message queues nothing more.

The slowness is real: the simulator holds ``user/info`` for a second, which the bot calls for a
follower it does not know yet, while the budget is a fifth of that."""

from __future__ import annotations

import time
from typing import Any

import requests
import sqlalchemy as sa

from app.bot import commands
from app.notify.delivery import deliver_due
from app.notify.models import Channel, DeliveryStatus, OutboxMessage
from app.runtime import Runtime
from tests.bot.conftest import Cast, server_with
from tests.bot.wechat_server import WeChatServer, load_fixture
from wechat_sim import SimulatorServer

SLOW = 1.0
BUDGET = {"bot": {"reply_budget_seconds": 0.2}}


def _replies(rt: Runtime) -> list[sa.Row[Any]]:
    """The customer-service rows of the outbox: what a late reply leaves there."""
    o = OutboxMessage
    with rt.db.read() as session:
        rows = session.execute(
            sa.select(o.recipient, o.recipient_user_id, o.queue_key, o.status, o.payload)
            .where(o.channel == Channel.CUSTOMER_SERVICE)
            .order_by(o.id)
        )
        return list(rows)


def _wait_for_replies(rt: Runtime, count: int) -> list[sa.Row[Any]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = _replies(rt)
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"expected {count} late replies, found {len(_replies(rt))}")


def _sim_messages(simulator: SimulatorServer, touser: str) -> list[dict[str, Any]]:
    response = requests.get(f"{simulator.base_url}/_sim/messages", params={"touser": touser}, timeout=5)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_slow_reply_follows_as_a_customer_service_message(
    wechat: WeChatServer, cast: Cast, rt: Runtime, simulator: SimulatorServer
) -> None:
    slow = server_with(wechat, **BUDGET)
    volunteer = cast.volunteer
    simulator.state.inject_fault("/cgi-bin/user/info", delay_seconds=SLOW)
    text = load_fixture("text__command", content="帮助", msgid="7000000000000000001", **{"from": volunteer.oa_openid})
    started = time.monotonic()
    push = slow.post(text)
    assert time.monotonic() - started < SLOW
    assert (push.status, push.body) == (200, "success")
    # WeChat resends while the first is still being handled: done once, so nothing more to say.
    assert slow.post(text).body == "success"
    [row] = _wait_for_replies(rt, 1)
    assert (row.recipient, row.recipient_user_id, row.status) == (
        volunteer.oa_openid,
        volunteer.id,
        DeliveryStatus.PENDING,
    )
    assert row.payload == {"text": commands.AUTO_BOUND + commands.HELP}

    report = deliver_due(rt)
    assert report.sent == 1, report
    [sent] = _sim_messages(simulator, volunteer.oa_openid)
    assert (sent["channel"], sent["msgtype"], sent["data"]) == (
        "customer_service",
        "text",
        {"content": commands.AUTO_BOUND + commands.HELP},
    )
    # A resend after it all: still one reply queued, one sent.
    assert slow.post(text).body == "success"
    time.sleep(SLOW / 2)
    assert len(_replies(rt)) == 1
    assert deliver_due(rt).sent == 0
    assert len(_sim_messages(simulator, volunteer.oa_openid)) == 1


def test_a_slow_reply_to_an_unbound_follower_queues_by_openid(
    wechat: WeChatServer, cast: Cast, rt: Runtime, simulator: SimulatorServer
) -> None:
    slow = server_with(wechat, **BUDGET)
    simulator.state.inject_fault("/cgi-bin/user/info", delay_seconds=SLOW)
    assert slow.text("wx-no-union", "待办").body == "success"
    [row] = _wait_for_replies(rt, 1)
    assert (row.recipient, row.recipient_user_id, row.queue_key) == ("wx-no-union", None, "oa:wx-no-union")
    assert row.payload == {"text": commands.BIND_HELP}
    assert deliver_due(rt).sent == 1
    [sent] = _sim_messages(simulator, "wx-no-union")
    assert sent["channel"] == "customer_service"


def test_a_reply_in_time_queues_nothing(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.text(cast.volunteer.oa_openid, "帮助").reply == commands.AUTO_BOUND + commands.HELP
    time.sleep(0.2)
    assert _replies(rt) == []
