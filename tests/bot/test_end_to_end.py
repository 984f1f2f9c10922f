"""The loop by chat: a resident posts in the mini-program; the secretary binds the Official Account
and dispatches by chat; the volunteer, also bound, accepts and completes by chat; the order's audit
trail names "bot" as the channel of every chat action."""

from __future__ import annotations

import sqlalchemy as sa

from app.notify.models import OutboxMessage
from app.runtime import Runtime
from tests.bot.conftest import Cast
from tests.bot.wechat_server import WeChatServer


def test_dispatch_accept_and_complete_by_chat(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    body = {"community": cast.world.community, "category": "grocery", "kind": "service", "title": "帮忙买米"}
    posted = cast.client.post("/api/v1/orders", json={**body, "description": "两斤青菜"}, headers=cast.resident.headers)
    assert posted.status_code == 201, posted.get_json()
    order = posted.get_json()["order"]
    number = order["number"]

    welcome = cast.bind(wechat, cast.secretary)
    assert "社区书记" in welcome
    cast.bind(wechat, cast.volunteer)

    todo = wechat.text(cast.secretary.oa_openid, "待办").reply
    assert todo is not None
    assert f"· {number} 帮忙买米（和平社区）" in todo

    # Full-width characters and extra spaces, as typed on a phone.
    fullwidth_number = number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    dispatched = wechat.text(cast.secretary.oa_openid, f"派单　{fullwidth_number}  {cast.volunteer.id}").reply
    vid = cast.volunteer.id
    assert dispatched == f"已派单：{number}「帮忙买米」→ 志愿者 用户{vid}（编号 {vid}）。"

    volunteer_todo = wechat.text(cast.volunteer.oa_openid, "todo").reply
    assert volunteer_todo is not None
    assert f"{number} 已派单" in volunteer_todo
    assert "接单：发送「接单 单号」" in volunteer_todo

    accepted = wechat.text(cast.volunteer.oa_openid, f"接单 {number}").reply
    assert accepted is not None
    assert accepted.startswith(f"已接单：{number}「帮忙买米」")
    assert accepted.endswith(f"完成后请发送「完成 {number}」。")

    completed = wechat.text(cast.volunteer.oa_openid, f"done {number}").reply
    assert completed is not None
    assert completed.startswith(f"已完成：{number}")

    detail = cast.order(order["id"])
    assert detail["status"] == "completed"
    assert [(e["action"], e["channel"]) for e in detail["events"]] == [
        ("submit", "api"),
        ("dispatch", "bot"),
        ("accept", "bot"),
        ("complete", "bot"),
    ]
    assert detail["events"][1]["actor"]["id"] == cast.secretary.id
    assert detail["events"][3]["actor"]["id"] == cast.volunteer.id

    # The resident rates in the mini-program as usual: the chat did not bypass the loop.
    closed = cast.act(order["id"], "rate", cast.resident, {"score": 5})
    assert closed["status"] == "closed"
    # Notifications were queued by the same services the API uses (the outbox, in the same transaction).
    with rt.db.read() as session:
        queued = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.order_id == order["id"])
        )
    assert queued
