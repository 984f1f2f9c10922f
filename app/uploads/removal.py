"""Deleting photos for good (an account deleted, an order past its retention period): the rows
inside the caller's transaction, the files after it committed.

Files are stored by content hash (``store.py``), so one file can back several rows: two uploads of
the same picture, by one person or by two. A file goes only when no row is left that names its
hash, and only after the rows' deletion committed, so a rollback never leaves a row without its file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.store import file_path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file whose last reference may be gone: its hash and type (which gives its name)."""

    sha256: str
    content_type: str


def delete_attachments(session: Session, condition: sa.ColumnElement[bool]) -> list[StoredFile]:
    """Helper (executes in the caller's transaction): delete the attachment rows matching
    ``condition``; answers the file each row named (one per row, so its length is the number of
    photos), for :func:`remove_unreferenced_files` once the transaction committed. One statement
    whatever the number of rows."""
    rows = session.execute(
        sa.delete(Attachment)
        .where(condition)
        .returning(Attachment.sha256, Attachment.content_type)
        .execution_options(synchronize_session=False)
    )
    return [StoredFile(sha256, content_type) for sha256, content_type in rows]


def remove_unreferenced_files(rt: Runtime, files: Iterable[StoredFile]) -> int:
    """Delete each file that no attachment row names any more; answers how many were deleted.

    Call it after the transaction that deleted the rows committed. A photo uploaded again at this
    very moment with exactly the same bytes could find its file gone (the upload writes the file
    before its row): re-encoded phone pictures practically never match byte for byte, so that race
    is accepted rather than locking every upload.
    """
    wanted = {file.sha256: file for file in files}
    if not wanted:
        return 0
    with rt.db.read() as session:
        named = sa.select(Attachment.sha256).where(Attachment.sha256.in_(list(wanted))).distinct()
        still_used = set(session.scalars(named))
    removed = 0
    for sha256, file in sorted(wanted.items()):
        if sha256 in still_used:
            continue
        path = file_path(rt.settings.var_path, sha256, file.content_type)
        if path is None:
            log.error("cannot name the file of hash %s (type %s)", sha256, file.content_type)
            continue
        # Gone already (an earlier run that stopped half-way, a manual clean-up): nothing to do.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
