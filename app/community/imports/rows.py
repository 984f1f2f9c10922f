"""Pure rules of an import sheet: headers matched by name, each row parsed into a typed record
with every problem found. No database here: what needs one (grids, duplicates against the
community's people) is checked by the use case."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: Mainland mobile numbers (the only phones WeChat binds for residents here).
PHONE = re.compile(r"1[3-9]\d{9}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the sheet, where Excel shows it (the header is row 1)."""

    row: int
    column: str
    message: str


@dataclass(frozen=True)
class Field:
    header: str
    max_length: int
    required: bool = False


#: The residents sheet. 网格 is the grid's code or its name; 楼栋 must name a known building of
#: that grid when the grid has any; care tags (标签) come later.
RESIDENT_FIELDS: tuple[Field, ...] = (
    Field("姓名", 64, required=True),
    Field("手机号", 11, required=True),
    Field("网格", 100, required=True),
    Field("楼栋", 32),
    Field("单元", 32),
    Field("房号", 32, required=True),
    Field("备注", 200),
)


@dataclass(frozen=True)
class ResidentRow:
    row: int
    name: str
    phone: str
    grid: str
    building: str
    unit: str
    room: str
    note: str


def cell_text(value: Any) -> str:
    """A cell as the secretary typed it: numbers Excel keeps as floats (13800138000.0) lose the
    ``.0``, spaces around are dropped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def match_headers(cells: Sequence[Any], fields: Sequence[Field]) -> tuple[dict[str, int], list[Problem]]:
    """Each known header's column index; problems for unknown, repeated and missing ones."""
    known = {field.header for field in fields}
    found: dict[str, int] = {}
    problems: list[Problem] = []
    for index, value in enumerate(cells):
        header = cell_text(value)
        if not header:
            continue
        if header not in known:
            problems.append(Problem(1, header, f"未知的列“{header}”，可用的列：{'、'.join(f.header for f in fields)}"))
        elif header in found:
            problems.append(Problem(1, header, f"列“{header}”重复"))
        else:
            found[header] = index
    problems.extend(
        Problem(1, field.header, f"缺少必填列“{field.header}”")
        for field in fields
        if field.required and field.header not in found
    )
    return found, problems


def row_values(cells: Sequence[Any], columns: Mapping[str, int]) -> dict[str, str]:
    """The row's text under each matched header (missing trailing cells are empty)."""
    return {header: cell_text(cells[index]) if index < len(cells) else "" for header, index in columns.items()}


def check_cells(row: int, values: Mapping[str, str], fields: Sequence[Field]) -> list[Problem]:
    """Required cells filled, lengths within bounds."""
    problems = []
    for field in fields:
        text = values.get(field.header, "")
        if field.required and not text:
            problems.append(Problem(row, field.header, f"“{field.header}”不能为空"))
        elif len(text) > field.max_length:
            problems.append(Problem(row, field.header, f"“{field.header}”最多 {field.max_length} 个字"))
    return problems


def parse_resident(row: int, values: Mapping[str, str]) -> tuple[ResidentRow | None, list[Problem]]:
    """One residents row as a record, or None with its problems."""
    problems = check_cells(row, values, RESIDENT_FIELDS)
    phone = values.get("手机号", "")
    if phone and not any(p.column == "手机号" for p in problems) and not PHONE.fullmatch(phone):  # reported once
        problems.append(Problem(row, "手机号", "手机号格式不正确（应为 11 位大陆手机号）"))
    if problems:
        return None, problems
    return (
        ResidentRow(
            row=row,
            name=values["姓名"],
            phone=phone,
            grid=values["网格"],
            building=values.get("楼栋", ""),
            unit=values.get("单元", ""),
            room=values["房号"],
            note=values.get("备注", ""),
        ),
        [],
    )


class Phoned(Protocol):
    @property
    def row(self) -> int: ...
    @property
    def phone(self) -> str: ...


def repeated_phones(rows: Sequence[Phoned]) -> list[Problem]:
    """A phone that appears on more than one row: every later row names the first."""
    first: dict[str, int] = {}
    problems = []
    for record in rows:
        if record.phone in first:
            problems.append(Problem(record.row, "手机号", f"手机号与第 {first[record.phone]} 行重复"))
        else:
            first.setdefault(record.phone, record.row)
    return problems
