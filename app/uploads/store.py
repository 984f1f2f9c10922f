"""Photo uploads: decoded within a budget, re-encoded phone-sized without EXIF (GPS), counted
against a daily quota and stored content-addressed under var/.

An upload belongs to its uploader until an order or a completion uses it (``attach_uploads``);
from then on whoever may see that order may fetch it too (``app.orders.photos``). Nobody else
learns that it exists. One nobody used is deleted after a day (``app.uploads.purge``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.core.clock import now_utc, shanghai_day_bounds, shanghai_today
from app.core.errors import InvalidInputError
from app.identity.actor import Actor
from app.identity.models import User
from app.runtime import Runtime
from app.uploads.errors import PayloadTooLargeError, UploadQuotaError
from app.uploads.images import FORMATS, MB, Cleaned, DecodeLimits, reencode
from app.uploads.models import Attachment
from app.uploads.shapes import PhotoRef

log = logging.getLogger(__name__)

#: wx.chooseImage lets a user pick at most 9 photos at once.
MAX_PHOTOS: Final = 9
PURPOSES: Final = frozenset({"request", "completion"})
_EXTENSIONS: Final = dict(FORMATS.values())


class UploadOut(PhotoRef):
    content_type: str
    byte_size: int


def _human_size(byte_count: int) -> str:
    return f"{byte_count / MB:.3g} MB" if byte_count >= MB else f"{max(1, round(byte_count / 1024))} KB"


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Up to ``limit`` bytes of ``stream``; a socket-like stream may hand them out in pieces."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def decode_limits(rt: Runtime) -> DecodeLimits:
    """The decode budget of ``uploads.*`` in config."""
    uploads = rt.settings.uploads
    return DecodeLimits(
        max_pixels=uploads.max_pixels, max_decode_bytes=uploads.max_decode_mb * MB, max_side=uploads.max_side
    )


def _check_quota(session: Session, rt: Runtime, user_id: int, now: datetime) -> None:
    """Raise UploadQuotaError (429, Retry-After until Shanghai midnight) when the user's uploads
    of this Shanghai day reached ``uploads.daily_quota``."""
    quota = rt.settings.uploads.daily_quota
    day_start, next_day = shanghai_day_bounds(shanghai_today(now))
    count = session.scalar(
        sa.select(sa.func.count(Attachment.id)).where(
            Attachment.uploader_id == user_id, Attachment.created_at >= day_start
        )
    )
    if (count or 0) >= quota:
        retry_after = max(1, math.ceil((next_day - now).total_seconds()))
        raise UploadQuotaError(f"今天已上传 {quota} 张照片，达到每日上限，请明天再试", retry_after=retry_after)


def _file_path(var_path: Path, sha256: str, extension: str) -> Path:
    return var_path / "uploads" / sha256[:2] / f"{sha256}.{extension}"


def file_path(var_path: Path, sha256: str, content_type: str) -> Path | None:
    """Where the bytes of this hash and type are kept (whether or not the file exists); None for a
    type this store never writes."""
    extension = _EXTENSIONS.get(content_type)
    return _file_path(var_path, sha256, extension) if extension is not None else None


def stored_file(var_path: Path, attachment: Attachment) -> Path | None:
    """Where an attachment's bytes are; None (and an error logged) if the file is missing."""
    path = file_path(var_path, attachment.sha256, attachment.content_type)
    if path is None or not path.is_file():
        log.error("attachment %s has no file at %s", attachment.id, path)
        return None
    return path


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically unless it is already there (same name, same bytes)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        # Two uploads of one photo may race here; both write identical bytes, so either wins.
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def store_upload(
    rt: Runtime, actor: Actor, *, filename: str, stream: IO[bytes], declared_type: str | None
) -> UploadOut:
    """Any user: keep a photo for a later order or completion.

    The content decides the type; ``declared_type`` and the file name are the client's say-so and
    only logged. Raises PayloadTooLargeError (413, over ``uploads.max_bytes``), ImageTooLargeError
    (413, over the decode budget), UploadQuotaError (429, over ``uploads.daily_quota`` today),
    UnsupportedImageError (400, not JPEG/PNG/WebP, or animated) or InvalidInputError (400,
    corrupt, empty). A refused upload leaves no row and no file.
    """
    now = now_utc()
    # The quota first: a user over it costs one indexed COUNT, not a decode.
    with rt.db.read() as session:
        _check_quota(session, rt, actor.user_id, now)
    limit = rt.settings.uploads.max_bytes
    raw = _read_at_most(stream, limit + 1)
    if len(raw) > limit:
        raise PayloadTooLargeError(
            f"照片不能超过 {_human_size(limit)}，请压缩后再上传",
            details={"file": filename, "max_bytes": limit},
        )
    if not raw:
        raise InvalidInputError("上传的文件是空的", details={"file": filename})
    cleaned = reencode(raw, filename, decode_limits(rt))
    del raw  # up to max_bytes that the rest of the request does not need
    if declared_type and declared_type.lower() != cleaned.content_type:
        log.info("upload declared %s but is %s", declared_type, cleaned.content_type)
    with rt.db.write() as session:
        upload_id = _insert(session, rt, actor.user_id, cleaned, now)
    return UploadOut(id=upload_id, content_type=cleaned.content_type, byte_size=len(cleaned.data))


