"""Care plans' visits: make each due visit's order ahead of time, alert missed ones (every 5 minutes)."""

from __future__ import annotations

from datetime import datetime

from app.care.visits import run_care_visits
from app.core.clock import now_utc
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = run_care_visits(rt, now or now_utc())
    return f"made={report.made} failed={report.failed} alerted={report.alerted} done={report.done} late={report.late}"
