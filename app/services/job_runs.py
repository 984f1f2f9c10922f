"""Exactly-once firings for scheduled jobs across several job processes."""

from __future__ import annotations

import os
import socket

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.clock import now_utc
from app.models import JobRun
from app.runtime import Runtime

RUNNER = f"{socket.gethostname()}:{os.getpid()}"


def claim_firing(rt: Runtime, job_id: str, slot: str) -> int | None:
    """Record that this process runs ``job_id`` for ``slot``; None if another process already did.

    The unique (job_id, slot) index decides: only one INSERT can succeed.
    """
    try:
        with rt.db.write() as session:
            run = JobRun(job_id=job_id, slot=slot, runner=RUNNER)
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def finish_firing(rt: Runtime, run_id: int, outcome: str) -> None:
    """Store what the run did (or the error that stopped it)."""
    with rt.db.write() as session:
        session.execute(
            sa.update(JobRun).where(JobRun.id == run_id).values(finished_at=now_utc(), outcome=outcome[:2000])
        )
