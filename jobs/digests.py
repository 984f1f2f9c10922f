"""The daily digest to each secretary (08:30 Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import datetime

from app.clock import now_utc
from app.runtime import Runtime
from app.services.digests import send_daily_digests


def run(rt: Runtime, now: datetime | None = None) -> str:
    return f"queued={send_daily_digests(rt, now or now_utc())}"
