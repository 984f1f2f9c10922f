"""An .xlsx answer: the workbook written into a spooled temporary file (memory up to a few MiB,
then disk), or a file already written, sent as an attachment with a Chinese filename (RFC 5987
``filename*``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO
from urllib.parse import quote

from flask import Response

from app.core.spreadsheets import MIME_TYPE, Sheet, write_workbook

#: Above this the workbook moves from memory to a file on disk.
SPOOL_BYTES = 4 * 1024 * 1024


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one percent-encoded in UTF-8."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def spreadsheet_answer(sheets: Iterable[Sheet], filename: str) -> Response:
    """Write ``sheets`` and answer them; the file is closed once the answer is sent."""
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by the response
    try:
        write_workbook(target, sheets)
        size = target.tell()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    response = Response(_chunks(target), mimetype=MIME_TYPE, direct_passthrough=True)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "no-store"
    return response


def file_answer(path: Path, filename: str) -> Response:
    """An .xlsx already on disk (a background export), answered like :func:`spreadsheet_answer`."""
    target = path.open("rb")
    response = Response(_chunks(target), mimetype=MIME_TYPE, direct_passthrough=True)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Content-Length"] = str(path.stat().st_size)
    response.headers["Cache-Control"] = "no-store"
    return response


def _chunks(target: IO[bytes]) -> Iterable[bytes]:
    try:
        while chunk := target.read(64 * 1024):
            yield chunk
    finally:
        target.close()
