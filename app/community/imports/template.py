"""The empty import sheets the secretary fills in, with the Chinese headers the import reads."""

from __future__ import annotations

from typing import IO

from app.community.imports.rows import RESIDENT_FIELDS
from app.core.errors import ForbiddenError
from app.core.spreadsheets import Column, Sheet, write_workbook
from app.identity.actor import Actor
from app.identity.roles import Role


def write_residents_template(actor: Actor, target: IO[bytes]) -> None:
    """A secretary (of any community): the residents sheet, headers only."""
    if not actor.communities_as(Role.SECRETARY):
        raise ForbiddenError("只有社区书记可以下载导入模板")
    columns = [Column(field.header, max(10, 2 * len(field.header) + 4)) for field in RESIDENT_FIELDS]
    write_workbook(target, [Sheet("居民", columns, [])])
