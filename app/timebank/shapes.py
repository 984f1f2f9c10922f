"""What time-bank use cases answer; times in +08:00."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape


class PointsEntryOut(Shape):
    id: int
    #: What it adds to the balance (0 for points held, or a hold not paid).
    delta: int
    #: earned, held, released, forfeited, reversed, adjusted, redeemed, redemption_refunded.
    kind: str
    kind_label: str
    #: A code word (``order_rated`` …) or, for an adjustment, the secretary's own words.
    reason: str
    #: The reason in Chinese.
    label: str
    order_id: int | None
    #: Service minutes it counts (− when taken back); null where none.
    minutes: int | None
    #: On a ``held`` entry: the points waiting for the return visit.
    held_points: int | None
    at: ShanghaiTime


class PointsPage(Shape):
    #: The sum of the whole ledger.
    balance: int
    #: Points held for a return visit, not yet in the balance.
    held: int
    items: list[PointsEntryOut]
    next_cursor: str | None


class PointsEntryEnvelope(Shape):
    entry: PointsEntryOut
