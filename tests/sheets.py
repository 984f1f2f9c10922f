"""Excel files for the import tests, built in memory."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook

RESIDENT_HEADER = ("姓名", "手机号", "网格", "楼栋", "单元", "房号", "备注")


def xlsx(rows: Iterable[Sequence[Any]], header: Sequence[str] = RESIDENT_HEADER) -> bytes:
    """A one-sheet workbook: ``header`` on row 1, then ``rows``."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()


def residents(count: int, *, grid: str = "SQ1-G1", first_phone: int = 13600000000) -> list[list[Any]]:
    """``count`` good rows in ``grid`` (building 3 is known there), phones counted up."""
    return [[f"居民{i}", str(first_phone + i), grid, "3", "1", f"{100 + i % 900}", ""] for i in range(count)]


VOLUNTEER_HEADER = ("姓名", "手机号", "网格", "技能", "是否党员", "报到单位", "每年要求时长", "服务队", "最多同时接单")


def volunteers(count: int, *, first_phone: int = 13700000000) -> list[list[Any]]:
    """``count`` good volunteer rows (skills of the seeded catalogue, no team), phones counted up."""
    return [[f"志愿者{i}", str(first_phone + i), "SQ1-G1", "电工、plumber", "否", "", "", "", ""] for i in range(count)]
