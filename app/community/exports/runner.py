"""The export job's use cases: take queued work ledgers one at a time, write each to a file,
tell the requester; delete the files past ``[exports] keep_days``.

- **Claiming** is a conditional UPDATE of the one row taken (``status`` still queued, or running
  and abandoned, and ``attempts`` still what was read), preceded on PostgreSQL by ``FOR UPDATE
  SKIP LOCKED``, so two job processes never write the same export. The claim's ``attempts`` is its
  mark: the finishing UPDATE holds only while it is unchanged, so a process that stalled past
  ``run_timeout_minutes`` and was overtaken throws its own file away instead of overwriting.
- **Writing** happens in a read transaction of its own (the order rows stream from it into
  XlsxWriter, which keeps them on disk), to ``<name>.part`` renamed to the final name once the
  workbook is closed: a killed process leaves a ``.part``, never half a workbook under a name a
  row points at. The requester's right to read the area is checked again first.
- **Failures**: an error the requester caused (a role taken away, an area gone) fails the export
  at once; anything else puts it back in the queue until ``max_attempts``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area
from app.community.exports import texts
from app.community.exports.files import exports_dir
from app.community.exports.models import ExportJob, ExportStatus
from app.community.exports.rules import expiry, file_name, is_abandoned, may_retry
from app.community.stats import check_reader, stats_scope
from app.community.stats_rules import period
from app.community.work_ledger import ledger_sheets
from app.core.clock import now_utc
from app.core.errors import LinliError
from app.core.spreadsheets import write_workbook
from app.identity.actor import actor_by_id
from app.identity.models import User
from app.notify.chains import Addressee
from app.notify.outbox import notify_user
from app.notify.payloads import Rendered
from app.runtime import Runtime

log = logging.getLogger(__name__)

#: Expired exports handled per run (each in a transaction of its own).
EXPIRY_BATCH = 100


@dataclass
class ExportReport:
    done: int = 0
    failed: int = 0
    #: Put back in the queue after an error, to be tried again.
    retried: int = 0
    #: Finished by this process after another one had taken the export again (file thrown away).
    overtaken: int = 0
    expired: int = 0


@dataclass(frozen=True)
class _Claim:
    job_id: int
    #: The attempt this claim is: the finishing UPDATE holds only while the row still says so.
    attempts: int
    started_at: datetime


def _takeable(now: datetime, timeout: timedelta, max_attempts: int) -> sa.ColumnElement[bool]:
    """Queued, or running, abandoned (the SQL of ``rules.is_abandoned``) and with an attempt left
    (``rules.may_retry``; one without is failed by ``_abandoned_for_good``)."""
    return sa.or_(
        ExportJob.status == ExportStatus.QUEUED,
        sa.and_(
            ExportJob.status == ExportStatus.RUNNING,
            ExportJob.started_at <= now - timeout,
            ExportJob.attempts < max_attempts,
        ),
    )


def claim_next(rt: Runtime, now: datetime, *, skip: Collection[int] = ()) -> _Claim | None:
    """Take the oldest takeable export for this process (not one of ``skip``), or None. One
    transaction."""
    cfg = rt.settings.exports
    timeout = timedelta(minutes=cfg.run_timeout_minutes)
    takeable = _takeable(now, timeout, cfg.max_attempts)
    with rt.db.write() as session:
        while True:
            row = session.execute(
                sa.select(ExportJob.id, ExportJob.attempts)
                .where(takeable, ExportJob.id.not_in(list(skip)))
                .order_by(ExportJob.created_at, ExportJob.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                return None
            taken = session.execute(
                sa.update(ExportJob)
                .where(ExportJob.id == row.id, ExportJob.attempts == row.attempts, takeable)
                .values(status=ExportStatus.RUNNING, started_at=now, attempts=row.attempts + 1, error="")
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return _Claim(row.id, row.attempts + 1, now)
            # Another process was faster between the two statements (SQLite has no row lock):
            # look again rather than give up the run.


def _abandoned_for_good(rt: Runtime, now: datetime, report: ExportReport) -> None:
    """Running exports abandoned as many times as ``max_attempts`` allows: failed, requester told."""
    cfg = rt.settings.exports
    timeout = timedelta(minutes=cfg.run_timeout_minutes)
    with rt.db.write() as session:
        stale = session.scalars(
            sa.select(ExportJob)
            .where(
                ExportJob.status == ExportStatus.RUNNING,
                ExportJob.started_at <= now - timeout,
                ExportJob.attempts >= cfg.max_attempts,
            )
            # Two processes starting a run at once: each fails (and tells about) its own rows.
            .with_for_update(skip_locked=True)
        ).all()
        for job in stale:
            if is_abandoned(job.status, job.started_at, now, timeout) and not may_retry(job.attempts, cfg.max_attempts):
                _fail(session, rt, job, "多次生成未能完成", now)
                report.failed += 1


def _fail(session: Session, rt: Runtime, job: ExportJob, reason: str, now: datetime) -> None:
    job.status = ExportStatus.FAILED
    job.error = reason[:200]
    job.finished_at = now
    _tell(session, rt, job, texts.failed(_facts(session, job), reason, now), now)


def _facts(session: Session, job: ExportJob) -> texts.ExportFacts:
    area = session.get(Area, job.area_id)
    name = area.name if area is not None else ""
    return texts.ExportFacts(job_id=job.id, area=name, first=job.first, last=job.last, rows=job.rows)


def _tell(session: Session, rt: Runtime, job: ExportJob, rendered: Rendered, now: datetime) -> None:
    requester = session.get(User, job.requester_id)
    if requester is None:
        return
    notify_user(
        session,
        rt.settings.notify,
        user=requester,
        template_key=texts.READY_KEY,
        rendered=rendered,
        # Once per export and outcome: a retried transaction or a second process adds nothing.
        dedupe_key=f"export_ready:{job.id}:{job.status}",
        addressee=Addressee.STAFF,
        now=now,
    )


class _RefusedError(Exception):
    """The requester may no longer have this ledger: fail it, do not try again."""


def _write_file(rt: Runtime, claim: _Claim, now: datetime) -> tuple[str, int] | None:
    """Write the claimed export's workbook; its file name and size, or None when the row is gone.
    Raises _RefusedError when the requester may no longer read the area."""
    directory = exports_dir(rt.settings)
    directory.mkdir(parents=True, exist_ok=True)
    with rt.db.read() as session:
        job = session.get(ExportJob, claim.job_id)
        if job is None:
            return None  # deleted meanwhile (the requester's account): nothing to write
        actor = actor_by_id(session, job.requester_id)
        place = session.get(Area, job.area_id)
        if actor is None or place is None:
            raise _RefusedError("申请人或区域已不存在")
        try:
            check_reader(actor)
            place, communities = stats_scope(session, actor, place.code)
        except LinliError as error:
            raise _RefusedError("您已无权导出该区域的工作台账") from error
        name = file_name()
        part = directory / f"{name}.part"
        try:
            write_workbook(str(part), ledger_sheets(session, place, communities, period(job.first, job.last), now))
            os.replace(part, directory / name)
        finally:
            part.unlink(missing_ok=True)
    return name, (directory / name).stat().st_size


def _finish(rt: Runtime, claim: _Claim, written: tuple[str, int], now: datetime) -> bool:
    """Mark the export done and tell the requester, if this claim still holds it."""
    name, size = written
    keep_days = rt.settings.exports.keep_days
    with rt.db.write() as session:
        finished = session.execute(
            sa.update(ExportJob)
            .where(
                ExportJob.id == claim.job_id,
                ExportJob.status == ExportStatus.RUNNING,
                ExportJob.attempts == claim.attempts,
            )
            .values(
                status=ExportStatus.DONE,
                file_name=name,
                file_size=size,
                finished_at=now,
                # The download window counts from when the file exists, not from the request.
                expires_at=expiry(now, keep_days),
            )
            .execution_options(synchronize_session=False)
        )
        if finished.rowcount != 1:  # type: ignore[attr-defined]
            return False
        job = session.get(ExportJob, claim.job_id)
        assert job is not None  # noqa: S101 - just updated
        _tell(session, rt, job, texts.ready(_facts(session, job), job.expires_at), now)
    return True


def _give_back(rt: Runtime, claim: _Claim, reason: str, now: datetime, *, final: bool) -> str:
    """After an error: back to the queue, or failed when ``final`` or out of attempts."""
    cfg = rt.settings.exports
    with rt.db.write() as session:
        job = session.get(ExportJob, claim.job_id)
        if job is None or job.status is not ExportStatus.RUNNING or job.attempts != claim.attempts:
            return "overtaken"
        if final or not may_retry(job.attempts, cfg.max_attempts):
            _fail(session, rt, job, reason, now)
            return "failed"
        job.status = ExportStatus.QUEUED
        job.error = reason[:200]
        return "retried"


def _one(rt: Runtime, claim: _Claim, now: datetime, report: ExportReport) -> None:
    try:
        written = _write_file(rt, claim, now)
    except _RefusedError as refused:
        outcome = _give_back(rt, claim, str(refused), now, final=True)
    except Exception:
        log.exception("export %s: the work ledger could not be written", claim.job_id)
        outcome = _give_back(rt, claim, "生成时出错", now, final=False)
    else:
        if written is None:
            return
        if _finish(rt, claim, written, now):
            report.done += 1
            return
        # Overtaken: another process took the export again while this one stalled.
        (exports_dir(rt.settings) / written[0]).unlink(missing_ok=True)
        outcome = "overtaken"
    setattr(report, outcome, getattr(report, outcome) + 1)


def run_exports(rt: Runtime, now: datetime | None = None) -> ExportReport:
    """The export job: the queued exports one at a time (each in transactions of its own), until
    none is left or the process is asked to stop; then the expired ones. Each export is stamped
    when it is taken: never before ``now`` (the firing's time, or a test's moment) and moving on
    with the real clock, so the last export of a long run does not look started (and abandoned)
    at the run's start."""

    def clock() -> datetime:
        return max(now, now_utc()) if now is not None else now_utc()

    report = ExportReport()
    _abandoned_for_good(rt, clock(), report)
    # An export that failed in this run waits for the next one (a full disk may have room then).
    tried: set[int] = set()
    while not rt.stopping.is_set():
        moment = clock()
        claim = claim_next(rt, moment, skip=tried)
        if claim is None:
            break
        tried.add(claim.job_id)
        _one(rt, claim, moment, report)
    report.expired = expire_exports(rt, clock())
    return report


