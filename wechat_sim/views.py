"""HTTP views of the WeChat simulator: WeChat's paths, JSON shapes and error codes, plus /_sim controls."""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from wechat_sim.fields import FieldError, validate_data
from wechat_sim.state import SimulatorState

log = logging.getLogger(__name__)

bp = Blueprint("wechat_sim", __name__)

#: Key under which the app keeps its `SimulatorState` in `app.extensions`.
EXTENSION_KEY = "wechat_sim"
#: Paths of the simulator's own controls; faults never apply to them, so a test can always recover.
CONTROL_PREFIX = "/_sim/"

MSG_SEC_CHECK_MAX_CHARS = 2500
WECOM_TEXT_MAX_BYTES = 2048
WECOM_MARKDOWN_MAX_BYTES = 4096
_WECOM_LIMITS = {"text": WECOM_TEXT_MAX_BYTES, "markdown": WECOM_MARKDOWN_MAX_BYTES}
_SEC_SCENES = frozenset({1, 2, 3, 4})

# Conventions the demo and the tests rely on (docs/operations.md, "The WeChat simulator").
# "sim:<openid>", optionally "sim:<openid>#<nonce>": wx.login hands out a fresh code each time, so
# the same person can log in again with a new nonce while each exact code still works once.
_LOGIN_CODE = re.compile(r"sim:(?P<openid>[^\s#]+)(?:#\S*)?")
_PHONE_CODE = re.compile(r"sim-phone:(?P<digits>\d+)")
_REFUSING_USER_PREFIX = "refuse-"
_BAD_WEBHOOK_KEY_PREFIX = "bad"
_RISKY_MARKER = "违规测试"
_REVIEW_MARKER = "复核测试"
# A mini-program page path, optionally with a query string; WeChat answers 41030 otherwise.
_PAGE = re.compile(r"[A-Za-z0-9_/\-]+(\?.*)?")

# errmsg for errcodes injected through /_sim/faults, as WeChat words them, so logs look real.
_FAULT_ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
}


class WeChatError(Exception):
    """An answer in WeChat's error shape: HTTP 200 with `{"errcode", "errmsg"}`."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def sim_state() -> SimulatorState:
    """The state of the simulator app handling the current request."""
    state = current_app.extensions[EXTENSION_KEY]
    if not isinstance(state, SimulatorState):
        raise TypeError(f"app.extensions[{EXTENSION_KEY!r}] is not a SimulatorState")
    return state


def _ok(**fields: object) -> Response:
    return jsonify({"errcode": 0, "errmsg": "ok", **fields})


def _json_body() -> dict[str, Any]:
    # wechatpy posts JSON bytes without a JSON content type, hence force=True.
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise WeChatError(47001, "data format error")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    """A string member of a request body; absent means empty, any other type is a format error."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WeChatError(47001, "data format error")
    return value


def _token_appid() -> str:
    """The appid owning the request's `access_token`, or WeChat's 40001/42001."""
    check = sim_state().check_token(request.args.get("access_token"))
    if check.appid is None:
        raise WeChatError(check.errcode, check.errmsg)
    return check.appid


def _check_credentials(appid: str, secret: str) -> None:
    # Any secret is accepted, even an empty one: the simulator knows no real secrets, and a laptop
    # running the demo has none configured (config.py demands them only for the real WeChat).
    del secret
    if not appid:
        raise WeChatError(40013, "invalid appid")


# -- access tokens ---------------------------------------------------------------------------


@bp.post("/cgi-bin/stable_token")
def stable_token() -> Response:
    """Same token to every caller while it is valid; `force_refresh` replaces it."""
    body = _json_body()
    if body.get("grant_type") != "client_credential":
        raise WeChatError(40002, "invalid grant_type")
    appid = _text(body, "appid")
    _check_credentials(appid, _text(body, "secret"))
    token, expires_in = sim_state().stable_token(appid, force_refresh=body.get("force_refresh") is True)
    return jsonify({"access_token": token, "expires_in": expires_in})


@bp.get("/cgi-bin/token")
def plain_token() -> Response:
    """A new token on every call, invalidating the previous one (what makes processes fight)."""
    if request.args.get("grant_type") != "client_credential":
        raise WeChatError(40002, "invalid grant_type")
    appid = request.args.get("appid", "")
    _check_credentials(appid, request.args.get("secret", ""))
    token, expires_in = sim_state().plain_token(appid)
    return jsonify({"access_token": token, "expires_in": expires_in})


