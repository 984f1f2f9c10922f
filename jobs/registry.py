"""The scheduled jobs, as data: a stable id, when it fires, and whether a firing must run once
across all job processes (``exclusive``) or may run in each (outbox delivery shares rows itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import to_shanghai
from app.core.config import Settings
from app.runtime import Runtime
from jobs import (
    care_visits,
    daily_digest,
    deliver_outbox,
    expire_redemptions,
    export_ledgers,
    month_summary,
    privacy_retention,
    property_surveys,
    prune_revocations,
    purge_uploads,
    sla_reminders,
    stats_prefill,
)

#: When the retention job runs, Shanghai (hour, minute).
RETENTION_AT = (3, 30)
#: When the month's summary goes out on the 1st, Shanghai (hour, minute).
MONTH_SUMMARY_AT = (9, 0)
#: When last month's statistics are computed ahead, Shanghai (hour, minute): daily, since orders
#: of last month are still rated and reopened in the first days of this one.
STATS_PREFILL_AT = (2, 30)
#: When the month's property surveys open on the 1st (and last month's are judged), Shanghai.
PROPERTY_SURVEYS_AT = (9, 0)


@dataclass(frozen=True)
class JobSpec:
    id: str
    run: Callable[[Runtime, datetime | None], str]
    #: Seconds between firings, or None for a daily job at ``daily_at`` (Shanghai hour, minute).
    every_seconds: float | None = None
    daily_at: tuple[int, int] | None = None
    #: With ``daily_at``: only on this day of the month (a monthly job).
    monthly_day: int | None = None
    exclusive: bool = True

    def slot(self, fired_at: datetime) -> str:
        """The identity of the firing that ``fired_at`` belongs to (what the unique index compares)."""
        local = to_shanghai(fired_at)
        if self.monthly_day is not None:
            return local.strftime("%Y-%m")
        if self.daily_at is not None:
            return local.strftime("%Y-%m-%d")
        assert self.every_seconds is not None  # noqa: S101 - one of the two is always set
        step = int(self.every_seconds)
        epoch = int(fired_at.timestamp())
        return str(epoch - epoch % step)


def job_specs(settings: Settings) -> list[JobSpec]:
    """Every job; ids are stable (they key the job_runs table and the logs)."""
    reminders = settings.reminders
    return [
        JobSpec("deliver_outbox", deliver_outbox.run, every_seconds=2, exclusive=False),
        JobSpec("sla_reminders", sla_reminders.run, every_seconds=60),
        JobSpec("daily_digest", daily_digest.run, daily_at=(reminders.digest_hour, reminders.digest_minute)),
        # A quiet hour: the run deletes files and rewrites old orders, in batches.
        JobSpec("privacy_retention", privacy_retention.run, daily_at=RETENTION_AT),
        # A revocation is needed for at most a token's lifetime; an hour more costs nothing.
        JobSpec("prune_revocations", prune_revocations.run, every_seconds=3600),
        # A quiet hour: the purge takes the write lock in short batches, and nobody is uploading.
        JobSpec("purge_uploads", purge_uploads.run, daily_at=(4, 0)),
        # Codes expire by the hour or day: a few minutes late costs nothing, and a run that finds
        # nothing is one indexed query.
        JobSpec("expire_redemptions", expire_redemptions.run, every_seconds=300),
        # Morning of the 1st: last month is over in Shanghai, and volunteers read it over breakfast.
        JobSpec("month_summary", month_summary.run, daily_at=MONTH_SUMMARY_AT, monthly_day=1),
        # Visits are made a lead time ahead (hours) and missed after a grace (hours): five minutes
        # late costs nothing, and a run with nothing due is two indexed queries.
        JobSpec("care_visits", care_visits.run, every_seconds=300),
        # The 1st: last month's surveys closed (window_days <= 28), this month's open for residents.
        JobSpec("property_surveys", property_surveys.run, daily_at=PROPERTY_SURVEYS_AT, monthly_day=1),
        # Not exclusive: each job process may write exports side by side, since every export is
        # claimed by a conditional update (app/community/exports/runner.py), never written twice.
        JobSpec("export_ledgers", export_ledgers.run, every_seconds=settings.exports.poll_seconds, exclusive=False),
        # A quiet hour: a street's month takes seconds to compute, and the run holds no write lock
        # while it does (app/community/stats_prefill.py).
        JobSpec("stats_prefill", stats_prefill.run, daily_at=STATS_PREFILL_AT),
    ]
