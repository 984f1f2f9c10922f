"""Background work ledgers as their requester sees them: ask for one, look at it, list them,
download its file. The same readers, scope and range rules as the ledger over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.community.exports.files import exports_dir
from app.community.exports.models import OPEN_STATUSES, ExportJob, ExportStatus
from app.community.exports.rules import expiry
from app.community.exports.shapes import ExportJobOut, ExportJobPage
from app.community.stats import check_reader, stats_scope
from app.community.stats_rules import period
from app.community.work_ledger import count_orders, ledger_filename
from app.core.clock import now_utc
from app.core.errors import ExportNotReadyError, GoneError, NotFoundError, TooManyExportsError
from app.core.paging import decode_cursor, encode_cursor
from app.identity.actor import Actor
from app.identity.models import User
from app.runtime import Runtime


@dataclass(frozen=True)
class Requested:
    job: ExportJobOut
    #: False when an open export of the same request was answered instead of a new one.
    created: bool


def job_out(job: ExportJob, area_code: str) -> ExportJobOut:
    return ExportJobOut(
        id=job.id,
        status=job.status,
        area=area_code,
        from_=job.first,
        to=job.last,
        rows=job.rows,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        file_size=job.file_size,
        error=job.error,
        attempts=job.attempts,
    )


def request_export(rt: Runtime, actor: Actor, *, area: str, first: date, last: date) -> Requested:
    """A secretary or street admin asks for the ledger of ``area`` over ``first``..``last`` to be
    written in the background, whatever its size. The same request while one is queued or
    running answers that one (``created`` False). ForbiddenError, NotFoundError and
    InvalidInputError as for the ledger over HTTP; TooManyExportsError past
    ``[exports] max_open_per_user``. Nothing is written on any error."""
    check_reader(actor)
    span = period(first, last)
    cfg = rt.settings.exports
    now = now_utc()
    with rt.db.write() as session:
        place, communities = stats_scope(session, actor, area)
        # One request of a person at a time (their user row locked on PostgreSQL; SQLite
        # serialises writers anyway), so two quick taps neither make two exports nor pass the cap.
        session.execute(sa.select(User.id).where(User.id == actor.user_id).with_for_update())
        open_jobs = list(
            session.scalars(
                sa.select(ExportJob).where(
                    ExportJob.requester_id == actor.user_id, ExportJob.status.in_(sorted(OPEN_STATUSES))
                )
            )
        )
        for job in open_jobs:
            if (job.area_id, job.first, job.last) == (place.id, first, last):
                return Requested(job_out(job, place.code), created=False)
        if len(open_jobs) >= cfg.max_open_per_user:
            raise TooManyExportsError(
                f"您已有 {len(open_jobs)} 个工作台账正在生成，最多同时 {cfg.max_open_per_user} 个，请等待完成后再申请",
                details={"open": len(open_jobs), "max_open": cfg.max_open_per_user},
            )
        job = ExportJob(
            requester_id=actor.user_id,
            area_id=place.id,
            first=first,
            last=last,
            status=ExportStatus.QUEUED,
            rows=count_orders(session, communities, span),
            created_at=now,
            expires_at=expiry(now, cfg.keep_days),
        )
        session.add(job)
        session.flush()
        return Requested(job_out(job, place.code), created=True)


def _own(session: Session, actor: Actor, job_id: int) -> tuple[ExportJob, Area]:
    """The actor's own export; NotFoundError for anybody else's (never reveal it exists)."""
    row = session.execute(
        sa.select(ExportJob, Area)
        .join(Area, Area.id == ExportJob.area_id)
        .where(ExportJob.id == job_id, ExportJob.requester_id == actor.user_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError("找不到该导出记录", details={"export": job_id})
    return row[0], row[1]


def get_export(rt: Runtime, actor: Actor, job_id: int) -> ExportJobOut:
    """The requester: one of their exports. NotFoundError for anyone else's."""
    with rt.db.read() as session:
        job, place = _own(session, actor, job_id)
        return job_out(job, place.code)


def list_exports(rt: Runtime, actor: Actor, *, limit: int = 20, cursor: str | None = None) -> ExportJobPage:
    """The requester: their exports, newest first (expired ones too, for a while: the rows stay)."""
    before = decode_cursor(cursor)
    with rt.db.read() as session:
        query = (
            sa.select(ExportJob, Area.code)
            .join(Area, Area.id == ExportJob.area_id)
            .where(ExportJob.requester_id == actor.user_id)
            .order_by(ExportJob.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(ExportJob.id < before)
        rows = session.execute(query).all()
    items = [job_out(job, code) for job, code in rows[:limit]]
    more = len(rows) > limit
    return ExportJobPage(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


def export_file(rt: Runtime, actor: Actor, job_id: int, now: datetime | None = None) -> tuple[Path, str]:
    """The requester: the written file of their export and the name to give it. The reader rule
    is checked again (a role taken away since stops the download). NotFoundError for anyone
    else's; ExportNotReadyError while queued or running, or when it failed; GoneError once
    expired (or its file is gone)."""
    now = now or now_utc()
    with rt.db.read() as session:
        # Whose it is first: anybody else's is a 404 whatever their role.
        job, place = _own(session, actor, job_id)
        check_reader(actor)
        stats_scope(session, actor, place.code)
        if job.status is ExportStatus.FAILED:
            raise ExportNotReadyError(
                f"工作台账生成失败：{job.error or '未知原因'}，请重新申请", details={"status": "failed"}
            )
        if job.status is ExportStatus.EXPIRED or (job.status is ExportStatus.DONE and job.expires_at <= now):
            raise GoneError(details={"expired_at": job.expires_at.isoformat()})
        if job.status is not ExportStatus.DONE or job.file_name is None:
            raise ExportNotReadyError(details={"status": str(job.status)})
        path = exports_dir(rt.settings) / job.file_name
        if not path.is_file():
            raise GoneError()
        return path, ledger_filename(place, job.first, job.last)
