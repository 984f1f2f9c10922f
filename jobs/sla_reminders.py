"""Reminders, escalations, returns to the queue and unrated closes (every minute)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.orders.reminder_scan import run_reminders
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = run_reminders(rt, now or now_utc())
    return f"queued={report.queued} moved={report.moved}"
