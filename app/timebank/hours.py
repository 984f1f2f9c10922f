"""Service minutes as the hours people read: to one decimal, half up (the reports and the month's
summary say the same number)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
