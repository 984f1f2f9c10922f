"""The job process (`linli jobs`): APScheduler 3 with in-memory schedules; every exclusive firing
first claims its (job, slot) row, so several processes never run one firing twice.

APScheduler 3 cannot share a job store between processes (its maintainers say so; measured: 34
runs for 12 ticks with three processes), hence memory stores and the database guard.
"""

from __future__ import annotations

import logging
import threading
import time

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.core.clock import SHANGHAI, now_utc
from app.core.job_runs import claim_firing, finish_firing
from app.core.logs import log_context
from app.runtime import Runtime
from jobs.metrics import (
    JOB_DURATION,
    JOB_FAILURES,
    JOB_LAST_SUCCESS,
    JOB_RUNS,
    JOB_SKIPPED,
    serve_metrics,
    stop_metrics,
)
from jobs.registry import JobSpec, job_specs

log = logging.getLogger(__name__)


def fire(rt: Runtime, spec: JobSpec) -> str | None:
    """Run one firing of ``spec`` now, unless another process already ran this slot. Never raises:
    a failing job is logged and recorded, and the scheduler goes on. Every line logged meanwhile,
    here or deep in the use case, carries the job's name (``job`` in JSON, ``[job:…]`` in text)."""
    with log_context(job=spec.id):
        return _fire(rt, spec)


def _fire(rt: Runtime, spec: JobSpec) -> str | None:
    now = now_utc()
    run_id = None
    if spec.exclusive:
        run_id = claim_firing(rt.db, spec.id, spec.slot(now))
        if run_id is None:
            log.debug("job %s slot %s already ran elsewhere", spec.id, spec.slot(now))
            JOB_SKIPPED.labels(spec.id).inc()
            return None
    started = time.perf_counter()
    try:
        outcome = spec.run(rt, now)
    except Exception as exc:
        log.exception("job %s failed", spec.id)
        outcome = f"error: {type(exc).__name__}: {exc}"
        JOB_FAILURES.labels(spec.id).inc()
    else:
        JOB_LAST_SUCCESS.labels(spec.id).set(time.time())
    finally:
        JOB_RUNS.labels(spec.id).inc()
        JOB_DURATION.labels(spec.id).observe(time.perf_counter() - started)
    if run_id is not None:
        finish_firing(rt.db, run_id, outcome)
    if spec.exclusive or not outcome.startswith("claimed=0 "):
        log.info("job %s: %s", spec.id, outcome)
    return outcome


def build_scheduler(rt: Runtime) -> BackgroundScheduler:
    """A scheduler with every job of the registry; not started."""
    # APScheduler's executor logs every firing twice at INFO ("Running job", "executed
    # successfully"): two lines every 2 s for the outbox poll. ``fire`` logs what a run did, and
    # the executor's warnings (missed runs) and errors still come through.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    scheduler = BackgroundScheduler(timezone=SHANGHAI, job_defaults={"coalesce": True, "max_instances": 1})
    for spec in job_specs(rt.settings):
        if spec.daily_at is not None:
            trigger = CronTrigger(
                day=spec.monthly_day or "*", hour=spec.daily_at[0], minute=spec.daily_at[1], timezone=SHANGHAI
            )
        else:
            trigger = IntervalTrigger(seconds=spec.every_seconds or 60, timezone=SHANGHAI)
        scheduler.add_job(fire, trigger, args=(rt, spec), id=spec.id, name=spec.id, misfire_grace_time=30)
    return scheduler


def run_forever(rt: Runtime, stop: threading.Event) -> None:
    """Run the scheduler until ``stop`` is set (Ctrl+C / SIGTERM in `linli jobs`), with its figures
    on ``metrics.jobs_port`` when that is set."""
    metrics_server = serve_metrics(rt.settings)
    scheduler = build_scheduler(rt)
    scheduler.start()
    log.info("job process started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        stop_metrics(metrics_server)
