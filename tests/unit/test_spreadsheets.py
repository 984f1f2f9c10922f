"""Excel out: what a secretary sees when the file opens."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell

from app.core.spreadsheets import Column, Format, Sheet, write_workbook


def _read(sheets: list[Sheet]) -> io.BytesIO:
    buffer = io.BytesIO()
    write_workbook(buffer, sheets)
    buffer.seek(0)
    return buffer


def test_headers_widths_frozen_row_and_typed_cells() -> None:
    columns = [
        Column("工单编号", 16),
        Column("创建时间", 18, Format.DATETIME),
        Column("服务日期", 12, Format.DATE),
        Column("时长（小时）", 10, Format.DECIMAL),
        Column("积分", 8, Format.INTEGER),
    ]
    rows = [["GD0001", datetime(2026, 12, 1, 1, 30, tzinfo=UTC), date(2026, 12, 1), 1.5, 15]]
    book = load_workbook(_read([Sheet("工单台账", columns, iter(rows))]))

    sheet = book["工单台账"]
    assert [c.value for c in sheet[1]] == ["工单编号", "创建时间", "服务日期", "时长（小时）", "积分"]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    # Excel stores a column's width with its padding (16 characters: 16.71…).
    assert 16 <= sheet.column_dimensions["A"].width < 17
    number, created, day, hours, points = sheet[2]
    # 01:30 UTC is 09:30 in Shanghai, where the ledger is read.
    assert created.value == datetime(2026, 12, 1, 9, 30, tzinfo=UTC).replace(tzinfo=None)
    assert created.number_format == "yyyy-mm-dd hh:mm"
    assert isinstance(created, Cell)
    assert isinstance(day, Cell)
    assert created.is_date
    assert day.is_date
    assert (hours.value, hours.number_format) == (1.5, "0.0")
    assert (points.value, points.data_type) == (15, "n")
    assert number.data_type == "s"


def test_text_that_looks_like_a_formula_stays_text() -> None:
    payload = '=HYPERLINK("http://evil.example","点我")'
    book = load_workbook(_read([Sheet("工单台账", [Column("标题", 30)], [[payload], ["+1"], ["@SUM(A1)"]])]))
    cells = [row[0] for row in book["工单台账"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == [payload, "+1", "@SUM(A1)"]
    assert {c.data_type for c in cells} == {"s"}


def test_sheets_in_order_and_empty_sheet_has_its_header() -> None:
    book = load_workbook(
        _read([Sheet("工单台账", [Column("编号", 10)], []), Sheet("汇总", [Column("项目", 10)], [["工单数"]])])
    )
    assert book.sheetnames == ["工单台账", "汇总"]
    assert [[c.value for c in r] for r in book["工单台账"].iter_rows()] == [["编号"]]


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        write_workbook(io.BytesIO(), [Sheet("汇总", [Column("项目", 10)], [["a", "b"]])])


def test_control_characters_in_text_are_dropped_not_a_failure() -> None:
    book = load_workbook(_read([Sheet("台账", [Column("标题", 20)], [["修\x01水管\x1b"]])]))
    assert book["台账"]["A2"].value == "修水管"
