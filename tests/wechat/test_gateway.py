"""The WeChat gateway: wechatpy over real HTTP to the simulator, with our token and error rules."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.core.config import Settings
from app.wechat.client import WeChatClientGateway
from app.wechat.errors import (
    WeChatPayloadError,
    WeChatQuotaError,
    WeChatRecipientError,
    WeChatRejectedError,
    WeChatUnavailableError,
)
from app.wechat.gateway import Follower, Verdict
from tests.conftest import make_settings
from wechat_sim import SimulatorServer

SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "/cgi-bin/message/template/send"


@pytest.fixture
def gateway(simulator: SimulatorServer, tmp_path: Path) -> WeChatClientGateway:
    settings: Settings = make_settings("sqlite:///unused.db", simulator.base_url, tmp_path)
    return WeChatClientGateway(settings)


def _send(gateway: WeChatClientGateway, openid: str = "o-alice") -> None:
    gateway.send_subscribe_message(openid, "tmpl-1", {"thing1": {"value": "买菜代购"}}, page="pages/order/detail")


def test_code_to_session(gateway: WeChatClientGateway) -> None:
    session = gateway.code_to_session("sim:o-alice")
    assert (session.openid, session.unionid) == ("o-alice", "union-o-alice")
    assert session.session_key
    with pytest.raises(WeChatRejectedError) as used:
        gateway.code_to_session("sim:o-alice")
    assert used.value.errcode == 40163
    with pytest.raises(WeChatRejectedError) as bad:
        gateway.code_to_session("whatever")
    assert bad.value.errcode == 40029


def test_phone_and_content_security(gateway: WeChatClientGateway) -> None:
    assert gateway.get_phone_number("sim-phone:13800138000") == "13800138000"
    assert gateway.check_text("帮我买菜", openid="o-alice") is Verdict.PASS
    assert gateway.check_text("这是复核测试", openid="o-alice") is Verdict.REVIEW
    assert gateway.check_text("这是违规测试", openid="o-alice") is Verdict.RISKY


def test_sends_reach_the_simulator(gateway: WeChatClientGateway, simulator: SimulatorServer) -> None:
    _send(gateway)
    gateway.send_template_message("o-sec", "tmpl-oa", {"thing2": {"value": "新工单"}}, client_msg_id="m1")
    gateway.send_template_message("o-sec", "tmpl-oa", {"thing2": {"value": "新工单"}}, client_msg_id="m1")
    gateway.send_robot_message("robot-key", {"msgtype": "text", "text": {"content": "日报"}})
    [subscribe] = simulator.state.messages("o-alice")
    assert subscribe["kind"] == "subscribe"
    assert subscribe["data"] == {"thing1": {"value": "买菜代购"}}
    assert len(simulator.state.messages("o-sec")) == 1  # client_msg_id: WeChat's duplicate guard
    assert len(simulator.state.messages("wecom:robot-key")) == 1


def test_follower_lookup(gateway: WeChatClientGateway, simulator: SimulatorServer) -> None:
    assert gateway.get_follower("oa-alice") == Follower(openid="oa-alice", subscribed=True, unionid="union-alice")
    assert gateway.get_follower("o-other") == Follower(openid="o-other", subscribed=True, unionid=None)
    with pytest.raises(WeChatRecipientError) as empty:
        gateway.get_follower("")
    assert empty.value.errcode == 40003
    simulator.state.inject_fault("/cgi-bin/user/info", http_status=502)
    with pytest.raises(WeChatUnavailableError):
        gateway.get_follower("oa-alice")


def test_a_token_error_is_retried_exactly_once(gateway: WeChatClientGateway, simulator: SimulatorServer) -> None:
    _send(gateway)  # a token is cached now
    before = gateway.miniprogram.access_token
    simulator.state.inject_fault(SUBSCRIBE, errcode=40001, count=1)
    _send(gateway)
    assert len(simulator.state.messages("o-alice")) == 2
    # stable_token handed back the token WeChat had just rejected, so we forced a new one.
    assert gateway.miniprogram.access_token != before

    simulator.state.inject_fault(SUBSCRIBE, errcode=42001, count=2)
    with pytest.raises(WeChatRejectedError) as raised:
        _send(gateway)
    assert raised.value.errcode == 42001
    _send(gateway)  # both faults were used up: one try plus one retry, no more
    assert len(simulator.state.messages("o-alice")) == 3


def test_token_is_fetched_once_and_reused(gateway: WeChatClientGateway, simulator: SimulatorServer) -> None:
    _send(gateway)
    token = gateway.miniprogram.access_token
    # If the gateway asked for a token per call, this fault on stable_token would break the sends.
    simulator.state.inject_fault("/cgi-bin/stable_token", http_status=500, count=5)
    _send(gateway)
    _send(gateway)
    assert gateway.miniprogram.access_token == token


@pytest.mark.parametrize(
    ("openid", "fault", "expected", "errcode"),
    [
        ("refuse-o-bob", None, WeChatRecipientError, 43101),
        ("o-bob", {"errcode": 47003}, WeChatPayloadError, 47003),
        ("o-bob", {"errcode": 40037}, WeChatPayloadError, 40037),
        ("o-bob", {"errcode": 45009}, WeChatQuotaError, 45009),
        ("o-bob", {"errcode": -1}, WeChatUnavailableError, -1),
        ("o-bob", {"http_status": 500}, WeChatUnavailableError, None),
        ("o-bob", {"http_status": 502}, WeChatUnavailableError, None),
    ],
)
def test_errors_are_classified(
    gateway: WeChatClientGateway,
    simulator: SimulatorServer,
    openid: str,
    fault: dict[str, int] | None,
    expected: type[Exception],
    errcode: int | None,
) -> None:
    if fault:
        simulator.state.inject_fault(SUBSCRIBE, **fault)
    with pytest.raises(expected) as raised:
        _send(gateway, openid)
    assert getattr(raised.value, "errcode", "missing") == errcode
    assert simulator.state.messages(openid) == []


def test_field_limits_come_back_as_payload_errors(gateway: WeChatClientGateway) -> None:
    with pytest.raises(WeChatPayloadError) as raised:
        gateway.send_subscribe_message("o-alice", "tmpl-1", {"thing1": {"value": "字" * 21}})
    assert "thing1" in raised.value.errmsg


def test_slow_wechat_times_out(gateway: WeChatClientGateway, simulator: SimulatorServer) -> None:
    _send(gateway)
    simulator.state.inject_fault(SUBSCRIBE, delay_seconds=gateway.timeout + 1)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailableError):
        _send(gateway)
    assert time.monotonic() - started < gateway.timeout + 0.9


def test_wechat_down_is_unavailable_not_a_hang(tmp_path: Path) -> None:
    server = SimulatorServer(host="127.0.0.1", port=0)
    url = server.start()
    server.stop()
    down = WeChatClientGateway(make_settings("sqlite:///unused.db", url, tmp_path))
    for call in (
        lambda: down.code_to_session("sim:o-x"),
        lambda: _send(down),
        lambda: down.send_robot_message("k", {"msgtype": "text", "text": {"content": "x"}}),
    ):
        started = time.monotonic()
        with pytest.raises(WeChatUnavailableError):
            call()
        assert time.monotonic() - started < down.timeout + 0.5
