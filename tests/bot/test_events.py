"""Fixture-driven: every XML in tests/fixtures/wechat is pushed, in plain and AES safe mode, and
its effect checked. A new fixture without an entry here fails the first test."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from app.bot import commands, events
from app.core.clock import now_utc
from app.identity.models import User
from app.notify.consent import add_grants
from app.notify.models import Channel, DeliveryStatus, OutboxMessage
from app.notify.receipts import record_receipt
from app.runtime import Runtime
from tests.bot.conftest import EVENTS_CONSENT, Cast, Person, grants_of, server_with, snapshot
from tests.bot.wechat_server import MP_APPID, WeChatServer, fixture_names, load_fixture

#: Covered in test_security.py (refused) or used as the AES wrapper.
ELSEWHERE = {
    "aes__envelope",
    "hostile__billion_laughs",
    "hostile__external_entity",
    "hostile__malformed",
    "hostile__no_msgtype",
    "text__cdata_breakout",
}


def _following(rt: Runtime, person: Person) -> bool | None:
    with rt.db.read() as session:
        return session.scalar(sa.select(User.oa_following).where(User.id == person.id))


def _give(rt: Runtime, person: Person, *keys: str) -> None:
    with rt.db.write() as session:
        add_grants(session, person.id, list(keys))


# -- one check per fixture ---------------------------------------------------------------------------


def text__command(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.volunteer)
    assert wechat.text(cast.volunteer.oa_openid, "帮助").reply == commands.HELP


def voice__recognition(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    cast.submit()
    push = wechat.event("voice__recognition", cast.secretary.oa_openid)
    assert push.reply is not None
    assert push.reply.startswith("【待派单】共 1 件")


def image__photo(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.event("image__photo", "oa-stranger").reply == commands.BIND_HELP
    cast.bind(wechat, cast.volunteer)
    assert (
        wechat.event("image__photo", cast.volunteer.oa_openid).reply
        == "目前只能识别文字命令。发送「帮助」查看可用的命令。"
    )


def event_subscribe__follow(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.event("event_subscribe__follow", "oa-newcomer").reply == events.WELCOME
    cast.bind(wechat, cast.volunteer)
    wechat.event("event_unsubscribe__unfollow", cast.volunteer.oa_openid)
    assert _following(rt, cast.volunteer) is False
    assert wechat.event("event_subscribe__follow", cast.volunteer.oa_openid).reply == events.WELCOME_BACK
    assert _following(rt, cast.volunteer) is True


def event_subscribe__qrscene(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.event("event_subscribe__qrscene", "oa-scanner").reply == events.WELCOME


def event_unsubscribe__unfollow(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    assert _following(rt, cast.secretary) is True
    push = wechat.event("event_unsubscribe__unfollow", cast.secretary.oa_openid)
    assert (push.status, push.body) == (200, "success")
    assert _following(rt, cast.secretary) is False
    # An unknown follower leaving changes nobody.
    before = snapshot(rt)["oa"]
    assert wechat.event("event_unsubscribe__unfollow", "oa-unknown").body == "success"
    assert snapshot(rt)["oa"] == before


def event_click__todo(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.event("event_click__todo", "oa-stranger").reply == commands.BIND_HELP
    cast.bind(wechat, cast.secretary)
    cast.submit()
    clicked = wechat.event("event_click__todo", cast.secretary.oa_openid).reply
    assert clicked is not None
    assert clicked == wechat.text(cast.secretary.oa_openid, "待办").reply


def event_click__help(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.volunteer)
    assert wechat.event("event_click__help", cast.volunteer.oa_openid).reply == commands.HELP


def event_click__bind(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    assert wechat.event("event_click__bind", "oa-stranger").reply == commands.BIND_HELP
    cast.bind(wechat, cast.volunteer)
    assert wechat.event("event_click__bind", cast.volunteer.oa_openid).reply == commands.REBIND_HELP


def event_click__unknown_key(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.volunteer)
    assert wechat.event("event_click__unknown_key", cast.volunteer.oa_openid).reply == commands.HELP


def event_view__link(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    before = snapshot(rt)
    push = wechat.event("event_view__link", "oa-reader")
    assert (push.status, push.body) == (200, "success")
    assert snapshot(rt)["oa"] == before["oa"]


def subscribe_msg_popup_event__one_template(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    # As shipped (notify.consent_from = "api") the push's acceptance is not counted: the
    # mini-program's POST /subscriptions already counted it.
    wechat.event("subscribe_msg_popup_event__one_template", cast.volunteer.openid, appid=MP_APPID)
    assert grants_of(rt, cast.volunteer) == {}
    wechat = server_with(wechat, **EVENTS_CONSENT)
    # From the mini-program's push: the sender is the mini-program openid (users.openid).
    same = {"time": str(int(time.time()) + 10)}
    push = wechat.event("subscribe_msg_popup_event__one_template", cast.volunteer.openid, appid=MP_APPID, values=same)
    assert (push.status, push.body) == (200, "success")
    assert grants_of(rt, cast.volunteer) == {"order_dispatched": 1}
    # WeChat resending the same event (same sender and CreateTime) counts once …
    wechat.event("subscribe_msg_popup_event__one_template", cast.volunteer.openid, appid=MP_APPID, values=same)
    assert grants_of(rt, cast.volunteer) == {"order_dispatched": 1}
    # … a second acceptance later is one more send.
    later = {"time": str(int(same["time"]) + 1)}
    wechat.event("subscribe_msg_popup_event__one_template", cast.volunteer.openid, appid=MP_APPID, values=later)
    assert grants_of(rt, cast.volunteer) == {"order_dispatched": 2}
    # Nobody else's grants move, and an unknown openid is ignored.
    wechat.event("subscribe_msg_popup_event__one_template", "mp-unknown", appid=MP_APPID)
    assert grants_of(rt, cast.resident) == {}


def subscribe_msg_popup_event__several_templates(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    _give(rt, cast.resident, "reminder", "reminder")
    events_mode = server_with(wechat, **EVENTS_CONSENT)
    events_mode.event("subscribe_msg_popup_event__several_templates", cast.resident.openid, appid=MP_APPID)
    # accept order_claimed → +1; reject reminder → 0; an id we do not use → ignored.
    assert grants_of(rt, cast.resident) == {"order_claimed": 1, "reminder": 0}


def subscribe_msg_change_event__reject(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    _give(rt, cast.resident, "order_dispatched", "order_dispatched", "reminder")
    push = wechat.event("subscribe_msg_change_event__reject", cast.resident.openid, appid=MP_APPID)
    assert push.body == "success"
    assert grants_of(rt, cast.resident) == {"order_dispatched": 0, "reminder": 1}


def subscribe_msg_change_event__popup_wrapper(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    # WeChat's own docs show change events in the popup wrapper; a change to accept grants no send.
    _give(rt, cast.resident, "reminder")
    wechat.event("subscribe_msg_change_event__popup_wrapper", cast.resident.openid, appid=MP_APPID)
    assert grants_of(rt, cast.resident) == {"reminder": 0}


def subscribe_msg_sent_event__delivered(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    _give(rt, cast.resident, "order_dispatched")
    push = wechat.event("subscribe_msg_sent_event__delivered", cast.resident.openid, appid=MP_APPID)
    assert (push.status, push.body) == (200, "success")
    assert grants_of(rt, cast.resident) == {"order_dispatched": 1}  # delivery bookkeeping is the outbox's


# -- template-message receipts ------------------------------------------------------------------


def _sent_template(rt: Runtime, person: Person, msgid: str) -> int:
    """A template message as delivery leaves it once WeChat accepted it: sent, with its msgid."""
    now = now_utc()
    with rt.db.write() as session:
        row = OutboxMessage(
            dedupe_key=f"receipt-test:{msgid}",
            channel=Channel.TEMPLATE,
            chain=[Channel.TEMPLATE.value],
            template_key="order_submitted",
            recipient_user_id=person.id,
            recipient=person.oa_openid,
            payload={"template_id": "sim-oa-order-submitted", "data": {}},
            status=DeliveryStatus.SENT,
            next_attempt_at=now,
            sent_at=now,
            wechat_msgid=msgid,
        )
        session.add(row)
        session.flush()
        return row.id


def _receipt(rt: Runtime, outbox_id: int) -> tuple[str | None, bool]:
    """The message's receipt, and whether its recipient now blocks template messages."""
    with rt.db.read() as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        assert row.recipient_user_id is not None
        user = session.get(User, row.recipient_user_id)
        assert user is not None
        return row.receipt, user.oa_blocked_at is not None


