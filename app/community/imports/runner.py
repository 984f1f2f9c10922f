"""What every import shares: the sheet read within the [imports] bounds, the caller checked (the
community's secretary) or not (operators), one transaction around the importer, and the report
of a rejected sheet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.community.imports.rows import Field, Phoned, Problem, match_headers, repeated_phones, row_values
from app.community.imports.workbook import read_rows
from app.core.errors import ImportRejectedError
from app.identity.actor import Actor, community_for
from app.identity.roles import Role
from app.runtime import Runtime

#: At most this many problems are listed in the answer (the count says how many there were).
MAX_LISTED_PROBLEMS = 1000
#: Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 500

Progress = Callable[[int], None]
Record = TypeVar("Record", bound=Phoned)
Entry = TypeVar("Entry")


class ImportOut(BaseModel):
    imported: int


class Importer(Protocol):
    """Validate every row, then write them all (flushes only), or raise ImportRejectedError."""

    def __call__(
        self,
        session: Session,
        community: Area,
        header: Sequence[Any],
        rows: Sequence[tuple[int, Sequence[Any]]],
        *,
        progress: Progress | None = None,
    ) -> ImportOut: ...


def rejected(problems: list[Problem]) -> ImportRejectedError:
    """The error naming every problem, by row (the first MAX_LISTED_PROBLEMS of them)."""
    problems.sort(key=lambda problem: problem.row)
    listed = [{"row": p.row, "column": p.column, "message": p.message} for p in problems[:MAX_LISTED_PROBLEMS]]
    return ImportRejectedError(
        f"导入文件有 {len(problems)} 处错误，未导入任何数据", details={"rows": listed, "count": len(problems)}
    )


def read_records(
    header: Sequence[Any],
    rows: Sequence[tuple[int, Sequence[Any]]],
    fields: Sequence[Field],
    parse: Callable[[int, dict[str, str]], tuple[Record | None, list[Problem]]],
    progress: Progress | None,
) -> tuple[list[Record], list[Problem]]:
    """Each row parsed by ``parse`` under the matched headers, and every problem, phones repeated
    in the file among them. Wrong headers: no records (every row's cells would be misread)."""
    columns, problems = match_headers(header, fields)
    if problems:
        return [], problems
    records: list[Record] = []
    for number, cells in rows:
        record, row_problems = parse(number, row_values(cells, columns))
        problems.extend(row_problems)
        if record is not None:
            records.append(record)
        if progress is not None:
            progress(1)
    problems.extend(repeated_phones(records))
    return records, problems


def all_or_none(checked: tuple[list[Entry], list[Problem]], write: Callable[[Sequence[Entry]], None]) -> ImportOut:
    """Write the checked entries, or raise ImportRejectedError naming every problem."""
    entries, problems = checked
    if problems:
        raise rejected(problems)
    write(entries)
    return ImportOut(imported=len(entries))


def import_as_secretary(
    rt: Runtime, actor: Actor, community_code: str, stream: IO[bytes], importer: Importer, *, refusal: str
) -> ImportOut:
    """The community's secretary: ``importer`` on the sheet, all rows or none. The caller is checked
    before the file is read (a stranger's upload is not parsed) and again in the transaction.

    Raises ForbiddenError (not a secretary), NotFoundError (not their community), InvalidInputError
    (not an .xlsx, corrupt, too big) and ImportRejectedError (bad rows, each named).
    """
    cfg = rt.settings.imports
    with rt.db.read() as session:
        community_for(session, actor, community_code, Role.SECRETARY, refusal=refusal)
    header, rows = read_rows(stream, max_bytes=cfg.max_bytes, max_rows=cfg.max_rows)
    with rt.db.write() as session:
        community = community_for(session, actor, community_code, Role.SECRETARY, refusal=refusal)
        return importer(session, community, header, rows)


def import_as_operator(
    rt: Runtime,
    community_code: str,
    stream: IO[bytes],
    importer: Importer,
    *,
    progress: Callable[[int], Progress] | None = None,
) -> ImportOut:
    """Operators (CLI): the same with no caller to check. ``progress`` is given the number of rows
    and answers what to call as they are checked."""
    cfg = rt.settings.imports
    header, rows = read_rows(stream, max_bytes=cfg.max_bytes, max_rows=cfg.max_rows)
    with rt.db.write() as session:
        community = get_area(session, community_code, kinds=[AreaKind.COMMUNITY])
        tick = progress(len(rows)) if progress is not None else None
        return importer(session, community, header, rows, progress=tick)
