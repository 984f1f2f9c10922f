"""Background work ledgers: write the queued exports one at a time, delete expired files
(every ``[exports] poll_seconds``)."""

from __future__ import annotations

from datetime import datetime

from app.community.exports.runner import run_exports
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = run_exports(rt, now)
    return (
        f"done={report.done} failed={report.failed} retried={report.retried} "
        f"overtaken={report.overtaken} expired={report.expired}"
    )
