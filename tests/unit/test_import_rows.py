"""Import sheets without a database: headers, one row's cells, repeats inside the file, and the
workbook reader's bounds and refusals."""

from __future__ import annotations

import io
import zipfile

import pytest

from app.community.imports.rows import (
    RESIDENT_FIELDS,
    Problem,
    cell_text,
    match_headers,
    parse_resident,
    repeated_phones,
    row_values,
)
from app.community.imports.workbook import read_rows
from app.core.errors import InvalidInputError
from tests.sheets import residents, xlsx

GOOD = {
    "姓名": "张大爷",
    "手机号": "13911112222",
    "网格": "SQ1-G1",
    "楼栋": "3",
    "单元": "2",
    "房号": "301",
    "备注": "",
}


def test_unknown_repeated_and_missing_headers_are_each_named() -> None:
    _, problems = match_headers(["姓名", "电话", "姓名", None, "房号"], RESIDENT_FIELDS)
    by_column = {(p.column, p.message.split("，")[0]) for p in problems}
    assert ("电话", "未知的列“电话”") in by_column
    assert ("姓名", "列“姓名”重复") in by_column
    assert {p.column for p in problems if p.message.startswith("缺少必填列")} == {"手机号", "网格"}
    assert {p.row for p in problems} == {1}


def test_headers_are_matched_by_name_in_any_order() -> None:
    columns, problems = match_headers(["房号", "网格", "手机号", "姓名"], RESIDENT_FIELDS)
    assert problems == []
    assert row_values(["301", "SQ1-G1", 13911112222, "张大爷"], columns) == {
        "房号": "301",
        "网格": "SQ1-G1",
        "手机号": "13911112222",
        "姓名": "张大爷",
    }


def test_every_problem_of_a_row_is_reported() -> None:
    record, problems = parse_resident(7, {**GOOD, "姓名": "", "手机号": "1234", "房号": "9" * 33})
    assert record is None
    assert sorted((p.column, p.message) for p in problems) == [
        ("姓名", "“姓名”不能为空"),
        ("房号", "“房号”最多 32 个字"),
        ("手机号", "手机号格式不正确（应为 11 位大陆手机号）"),
    ]
    assert {p.row for p in problems} == {7}


@pytest.mark.parametrize("phone", ["12911112222", "1391111222", "139111122223", "+8613911112222", "1391111222a"])
def test_phones_outside_mainland_mobile_format_are_refused(phone: str) -> None:
    record, problems = parse_resident(2, {**GOOD, "手机号": phone})
    assert record is None
    assert [p.column for p in problems] == ["手机号"]


def test_a_good_row_becomes_a_record_and_excel_numbers_read_as_typed() -> None:
    assert cell_text(13911112222.0) == "13911112222"
    assert cell_text("  301 ") == "301"
    record, problems = parse_resident(2, GOOD)
    assert problems == []
    assert record is not None
    assert (record.row, record.name, record.phone, record.room) == (2, "张大爷", "13911112222", "301")


def test_a_phone_repeated_in_the_file_names_its_first_row() -> None:
    rows = [
        parse_resident(n, {**GOOD, "手机号": phone})[0]
        for n, phone in ((2, "13911112222"), (3, "13911113333"), (5, "13911112222"))
    ]
    assert repeated_phones([r for r in rows if r is not None]) == [Problem(5, "手机号", "手机号与第 2 行重复")]


def test_old_xls_other_formats_and_corrupt_files_are_refused_clearly() -> None:
    cases = {
        b"\xd0\xcf\x11\xe0" + b"\0" * 100: "xls",
        b"name,phone\n": "not_xlsx",
        b"PK\x03\x04 not really a zip": "corrupt",
    }
    for data, kind in cases.items():
        with pytest.raises(InvalidInputError) as caught:
            read_rows(io.BytesIO(data), max_bytes=1_000_000, max_rows=10)
        assert caught.value.details["file"] == kind


def test_a_zip_that_is_no_workbook_is_corrupt() -> None:
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(InvalidInputError) as caught:
        read_rows(io.BytesIO(target.getvalue()), max_bytes=1_000_000, max_rows=10)
    assert caught.value.details["file"] == "corrupt"


def test_size_and_row_limits() -> None:
    data = xlsx(residents(5))
    with pytest.raises(InvalidInputError) as caught:
        read_rows(io.BytesIO(data), max_bytes=len(data) - 1, max_rows=10)
    assert caught.value.details["file"] == "too_large"
    with pytest.raises(InvalidInputError) as caught:
        read_rows(io.BytesIO(data), max_bytes=len(data), max_rows=4)
    assert caught.value.details == {"file": "too_many_rows", "max_rows": 4}


def test_empty_rows_are_skipped_and_rows_keep_excel_numbers() -> None:
    rows = residents(2)
    data = xlsx([rows[0], [None] * 7, ["", " ", None], rows[1]])
    header, read = read_rows(io.BytesIO(data), max_bytes=1_000_000, max_rows=2)
    assert header[:2] == ("姓名", "手机号")
    assert [number for number, _ in read] == [2, 5]
