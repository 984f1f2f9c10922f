"""Exactly-once firings for scheduled jobs across several job processes: the job_runs table and
the two calls the scheduler makes around each firing."""

from __future__ import annotations

import os
import socket
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now_utc
from app.core.columns import created_at, intpk
from app.core.db import Base, Database


class JobRun(Base):
    """One firing of a scheduled job. The unique (job, slot) lets exactly one of several job
    processes run it: APScheduler 3 cannot share a job store between processes."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job_id", "slot"),)

    id: Mapped[intpk]
    job_id: Mapped[str] = mapped_column(sa.String(64))
    #: The firing's identity, e.g. "2026-11-23T08:30+08:00" for the daily digest.
    slot: Mapped[str] = mapped_column(sa.String(40))
    #: host:pid of the process that ran it.
    runner: Mapped[str] = mapped_column(sa.String(128))
    started_at: Mapped[created_at]
    finished_at: Mapped[datetime | None]
    #: A one-line summary of what the run did, or the error that stopped it.
    outcome: Mapped[str] = mapped_column(sa.Text(), default="")


RUNNER = f"{socket.gethostname()}:{os.getpid()}"


def claim_firing(db: Database, job_id: str, slot: str) -> int | None:
    """Record that this process runs ``job_id`` for ``slot``; None if another process already did.

    The unique (job_id, slot) index decides: only one INSERT can succeed.
    """
    try:
        with db.write() as session:
            run = JobRun(job_id=job_id, slot=slot, runner=RUNNER)
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def finish_firing(db: Database, run_id: int, outcome: str) -> None:
    """Store what the run did (or the error that stopped it)."""
    with db.write() as session:
        session.execute(
            sa.update(JobRun).where(JobRun.id == run_id).values(finished_at=now_utc(), outcome=outcome[:2000])
        )
