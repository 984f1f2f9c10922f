"""Last month's summary to each volunteer whose points moved (the 1st of each month, Shanghai)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.runtime import Runtime
from app.timebank.month_summary import send_month_summaries


def run(rt: Runtime, now: datetime | None = None) -> str:
    return f"queued={send_month_summaries(rt, now or now_utc())}"
