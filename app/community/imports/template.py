"""The empty import sheets the secretary fills in, with the Chinese headers the import reads."""

from __future__ import annotations

from typing import IO

from app.community.imports.rows import RESIDENT_FIELDS, Field
from app.community.imports.volunteer_rows import VOLUNTEER_FIELDS
from app.core.errors import ForbiddenError
from app.core.spreadsheets import Column, Sheet, write_workbook
from app.identity.actor import Actor
from app.identity.roles import Role


def write_residents_template(actor: Actor, target: IO[bytes]) -> None:
    """A secretary (of any community): the residents sheet, headers only."""
    _write_template(actor, target, "居民", RESIDENT_FIELDS)


def write_volunteers_template(actor: Actor, target: IO[bytes]) -> None:
    """A secretary (of any community): the volunteers sheet, headers only."""
    _write_template(actor, target, "志愿者", VOLUNTEER_FIELDS)


def _write_template(actor: Actor, target: IO[bytes], title: str, fields: tuple[Field, ...]) -> None:
    if not actor.communities_as(Role.SECRETARY):
        raise ForbiddenError("只有社区书记可以下载导入模板")
    columns = [Column(field.header, max(10, 2 * len(field.header) + 4)) for field in fields]
    write_workbook(target, [Sheet(title, columns, [])])
