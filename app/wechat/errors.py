"""How a WeChat call failed, split by what the caller should do next (funnel's transport split)."""

from __future__ import annotations


class WeChatError(Exception):
    """A WeChat call failed. ``errcode``/``errmsg`` are WeChat's, or None for transport failures."""

    def __init__(self, errcode: int | None, errmsg: str, *, api: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        super().__init__(f"{api or 'wechat'}: errcode={errcode} {errmsg}")


class WeChatUnavailableError(WeChatError):
    """Network failure, timeout, HTTP 5xx or WeChat's -1 "system busy": retry later with backoff."""


class WeChatRecipientError(WeChatError):
    """The recipient refused or cannot receive (43101 no grant, 43004 not following, 40003 bad
    openid, 45015 no message from them in 48 h): skip, never retry."""


class WeChatPayloadError(WeChatError):
    """Our payload is wrong (47003, 40037, 41030): a bug on our side; do not retry, alert."""


class WeChatQuotaError(WeChatError):
    """A rate or daily quota is exhausted (45009, 45011): back off the whole channel."""


class WeChatRejectedError(WeChatError):
    """WeChat understood the request and said no for another reason (e.g. 40029 invalid code)."""


UNAVAILABLE_CODES = frozenset({-1})
RECIPIENT_CODES = frozenset({43101, 43004, 40003, 45015})
PAYLOAD_CODES = frozenset({47003, 40037, 41030, 44002, 47001})
QUOTA_CODES = frozenset({45009, 45011, 45047})
#: Access-token problems: refresh the token and retry once (never wechatpy's unbounded recursion).
TOKEN_CODES = frozenset({40001, 40014, 42001})


def classify(errcode: int, errmsg: str, *, api: str = "") -> WeChatError:
    """The exception class that fits a WeChat ``errcode``."""
    kind: type[WeChatError]
    if errcode in UNAVAILABLE_CODES:
        kind = WeChatUnavailableError
    elif errcode in RECIPIENT_CODES:
        kind = WeChatRecipientError
    elif errcode in PAYLOAD_CODES:
        kind = WeChatPayloadError
    elif errcode in QUOTA_CODES:
        kind = WeChatQuotaError
    else:
        kind = WeChatRejectedError
    return kind(errcode, errmsg, api=api)
