"""Everything between WeChat's HTTP request and a trusted message: body size, signatures (compared
in constant time), the ±300 s timestamp window, AES safe mode, hostile-XML refusal, and safe
replies. wechatpy 1.8.18 provides the signer, the cipher and the parser; what it lacks is here.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from app.core.clock import now_utc
from app.core.config import Settings

log = logging.getLogger(__name__)

#: WeChat's pushes are a few KB; safe mode triples them. Anything near this is not WeChat.
MAX_BODY_BYTES = 64 * 1024
#: WeChat documents no window; 300 s both ways tolerates clock skew and stops old captures.
TIMESTAMP_TOLERANCE_SECONDS = 300
#: A chat reply longer than this is cut (WeChat's own limit is 2048 bytes of text).
MAX_REPLY_CHARS = 600

_DECLARATIONS = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
#: Characters XML 1.0 forbids; a reply containing one would not parse on WeChat's side.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: WeChat's echostr is a number (base64 at most); anything else is not echoed back.
_ECHOSTR = re.compile(r"^[A-Za-z0-9+/=_-]{1,512}$")


class CallbackRejectedError(Exception):
    """The request is not a genuine, fresh, well-formed WeChat push; nothing was done."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _forbidden(code: str, message: str) -> CallbackRejectedError:
    return CallbackRejectedError(403, code, message)


def signature_of(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts, concatenated (wechatpy's signer)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _same(expected: str, given: str) -> bool:
    # hmac.compare_digest: the time taken does not tell an attacker how many characters matched.
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))


@dataclass(frozen=True, slots=True)
class SignedQuery:
    """The query string WeChat signs: ``timestamp`` and ``nonce`` are what the signature covers."""

    signature: str
    timestamp: str
    nonce: str
    msg_signature: str
    encrypt_type: str

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SignedQuery:
        return cls(
            signature=args.get("signature", ""),
            timestamp=args.get("timestamp", ""),
            nonce=args.get("nonce", ""),
            msg_signature=args.get("msg_signature", ""),
            encrypt_type=args.get("encrypt_type", "raw") or "raw",
        )

    @property
    def replay_key(self) -> str:
        """Names this signed request: each push comes with its own random nonce, so a second request
        with the same timestamp and nonce is a copy of the first."""
        return f"nonce:{self.timestamp}:{self.nonce}"


def verify_query(token: str, query: SignedQuery, *, now: float | None = None) -> None:
    """The plain signature over (token, timestamp, nonce), then the timestamp window.

    Raises CallbackRejectedError(403). An empty token means the bot is not configured: with it,
    anyone could compute a "valid" signature, so nothing is accepted.
    """
    if not token:
        log.warning("bot callback refused: wechat.official_account.token is not set")
        raise _forbidden("bot_disabled", "机器人未配置")
    if (
        not query.signature
        or not query.nonce
        or not _same(signature_of(token, query.timestamp, query.nonce), query.signature)
    ):
        raise _forbidden("invalid_signature", "签名无效")
    check_timestamp(query.timestamp, now=now)


def check_timestamp(timestamp: str, *, now: float | None = None) -> int:
    """The request's timestamp, if within ±300 s of now; else CallbackRejectedError(403)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:  # noqa: PLR2004 - seconds until the year 33658
        raise _forbidden("invalid_timestamp", "时间戳无效")
    moment = int(timestamp)
    current = now_utc().timestamp() if now is None else now
    if abs(current - moment) > TIMESTAMP_TOLERANCE_SECONDS:
        raise _forbidden("stale_timestamp", "请求已过期")
    return moment


def check_echostr(echostr: str) -> str:
    """The URL check's ``echostr``, answered verbatim, if it looks like one (no markup, no spaces)."""
    if not _ECHOSTR.match(echostr):
        raise CallbackRejectedError(400, "invalid_echostr", "echostr 无效")
    return echostr


def check_size(length: int | None) -> None:
    """413 for a body larger than any WeChat push (checked before reading it)."""
    if length is not None and length > MAX_BODY_BYTES:
        raise CallbackRejectedError(413, "payload_too_large", "请求体太大")


def read_xml(raw: bytes | str) -> dict[str, Any]:
    """Parse untrusted XML into the ``<xml>`` element's dict, or CallbackRejectedError(400).

    DOCTYPE and ENTITY declarations are refused before parsing (billion laughs, external
    entities); xmltodict's ``disable_entities`` stays on as the second line.
    """
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise CallbackRejectedError(413, "payload_too_large", "请求体太大")
    if _DECLARATIONS.search(data):
        raise CallbackRejectedError(400, "hostile_xml", "不接受带 DOCTYPE 或实体声明的 XML")
    try:
        parsed = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError, UnicodeDecodeError) as exc:
        raise CallbackRejectedError(400, "invalid_xml", "XML 格式有误") from exc
    root = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(root, dict):
        raise CallbackRejectedError(400, "invalid_xml", "缺少 <xml> 根元素")
    return root