# -- mini-program ----------------------------------------------------------------------------


@bp.get("/sns/jscode2session")
def jscode2session() -> Response:
    """Login: `sim:<openid>` is that user's code, usable once."""
    args = request.args
    _check_credentials(args.get("appid", ""), args.get("secret", ""))
    if args.get("grant_type") != "authorization_code":
        raise WeChatError(40002, "invalid grant_type")
    code = args.get("js_code", "")
    match = _LOGIN_CODE.fullmatch(code)
    if match is None:
        raise WeChatError(40029, "invalid code")
    if not sim_state().use_code(code):
        raise WeChatError(40163, "code been used")
    openid = match.group("openid")
    # WeChat's session_key is 16 random bytes in base64; success carries no errcode at all.
    session_key = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
    return jsonify({"openid": openid, "session_key": session_key, "unionid": f"union-{openid}"})


@bp.post("/wxa/business/getuserphonenumber")
def get_user_phone_number() -> Response:
    """Phone number: `sim-phone:<digits>` is the code for that number."""
    appid = _token_appid()
    match = _PHONE_CODE.fullmatch(_text(_json_body(), "code"))
    if match is None:
        raise WeChatError(40029, "invalid code")
    digits = match.group("digits")
    watermark = {"timestamp": int(sim_state().now()), "appid": appid}
    phone_info = {
        "phoneNumber": digits,
        "purePhoneNumber": digits,
        "countryCode": "86",
        "watermark": watermark,
    }
    return _ok(phone_info=phone_info)


@bp.post("/cgi-bin/message/subscribe/send")
def send_subscribe_message() -> Response:
    """Subscribe message (订阅消息): validated like WeChat, then recorded."""
    appid = _token_appid()
    body = _json_body()
    touser = _text(body, "touser")
    template_id = _text(body, "template_id")
    page = _text(body, "page")
    data = body.get("data")
    if not touser:
        raise WeChatError(40003, "invalid openid")
    if not template_id:
        raise WeChatError(40037, "invalid template_id")
    if page and _PAGE.fullmatch(page) is None:
        raise WeChatError(41030, "invalid page")
    if not isinstance(data, dict):
        raise WeChatError(47001, "data format error")
    try:
        validate_data(data)
    except FieldError as exc:
        raise WeChatError(47003, str(exc)) from exc
    # The grant check comes after validation so a malformed payload shows up as a bug (47003)
    # even in tests whose user happens to refuse.
    if touser.startswith(_REFUSING_USER_PREFIX):
        raise WeChatError(43101, "user refuse to accept the msg")
    msgid = sim_state().record(
        {
            "kind": "subscribe",
            "channel": "subscribe",
            "appid": appid,
            "touser": touser,
            "template_id": template_id,
            "page": page or None,
            "data": data,
            "miniprogram_state": body.get("miniprogram_state"),
            "lang": body.get("lang"),
        }
    )
    return _ok(msgid=msgid)


@bp.post("/wxa/msg_sec_check")
def msg_sec_check() -> Response:
    """Text security check: v2 answers a verdict in `result.suggest`, v1 answers 87014 for risky text."""
    _token_appid()
    body = _json_body()
    content = body.get("content")
    if not isinstance(content, str) or len(content) > MSG_SEC_CHECK_MAX_CHARS:
        raise WeChatError(40097, "invalid args")
    if body.get("version") not in (2, "2"):
        if _RISKY_MARKER in content:
            raise WeChatError(87014, "risky content")
        return _ok()
    if body.get("scene") not in _SEC_SCENES:
        raise WeChatError(40097, "invalid args")
    if not _text(body, "openid"):
        raise WeChatError(40003, "invalid openid")
    if _RISKY_MARKER in content:
        suggest, label = "risky", 20001
    elif _REVIEW_MARKER in content:
        suggest, label = "review", 20002
    else:
        suggest, label = "pass", 100
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}]
    # v2 answers errcode 0 even for risky text: the verdict is only in `result`.
    return _ok(result={"suggest": suggest, "label": label}, detail=detail, trace_id=secrets.token_hex(16))


# -- Official Account ------------------------------------------------------------------------


