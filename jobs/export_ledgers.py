"""Background work ledgers: write the queued exports one at a time, delete expired files
(every ``[exports] poll_seconds``)."""

from __future__ import annotations

from datetime import datetime

from app.community.exports.runner import run_exports
from app.runtime import Runtime


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = run_exports(rt, now)
    claimed = report.done + report.failed + report.retried + report.overtaken
    figures = f"done={report.done} failed={report.failed} retried={report.retried} overtaken={report.overtaken}"
    # The scheduler logs a run of a job in every process unless it starts with "claimed=0 "
    # (nothing taken): a run that only deleted expired files says so first, so it is logged.
    if claimed == 0 and report.expired:
        return f"expired={report.expired} claimed=0 {figures}"
    return f"claimed={claimed} {figures} expired={report.expired}"
