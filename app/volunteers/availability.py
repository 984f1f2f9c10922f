"""Weekly availability as minutes of the week (Asia/Shanghai; Monday 00:00 is 0): parsing the
slots a volunteer gives, saying them in Chinese, and placing an order's preferred time in the
week. Pure rules, no database."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import SHANGHAI
from app.core.errors import InvalidInputError

DAY = 24 * 60
WEEK = 7 * DAY
#: At most this many slots a week (four a day is plenty; more is a mistake or a flood).
MAX_SLOTS = 28
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Slot:
    """``starts``/``ends``: minutes of the week; a slot never crosses midnight."""

    starts: int
    ends: int

    @property
    def weekday(self) -> int:
        return self.starts // DAY + 1

    def clock(self) -> tuple[str, str]:
        """Its start and end as HH:MM (an end at midnight is 24:00)."""
        return _hhmm(self.starts % DAY), _hhmm(self.ends - (self.weekday - 1) * DAY)

    def says(self) -> str:
        """周三 9:00–12:00 (hours without a leading zero, as people write them)."""
        base = (self.weekday - 1) * DAY
        return f"{WEEKDAY_NAMES[self.weekday - 1]} {_spoken(self.starts - base)}–{_spoken(self.ends - base)}"


def _spoken(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int | None:
    match = _CLOCK.match(text)
    if match is None:
        return None
    value = int(match.group(1)) * 60 + int(match.group(2))
    return value if value <= DAY else None


def parse_slots(items: list[tuple[int, str, str]]) -> list[Slot]:
    """(weekday 1..7, "HH:MM", "HH:MM") → slots, sorted. Raises InvalidInputError naming each bad
    item (``availability[i]``): a weekday out of range, a time that is no time of day, a start not
    before its end, two slots of one day that overlap."""
    problems: list[dict[str, str]] = []
    slots: list[tuple[int, Slot]] = []
    if len(items) > MAX_SLOTS:
        raise InvalidInputError(
            f"每周最多登记 {MAX_SLOTS} 个时段", details={"fields": [{"field": "availability", "problem": "too many"}]}
        )
    for index, (weekday, start, end) in enumerate(items):
        field = f"availability[{index}]"
        first, last = _minutes(start), _minutes(end)
        if not 1 <= weekday <= len(WEEKDAY_NAMES):
            problems.append({"field": field, "problem": "weekday"})
        elif first is None or last is None:
            problems.append({"field": field, "problem": "time"})
        elif first >= last:
            problems.append({"field": field, "problem": "start not before end"})
        else:
            base = (weekday - 1) * DAY
            slots.append((index, Slot(base + first, base + last)))
    slots.sort(key=lambda pair: pair[1].starts)
    for (_, before), (index, after) in itertools.pairwise(slots):
        if after.starts < before.ends:
            problems.append({"field": f"availability[{index}]", "problem": "overlaps another slot"})
    if problems:
        raise InvalidInputError(
            "服务时段有误：星期为 1–7，开始早于结束，同一天的时段不能重叠", details={"fields": problems}
        )
    return [slot for _, slot in slots]


def week_window(start: datetime | None, end: datetime | None) -> Slot | None:
    """An order's preferred time as a window of the week, on the day it starts (a window running
    past midnight is cut there; no end: the hour from its start). None without a preferred time."""
    if start is None:
        return None
    local = start.astimezone(SHANGHAI)
    starts = local.weekday() * DAY + local.hour * 60 + local.minute
    day_end = (local.weekday() + 1) * DAY
    length = int((end - start).total_seconds() // 60) if end is not None and end > start else 60
    return Slot(starts, min(starts + max(length, 1), day_end))
