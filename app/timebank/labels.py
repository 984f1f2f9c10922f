"""The words a volunteer reads about their points: each kind and each reason in Chinese."""

from __future__ import annotations

from typing import Final

from app.timebank.ledger import PointsKind

KIND_LABELS: Final = {
    PointsKind.EARNED: "服务积分",
    PointsKind.HELD: "积分待回访确认",
    PointsKind.RELEASED: "回访确认，积分发放",
    PointsKind.FORFEITED: "积分未发放",
    PointsKind.REVERSED: "工单重新处理，积分收回",
    PointsKind.ADJUSTED: "积分调整",
    PointsKind.REDEEMED: "兑换礼品",
    PointsKind.REFUNDED: "兑换退回",
}

#: The reasons the app writes, in code words; an adjustment's reason is the secretary's own words.
REASON_LABELS: Final = {
    "order_rated": "完成服务并获评价",
    "return_visit_paid": "回访后发放",
    "return_visit_withheld": "回访后不予发放",
    "order_reopened": "居民申诉，工单重新处理",
    "redeemed": "兑换礼品",
    "redemption_refunded": "兑换退回",
}


def reason_label(reason: str) -> str:
    """What the reason says in Chinese: the label of a code word, or the words themselves."""
    return REASON_LABELS.get(reason, reason)
