"""What the export endpoints answer: a background export as its requester sees it."""

from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

from app.community.exports.models import ExportStatus
from app.core.shapes import ShanghaiTime, Shape


class ExportJobOut(Shape):
    # "from" is a Python keyword: the field is from_, answered (and documented) as "from".
    model_config = ConfigDict(frozen=True, serialize_by_alias=True, populate_by_name=True)

    id: int
    status: ExportStatus
    #: The community's or street's code, as the request named it.
    area: str
    from_: date = Field(alias="from")
    to: date
    #: Orders in the range when it was asked for.
    rows: int
    created_at: ShanghaiTime
    started_at: ShanghaiTime | None
    finished_at: ShanghaiTime | None
    #: When the file is deleted and the download answers 410.
    expires_at: ShanghaiTime
    #: The file's size in bytes once written, else null.
    file_size: int | None
    #: Why it failed (Chinese), "" unless failed.
    error: str
    attempts: int


class ExportJobPage(Shape):
    items: list[ExportJobOut]
    next_cursor: str | None
