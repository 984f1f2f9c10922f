"""Talk to the bot from a terminal as an Official Account follower would: a signed plain-mode text
message posted to the running server's ``/wechat/callback``, and the reply printed.

For a laptop and the demo; in production WeChat's servers are the only senders.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape

from app.bot.security import read_xml, signature_of
from app.core.config import Settings

#: The callback token `linli run` uses when none is configured, so that the bot works out of the
#: box on a laptop. Only in development: production refuses to start without a real one.
DEVELOPMENT_BOT_TOKEN = "linli-dev-bot"  # noqa: S105 - public by design, development only


def bot_token(settings: Settings) -> str:
    """The configured callback token, or in development with none set, the development one."""
    configured = settings.wechat.official_account.token
    if configured or settings.app.environment != "development":
        return configured
    return DEVELOPMENT_BOT_TOKEN


def with_bot_token(settings: Settings) -> Settings:
    """``settings`` with :func:`bot_token` in place (Settings are frozen: a copy)."""
    token = bot_token(settings)
    official = settings.wechat.official_account.model_copy(update={"token": token})
    wechat = settings.wechat.model_copy(update={"official_account": official})
    return settings.model_copy(update={"wechat": wechat})


def _cdata(value: str) -> str:
    # A "]]>" in the text would end the CDATA section early; escaping avoids CDATA altogether.
    return escape(value)


def say(settings: Settings, base_url: str, oa_openid: str, text: str, *, timeout: float = 10.0) -> str:
    """Send ``text`` as ``oa_openid`` and answer the bot's reply text ("" when it stays silent)."""
    if settings.wechat.official_account.encoding_aes_key:
        raise ValueError("`linli bot say` speaks plain mode only; unset wechat.official_account.encoding_aes_key")
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = urllib.parse.urlencode(
        {
            "signature": signature_of(bot_token(settings), timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": oa_openid,
        }
    )
    body = (
        "<xml>"
        f"<ToUserName>{_cdata(settings.wechat.official_account.appid)}</ToUserName>"
        f"<FromUserName>{_cdata(oa_openid)}</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime>"
        "<MsgType>text</MsgType>"
        f"<Content>{_cdata(text)}</Content>"
        # A fresh id each time: the callback drops a message id it has already seen (WeChat retries).
        f"<MsgId>{secrets.randbelow(2**62)}</MsgId>"
        "</xml>"
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL of our own server
        f"{base_url.rstrip('/')}/wechat/callback?{query}",
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        reply = response.read()
    if reply in (b"", b"success"):
        return ""
    content = read_xml(reply).get("Content")
    return str(content or "")
