"""The daily digest to each secretary (08:30 Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.orders.digest import send_daily_digests
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    return f"queued={send_daily_digests(rt, now or now_utc())}"
