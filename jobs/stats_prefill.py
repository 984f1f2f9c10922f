"""Last month's statistics of every street and community computed ahead (daily, a quiet hour)."""

from __future__ import annotations

from datetime import datetime

from app.community.stats_prefill import prefill_last_month
from app.core.clock import now_utc
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = prefill_last_month(rt, now or now_utc())
    return f"month={report.month} computed={report.computed} unchanged={report.unchanged} pruned={report.pruned}"
