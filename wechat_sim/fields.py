"""Subscribe-message field rules (订阅消息 data keys), checked the way WeChat checks them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date

# Limits from WeChat's subscribe-message documentation, in characters.
THING_MAX = 20
PHRASE_MAX = 5
CHARACTER_STRING_MAX = 32
NUMBER_MAX = 32
NAME_MAX = 10
CAR_NUMBER_MAX = 8
# `time` and `date` accept one moment or a span of two joined by "~".
_MOMENTS_IN_SPAN_MAX = 2
_HOURS, _MINUTES = 24, 60

# Basic CJK block plus extension A: what WeChat calls 汉字 in its field rules.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_CHINESE = re.compile(f"[{_CJK}]")
_ALL_CHINESE = re.compile(f"[{_CJK}]+")
# A data key is a type prefix followed by the field's position: thing1, character_string4, car_number10.
_KEY = re.compile(r"(?P<prefix>[a-z_]+?)\d+")
# `number` is up to 32 digits and may carry decimals.
_NUMBER = re.compile(r"\d+(\.\d+)?")
# `amount` is one optional currency symbol, up to 10 digits with decimals, optionally ending in 元.
_AMOUNT = re.compile(r"[¥$€£]?\d{1,10}(\.\d+)?元?")
_PHONE_NUMBER = re.compile(r"[0-9+\-() ]{1,17}")
# `car_number`: the first and last characters may be Chinese, the rest letters or digits.
_CAR_NUMBER = re.compile(f"[{_CJK}A-Za-z0-9][A-Za-z0-9]*[{_CJK}A-Za-z0-9]?")
# A moment is a date, a 24-hour time, or both. The dashed date needs a space before the time so
# that "2026-11-2314:30" is not read as the 23rd; the Chinese date ends in 日 and needs none.
_MOMENT = re.compile(
    r"(?:(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?:\s+|$)"
    r"|(?P<cy>\d{4})年(?P<cm>\d{1,2})月(?P<cd>\d{1,2})日\s*)?"
    r"(?:(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?"
)


class FieldError(ValueError):
    """A data value WeChat would refuse with 47003; the message names the field like WeChat's errmsg."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"argument invalid! data.{key}.value {problem}")
        self.key = key


def field_prefix(key: str) -> str:
    """The type prefix of a data key (`thing` for `thing1`); the whole key when it has no index."""
    match = _KEY.fullmatch(key)
    return match.group("prefix") if match else key


def _is_moment(text: str) -> bool:
    match = _MOMENT.fullmatch(text.strip())
    if match is None or not text.strip():
        return False
    year, month, day = match.group("y", "m", "d")
    if year is None:
        year, month, day = match.group("cy", "cm", "cd")
    if year is not None:
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            return False
    hour, minute, second = match.group("h", "mi", "s")
    if hour is None:
        return True
    # 24-hour clock only: "24:00" and "9:75" are refused.
    return int(hour) < _HOURS and int(minute) < _MINUTES and (second is None or int(second) < _MINUTES)


def _check_moment(value: str) -> str | None:
    parts = value.split("~")
    if len(parts) <= _MOMENTS_IN_SPAN_MAX and all(_is_moment(part) for part in parts):
        return None
    return "invalid time format"


def _check_thing(value: str) -> str | None:
    return "exceeds limit" if len(value) > THING_MAX else None


def _check_phrase(value: str) -> str | None:
    if len(value) > PHRASE_MAX:
        return "exceeds limit"
    return None if _ALL_CHINESE.fullmatch(value) else "must be chinese characters"


def _check_character_string(value: str) -> str | None:
    if len(value) > CHARACTER_STRING_MAX:
        return "exceeds limit"
    return "must not contain chinese characters" if _CHINESE.search(value) else None


def _check_number(value: str) -> str | None:
    if len(value) > NUMBER_MAX:
        return "exceeds limit"
    return None if _NUMBER.fullmatch(value) else "must be a number"


def _check_name(value: str) -> str | None:
    return "exceeds limit" if len(value) > NAME_MAX else None


def _check_amount(value: str) -> str | None:
    return None if _AMOUNT.fullmatch(value) else "invalid amount"


def _check_phone_number(value: str) -> str | None:
    return None if _PHONE_NUMBER.fullmatch(value) else "invalid phone number"


def _check_car_number(value: str) -> str | None:
    if len(value) > CAR_NUMBER_MAX:
        return "exceeds limit"
    return None if _CAR_NUMBER.fullmatch(value) else "invalid car number"


# Keyed by type prefix. Prefixes not listed (letter, symbol, short_thing, …) are accepted as they
# are, only checked for emptiness: Linli does not use them.
_RULES: dict[str, Callable[[str], str | None]] = {
    "thing": _check_thing,
    "phrase": _check_phrase,
    "character_string": _check_character_string,
    "number": _check_number,
    "name": _check_name,
    "time": _check_moment,
    "date": _check_moment,
    "amount": _check_amount,
    "phone_number": _check_phone_number,
    "car_number": _check_car_number,
}


def validate_field(key: str, value: object) -> None:
    """Raise `FieldError` when WeChat would answer 47003 for `data[key]["value"] == value`."""
    if not isinstance(value, str):
        # WeChat documents every value as a string; a number here is a payload-builder bug.
        raise FieldError(key, "must be a string")
    if not value.strip():
        raise FieldError(key, "is empty")
    rule = _RULES.get(field_prefix(key))
    problem = rule(value) if rule else None
    if problem is not None:
        raise FieldError(key, problem)


def validate_data(data: Mapping[str, object]) -> None:
    """Check a subscribe `data` object `{key: {"value": str}}`; raise `FieldError` for the first bad field."""
    for key, item in data.items():
        if not isinstance(item, Mapping) or "value" not in item:
            raise FieldError(key, "is missing")
        validate_field(key, item["value"])
