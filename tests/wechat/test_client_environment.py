"""The gateway reads the proxy environment once, when it is made, not on every send (a fifth of a
send's CPU in the fan-out profile), and still honours it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.wechat.client import WeChatClientGateway
from tests.conftest import make_settings
from wechat_sim import SimulatorServer


def test_proxies_are_taken_once_per_host_and_no_proxy_is_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, simulator: SimulatorServer
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings = make_settings(
        "sqlite:///" + str(tmp_path / "x.db"),
        simulator.base_url,
        tmp_path,
        wechat={"wecom_api_base": "https://qyapi.weixin.qq.com"},
    )
    gateway = WeChatClientGateway(settings)
    for http in (gateway.miniprogram._http, gateway.official_account._http, gateway._http):
        assert http.trust_env is False
        # The robot's host goes through the proxy; the simulator's (no_proxy) does not.
        assert http.proxies == {
            "http://qyapi.weixin.qq.com": "http://proxy.example:3128",
            "https://qyapi.weixin.qq.com": "http://proxy.example:3128",
        }
    # And a send to the simulator still goes straight there.
    gateway.send_subscribe_message("env-user", "sim-tmpl-reminder", {"thing1": {"value": "x"}})
    assert [m["touser"] for m in simulator.state.messages("env-user")] == ["env-user"]
