"""The Official Account bot: WeChat's callback in, a reply out, within WeChat's 5 s.

The HTTP view (``miniprogram_api.bot``) hands over the query string and the raw body; this
package checks them (``security``), takes each push exactly once (``replay``),
and answers text commands (``commands``) and events (``events``) with the same services, the
same permission checks and the same error messages as the API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from wechatpy.messages import BaseMessage

from app.bot import commands, events
from app.bot.binding import actor_for_chat
from app.bot.late_replies import queue_late_reply
from app.bot.replay import InboundClaim, claim_inbound
from app.bot.security import (
    CallbackRejectedError,
    SafeModeCipher,
    SignedQuery,
    check_echostr,
    check_size,
    message_key,
    parse_trusted,
    read_xml,
    render_text_reply,
    verify_query,
)
from app.core.errors import LinliError
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: Handling runs here so that the view can stop waiting at the reply budget. Commands are a few
#: queries each; eight workers per process is far more than one Official Account needs.
_WORKERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="linli-bot")

TEXT_XML = "text/xml; charset=utf-8"
TEXT_PLAIN = "text/plain; charset=utf-8"
#: WeChat's "nothing to say": no reply, no retry, no error shown to the user.
NOTHING = "success"


@dataclass(frozen=True, slots=True)
class Answer:
    body: str
    content_type: str


@dataclass(frozen=True, slots=True)
class _Outcome:
    replayed: bool = False
    text: str = ""


def verify_url(rt: Runtime, args: Mapping[str, str]) -> str:
    """GET: WeChat's server-address check; answers ``echostr`` once the signature holds."""
    verify_query(rt.settings.wechat.official_account.token, SignedQuery.from_args(args))
    return check_echostr(args.get("echostr", ""))


def receive(rt: Runtime, args: Mapping[str, str], body: bytes) -> Answer:
    """POST: one push from WeChat, plain or AES safe mode, to its reply.

    Raises CallbackRejectedError (403 signature / timestamp / ciphertext / replay, 400 bad or
    hostile XML, 413 too large) before anything is written.
    """
    settings = rt.settings
    query = SignedQuery.from_args(args)
    check_size(len(body))
    verify_query(settings.wechat.official_account.token, query)
    safe_mode = bool(settings.wechat.official_account.encoding_aes_key)
    if safe_mode != (query.encrypt_type == "aes"):
        # In safe mode a plain push is a forgery: the plain signature does not cover the body.
        raise CallbackRejectedError(403, "wrong_mode", "加密模式与配置不符")
    envelope = read_xml(body)
    cipher: SafeModeCipher | None = None
    appid = ""
    if safe_mode:
        cipher = SafeModeCipher(settings)
        xml, appid = cipher.decrypt(envelope, query)
    else:
        try:
            xml = body.decode("utf-8")
        except UnicodeDecodeError as exc:  # well-formed XML in another encoding: WeChat sends UTF-8
            raise CallbackRejectedError(400, "invalid_xml", "XML 必须是 UTF-8") from exc
    message = parse_trusted(xml)

    future = _WORKERS.submit(_handle, rt, query, message)
    try:
        outcome = future.result(timeout=settings.bot.reply_budget_seconds)
    except TimeoutError:
        # Too slow for WeChat (which resends after 5 s and then shows the user an error): say
        # nothing now; the work still finishes, and its reply follows as a 客服消息.
        log.warning("bot reply budget exceeded; answered %r, the reply follows later", NOTHING)
        inbound_key = message_key(message) or query.replay_key
        future.add_done_callback(lambda done: _reply_late(rt, message, inbound_key, done))
        return Answer(NOTHING, TEXT_PLAIN)
    if outcome.replayed:
        raise CallbackRejectedError(403, "replayed", "重复的请求")
    if not outcome.text:
        return Answer(NOTHING, TEXT_PLAIN)
    reply = render_text_reply(message, outcome.text)
    if cipher is not None:
        reply = cipher.encrypt(reply, appid, query)
    return Answer(reply, TEXT_XML)


def _reply_late(rt: Runtime, message: BaseMessage, inbound_key: str, done: Future[_Outcome]) -> None:
    """When a handler that missed the budget finishes (in its worker thread, or here at once if it
    just did): its text goes out as a customer-service message. A replay or a resend has none."""
    try:
        outcome = done.result()
        if outcome.text and not outcome.replayed:
            queue_late_reply(rt, oa_openid=str(message.source or ""), text=outcome.text, inbound_key=inbound_key)
    except Exception:
        log.exception("could not queue a late bot reply")


def _handle(rt: Runtime, query: SignedQuery, message: BaseMessage) -> _Outcome:
    claim = claim_inbound(rt, nonce_key=query.replay_key, message_key=message_key(message))
    if claim is InboundClaim.REPLAY:
        return _Outcome(replayed=True)
    if claim is InboundClaim.DUPLICATE:
        return _Outcome()  # WeChat resending what we already did: do it no second time
    try:
        return _Outcome(text=respond(rt, message) or "")
    except LinliError as exc:
        return _Outcome(text=exc.message)
    except Exception:
        # The user gets a polite line, not WeChat's "service unavailable"; we get the traceback.
        log.exception("bot failed on a %s message", message.type)
        return _Outcome(text=commands.BUSY)


def respond(rt: Runtime, message: BaseMessage) -> str | None:
    """The reply text for a verified, first-seen message (None: nothing to say)."""
    data = message._data  # wechatpy keeps the raw fields only here
    sender = str(message.source)
    if str(data.get("MsgType", "")).lower() == "event":
        return events.respond_to_event(rt, data)
    if message.type == "text":
        return commands.respond_to_text(rt, sender, str(message.content or ""))
    recognition = getattr(message, "recognition", None) if message.type == "voice" else None
    if recognition:
        # Voice with WeChat's speech recognition on: 「待办」 said aloud works like typed.
        return commands.respond_to_text(rt, sender, str(recognition))
    if actor_for_chat(rt, sender) is None:
        return commands.BIND_HELP
    return "目前只能识别文字命令。发送「帮助」查看可用的命令。"


__all__ = ["Answer", "CallbackRejectedError", "receive", "respond", "verify_url"]
