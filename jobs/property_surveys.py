"""物业满意度测评 on the 1st (Shanghai): judge last month's surveys, open this month's."""

from __future__ import annotations

from datetime import datetime

from app.core.clock import now_utc
from app.runtime import Runtime
from app.surveys.monthly import run_month


def run(rt: Runtime, now: datetime | None = None) -> str:
    return str(run_month(rt, now or now_utc()))
