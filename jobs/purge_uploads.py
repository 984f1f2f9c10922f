"""Delete the uploads no order used within a day, and their files (daily, 04:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.runtime import Runtime
from app.uploads.purge import purge_unattached


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = purge_unattached(rt, now or now_utc())
    return f"rows={report.rows} files={report.files} missing={report.missing}"
