"""Deliver due outbox messages (every few seconds; any number of job processes may run it)."""

from __future__ import annotations

from datetime import datetime

from app.notify.delivery import deliver_due
from app.runtime import Runtime
from jobs.metrics import OUTBOX_DELIVERIES, OUTBOX_OUTCOMES


def run(rt: Runtime, now: datetime | None = None) -> str:
    report = deliver_due(rt, now)
    for outcome in OUTBOX_OUTCOMES:
        if count := getattr(report, outcome):
            OUTBOX_DELIVERIES.labels(outcome).inc(count)
    return (
        f"claimed={report.claimed} sent={report.sent} retried={report.retried} skipped={report.skipped} "
        f"rerouted={report.rerouted} "
        f"dead={report.dead} deferred={report.deferred}"
    )
