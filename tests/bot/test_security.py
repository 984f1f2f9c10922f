"""The callback's defences: every forged, stale, replayed, oversized or hostile push is refused
with a 4xx and leaves the database as it was; genuine pushes get an answer well within 5 s."""

from __future__ import annotations

import dataclasses
import hmac
import time
from typing import Any

import pytest
import sqlalchemy as sa
import xmltodict
from flask.testing import FlaskClient

from app.bot import callback, security
from app.notify.models import Channel, OutboxMessage
from app.runtime import Runtime
from tests.bot.conftest import Cast, snapshot
from tests.bot.wechat_server import MP_APPID, TOKEN, WeChatServer, load_fixture, seal, sha1_signature


def _rejected(push: Any, status: int, code: str) -> None:
    assert push.status == status, push.body
    assert f'"code":"{code}"' in push.body.replace(" ", ""), push.body


# -- the URL check (GET) -------------------------------------------------------------------------


def test_url_check_echoes_only_with_a_valid_signature(plain: WeChatServer, client: FlaskClient) -> None:
    args = {**plain.signed_args(), "echostr": "5837397520656278958"}
    ok = client.get("/wechat/callback", query_string=args)
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "5837397520656278958")
    assert ok.content_type.startswith("text/plain")

    forged = {**args, "signature": sha1_signature("not-the-token", args["timestamp"], args["nonce"])}
    assert client.get("/wechat/callback", query_string=forged).status_code == 403
    missing = {"echostr": "1", "timestamp": args["timestamp"], "nonce": args["nonce"]}
    assert client.get("/wechat/callback", query_string=missing).status_code == 403
    old = {**plain.signed_args(timestamp=str(int(time.time()) - 600)), "echostr": "1"}
    assert client.get("/wechat/callback", query_string=old).status_code == 403
    script = {**plain.signed_args(), "echostr": "<script>alert(1)</script>"}
    assert client.get("/wechat/callback", query_string=script).status_code == 400


def test_no_token_configured_means_nothing_is_accepted() -> None:
    # With an empty token anyone could compute sha1(sorted(["", ts, nonce])).
    now = str(int(time.time()))
    query = security.SignedQuery(sha1_signature("", now, "n"), now, "n", "", "raw")
    with pytest.raises(security.CallbackRejectedError) as caught:
        security.verify_query("", query)
    assert caught.value.status == 403