def parse_trusted(xml: str) -> BaseMessage:
    """wechatpy's typed message from already-checked XML; 400 if it is not a message at all."""
    fields = read_xml(xml)
    for name in ("MsgType", "FromUserName", "CreateTime"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise CallbackRejectedError(400, "invalid_message", f"消息缺少 {name}")
    try:
        return parse_message(xml)
    except (ExpatError, ValueError, KeyError, TypeError) as exc:
        raise CallbackRejectedError(400, "invalid_message", "无法解析的消息") from exc


def message_key(message: BaseMessage) -> str | None:
    """What WeChat's retries have in common: MsgId for messages (and the event with its MsgID, for
    receipts); FromUserName + CreateTime for other events (WeChat's advice), plus the event type so
    two events of one second stay apart."""
    data: Mapping[str, Any] = message._data  # wechatpy keeps the raw fields only here
    msg_id = data.get("MsgId") or data.get("MsgID")
    if isinstance(msg_id, str) and msg_id:
        # A receipt's MsgID counts template sends, a chat message's MsgId counts chat messages:
        # the two sequences may meet, so an event's id is kept apart from a message's.
        event = str(data.get("Event", "")).lower()
        return f"evt:{event}:{msg_id}" if event else f"msg:{msg_id}"
    sender, created = data.get("FromUserName"), data.get("CreateTime")
    if not sender or not created:
        return None
    return f"evt:{sender}:{created}:{str(data.get('Event', '')).lower()}"


class SafeModeCipher:
    """AES safe mode (安全模式) with wechatpy's WeChatCrypto.

    The Official Account and the mini-program may share this callback and its token and key,
    but each encrypts with its own appid; the cipher tries the Official Account's, then the
    mini-program's, and answers with whichever the message came with.
    """

    def __init__(self, settings: Settings) -> None:
        wechat = settings.wechat
        self.token = wechat.official_account.token
        key = wechat.official_account.encoding_aes_key
        appids = dict.fromkeys((wechat.official_account.appid, wechat.miniprogram.appid))
        self._cryptos = {appid: WeChatCrypto(self.token, key, appid) for appid in appids}

    def decrypt(self, envelope: Mapping[str, Any], query: SignedQuery) -> tuple[str, str]:
        """The inner XML and the appid it was sealed with; CallbackRejectedError(403) otherwise.

        ``msg_signature`` (not ``signature``) covers the ciphertext; it is compared in constant
        time here, before wechatpy (which compares with ``!=``) ever sees the request.
        """
        encrypted = envelope.get("Encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            raise _forbidden("invalid_ciphertext", "缺少密文")
        expected = signature_of(self.token, query.timestamp, query.nonce, encrypted)
        if not query.msg_signature or not _same(expected, query.msg_signature):
            raise _forbidden("invalid_msg_signature", "消息签名无效")
        for appid, crypto in self._cryptos.items():
            try:
                inner = crypto.decrypt_message(
                    {"Encrypt": encrypted}, query.msg_signature, query.timestamp, query.nonce
                )
            except InvalidAppIdException:
                continue
            except Exception as exc:  # struct.error, binascii.Error, UnicodeDecodeError, KeyError, …
                # Garbage ciphertext under a valid signature: wechatpy raises whatever breaks first.
                raise _forbidden("invalid_ciphertext", "无法解密") from exc
            return str(inner), appid
        raise _forbidden("invalid_appid", "密文的 AppID 不符")

    def encrypt(self, xml: str, appid: str, query: SignedQuery) -> str:
        """The reply sealed for ``appid``, in WeChat's <Encrypt/MsgSignature/TimeStamp/Nonce> form."""
        return str(self._cryptos[appid].encrypt_message(xml, query.nonce, query.timestamp))


def escape_cdata(text: str) -> str:
    """Text safe inside wechatpy's ``<![CDATA[…]]>``, which does not escape ``]]>``: split the
    section there (lossless), and drop characters XML 1.0 forbids."""
    return _XML_INVALID.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def clip_reply(text: str) -> str:
    """A chat reply cut to :data:`MAX_REPLY_CHARS` (the passive reply and the late 客服消息 alike)."""
    return text if len(text) <= MAX_REPLY_CHARS else text[: MAX_REPLY_CHARS - 1] + "…"


def render_text_reply(message: BaseMessage, text: str) -> str:
    """The XML of a text reply to ``message``; every field passes through :func:`escape_cdata`."""
    reply = TextReply(
        source=escape_cdata(str(message.target or "")),
        target=escape_cdata(str(message.source or "")),
        content=escape_cdata(clip_reply(text)),
    )
    return str(reply.render())
