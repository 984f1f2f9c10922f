"""LeanSession: requests' interface over urllib3, against the simulator on loopback.

What wechatpy and the gateway rely on must hold on the direct path (Response objects,
raise_for_status, requests' exceptions), and anything the direct path does not understand must
go through requests unchanged."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from app.wechat.transport import LeanSession
from wechat_sim import SimulatorServer

SUBSCRIBE = "/cgi-bin/message/subscribe/send"


@pytest.fixture
def through_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs that went through requests' own Session.send (the fallback path)."""
    seen: list[str] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        seen.append(str(request.url))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return seen


def _token(simulator: SimulatorServer, http: requests.Session) -> str:
    answer = http.post(
        f"{simulator.base_url}/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": "wx-mini-sim", "secret": "sim-secret"},
        timeout=5,
    )
    return str(answer.json()["access_token"])


def test_a_plain_call_goes_direct_and_answers_a_requests_response(
    simulator: SimulatorServer, through_requests: list[str]
) -> None:
    http = LeanSession(pool_maxsize=4)
    token = _token(simulator, http)
    body = '{"touser": "o-lean", "template_id": "t-1", "data": {"thing1": {"value": "买菜"}}}'.encode()
    answer = http.request("post", f"{simulator.base_url}{SUBSCRIBE}", params={"access_token": token}, data=body)
    assert isinstance(answer, requests.Response)
    assert answer.status_code == 200
    assert answer.json()["errcode"] == 0
    assert answer.headers["content-type"].startswith("application/json")
    answer.raise_for_status()
    assert [m["touser"] for m in simulator.state.messages("o-lean")] == ["o-lean"]
    assert through_requests == []


def test_an_http_error_raises_as_requests_does(simulator: SimulatorServer, through_requests: list[str]) -> None:
    simulator.state.inject_fault(SUBSCRIBE, http_status=502)
    http = LeanSession(pool_maxsize=4)
    answer = http.post(f"{simulator.base_url}{SUBSCRIBE}", json={"touser": "x"}, timeout=5)
    assert answer.status_code == 502
    with pytest.raises(requests.HTTPError) as raised:
        answer.raise_for_status()
    assert raised.value.response is answer
    assert through_requests == []


def test_a_slow_answer_is_a_read_timeout(simulator: SimulatorServer) -> None:
    simulator.state.inject_fault(SUBSCRIBE, delay_seconds=1.0)
    http = LeanSession(pool_maxsize=4)
    with pytest.raises(requests.ReadTimeout):
        http.post(f"{simulator.base_url}{SUBSCRIBE}", json={"touser": "x"}, timeout=0.2)


def test_nothing_listening_is_a_connection_error_not_a_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = LeanSession(pool_maxsize=4)
    with pytest.raises(requests.ConnectionError) as raised:
        http.post(f"http://127.0.0.1:{port}{SUBSCRIBE}", json={}, timeout=2)
    assert not isinstance(raised.value, requests.Timeout)


def test_what_the_direct_path_does_not_know_goes_through_requests(
    simulator: SimulatorServer, through_requests: list[str]
) -> None:
    http = LeanSession(pool_maxsize=4)
    # files= (a media upload): requests builds the multipart body.
    http.post(f"{simulator.base_url}{SUBSCRIBE}", files={"media": ("a.txt", b"x")}, timeout=5)
    # A proxy for this host (the gateway sets these from the environment once).
    http.proxies["http://127.0.0.1"] = ""  # present but empty: still direct
    http.post(f"{simulator.base_url}{SUBSCRIBE}", json={}, timeout=5)
    assert len(through_requests) == 1
    http.proxies["http://127.0.0.1"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(requests.ConnectionError):
        http.post(f"{simulator.base_url}{SUBSCRIBE}", json={}, timeout=2)
    assert len(through_requests) == 2
