"""What time-bank use cases answer (the ledger, merchants, rewards, redemptions); times in +08:00."""

from __future__ import annotations

from app.core.shapes import ShanghaiTime, Shape
from app.timebank.models import RedemptionStatus


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


class MerchantOut(Shape):
    id: int
    name: str
    #: How many people verify its codes.
    staff_count: int
    created_at: ShanghaiTime


class MerchantEnvelope(Shape):
    merchant: MerchantOut


class MerchantPage(Shape):
    items: list[MerchantOut]
    next_cursor: str | None


class MerchantRef(Shape):
    id: int
    name: str


class RewardOut(Shape):
    id: int
    name: str
    #: The price in points.
    points: int
    merchant: MerchantRef
    #: How many are left; null: no limit.
    stock: int | None
    #: False once withdrawn: it is no longer offered, codes issued before stay valid.
    active: bool


class RewardEnvelope(Shape):
    reward: RewardOut


class RewardPage(Shape):
    items: list[RewardOut]
    next_cursor: str | None


class RedemptionReward(Shape):
    """The reward a code is for, as it was named when the answer was made."""

    id: int
    name: str
    merchant: MerchantRef


class RedemptionOut(Shape):
    id: int
    #: Shown at the merchant's till; 10 characters without 0/O or 1/I/L.
    code: str
    #: The points it cost.
    points: int
    status: RedemptionStatus
    expires_at: ShanghaiTime
    redeemed_at: ShanghaiTime | None
    created_at: ShanghaiTime
    reward: RedemptionReward


class RedemptionEnvelope(Shape):
    redemption: RedemptionOut


class RedemptionPage(Shape):
    items: list[RedemptionOut]
    next_cursor: str | None
