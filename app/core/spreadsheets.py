"""Excel out (台账, reports): sheets with Chinese headers, column widths, a frozen header row and
dates as real dates, written row by row.

openpyxl's write-only mode keeps each sheet's rows in a temporary file rather than in memory, so
a street's month of orders costs disk, not RAM: callers pass rows as iterators straight from the
database. The caller picks the target (a spooled temporary file for an HTTP answer, a path for
the CLI).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.core.clock import to_shanghai

MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Format(StrEnum):
    """How a column's values are shown (Excel number formats)."""

    TEXT = "@"
    INTEGER = "0"
    DECIMAL = "0.0"
    PERCENT = "0.0%"
    DATE = "yyyy-mm-dd"
    DATETIME = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Column:
    header: str
    #: In Excel's units (about one Latin character; a Chinese character takes two).
    width: float
    format: Format = Format.TEXT


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]


def _excel_value(value: Any) -> Any:
    """What Excel can hold: times in Shanghai without an offset (Excel has no time zones; the
    ledger's readers are in Shanghai), enums as their text."""
    if isinstance(value, datetime):
        return to_shanghai(value).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, str):
        # Control characters (a pasted title, a nickname) cannot be stored in a sheet: openpyxl
        # would refuse the whole workbook for one of them.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _cell(sheet: WriteOnlyWorksheet, value: Any, column: Column) -> Cell:
    cell = WriteOnlyCell(sheet, value=_excel_value(value))
    if isinstance(value, str):
        # Text typed by residents stays text: openpyxl would store "=HYPERLINK(…)" as a formula,
        # which Excel runs when the secretary opens the ledger (CSV/formula injection).
        cell.data_type = "s"
    elif isinstance(value, (int, float, Decimal, date)):
        cell.number_format = column.format.value
    return cell


def _write_sheet(workbook: Workbook, spec: Sheet) -> None:
    sheet = workbook.create_sheet(spec.title)
    # Widths and the frozen row must be set before the first row is written in write-only mode.
    for index, column in enumerate(spec.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    bold, centred = Font(bold=True), Alignment(horizontal="center", vertical="center")
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font, cell.alignment = bold, centred
        header.append(cell)
    sheet.append(header)
    width = len(spec.columns)
    for row in spec.rows:
        if len(row) != width:
            raise ValueError(f"sheet {spec.title!r}: a row of {len(row)} values for {width} columns")
        sheet.append([_cell(sheet, value, column) for value, column in zip(row, spec.columns, strict=True)])


def write_workbook(target: IO[bytes] | str, sheets: Iterable[Sheet]) -> None:
    """Write ``sheets`` in order into one .xlsx at ``target`` (a binary file or a path)."""
    workbook = Workbook(write_only=True)
    try:
        for spec in sheets:
            _write_sheet(workbook, spec)
    except BaseException:
        # Close the sheets' temporary files now rather than leave them to the garbage collector
        # (which complains of a generator writing to a closed file).
        for sheet in workbook.worksheets:
            with contextlib.suppress(Exception):
                sheet.close()
        raise
    workbook.save(target)