def expire_exports(rt: Runtime, now: datetime) -> int:
    """Finished exports past their ``expires_at``, or of a deleted account: the file deleted
    first (so none is left behind by a crash between the two), then the row marked expired.
    Answers how many."""
    directory = exports_dir(rt.settings)
    with rt.db.read() as session:
        due = session.execute(
            sa.select(ExportJob.id, ExportJob.file_name)
            .join(User, User.id == ExportJob.requester_id)
            .where(
                ExportJob.status.in_([ExportStatus.DONE, ExportStatus.FAILED]),
                # A deleted account's ledgers go at once: nobody may download them any more.
                sa.or_(ExportJob.expires_at <= now, User.deleted_at.is_not(None)),
            )
            .order_by(ExportJob.id)
            .limit(EXPIRY_BATCH)
        ).all()
    expired = 0
    for job_id, name in due:
        if name:
            (directory / name).unlink(missing_ok=True)
        with rt.db.write() as session:
            marked = session.execute(
                sa.update(ExportJob)
                .where(ExportJob.id == job_id, ExportJob.status.in_([ExportStatus.DONE, ExportStatus.FAILED]))
                .values(status=ExportStatus.EXPIRED)
                .execution_options(synchronize_session=False)
            )
            expired += marked.rowcount  # type: ignore[attr-defined]
    return expired
