"""The daily purge of uploads nobody used: rows older than ``uploads.unattached_hours`` with no
order, and their files once no other row has the same content."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa

from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import file_path

log = logging.getLogger(__name__)

#: Rows deleted per transaction: each batch holds the write lock for one short statement set.
BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class PurgeReport:
    #: Upload rows deleted.
    rows: int
    #: Files deleted (no remaining row had their content).
    files: int
    #: Files that were already gone (counted, not an error: a purge interrupted after its unlink).
    missing: int


def purge_unattached(rt: Runtime, now: datetime) -> PurgeReport:
    """The purge_uploads job: delete the uploads no order or completion used within
    ``uploads.unattached_hours`` of their upload, and the files no other upload shares.

    Set-based, in batches of ``BATCH`` rows, one transaction each; running it again finds
    nothing more to do. Raises nothing of its own.
    """
    cutoff = now - timedelta(hours=rt.settings.uploads.unattached_hours)
    unused = sa.and_(Attachment.order_id.is_(None), Attachment.created_at < cutoff)
    rows = files = missing = 0
    while True:
        with rt.db.write() as session:
            batch = sa.select(Attachment.id).where(unused).order_by(Attachment.id).limit(BATCH)
            # The condition is repeated outside the subquery: an order that takes one of these
            # photos meanwhile (a conditional UPDATE of its own) makes PostgreSQL re-check the
            # row, and it is then kept.
            deleted = session.execute(
                sa.delete(Attachment)
                .where(Attachment.id.in_(batch.scalar_subquery()), unused)
                .returning(Attachment.sha256, Attachment.content_type)
                .execution_options(synchronize_session=False)
            ).all()
            contents = {row.sha256: row.content_type for row in deleted}
            shared = set(
                session.scalars(sa.select(Attachment.sha256).where(Attachment.sha256.in_(contents)).distinct())
            )
            # Inside the transaction, before the commit: an upload of the same content locks these
            # rows (app.uploads.store._insert), so it either waits for this commit and finds the file
            # gone (and writes it again), or commits first and its row is in ``shared`` above. A
            # commit that fails after the unlink leaves rows without a file: the next run deletes
            # them, and an order that took one meanwhile shows that photo as missing (404).
            for sha256, content_type in contents.items():
                if sha256 in shared:
                    continue
                path = file_path(rt.settings.var_path, sha256, content_type)
                if path is None:
                    continue
                try:
                    path.unlink()
                    files += 1
                except FileNotFoundError:
                    missing += 1
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # only when empty: one folder per two hex digits
        rows += len(deleted)
        if len(deleted) < BATCH:
            break
    if rows:
        log.info("purged %d unused uploads, %d files (%d already gone)", rows, files, missing)
    return PurgeReport(rows=rows, files=files, missing=missing)
