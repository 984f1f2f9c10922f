"""Message payloads within WeChat's field limits (checked when built, not when
WeChat answers 47003 at 3 a.m.)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import to_shanghai

#: WeChat subscribe-message field rules (docs/wechat.md): the longest value of each type.
THING_MAX = 20
NAME_MAX = 10
PHRASE_MAX = 5
CHARACTER_STRING_MAX = 32
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PLACEHOLDER = "无"  # an empty value is refused (47003)


def _squash(text: str) -> str:
    return " ".join(text.split())


def thing(text: str) -> dict[str, str]:
    """Up to 20 characters of any text; longer text is cut with an ellipsis."""
    value = _squash(text) or _PLACEHOLDER
    return {"value": value if len(value) <= THING_MAX else value[: THING_MAX - 1] + "…"}


def name(text: str) -> dict[str, str]:
    """A person's name, up to 10 characters."""
    value = _squash(text) or _PLACEHOLDER
    return {"value": value[:NAME_MAX]}


def phrase(text: str) -> dict[str, str]:
    """Up to 5 Chinese characters (a status word such as 待评价)."""
    value = "".join(_CJK.findall(text))[:PHRASE_MAX] or _PLACEHOLDER
    return {"value": value}


def character_string(text: str) -> dict[str, str]:
    """Up to 32 letters, digits and symbols; Chinese is dropped (WeChat refuses it here)."""
    value = _CJK.sub("", _squash(text))[:CHARACTER_STRING_MAX] or "-"
    return {"value": value}


def time_value(moment: datetime) -> dict[str, str]:
    """24-hour Shanghai time, as WeChat wants it."""
    return {"value": to_shanghai(moment).strftime("%Y-%m-%d %H:%M")}


@dataclass(frozen=True)
class Rendered:
    """One message for every channel: the WeChat data, the page or URL, and the inbox wording."""

    data: dict[str, dict[str, str]]
    title: str
    body: str
    page: str | None = None
