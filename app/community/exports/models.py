"""The export_jobs table: one work ledger someone asked for, from queued to a file on disk."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class ExportStatus(StrEnum):
    """queued → running → done | failed; done → expired once the file is deleted."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


#: What counts against the per-user cap and is answered again for the same request.
OPEN_STATUSES = frozenset({ExportStatus.QUEUED, ExportStatus.RUNNING})


class ExportJob(Base):
    """One background work ledger: who asked, for which area and days, and where its file is."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        # The job's scan: the oldest queued (or stale running) export first.
        sa.Index("ix_export_jobs_status_created_at", "status", "created_at"),
        # The requester's list, newest first, and their open jobs.
        sa.Index("ix_export_jobs_requester_id_created_at", "requester_id", "created_at"),
    )

    id: Mapped[intpk]
    requester_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    #: The community or street the ledger covers (the request's ``area``).
    area_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT")
    first: Mapped[date]
    last: Mapped[date]
    status: Mapped[ExportStatus] = mapped_column(default=ExportStatus.QUEUED)
    #: Orders in the range when it was asked for (the file may hold a few more, made since).
    rows: Mapped[int]
    #: The file's name under ``<var_dir>/exports/`` (random, unguessable); null until written.
    file_name: Mapped[str | None] = mapped_column(sa.String(64))
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger())
    #: Why it failed, in Chinese for the requester; "" otherwise.
    error: Mapped[str] = mapped_column(sa.String(200), default="")
    #: How many times a job process took it (a process killed while writing leaves it running).
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[created_at]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: When the file and the row's download go (``[exports] keep_days`` after it was asked for).
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<ExportJob {self.id} {self.status} area={self.area_id} {self.first}..{self.last}>"
