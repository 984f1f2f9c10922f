"""The WeChat simulator over real HTTP, with plain requests and through wechatpy 1.8.18."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

from wechat_sim import SimulatorServer, create_simulator_app
from wechat_sim.fields import FieldError, validate_field
from wechat_sim.state import SimulatorState

MINI_APPID = "wx-sim-mini"
OA_APPID = "wx-sim-oa"
SIM_CREDENTIAL = "any-non-empty-secret"
TIMEOUT = 3
START = 1_795_000_000.0  # 2026-11-18, a fixed instant so expiry tests do not depend on the wall clock


class FakeClock:
    """An injectable clock that only moves when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimClient(WeChatClient):  # type: ignore[misc]  # wechatpy ships no type information
    """A wechatpy client pointed at the simulator, taking its token from stable_token like Linli does."""

    def __init__(self, base_url: str, appid: str) -> None:
        super().__init__(appid, SIM_CREDENTIAL, timeout=TIMEOUT, auto_retry=False)
        self.base_url = base_url
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{base_url}/"

    def fetch_access_token(self) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        result: dict[str, Any] = self._http.post(
            f"{self.base_url}/cgi-bin/stable_token", json=body, timeout=self.timeout
        ).json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result["errmsg"], client=self)
        self.session.set(self.access_token_key, result["access_token"], result["expires_in"])
        self.expires_at = int(time.time()) + result["expires_in"]
        return result


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[SimulatorServer]:
    sim = SimulatorServer(host="127.0.0.1", port=0, state=SimulatorState(clock=clock))
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture(autouse=True)
def _fresh_state(server: SimulatorServer) -> None:
    server.state.reset()


@pytest.fixture
def base(server: SimulatorServer) -> str:
    return server.base_url


@pytest.fixture
def mini(base: str) -> SimClient:
    return SimClient(base, MINI_APPID)


@pytest.fixture
def oa(base: str) -> SimClient:
    return SimClient(base, OA_APPID)