def _push_receipt(wechat: WeChatServer, name: str, person: Person, msgid: str) -> None:
    push = wechat.event(name, person.oa_openid, values={"msgid": msgid})
    assert (push.status, push.body) == (200, "success")  # WeChat expects no answer to a receipt


def event_templatesendjobfinish__success(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    sent = _sent_template(rt, cast.secretary, "2000000101")
    _push_receipt(wechat, "event_templatesendjobfinish__success", cast.secretary, "2000000101")
    assert _receipt(rt, sent) == ("success", False)
    # A msgid we never sent (another system on the account): nothing changes, still no answer.
    before = snapshot(rt)
    _push_receipt(wechat, "event_templatesendjobfinish__success", cast.secretary, "999")
    assert snapshot(rt)["oa"] == before["oa"]
    assert _receipt(rt, sent) == ("success", False)


def event_templatesendjobfinish__user_block(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    sent = _sent_template(rt, cast.secretary, "2000000102")
    other = _sent_template(rt, cast.sq2_secretary, "2000000103")
    _push_receipt(wechat, "event_templatesendjobfinish__user_block", cast.secretary, "2000000102")
    assert _receipt(rt, sent) == ("failed:user block", True)
    assert _receipt(rt, other) == (None, False)


def event_templatesendjobfinish__system_failed(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    sent = _sent_template(rt, cast.secretary, "2000000104")
    _push_receipt(wechat, "event_templatesendjobfinish__system_failed", cast.secretary, "2000000104")
    # WeChat's own failure: recorded, and the person keeps getting template messages.
    assert _receipt(rt, sent) == ("failed: system failed", False)


def test_a_receipt_and_a_chat_message_with_the_same_id_are_both_done(
    wechat: WeChatServer, cast: Cast, rt: Runtime
) -> None:
    cast.bind(wechat, cast.secretary)
    chat = load_fixture("text__command", content="帮助", msgid="2000000106", **{"from": cast.secretary.oa_openid})
    assert wechat.post(chat).reply == commands.HELP
    sent = _sent_template(rt, cast.secretary, "2000000106")
    _push_receipt(wechat, "event_templatesendjobfinish__success", cast.secretary, "2000000106")
    assert _receipt(rt, sent) == ("success", False)


def test_a_receipt_is_read_however_wechat_spaces_it_and_needs_both_fields(cast: Cast, rt: Runtime) -> None:
    sent = _sent_template(rt, cast.volunteer, "2000000105")
    assert record_receipt(rt, "", "success") is False
    assert record_receipt(rt, "2000000105", "  ") is False
    assert _receipt(rt, sent) == (None, False)
    # WeChat's documents write the status with and without spaces.
    assert record_receipt(rt, "2000000105", "failed: user block") is True
    assert _receipt(rt, sent) == ("failed: user block", True)


CHECKS: dict[str, Callable[[WeChatServer, Cast, Runtime], None]] = {
    name: check
    for name, check in globals().items()
    if callable(check) and "__" in name and not name.startswith("_") and name in fixture_names()
}


def test_every_fixture_has_a_check() -> None:
    unchecked = sorted(set(fixture_names()) - CHECKS.keys() - ELSEWHERE)
    assert not unchecked, f"fixtures without a check in test_events.py: {unchecked}"
    assert len(CHECKS) >= 15


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fixture(name: str, wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    CHECKS[name](wechat, cast, rt)


def test_fixtures_parse_as_the_types_they_claim() -> None:
    from wechatpy import parse_message

    for name in CHECKS:
        message = parse_message(load_fixture(name, content="帮助"))
        expected = name.split("__")[0]
        if expected.startswith("event_"):
            assert message.type == "event", name
            assert message.event.startswith(expected.removeprefix("event_")), name
        elif expected.startswith("subscribe_msg"):
            assert message.type == "unknown", name  # wechatpy 1.8.18 does not model them
        else:
            assert message.type == expected, name