def test_signatures_are_compared_in_constant_time(plain: WeChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return bool(original(a, b))

    monkeypatch.setattr(hmac, "compare_digest", spy)
    args = plain.signed_args()
    plain.post_raw(load_fixture("event_view__link"), args)
    assert (args["signature"].encode(), args["signature"].encode()) in seen


# -- forged, stale and replayed pushes -------------------------------------------------------------


def test_forged_signature_is_refused(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    before = snapshot(rt)
    push = wechat.text(cast.secretary.oa_openid, "待办", overrides={"signature": "0" * 40})
    _rejected(push, 403, "invalid_signature")
    assert snapshot(rt) == before


@pytest.mark.parametrize("offset", [-600, 600])
def test_timestamps_ten_minutes_off_are_refused(wechat: WeChatServer, rt: Runtime, offset: int) -> None:
    before = snapshot(rt)
    push = wechat.event("event_subscribe__follow", "oa-x", timestamp=str(int(time.time()) + offset))
    _rejected(push, 403, "stale_timestamp")
    assert snapshot(rt) == before
    # Just inside the window is still fine (clock skew happens).
    assert wechat.event("event_subscribe__follow", "oa-x", timestamp=str(int(time.time()) - 290)).status == 200


def test_a_replayed_request_is_refused_and_does_nothing_twice(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    order = cast.submit()
    first = wechat.text(cast.secretary.oa_openid, f"派单 {order['number']} {cast.volunteer.id}")
    assert first.status == 200
    assert first.reply is not None
    assert first.reply.startswith("已派单")
    before = snapshot(rt)
    replay = wechat.post_raw(first.sent, first.args)  # the captured request, byte for byte
    _rejected(replay, 403, "replayed")
    assert snapshot(rt) == before
    assert [e["action"] for e in cast.order(order["id"])["events"]] == ["submit", "dispatch"]


def test_wechats_own_retry_is_answered_success_and_done_once(wechat: WeChatServer, cast: Cast, rt: Runtime) -> None:
    cast.bind(wechat, cast.secretary)
    order = cast.submit()
    xml = load_fixture(
        "text__command",
        content=f"派单 {order['number']} {cast.volunteer.id}",
        msgid="7300000000000000001",
        **{"from": cast.secretary.oa_openid},
    )
    assert wechat.post(xml).reply is not None
    retry = wechat.post(xml)  # same message, signed afresh, as WeChat resends after 5 s
    assert (retry.status, retry.body) == (200, "success")
    assert [e["action"] for e in cast.order(order["id"])["events"]] == ["submit", "dispatch"]
    # Events have no MsgId: FromUserName + CreateTime (+ Event) names them.
    follow = load_fixture("event_subscribe__follow", **{"from": "oa-y"})
    assert wechat.post(follow).reply is not None  # the welcome
    assert wechat.post(follow).body == "success"


# -- AES safe mode -----------------------------------------------------------------------------------


def test_wrong_msg_signature_is_refused(safe: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    push = safe.event("event_subscribe__follow", "oa-x", overrides={"msg_signature": "f" * 40})
    _rejected(push, 403, "invalid_msg_signature")
    # The plain signature alone does not do in safe mode: msg_signature must cover the ciphertext.
    push = safe.event("event_subscribe__follow", "oa-x", overrides={"msg_signature": ""})
    _rejected(push, 403, "invalid_msg_signature")
    assert snapshot(rt) == before


def test_garbage_ciphertext_is_refused(safe: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    for garbage in ("AAAA", "bm90IGEgY2lwaGVydGV4dA==", "!!!not base64!!!", seal("x")[:-8] + "AAAAAAA="):
        args = safe.signed_args()
        args.update(encrypt_type="aes", msg_signature=sha1_signature(TOKEN, args["timestamp"], args["nonce"], garbage))
        push = safe.post_raw(load_fixture("aes__envelope", encrypt=garbage), args)
        assert push.status == 403, (garbage, push.body)
    no_encrypt = safe.signed_args()
    no_encrypt.update(encrypt_type="aes", msg_signature="0" * 40)
    _rejected(safe.post_raw("<xml><ToUserName>gh</ToUserName></xml>", no_encrypt), 403, "invalid_ciphertext")
    assert snapshot(rt) == before


def test_ciphertext_of_another_appid_is_refused(safe: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    push = safe.event("event_subscribe__follow", "oa-x", appid="wx-someone-else")
    _rejected(push, 403, "invalid_appid")
    assert snapshot(rt) == before
    # The mini-program's own pushes (consent events) are sealed with its appid: accepted.
    assert safe.event("event_view__link", "mp-x", appid=MP_APPID).status == 200


def test_the_mode_must_match_the_configuration(plain: WeChatServer, safe: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    # A plaintext push to a safe-mode account: its signature does not cover the body.
    _rejected(safe.post_raw(load_fixture("event_subscribe__follow"), safe.signed_args()), 403, "wrong_mode")
    # A safe-mode push to a plain account: we cannot read it.
    args = {**plain.signed_args(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    _rejected(plain.post_raw(load_fixture("aes__envelope", encrypt=seal("<xml/>")), args), 403, "wrong_mode")
    assert snapshot(rt) == before


def test_an_encrypted_sample_built_by_hand_decrypts_with_wechatpy(safe: WeChatServer) -> None:
    """Our hand-made AES (tests/bot/wechat_server.py) and wechatpy's agree both ways."""
    from wechatpy.crypto import WeChatCrypto

    from tests.bot.wechat_server import AES_KEY, OA_APPID, unseal

    sealed = seal("<xml><A>邻里</A></xml>")
    args = safe.signed_args()
    msg_signature = sha1_signature(TOKEN, args["timestamp"], args["nonce"], sealed)
    crypto = WeChatCrypto(TOKEN, AES_KEY, OA_APPID)
    assert crypto.decrypt_message({"Encrypt": sealed}, msg_signature, args["timestamp"], args["nonce"]) == (
        "<xml><A>邻里</A></xml>"
    )
    reply = xmltodict.parse(crypto.encrypt_message("<xml><B>回复</B></xml>", "nonce1", "1700000000"))["xml"]
    assert unseal(reply["Encrypt"]) == ("<xml><B>回复</B></xml>", OA_APPID)


# -- hostile and oversized bodies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("hostile__billion_laughs", "hostile_xml"),
        ("hostile__external_entity", "hostile_xml"),
        ("hostile__malformed", "invalid_xml"),
        ("hostile__no_msgtype", "invalid_message"),
    ],
)
def test_hostile_xml_is_refused_quickly(wechat: WeChatServer, rt: Runtime, fixture: str, code: str) -> None:
    before = snapshot(rt)
    started = time.perf_counter()
    push = wechat.post(load_fixture(fixture, **{"from": "oa-attacker"}))
    assert time.perf_counter() - started < 1
    _rejected(push, 400, code)
    assert snapshot(rt) == before


def test_hostile_envelope_in_safe_mode_is_refused(safe: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    body = load_fixture("hostile__billion_laughs")
    args = {**safe.signed_args(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    _rejected(safe.post_raw(body, args), 400, "hostile_xml")
    assert snapshot(rt) == before


def test_entities_stay_disabled_even_past_the_declaration_check() -> None:
    # The second line of defence: xmltodict itself refuses entity declarations.
    hostile = load_fixture("hostile__billion_laughs").encode()
    with pytest.raises(ValueError, match="entities"):
        xmltodict.parse(hostile, disable_entities=True)


def test_a_one_megabyte_body_is_refused_unread(wechat: WeChatServer, rt: Runtime) -> None:
    before = snapshot(rt)
    padding = "x" * (1024 * 1024)
    push = wechat.post(load_fixture("text__command", content=padding))
    _rejected(push, 413, "payload_too_large")
    assert snapshot(rt) == before


def test_reply_text_cannot_break_out_of_cdata(wechat: WeChatServer, cast: Cast) -> None:
    cast.bind(wechat, cast.volunteer)
    push = wechat.post(load_fixture("text__cdata_breakout", **{"from": cast.volunteer.oa_openid}))
    assert push.status == 200
    # The echoed "]]><b>x</b>" stays text: the reply parses and keeps every character.
    assert push.reply is not None
    assert "「查]]><b>x</b>」" in push.reply


def test_escape_cdata_round_trips() -> None:
    for text in ("plain", "a]]>b", "]]>]]>", "控制\x00字符\x1f", "]]"):
        xml = f"<xml><C><![CDATA[{security.escape_cdata(text)}]]></C></xml>"
        parsed = xmltodict.parse(xml)["xml"]["C"] or ""
        assert parsed == text.replace("\x00", "").replace("\x1f", "")


# -- within WeChat's 5 s -------------------------------------------------------------------------------


def test_a_command_is_answered_well_within_five_seconds(wechat: WeChatServer, cast: Cast) -> None:
    cast.bind(wechat, cast.secretary)
    for i in range(3):
        cast.submit(title=f"第{i}件")
    started = time.perf_counter()
    push = wechat.text(cast.secretary.oa_openid, "待办")
    assert push.reply is not None
    assert "【待派单】共 3 件" in push.reply
    assert time.perf_counter() - started < 1


def test_past_the_reply_budget_the_answer_is_success(
    rt: Runtime, plain: WeChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = rt.settings.model_copy(update={"bot": rt.settings.bot.model_copy(update={"reply_budget_seconds": 0.2})})
    hurried = dataclasses.replace(rt, settings=settings)
    done: list[str] = []

    def slow(runtime: Runtime, message: object) -> str:
        time.sleep(0.6)
        done.append("finished")
        return "too late"

    monkeypatch.setattr(callback, "respond", slow)
    args = plain.signed_args()
    started = time.perf_counter()
    answer = callback.receive(hurried, args, load_fixture("text__command", content="待办").encode())
    elapsed = time.perf_counter() - started
    assert (answer.body, elapsed < 0.5) == ("success", True)
    deadline = time.monotonic() + 5
    while not (done and _late_replies(rt)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert done == ["finished"]  # the work still completes
    # ... and its reply is queued as a customer-service message. Waited for, too: the test's
    # teardown empties the tables, which deadlocked with that write still in flight.
    assert _late_replies(rt) == ["too late"]


def _late_replies(rt: Runtime) -> list[str]:
    with rt.db.read() as session:
        return [
            str(payload.get("text"))
            for payload in session.scalars(
                sa.select(OutboxMessage.payload).where(OutboxMessage.channel == Channel.CUSTOMER_SERVICE)
            )
        ]