def get(base: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{base}{path}", params=params, timeout=TIMEOUT)


def post(base: str, path: str, body: object, **params: str) -> dict[str, Any]:
    response = requests.post(f"{base}{path}", json=body, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def stable_token(base: str, appid: str = MINI_APPID, **extra: object) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": appid, "secret": SIM_CREDENTIAL, **extra}
    return post(base, "/cgi-bin/stable_token", body)


def token(base: str, appid: str = MINI_APPID) -> str:
    value: str = stable_token(base, appid)["access_token"]
    return value


def messages(base: str, touser: str | None = None) -> list[dict[str, Any]]:
    params = {"touser": touser} if touser is not None else {}
    items: list[dict[str, Any]] = get(base, "/_sim/messages", **params).json()["items"]
    return items


def subscribe_body(touser: str = "o-alice", **data: str) -> dict[str, Any]:
    fields = data or {"thing1": "帮忙买菜", "time2": "2026-11-23 14:30"}
    return {
        "touser": touser,
        "template_id": "tpl-order-claimed",
        "page": "pages/orders/detail?id=7",
        "data": {key: {"value": value} for key, value in fields.items()},
        "miniprogram_state": "formal",
    }


# -- plumbing --------------------------------------------------------------------------------


def test_health_and_unknown_paths_answer_json(base: str) -> None:
    assert get(base, "/_sim/health").json() == {"ok": True}
    missing = get(base, "/cgi-bin/no/such/api")
    assert missing.status_code == 404
    assert missing.json() == {"errcode": 404, "errmsg": "not found"}


def test_app_keeps_its_state_in_extensions() -> None:
    state = SimulatorState()
    app = create_simulator_app(state)
    assert app.extensions["wechat_sim"] is state
    assert app.test_client().get("/_sim/health").get_json() == {"ok": True}


def test_stop_and_restart_on_the_same_port_keeps_state() -> None:
    sim = SimulatorServer()
    first_url = sim.start()
    try:
        issued = token(first_url)
        sim.stop()
        with pytest.raises(requests.ConnectionError):
            get(first_url, "/_sim/health")
        assert sim.start() == first_url
        assert get(first_url, "/_sim/health").json() == {"ok": True}
        # WeChat coming back does not forget tokens it issued before the outage.
        assert get(first_url, "/cgi-bin/menu/get", access_token=issued).json()["errcode"] == 46003
    finally:
        sim.stop()


# -- access tokens ---------------------------------------------------------------------------


def test_stable_token_is_shared_until_force_refresh(base: str) -> None:
    first = stable_token(base)
    assert first["expires_in"] == 7200
    assert stable_token(base)["access_token"] == first["access_token"]

    refreshed = stable_token(base, force_refresh=True)["access_token"]
    assert refreshed != first["access_token"]
    assert get(base, "/cgi-bin/menu/get", access_token=first["access_token"]).json()["errcode"] == 40001
    assert get(base, "/cgi-bin/menu/get", access_token=refreshed).json()["errcode"] == 46003


def test_stable_token_reports_remaining_lifetime(base: str, clock: FakeClock) -> None:
    issued = stable_token(base)
    clock.advance(100)
    again = stable_token(base)
    assert again["access_token"] == issued["access_token"]
    assert again["expires_in"] == 7100


@pytest.mark.parametrize(
    ("override", "errcode"),
    [({"grant_type": "password"}, 40002), ({"appid": ""}, 40013)],
)
def test_stable_token_rejects_bad_credentials(base: str, override: dict[str, str], errcode: int) -> None:
    body = {"grant_type": "client_credential", "appid": MINI_APPID, "secret": SIM_CREDENTIAL, **override}
    assert post(base, "/cgi-bin/stable_token", body)["errcode"] == errcode


def test_any_secret_is_accepted_even_empty(base: str) -> None:
    # A laptop demo has no secrets configured; only the real WeChat needs them (config.py).
    body = {"grant_type": "client_credential", "appid": MINI_APPID, "secret": ""}
    assert post(base, "/cgi-bin/stable_token", body)["access_token"]


def test_plain_token_replaces_the_previous_one_but_not_the_stable_one(base: str) -> None:
    shared = token(base)
    params = {"grant_type": "client_credential", "appid": MINI_APPID, "secret": SIM_CREDENTIAL}
    old = get(base, "/cgi-bin/token", **params).json()["access_token"]
    new = get(base, "/cgi-bin/token", **params).json()["access_token"]
    assert old != new
    assert get(base, "/cgi-bin/menu/get", access_token=old).json()["errcode"] == 40001
    assert get(base, "/cgi-bin/menu/get", access_token=new).json()["errcode"] == 46003
    assert get(base, "/cgi-bin/menu/get", access_token=shared).json()["errcode"] == 46003


def test_missing_or_unknown_token_is_40001(base: str) -> None:
    assert post(base, "/cgi-bin/message/subscribe/send", subscribe_body())["errcode"] == 40001
    body, forged = subscribe_body(), "sim_forged"
    assert post(base, "/cgi-bin/message/subscribe/send", body, access_token=forged)["errcode"] == 40001


def test_expired_token_is_42001(base: str, clock: FakeClock, mini: SimClient) -> None:
    issued = token(base)
    clock.advance(7200)
    result = post(base, "/cgi-bin/message/subscribe/send", subscribe_body(), access_token=issued)
    assert result["errcode"] == 42001
    # wechatpy (auto_retry=False) caches by wall-clock time, so it sends the expired token and raises.
    mini.session.set(mini.access_token_key, issued, 7200)
    mini.expires_at = int(time.time()) + 7200
    with pytest.raises(WeChatClientException) as raised:
        mini.post("message/subscribe/send", data=subscribe_body())
    assert raised.value.errcode == 42001
    assert messages(base) == []


# -- mini-program login and phone ------------------------------------------------------------


def test_jscode2session_answers_the_openid_in_the_code(base: str) -> None:
    params = {"appid": MINI_APPID, "secret": SIM_CREDENTIAL, "grant_type": "authorization_code"}
    session = get(base, "/sns/jscode2session", js_code="sim:o-alice", **params).json()
    assert session["openid"] == "o-alice"
    assert session["unionid"] == "union-o-alice"
    assert len(base64.b64decode(session["session_key"])) == 16
    assert "errcode" not in session


@pytest.mark.parametrize("code", ["", "garbage", "sim:", "sim-phone:13800138000"])
def test_jscode2session_rejects_other_codes(base: str, code: str) -> None:
    params = {"appid": MINI_APPID, "secret": SIM_CREDENTIAL, "grant_type": "authorization_code"}
    result = get(base, "/sns/jscode2session", js_code=code, **params).json()
    assert result["errcode"] == 40029


def test_jscode2session_code_works_once(base: str) -> None:
    params = {"appid": MINI_APPID, "secret": SIM_CREDENTIAL, "grant_type": "authorization_code"}
    assert get(base, "/sns/jscode2session", js_code="sim:o-bob", **params).json()["openid"] == "o-bob"
    again = get(base, "/sns/jscode2session", js_code="sim:o-bob", **params).json()
    assert again == {"errcode": 40163, "errmsg": "code been used"}


def test_jscode2session_nonce_gives_fresh_codes_for_one_person(base: str) -> None:
    params = {"appid": MINI_APPID, "secret": SIM_CREDENTIAL, "grant_type": "authorization_code"}
    first = get(base, "/sns/jscode2session", js_code="sim:o-dan#1", **params).json()
    second = get(base, "/sns/jscode2session", js_code="sim:o-dan#2", **params).json()
    assert first["openid"] == second["openid"] == "o-dan"
    assert get(base, "/sns/jscode2session", js_code="sim:o-dan#1", **params).json()["errcode"] == 40163


def test_code_to_session_through_wechatpy(mini: SimClient) -> None:
    assert mini.wxa.code_to_session("sim:o-carol")["openid"] == "o-carol"
    with pytest.raises(WeChatClientException) as raised:
        mini.wxa.code_to_session("sim:o-carol")
    assert raised.value.errcode == 40163


def test_phone_number(base: str, mini: SimClient, clock: FakeClock) -> None:
    result = mini.post(f"{base}/wxa/business/getuserphonenumber", data={"code": "sim-phone:13800138000"})
    assert result["errcode"] == 0
    info = result["phone_info"]
    assert info["purePhoneNumber"] == info["phoneNumber"] == "13800138000"
    assert info["countryCode"] == "86"
    assert info["watermark"] == {"timestamp": int(clock.now), "appid": MINI_APPID}
    with pytest.raises(WeChatClientException) as raised:
        mini.post(f"{base}/wxa/business/getuserphonenumber", data={"code": "sim:o-alice"})
    assert raised.value.errcode == 40029


# -- subscribe messages ----------------------------------------------------------------------


def test_subscribe_message_is_recorded_and_listed(base: str, mini: SimClient, clock: FakeClock) -> None:
    result = mini.post("message/subscribe/send", data=subscribe_body("o-alice"))
    assert result["errcode"] == 0
    assert isinstance(result["msgid"], int)
    mini.post("message/subscribe/send", data=subscribe_body("o-bob"))

    [item] = messages(base, "o-alice")
    assert item["kind"] == "subscribe"
    assert item["msgid"] == result["msgid"]
    assert item["appid"] == MINI_APPID
    assert item["template_id"] == "tpl-order-claimed"
    assert item["page"] == "pages/orders/detail?id=7"
    assert item["data"]["thing1"] == {"value": "帮忙买菜"}
    assert item["miniprogram_state"] == "formal"
    assert item["at"] == clock.now
    assert [m["touser"] for m in messages(base)] == ["o-alice", "o-bob"]


def test_subscribe_field_over_limit_names_the_field(base: str) -> None:
    body = subscribe_body(thing1="一" * 21)
    result = post(base, "/cgi-bin/message/subscribe/send", body, access_token=token(base))
    assert result["errcode"] == 47003
    assert "data.thing1.value" in result["errmsg"]
    assert messages(base) == []


def test_subscribe_empty_value_is_47003_through_wechatpy(base: str, mini: SimClient) -> None:
    with pytest.raises(WeChatClientException) as raised:
        mini.post("message/subscribe/send", data=subscribe_body(thing1="帮忙", phrase3=""))
    assert raised.value.errcode == 47003
    assert "data.phrase3.value" in raised.value.errmsg
    assert messages(base) == []


@pytest.mark.parametrize(
    ("override", "errcode"),
    [
        ({"touser": ""}, 40003),
        ({"template_id": ""}, 40037),
        ({"page": "pages/orders/detail.html"}, 41030),
        ({"data": "not an object"}, 47001),
    ],
)
def test_subscribe_envelope_errors(base: str, override: dict[str, str], errcode: int) -> None:
    body = {**subscribe_body(), **override}
    assert post(base, "/cgi-bin/message/subscribe/send", body, access_token=token(base))["errcode"] == errcode
    assert messages(base) == []


def test_subscribe_to_refusing_user_is_43101_and_not_recorded(base: str, mini: SimClient) -> None:
    with pytest.raises(WeChatClientException) as raised:
        mini.post("message/subscribe/send", data=subscribe_body("refuse-dave"))
    assert raised.value.errcode == 43101
    assert messages(base, "refuse-dave") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thing1", "一" * 20),
        ("phrase2", "已接单"),
        ("phrase2", "已经被接单"),
        ("character_string3", "LL-20261123-0007"),
        ("number4", "12.5"),
        ("name5", "张三"),
        ("time6", "14:30"),
        ("time6", "2026年11月23日 14:30"),
        ("date7", "2026-11-23"),
        ("date7", "2026-11-23 08:00~2026-11-23 10:00"),
        ("amount8", "¥12.50"),
        ("phone_number9", "+86 138-0013-8000"),
        ("car_number10", "粤A12345"),
        ("letter11", "anything goes"),
    ],
)
def test_valid_field_values(key: str, value: str) -> None:
    validate_field(key, value)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("thing1", "一" * 21, "exceeds limit"),
        ("thing1", "   ", "is empty"),
        ("phrase2", "done", "must be chinese characters"),
        ("phrase2", "已接单了吗啊", "exceeds limit"),
        ("character_string3", "单号7", "must not contain chinese characters"),
        ("character_string3", "x" * 33, "exceeds limit"),
        ("number4", "12a", "must be a number"),
        ("number4", "1" * 33, "exceeds limit"),
        ("name5", "欧阳" * 6, "exceeds limit"),
        ("time6", "2:30 PM", "invalid time format"),
        ("time6", "24:00", "invalid time format"),
        ("date7", "2026-02-30", "invalid time format"),
        ("date7", "2026-11-2314:30", "invalid time format"),
        ("letter11", 3, "must be a string"),
    ],
)
def test_invalid_field_values(key: str, value: object, problem: str) -> None:
    with pytest.raises(FieldError) as raised:
        validate_field(key, value)
    assert str(raised.value) == f"argument invalid! data.{key}.value {problem}"


