"""The retention period (daily, 03:30 Asia/Shanghai): finished orders past ``privacy.retention_days``
lose their photos, contact phone and room; expired Idempotency-Keys go."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.orders.anonymise import apply_retention
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = apply_retention(rt, now or now_utc())
    return (
        f"orders={report.orders} photos={report.photos} files={report.files} idempotency_keys={report.idempotency_keys}"
    )
