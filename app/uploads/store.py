"""Photo uploads: verified with Pillow, stripped of EXIF (GPS) and stored content-addressed under var/.

An upload belongs to its uploader until an order or a completion uses it (``attach_uploads``);
from then on whoever may see that order may fetch it too (``app.orders.photos``). Nobody else
learns that it exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError, LinliError
from app.identity.actor import Actor
from app.runtime import Runtime
from app.uploads.models import Attachment
from app.uploads.shapes import PhotoRef

log = logging.getLogger(__name__)

#: Refuse images above this many pixels before decoding them: 40 MP as 8-bit RGBA is already
#: 160 MB of memory, and phones send far less (wx.chooseImage compresses by default).
MAX_PIXELS: Final = 40_000_000
#: wx.chooseImage lets a user pick at most 9 photos at once.
MAX_PHOTOS: Final = 9
PURPOSES: Final = frozenset({"request", "completion"})
JPEG_QUALITY: Final = 90
WEBP_QUALITY: Final = 90

#: Pillow format → (content type, file extension). Only these parsers ever see uploaded bytes.
_FORMATS: Final[dict[str, tuple[str, str]]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
_EXTENSIONS: Final = dict(_FORMATS.values())
#: Modes each encoder writes as they are; anything else is converted first.
_KEEP_MODES: Final[dict[str, frozenset[str]]] = {
    "JPEG": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
}
#: What a broken or hostile file makes Pillow raise while identifying, decoding or re-encoding it.
_DECODE_ERRORS: Final = (
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,  # raised, not warned, where warnings are errors (the test suite)
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
)


class PayloadTooLargeError(LinliError):
    code = "payload_too_large"
    http_status = 413
    default_message = "照片太大，请压缩后再上传"


class UnsupportedImageError(InvalidInputError):
    code = "unsupported_image"
    default_message = "只能上传 JPEG、PNG 或 WebP 格式的照片"


class UploadOut(PhotoRef):
    content_type: str
    byte_size: int


def _human_size(byte_count: int) -> str:
    mib = 1024 * 1024
    return f"{byte_count / mib:.3g} MB" if byte_count >= mib else f"{max(1, round(byte_count / 1024))} KB"


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


@dataclass(frozen=True, slots=True)
class _Cleaned:
    """The re-encoded photo: pixels only, no metadata."""

    data: bytes
    content_type: str
    extension: str
    sha256: str


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a photo whose EXIF cannot be parsed is kept as it is, since
    that EXIF is thrown away anyway."""
    try:
        return ImageOps.exif_transpose(image)
    except (*_DECODE_ERRORS, KeyError, IndexError, TypeError):
        log.info("ignoring unreadable EXIF orientation")
        return image.copy()


def _reencode(raw: bytes, filename: str) -> _Cleaned:
    """Decode ``raw`` fully and encode its pixels again in the same format, without metadata."""
    where = {"file": filename}
    try:
        # formats=: never run another parser (EPS would start Ghostscript) on untrusted bytes.
        with Image.open(io.BytesIO(raw), formats=list(_FORMATS)) as opened:
            fmt = opened.format or ""
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise InvalidInputError("照片尺寸太大，请压缩后再上传", details={**where, "pixels": width * height})
            opened.load()  # decodes every pixel: a truncated or corrupt file fails here
            image = _upright(opened)
        keep_transparency = fmt == "PNG" and "transparency" in image.info
        transparency = image.info.get("transparency")
        if image.mode not in _KEEP_MODES[fmt]:
            image = image.convert("RGBA" if fmt != "JPEG" and image.has_transparency_data else "RGB")
            keep_transparency = False
        # Drop everything Pillow carried over (EXIF, XMP, ICC, comments, text chunks): encoders
        # read some of these from ``info`` by default, so it must be empty, not merely not passed.
        image.info = {"transparency": transparency} if keep_transparency else {}
        out = io.BytesIO()
        if fmt == "JPEG":
            image.save(out, "JPEG", quality=JPEG_QUALITY)
        elif fmt == "WEBP":
            image.save(out, "WEBP", quality=WEBP_QUALITY)
        else:
            image.save(out, "PNG")
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(details=where) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidInputError("照片已损坏或无法识别，请重新选择", details=where) from exc
    content_type, extension = _FORMATS[fmt]
    data = out.getvalue()
    return _Cleaned(data, content_type, extension, hashlib.sha256(data).hexdigest())


def _file_path(var_path: Path, sha256: str, extension: str) -> Path:
    return var_path / "uploads" / sha256[:2] / f"{sha256}.{extension}"


def file_path(var_path: Path, sha256: str, content_type: str) -> Path | None:
    """Where the bytes of this hash and type are kept (whether or not the file exists); None for a
    type this store never writes."""
    extension = _EXTENSIONS.get(content_type)
    return _file_path(var_path, sha256, extension) if extension is not None else None


def stored_file(var_path: Path, attachment: Attachment) -> Path | None:
    """Where an attachment's bytes are; None (and an error logged) if the file is missing."""
    extension = _EXTENSIONS.get(attachment.content_type)
    path = _file_path(var_path, attachment.sha256, extension or "")
    if extension is None or not path.is_file():
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
    only logged. Raises PayloadTooLargeError (over ``uploads.max_bytes``), UnsupportedImageError
    (not JPEG/PNG/WebP) or InvalidInputError (corrupt, too many pixels, empty).
    """
    limit = rt.settings.uploads.max_bytes
    raw = _read_at_most(stream, limit + 1)
    if len(raw) > limit:
        raise PayloadTooLargeError(
            f"照片不能超过 {_human_size(limit)}，请压缩后再上传",
            details={"file": filename, "max_bytes": limit},
        )
    if not raw:
        raise InvalidInputError("上传的文件是空的", details={"file": filename})
    cleaned = _reencode(raw, filename)
    if declared_type and declared_type.lower() != cleaned.content_type:
        log.info("upload declared %s but is %s", declared_type, cleaned.content_type)
    # The file goes first: a failed insert leaves an unreferenced file (harmless, deduplicated),
    # whereas the other order could leave a row pointing at nothing.
    _write_once(_file_path(rt.settings.var_path, cleaned.sha256, cleaned.extension), cleaned.data)
    with rt.db.write() as session:
        attachment = Attachment(
            uploader_id=actor.user_id,
            order_id=None,
            purpose="request",
            sha256=cleaned.sha256,
            content_type=cleaned.content_type,
            byte_size=len(cleaned.data),
        )
        session.add(attachment)
        session.flush()
        upload_id = attachment.id
    return UploadOut(id=upload_id, content_type=cleaned.content_type, byte_size=len(cleaned.data))


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
