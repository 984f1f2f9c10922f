"""The WeChat gateway on wechatpy 1.8.18, with the fixes docs/wechat.md describes.

- every call has a timeout (wechatpy waits forever by default);
- the access token comes from ``cgi-bin/stable_token`` (the same token for every process) and is
  cached with its expiry, in Redis when configured (wechatpy 1.8 loses the expiry across processes);
- wechatpy's unbounded auto-retry is off; a token error is retried once after a refresh;
- jscode2session is called directly (wechatpy's helper needlessly fetches a token first);
- failures are classified into ``app.wechat.errors`` so callers know whether to retry.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from app.core.config import Settings
from app.wechat.errors import TOKEN_CODES, WeChatError, WeChatRejectedError, WeChatUnavailableError, classify
from app.wechat.gateway import CodeSession, Follower, Verdict
from app.wechat.transport import LeanSession

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Refresh a cached token this many seconds before WeChat says it expires.
TOKEN_SAFETY_MARGIN_SECONDS = 300


class StableTokenClient(WeChatClient):  # type: ignore[misc] # wechatpy ships no type hints
    """A wechatpy client for one appid that takes its token from ``stable_token``."""

    def __init__(self, appid: str, secret: str, *, api_base: str, timeout: float, session: SessionStorage) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        base = api_base.rstrip("/")
        self._base = base
        # Instance attributes: wechatpy re-creates API groups per client, so this is safe.
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{base}/"
        self.message.API_BASE_URL = f"{base}/cgi-bin/"

    @property
    def _token_key(self) -> str:
        return f"{self.appid}_stable_token"

    @property
    def access_token(self) -> str:
        cached = self.session.get(self._token_key)
        if isinstance(cached, dict) and cached.get("expires_at", 0) - time.time() > TOKEN_SAFETY_MARGIN_SECONDS:
            return str(cached["token"])
        return self.refresh_token()

    def refresh_token(self, *, rejected: str | None = None) -> str:
        """Fetch a token; if WeChat hands back the one it just rejected, force a new one."""
        token, expires_in = self._fetch_stable(force=False)
        if rejected is not None and token == rejected:
            token, expires_in = self._fetch_stable(force=True)
        self.session.set(self._token_key, {"token": token, "expires_at": time.time() + expires_in}, expires_in)
        return token

    def fetch_access_token(self) -> dict[str, Any]:  # wechatpy calls this name; keep it working
        self.refresh_token()
        return {"access_token": self.access_token}

    def _fetch_stable(self, *, force: bool) -> tuple[str, int]:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": force,
        }
        result = _post_json(self._http, f"{self._base}/cgi-bin/stable_token", body, self.timeout, api="stable_token")
        return str(result["access_token"]), int(result.get("expires_in", 7200))


def _post_json(
    http: requests.Session, url: str, body: Mapping[str, Any], timeout: float, *, api: str
) -> dict[str, Any]:
    try:
        response = http.post(url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        raise WeChatUnavailableError(None, f"{type(exc).__name__}: {exc}", api=api) from exc
    return _decode(response, api=api)


def _decode(response: requests.Response, *, api: str) -> dict[str, Any]:
    if response.status_code >= 500:  # noqa: PLR2004 - HTTP server errors
        raise WeChatUnavailableError(None, f"HTTP {response.status_code}", api=api)
    try:
        result = response.json()
    except ValueError as exc:
        raise WeChatUnavailableError(None, f"HTTP {response.status_code}: not JSON", api=api) from exc
    if not isinstance(result, dict):
        raise WeChatUnavailableError(None, "answer is not a JSON object", api=api)
    errcode = int(result.get("errcode", 0) or 0)
    if errcode:
        raise classify(errcode, str(result.get("errmsg", "")), api=api)
    if response.status_code >= 400:  # noqa: PLR2004 - HTTP client errors without an errcode
        raise WeChatRejectedError(None, f"HTTP {response.status_code}", api=api)
    return result


def _settle_environment(http: requests.Session, *urls: str) -> None:
    """Read the proxy and CA-bundle environment once, not on every request.

    requests looks up proxies (and no_proxy) in the environment for each call: a fifth of a
    send's CPU in the outbox fan-out profile (bench/README.md). The answer cannot change while the
    process runs, so it is taken here for the hosts we call, and the per-request lookup is off."""
    for url in urls:
        parts = urlsplit(url)
        # Keyed by scheme and host, so that no_proxy for one host does not leak to the other.
        for scheme, proxy in requests.utils.get_environ_proxies(url).items():
            if scheme in {"http", "https"} and parts.hostname:
                http.proxies[f"{scheme}://{parts.hostname}"] = proxy
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    http.trust_env = False


def make_token_storage(settings: Settings) -> SessionStorage:
    """Redis when configured, so that every process shares one token; else process memory."""
    if settings.redis.url:
        import redis
        from wechatpy.session.redisstorage import RedisStorage

        return RedisStorage(redis.Redis.from_url(settings.redis.url), prefix="linli:wechat")
    return MemoryStorage()


class WeChatClientGateway:
    """The production :class:`~app.wechat.gateway.WeChatGateway`: wechatpy over HTTP.

    ``wechat.api_base`` decides where calls go: WeChat itself, or the simulator.
    """

    def __init__(self, settings: Settings, storage: SessionStorage | None = None) -> None:
        cfg = settings.wechat
        self.timeout = cfg.timeout_seconds
        self.api_base = cfg.api_base.rstrip("/")
        self.wecom_api_base = cfg.wecom_api_base.rstrip("/")
        storage = storage or make_token_storage(settings)
        self.miniprogram = StableTokenClient(
            cfg.miniprogram.appid, cfg.miniprogram.secret, api_base=cfg.api_base, timeout=self.timeout, session=storage
        )
        self.official_account = StableTokenClient(
            cfg.official_account.appid,
            cfg.official_account.secret,
            api_base=cfg.api_base,
            timeout=self.timeout,
            session=storage,
        )
        # Connections kept per host: one per send in flight (every delivery worker's batch sends
        # settings.notify.send_threads at once), so none is thrown away after use.
        pool_maxsize = max(10, 4 * settings.notify.send_threads)
        # wechatpy makes a plain requests.Session per client; ours sends plain calls through
        # urllib3 directly (half a send's CPU: app/wechat/transport.py).
        self.miniprogram._http = LeanSession(pool_maxsize=pool_maxsize)
        self.official_account._http = LeanSession(pool_maxsize=pool_maxsize)
        self._http = LeanSession(pool_maxsize=pool_maxsize)
        for http in (self.miniprogram._http, self.official_account._http, self._http):
            _settle_environment(http, self.api_base, self.wecom_api_base)

    # -- plumbing -------------------------------------------------------------------------------

    def _call(self, client: StableTokenClient, api: str, call: Callable[[], T]) -> T:
        """Run a wechatpy call; on a token error refresh the token and try exactly once more."""
        for attempt in (1, 2):
            token = client.access_token
            try:
                return call()
            except WeChatClientException as exc:
                if exc.errcode is None:
                    status = getattr(exc.response, "status_code", "?")
                    raise WeChatUnavailableError(None, f"HTTP {status}", api=api) from exc
                errcode = int(exc.errcode)
                if errcode in TOKEN_CODES and attempt == 1:
                    log.info("wechat %s: token rejected (%s), refreshing once", api, errcode)
                    client.refresh_token(rejected=token)
                    continue
                raise classify(errcode, str(exc.errmsg), api=api) from exc
            except requests.RequestException as exc:
                raise WeChatUnavailableError(None, f"{type(exc).__name__}: {exc}", api=api) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- mini-program ---------------------------------------------------------------------------

    def code_to_session(self, code: str) -> CodeSession:
        """jscode2session. Raises WeChatRejectedError (40029 invalid, 40163 used) or WeChatUnavailableError."""
        params = {
            "appid": self.miniprogram.appid,
            "secret": self.miniprogram.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            response = self._http.get(f"{self.api_base}/sns/jscode2session", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise WeChatUnavailableError(None, f"{type(exc).__name__}: {exc}", api="jscode2session") from exc
        result = _decode(response, api="jscode2session")
        if not result.get("openid") or not result.get("session_key"):
            raise WeChatUnavailableError(None, "jscode2session answered without openid", api="jscode2session")
        return CodeSession(
            openid=str(result["openid"]), session_key=str(result["session_key"]), unionid=result.get("unionid")
        )

    def get_phone_number(self, code: str) -> str:
        """getuserphonenumber (no wechatpy helper in 1.8.18). Raises WeChatRejectedError on a bad code."""
        result = self._call(
            self.miniprogram,
            "getuserphonenumber",
            lambda: self.miniprogram.wxa._post("wxa/business/getuserphonenumber", data={"code": code}),
        )
        phone = (result.get("phone_info") or {}).get("purePhoneNumber")
        if not phone:
            raise WeChatUnavailableError(None, "getuserphonenumber answered without a number", api="getuserphonenumber")
        return str(phone)

    def check_text(self, content: str, *, openid: str, scene: int = 2) -> Verdict:
        """msgSecCheck v2; v2 answers errcode 0 even for risky text, so decide on ``result.suggest``."""
        body = {"content": content, "version": 2, "scene": scene, "openid": openid}
        result = self._call(
            self.miniprogram, "msg_sec_check", lambda: self.miniprogram.wxa._post("wxa/msg_sec_check", data=body)
        )
        suggest = (result.get("result") or {}).get("suggest", "")
        try:
            return Verdict(suggest)
        except ValueError as exc:
            raise WeChatUnavailableError(None, f"unknown suggest {suggest!r}", api="msg_sec_check") from exc

    def send_subscribe_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        page: str | None = None,
        miniprogram_state: str | None = None,
    ) -> None:
        """subscribe/send; wechatpy's helper lacks ``miniprogram_state``, so post the body ourselves."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": dict(data)}
        if page:
            body["page"] = page
        if miniprogram_state:
            body["miniprogram_state"] = miniprogram_state
        self._call(
            self.miniprogram, "subscribe_send", lambda: self.miniprogram.post("message/subscribe/send", data=body)
        )

    # -- Official Account -----------------------------------------------------------------------

    def send_template_message(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        url: str | None = None,
        page: str | None = None,
        client_msg_id: str | None = None,
    ) -> str | None:
        """template/send with WeChat's own duplicate guard (``client_msg_id``) when given; ``page``
        opens that page of our mini-program when the message is tapped."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": dict(data)}
        if url:
            body["url"] = url
        if page:
            body["miniprogram"] = {"appid": self.miniprogram.appid, "pagepath": page}
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        result = self._call(
            self.official_account,
            "template_send",
            lambda: self.official_account.post("message/template/send", data=body),
        )
        msgid = result.get("msgid")
        return str(msgid) if msgid is not None else None

    def send_customer_service_text(self, openid: str, text: str) -> None:
        """message/custom/send, text only (wechatpy's ``send_text``); 45015 outside the 48 h."""
        self._call(
            self.official_account,
            "custom_send",
            lambda: self.official_account.message.send_text(openid, text),
        )

    def get_follower(self, oa_openid: str) -> Follower:
        """user/info (wechatpy ``user.get``); 40003 for an openid that is not this account's."""
        result = self._call(self.official_account, "user_info", lambda: self.official_account.user.get(oa_openid))
        unionid = result.get("unionid")
        return Follower(
            openid=str(result.get("openid") or oa_openid),
            # WeChat answers subscribe 0 (and nothing else of use) for someone who unfollowed.
            subscribed=int(result.get("subscribe", 0) or 0) == 1,
            unionid=str(unionid) if unionid else None,
        )

    # -- WeCom group robot (not in wechatpy) ----------------------------------------------------

    def send_robot_message(self, key: str, payload: Mapping[str, Any]) -> None:
        """POST to the group robot webhook; ``key`` is the robot's secret key."""
        try:
            response = self._http.post(
                f"{self.wecom_api_base}/cgi-bin/webhook/send",
                params={"key": key},
                json=dict(payload),
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise WeChatUnavailableError(None, f"{type(exc).__name__}: {exc}", api="webhook_send") from exc
        _decode(response, api="webhook_send")

    def create_menu(self, menu: Mapping[str, Any]) -> None:
        """menu/create for the Official Account (``linli bot menu``); replaces the whole menu."""
        body = dict(menu)
        self._call(self.official_account, "menu_create", lambda: self.official_account.post("menu/create", data=body))


__all__ = ["StableTokenClient", "WeChatClientGateway", "WeChatError"]