# -- Official Account ------------------------------------------------------------------------


def test_template_message_through_wechatpy(base: str, oa: SimClient) -> None:
    result = oa.message.send_template(
        "o-erin", "tpl-daily", {"keyword1": {"value": "3 单待处理"}}, url="https://example.invalid/x"
    )
    [item] = messages(base, "o-erin")
    assert item["msgid"] == result["msgid"]
    assert item["kind"] == "template"
    assert item["appid"] == OA_APPID
    assert item["url"] == "https://example.invalid/x"
    assert item["data"] == {"keyword1": {"value": "3 单待处理"}}


def test_template_client_msg_id_deduplicates_per_user(base: str, oa: SimClient) -> None:
    body = {"touser": "o-erin", "template_id": "tpl-daily", "data": {}, "client_msg_id": "digest-2026-11-23"}
    first = oa.post("message/template/send", data=body)
    second = oa.post("message/template/send", data=body)
    assert second["msgid"] == first["msgid"]
    assert len(messages(base, "o-erin")) == 1
    other = oa.post("message/template/send", data={**body, "touser": "o-frank"})
    assert other["msgid"] != first["msgid"]
    assert len(messages(base)) == 2


def test_template_to_unsubscribed_user_is_43004(base: str, oa: SimClient) -> None:
    with pytest.raises(WeChatClientException) as raised:
        oa.message.send_template("refuse-gina", "tpl-daily", {})
    assert raised.value.errcode == 43004
    assert messages(base) == []