@bp.post("/cgi-bin/message/template/send")
def send_template_message() -> Response:
    """Template message, with WeChat's `client_msg_id` duplicate guard."""
    appid = _token_appid()
    body = _json_body()
    touser = _text(body, "touser")
    template_id = _text(body, "template_id")
    client_msg_id = _text(body, "client_msg_id")
    if not touser:
        raise WeChatError(40003, "invalid openid")
    if not template_id:
        raise WeChatError(40037, "invalid template_id")
    if not isinstance(body.get("data"), dict):
        raise WeChatError(47001, "data format error")
    if touser.startswith(_REFUSING_USER_PREFIX):
        raise WeChatError(43004, "require subscribe")
    message = {
        "kind": "template",
        "channel": "template",
        "appid": appid,
        "touser": touser,
        "template_id": template_id,
        "url": body.get("url"),
        "miniprogram": body.get("miniprogram"),
        "data": body["data"],
        "client_msg_id": client_msg_id or None,
    }
    msgid, _recorded = sim_state().record_template(message, client_msg_id or None)
    return _ok(msgid=msgid)


@bp.post("/cgi-bin/message/custom/send")
def send_custom_message() -> Response:
    """Customer-service message (text, image, …), recorded with its type's object as `data`."""
    appid = _token_appid()
    body = _json_body()
    touser = _text(body, "touser")
    msgtype = _text(body, "msgtype")
    if not touser:
        raise WeChatError(40003, "invalid openid")
    if not msgtype or not isinstance(body.get(msgtype), dict):
        raise WeChatError(40008, "invalid message type")
    # A `refuse-` user stands for one who has not written in the last 48 hours.
    if touser.startswith(_REFUSING_USER_PREFIX):
        raise WeChatError(45015, "response out of time limit or subscription is canceled")
    sim_state().record(
        {
            "kind": "custom",
            "channel": "customer_service",
            "appid": appid,
            "touser": touser,
            "msgtype": msgtype,
            "data": body[msgtype],
        }
    )
    return _ok()


# Followers: "oa-<name>" is the same person as the mini-program user "sim:<name>" (API.md).
_FOLLOWER = re.compile(r"oa-(?P<name>\S+)")


@bp.get("/cgi-bin/user/info")
def follower_info() -> Response:
    """A follower's profile: subscribed, with unionid ``union-<name>`` for ``oa-<name>`` and none
    for any other openid (an account not bound to the Open Platform answers no unionid)."""
    _token_appid()
    openid = request.args.get("openid", "")
    if not openid:
        raise WeChatError(40003, "invalid openid")
    info: dict[str, Any] = {
        "subscribe": 1,
        "openid": openid,
        "language": request.args.get("lang") or "zh_CN",
        "subscribe_time": int(sim_state().now()),
        "remark": "",
        "groupid": 0,
        "tagid_list": [],
        "subscribe_scene": "ADD_SCENE_SEARCH",
        "qr_scene": 0,
        "qr_scene_str": "",
    }
    match = _FOLLOWER.fullmatch(openid)
    if match is not None:
        info["unionid"] = f"union-{match.group('name')}"
    # Success carries no errcode, as WeChat answers user/info.
    return jsonify(info)


@bp.post("/cgi-bin/menu/create")
def create_menu() -> Response:
    """Store the menu of the token's appid."""
    appid = _token_appid()
    body = _json_body()
    buttons = body.get("button")
    if not isinstance(buttons, list) or not buttons:
        raise WeChatError(40016, "invalid button size")
    sim_state().set_menu(appid, body)
    return _ok()


@bp.get("/cgi-bin/menu/get")
def get_menu() -> Response:
    """The stored menu of the token's appid; 46003 when none was created."""
    menu = sim_state().get_menu(_token_appid())
    if menu is None:
        raise WeChatError(46003, "menu no exist")
    return jsonify({"menu": menu})


# -- WeCom group robot -----------------------------------------------------------------------


