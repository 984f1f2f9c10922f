"""Expire the redemption codes nobody verified in time, giving their points back (every 5 minutes)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.runtime import Runtime
from app.timebank.expiry import expire_redemptions


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = expire_redemptions(rt, now or now_utc())
    return f"expired={report.expired} points={report.points}"