def test_custom_text_message(base: str, oa: SimClient) -> None:
    assert oa.message.send_text("o-hank", "收到了谢谢")["errcode"] == 0
    [item] = messages(base, "o-hank")
    assert (item["kind"], item["msgtype"], item["data"]) == ("custom", "text", {"content": "收到了谢谢"})


def test_follower_info_through_wechatpy(base: str, oa: SimClient) -> None:
    # The API.md convention: follower oa-alice is the mini-program user sim:alice (unionid union-alice).
    alice = oa.user.get("oa-alice")
    assert (alice["subscribe"], alice["openid"], alice["unionid"]) == (1, "oa-alice", "union-alice")
    other = oa.user.get("o-stranger")
    assert (other["subscribe"], other["openid"]) == (1, "o-stranger")
    assert "unionid" not in other


def test_follower_info_needs_an_openid_and_a_token(base: str, oa: SimClient) -> None:
    with pytest.raises(WeChatClientException) as raised:
        oa.user.get("")
    assert raised.value.errcode == 40003
    assert get(base, "/cgi-bin/user/info", openid="oa-alice").json()["errcode"] == 40001


def test_menu_create_and_get(oa: SimClient) -> None:
    assert oa.menu.get() is None  # wechatpy turns 46003 into None
    menu = {"button": [{"type": "click", "name": "我的工单", "key": "MY_ORDERS"}]}
    assert oa.menu.create(menu)["errcode"] == 0
    assert oa.menu.get() == {"menu": menu}
    with pytest.raises(WeChatClientException) as raised:
        oa.menu.create({"button": []})
    assert raised.value.errcode == 40016


