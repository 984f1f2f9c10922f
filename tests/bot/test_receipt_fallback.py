"""The whole loop of a delivery receipt: a template message sent by the delivery job carries
WeChat's msgid; WeChat's TEMPLATESENDJOBFINISH says the follower blocks the account's template
messages; the next message to them goes by the next channel of their chain."""

from __future__ import annotations

import sqlalchemy as sa

from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.consent import add_grants
from app.notify.delivery import deliver_due
from app.notify.models import Channel, DeliveryStatus, OutboxMessage
from app.notify.outbox import notify_user
from app.notify.payloads import Rendered
from app.runtime import Runtime
from tests.bot.conftest import Cast
from tests.bot.wechat_server import WeChatServer
from wechat_sim import SimulatorServer


def _remind(rt: Runtime, user_id: int, key: str) -> OutboxMessage:
    """Queue a staff reminder to ``user_id`` and deliver everything due; the reminder's row."""
    with rt.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert notify_user(
            session,
            rt.settings.notify,
            user=user,
            template_key="reminder",
            rendered=Rendered(data={"thing1": {"value": "工单提醒"}}, title="工单提醒", body=key),
            dedupe_key=f"receipt-loop:{key}",
            addressee=Addressee.STAFF,
        )
    deliver_due(rt)
    with rt.db.read() as session:
        row = session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == f"receipt-loop:{key}:push")
        ).one()
        session.expunge(row)
        return row


def test_a_blocked_follower_gets_the_next_message_on_the_next_channel(
    wechat: WeChatServer, cast: Cast, rt: Runtime, simulator: SimulatorServer
) -> None:
    secretary = cast.secretary
    cast.bind(wechat, secretary)  # bound with a code: she follows, template messages reach her
    with rt.db.write() as session:
        add_grants(session, secretary.id, ["reminder"])

    first = _remind(rt, secretary.id, "first")
    assert (first.status, first.channel) == (DeliveryStatus.SENT, Channel.TEMPLATE)
    [sent] = [m for m in simulator.state.messages(secretary.oa_openid) if m["channel"] == "template"]
    assert first.wechat_msgid == str(sent["msgid"])

    # WeChat reports that she blocked the account's template messages.
    push = wechat.event(
        "event_templatesendjobfinish__user_block", secretary.oa_openid, values={"msgid": first.wechat_msgid}
    )
    assert (push.status, push.body) == (200, "success")
    with rt.db.read() as session:
        assert (
            session.scalar(sa.select(OutboxMessage.receipt).where(OutboxMessage.id == first.id)) == "failed:user block"
        )

    second = _remind(rt, secretary.id, "second")
    # Template skipped as blocked, on to the subscribe message her grant allows.
    assert (second.status, second.channel) == (DeliveryStatus.SENT, Channel.SUBSCRIBE)
    assert [(e["channel"], e["outcome"], e["detail"]) for e in second.trail][:1] == [("template", "skipped", "blocked")]
    assert [m["channel"] for m in simulator.state.messages(secretary.openid)] == ["subscribe"]
