"""The visit log's pure rules: the kinds' labels, the limits, when a visit may be said to have
been held, an order's default title, and how the figures of groups add up. No database here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from app.community.opinions.models import VisitKind
from app.core.errors import InvalidInputError

KIND_LABELS: Final = {
    VisitKind.HOME_VISIT: "三访三问",
    VisitKind.TEA_TALK: "吃茶话事",
    VisitKind.RECEPTION_DAY: "接待日",
}

#: Items one visit may hold, and the longest an item's text may be.
MAX_ITEMS: Final = 50
MAX_TEXT: Final = 500
#: An order made of an item without a title of its own takes this prefix and the item's start.
TITLE_PREFIX: Final = "民情："
TITLE_MAX: Final = 50

#: WeChat's content check takes at most this many characters in one call (docs/wechat.md); one
#: visit's texts (up to 50 × 500) are asked in batches that fit.
CHECK_CHARS: Final = 2500


def field_error(field_name: str, problem: str) -> InvalidInputError:
    """The project's 400: ``invalid_input`` naming the field in ``details.fields``."""
    return InvalidInputError(problem, details={"fields": [{"field": field_name, "problem": problem}]})


def check_held_at(held_at: datetime, now: datetime) -> None:
    """A visit is logged after it was held: a moment after ``now`` is refused."""
    if held_at > now:
        raise field_error("held_at", "走访时间不能晚于现在")


def check_batches(fields: Mapping[str, str], limit: int = CHECK_CHARS) -> list[dict[str, str]]:
    """The non-empty ``fields`` (field name → text) in order, in batches whose texts joined by a
    newline (as the content check sends them) hold at most ``limit`` characters. A text is never
    split: none is longer than an item's 500."""
    batches: list[dict[str, str]] = []
    size = 0
    for name, written in fields.items():
        text = written.strip()
        if not text:
            continue
        if not batches or size + 1 + len(text) > limit:
            batches.append({})
            size = -1
        batches[-1][name] = text
        size += 1 + len(text)
    return batches


def default_title(text: str) -> str:
    """The title of an order made of ``text`` when staff give none: the prefix and as much of the
    text's first line as fits (an order's title holds 2–50 characters)."""
    first_line = " ".join(text.split())
    room = TITLE_MAX - len(TITLE_PREFIX)
    return TITLE_PREFIX + (first_line if len(first_line) <= room else first_line[: room - 1] + "…")


@dataclass
class Tally:
    """The figures of a group of visits: how many of each kind, residents met, items, items made
    into orders and, of those, orders now closed (已完成)."""

    by_kind: dict[str, int] = field(default_factory=lambda: {kind.value: 0 for kind in VisitKind})
    residents_met: int = 0
    items: int = 0
    ordered: int = 0
    closed: int = 0

    @property
    def visits(self) -> int:
        return sum(self.by_kind.values())

    def add(self, other: Tally) -> None:
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n
        self.residents_met += other.residents_met
        self.items += other.items
        self.ordered += other.ordered
        self.closed += other.closed


def total(tallies: Iterable[Tally]) -> Tally:
    """The sum of ``tallies`` (the community's figures are the sum of its grids')."""
    whole = Tally()
    for tally in tallies:
        whole.add(tally)
    return whole