# -- content security ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "suggest", "label"),
    [("帮我买菜", "pass", 100), ("这是复核测试", "review", 20002), ("这是违规测试", "risky", 20001)],
)
def test_msg_sec_check_v2(base: str, mini: SimClient, content: str, suggest: str, label: int) -> None:
    body = {"content": content, "version": 2, "scene": 2, "openid": "o-alice"}
    result = mini.post(f"{base}/wxa/msg_sec_check", data=body)
    # v2 answers errcode 0 even for risky text; the verdict is in `result`.
    assert result["errcode"] == 0
    assert result["result"] == {"suggest": suggest, "label": label}
    assert result["detail"][0]["suggest"] == suggest
    assert result["trace_id"]


def test_msg_sec_check_v1_and_limits(base: str, mini: SimClient) -> None:
    assert mini.wxa.check_text_security("帮我买菜") == {"errcode": 0, "errmsg": "ok"}
    with pytest.raises(WeChatClientException) as raised:
        mini.wxa.check_text_security("违规测试")
    assert raised.value.errcode == 87014
    too_long = {"content": "字" * 2501, "version": 2, "scene": 2, "openid": "o-alice"}
    assert post(base, "/wxa/msg_sec_check", too_long, access_token=token(base))["errcode"] == 40097


# -- WeCom group robot -----------------------------------------------------------------------


def wecom(base: str, key: str, msgtype: str = "text", content: str = "新工单") -> dict[str, Any]:
    return post(base, "/cgi-bin/webhook/send", {"msgtype": msgtype, msgtype: {"content": content}}, key=key)