@bp.post("/cgi-bin/webhook/send")
def wecom_webhook() -> Response:
    """WeCom group robot: text ≤ 2048 bytes, markdown ≤ 4096 bytes, 20 messages a minute per key."""
    key = request.args.get("key", "")
    if not key or key.startswith(_BAD_WEBHOOK_KEY_PREFIX):
        raise WeChatError(93000, "invalid webhook url")
    body = _json_body()
    msgtype = _text(body, "msgtype")
    payload = body.get(msgtype)
    if msgtype not in _WECOM_LIMITS or not isinstance(payload, dict):
        raise WeChatError(40008, "invalid message type")
    content = payload.get("content")
    if not isinstance(content, str) or not content:
        raise WeChatError(44004, "empty content")
    # The limits count UTF-8 bytes, so 700 Chinese characters already exceed a text message.
    if len(content.encode("utf-8")) > _WECOM_LIMITS[msgtype]:
        raise WeChatError(40058, "content exceed max length")
    message = {"kind": "wecom", "channel": "wecom", "touser": f"wecom:{key}", "msgtype": msgtype, "data": payload}
    if not sim_state().record_webhook(key, message):
        raise WeChatError(45009, "api freq out of limit")
    return _ok()


# -- simulator controls ----------------------------------------------------------------------


@bp.get("/_sim/messages")
def list_messages() -> Response:
    """Recorded messages, oldest first; `?touser=` narrows to one recipient."""
    return jsonify({"items": sim_state().messages(request.args.get("touser"))})


@bp.post("/_sim/reset")
def reset() -> Response:
    """Forget everything the simulator remembers."""
    sim_state().reset()
    return jsonify({"ok": True})


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    # bool is an int subclass; `true` as a count or errcode is a caller's mistake.
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{key} must be an integer or null")
    return value


@bp.post("/_sim/faults")
def inject_fault() -> Response | tuple[Response, int]:
    """Queue a failure for the next requests to a path (see `SimulatorState.inject_fault`)."""
    body = request.get_json(force=True, silent=True)
    try:
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            raise TypeError("body must be a JSON object with a string 'path'")
        delay = body.get("delay_seconds") or 0
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise TypeError("delay_seconds must be a number")
        count = _optional_int(body, "count")
        sim_state().inject_fault(
            body["path"],
            errcode=_optional_int(body, "errcode"),
            http_status=_optional_int(body, "http_status"),
            count=1 if count is None else count,
            delay_seconds=float(delay),
        )
    except (TypeError, ValueError) as exc:
        return jsonify({"ok": False, "error": str(exc)}), 400
    return jsonify({"ok": True})


@bp.get("/_sim/health")
def health() -> Response:
    """Liveness probe for `linli run` and the tests."""
    return jsonify({"ok": True})


# -- app-wide hooks --------------------------------------------------------------------------


def _apply_fault() -> Response | tuple[Response, int] | None:
    if request.path.startswith(CONTROL_PREFIX):
        return None
    fault = sim_state().take_fault(request.path)
    if fault is None:
        return None
    if fault.delay_seconds:
        # Sleeps in this request's thread only; the threaded server keeps answering others.
        time.sleep(fault.delay_seconds)
    if fault.http_status is not None:
        return jsonify({"errcode": -1, "errmsg": "system error"}), fault.http_status
    if fault.errcode is not None:
        return jsonify({"errcode": fault.errcode, "errmsg": _FAULT_ERRMSG.get(fault.errcode, "simulated fault")})
    return None


def _wechat_error(exc: WeChatError) -> Response:
    # WeChat reports API errors with HTTP 200; only the body says it failed.
    return jsonify({"errcode": exc.errcode, "errmsg": exc.errmsg})


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    # Unknown paths and wrong methods answer JSON, never Werkzeug's HTML page, so a
    # misconfigured base URL reads as a clear errcode in Linli's logs.
    status = exc.code or HTTPStatus.INTERNAL_SERVER_ERROR
    errmsg = "not found" if status == HTTPStatus.NOT_FOUND else (exc.name or "error").lower()
    return jsonify({"errcode": status, "errmsg": errmsg}), status


def _unexpected_error(exc: Exception) -> tuple[Response, int]:
    log.exception("WeChat simulator failed", exc_info=exc)
    return jsonify({"errcode": -1, "errmsg": "system error"}), 500


def register(app: Flask) -> None:
    """Attach the simulator's routes, fault hook and JSON error handlers to `app`."""
    app.register_blueprint(bp)
    # App-level, not blueprint-level, so faults and the JSON 404 also cover unknown paths.
    app.before_request(_apply_fault)
    app.register_error_handler(WeChatError, _wechat_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