def _insert(session: Session, rt: Runtime, user_id: int, cleaned: Cleaned, now: datetime) -> int:
    """Write the file and its row in the caller's write transaction; returns the new id."""
    # Counted again under a lock on the user's row: two uploads of one user racing at the quota's
    # edge then take turns (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises every writer anyway).
    session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
    _check_quota(session, rt, user_id, now)
    # The purge (app.uploads.purge) deletes a file inside the transaction that deletes its last
    # rows. Locking this content's rows waits for such a purge to commit, and then the file is
    # missing and written again here; or the purge waits for us and sees our row. Either way
    # the row committed below has its file. Written after the checks, so a refusal writes nothing.
    session.execute(sa.select(Attachment.id).where(Attachment.sha256 == cleaned.sha256).with_for_update())
    _write_once(_file_path(rt.settings.var_path, cleaned.sha256, cleaned.extension), cleaned.data)
    attachment = Attachment(
        uploader_id=user_id,
        order_id=None,
        purpose="request",
        sha256=cleaned.sha256,
        content_type=cleaned.content_type,
        byte_size=len(cleaned.data),
        # The clock the quota reads, not the database's: a day's count and its stamps agree.
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment.id


def attach_uploads(session: Session, uploader_id: int, upload_ids: Sequence[int], order_id: int, purpose: str) -> None:
    """Helper for the order services (flushes only): link the uploader's unused uploads to an order.

    Raises InvalidInputError naming the ids in ``details["photos"]`` when one is not the uploader's,
    does not exist or is already used; the caller's transaction then rolls back.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown attachment purpose {purpose!r}")
    ids = list(dict.fromkeys(upload_ids))
    if not ids:
        return
    if len(ids) > MAX_PHOTOS:
        raise InvalidInputError(f"最多只能附 {MAX_PHOTOS} 张照片", details={"photos": f"at most {MAX_PHOTOS}"})
    # One conditional UPDATE instead of read-then-write: of two orders racing for one photo,
    # exactly one gets it, without locking anything. RETURNING names the rows it took (SQLite
    # 3.35+ and PostgreSQL), so that the error can name the others.
    taken = set(
        session.scalars(
            sa.update(Attachment)
            .where(Attachment.id.in_(ids), Attachment.uploader_id == uploader_id, Attachment.order_id.is_(None))
            .values(order_id=order_id, purpose=purpose)
            .returning(Attachment.id)
        )
    )
    if len(taken) != len(ids):
        bad = [upload_id for upload_id in ids if upload_id not in taken]
        raise InvalidInputError("照片不存在或已被使用", details={"photos": bad})