def test_wecom_allows_twenty_a_minute_per_key(base: str, clock: FakeClock) -> None:
    assert all(wecom(base, "grid-1")["errcode"] == 0 for _ in range(20))
    assert wecom(base, "grid-1") == {"errcode": 45009, "errmsg": "api freq out of limit"}
    assert wecom(base, "grid-2")["errcode"] == 0  # the limit is per robot
    clock.advance(60)
    assert wecom(base, "grid-1")["errcode"] == 0
    recorded = messages(base, "wecom:grid-1")
    assert len(recorded) == 21
    assert recorded[0]["kind"] == "wecom"
    assert recorded[0]["data"] == {"content": "新工单"}


def test_wecom_bad_key_and_size_limits(base: str) -> None:
    assert wecom(base, "bad-key")["errcode"] == 93000
    # 683 Chinese characters are 2049 UTF-8 bytes: one over the text limit.
    assert wecom(base, "grid-1", content="单" * 683)["errcode"] == 40058
    assert wecom(base, "grid-1", "markdown", "x" * 4096)["errcode"] == 0
    assert wecom(base, "grid-1", "markdown", "x" * 4097)["errcode"] == 40058
    assert len(messages(base, "wecom:grid-1")) == 1


# -- fault injection -------------------------------------------------------------------------


def test_errcode_fault_honours_count(base: str, mini: SimClient) -> None:
    path = "/cgi-bin/message/subscribe/send"
    assert post(base, "/_sim/faults", {"path": path, "errcode": 45009, "count": 2}) == {"ok": True}
    for _ in range(2):
        with pytest.raises(APILimitedException):
            mini.post("message/subscribe/send", data=subscribe_body())
    assert mini.post("message/subscribe/send", data=subscribe_body())["errcode"] == 0
    assert len(messages(base)) == 1


def test_http_status_fault(base: str, mini: SimClient) -> None:
    path = "/cgi-bin/message/subscribe/send"
    post(base, "/_sim/faults", {"path": path, "errcode": None, "http_status": 500, "count": 1})
    raw = requests.post(f"{base}{path}", json=subscribe_body(), timeout=TIMEOUT)
    assert raw.status_code == 500
    assert raw.json() == {"errcode": -1, "errmsg": "system error"}

    mini.fetch_access_token()  # the fault is path-bound, so take the token first
    post(base, "/_sim/faults", {"path": path, "http_status": 503})
    with pytest.raises(WeChatClientException) as raised:
        mini.post("message/subscribe/send", data=subscribe_body())
    assert raised.value.response.status_code == 503
    assert mini.post("message/subscribe/send", data=subscribe_body())["errcode"] == 0


def test_delay_only_fault_slows_then_answers(base: str) -> None:
    post(base, "/_sim/faults", {"path": "/_sim/never", "delay_seconds": 5})  # control paths are exempt
    post(base, "/_sim/faults", {"path": "/cgi-bin/menu/get", "delay_seconds": 0.3})
    started = time.monotonic()
    assert get(base, "/cgi-bin/menu/get", access_token=token(base)).json()["errcode"] == 46003
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    "body",
    [
        {"errcode": 45009},
        {"path": "/x", "count": 0, "errcode": 1},
        {"path": "/x"},
        {"path": "/x", "errcode": 0},
    ],
)
def test_bad_fault_requests_are_refused(base: str, body: dict[str, Any]) -> None:
    response = requests.post(f"{base}/_sim/faults", json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["ok"] is False


def test_reset_forgets_messages_and_faults(base: str, mini: SimClient) -> None:
    mini.post("message/subscribe/send", data=subscribe_body())
    post(base, "/_sim/faults", {"path": "/cgi-bin/menu/get", "errcode": 45009})
    assert post(base, "/_sim/reset", {}) == {"ok": True}
    assert messages(base) == []
    assert get(base, "/cgi-bin/menu/get", access_token=token(base)).json()["errcode"] == 46003
