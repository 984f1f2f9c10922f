"""Pure rules of the volunteers sheet: each row parsed into a typed record with every problem
found. The catalogue, teams, grids and people are checked against the database by the use case
(``app.community.imports.volunteers``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.community.imports.rows import PHONE, Field, Problem, check_cells
from app.volunteers.profiles import DEFAULT_MAX_ACTIVE, MAX_ACTIVE_LIMIT, UNIT_HOURS_MAX

#: The volunteers sheet. 报到单位 is the employer unit of an in-service party member (双报到).
VOLUNTEER_FIELDS: tuple[Field, ...] = (
    Field("姓名", 64, required=True),
    Field("手机号", 11, required=True),
    Field("网格", 100),
    Field("技能", 500),
    Field("是否党员", 2),
    Field("报到单位", 64),
    Field("每年要求时长", 8),
    Field("服务队", 500),
    Field("最多同时接单", 4),
)

#: What separates the skills (or teams) of one cell: 、 , ， or spaces.
_SEPARATORS = re.compile(r"[、,，\s]+")
_YES_NO = {"": False, "是": True, "否": False}


@dataclass(frozen=True)
class VolunteerRow:
    row: int
    name: str
    phone: str
    grid: str
    #: As written (names or codes); resolved against the catalogue by the use case.
    skills: tuple[str, ...]
    party_member: bool
    employer_unit: str | None
    unit_hours: int | None
    teams: tuple[str, ...]
    max_active: int


def split_names(text: str) -> tuple[str, ...]:
    """The names of one cell, in order, each once."""
    return tuple(dict.fromkeys(name for name in _SEPARATORS.split(text) if name))


def _whole_number(row: int, column: str, text: str, low: int, high: int) -> tuple[int | None, list[Problem]]:
    if not text:
        return None, []
    if not text.isdigit() or not low <= int(text) <= high:
        return None, [Problem(row, column, f"“{column}”应为 {low}–{high} 的整数")]
    return int(text), []


def parse_volunteer(row: int, values: Mapping[str, str]) -> tuple[VolunteerRow | None, list[Problem]]:
    """One volunteers row as a record, or None with its problems (双报到 rules as the registry's:
    an employer unit makes an in-service party member, so needs 是否党员=是; hours only with a unit)."""
    problems = check_cells(row, values, VOLUNTEER_FIELDS)
    if any(p.column in ("每年要求时长", "最多同时接单", "是否党员") for p in problems):
        return None, problems  # too long to read further: reported once
    phone = values.get("手机号", "")
    if phone and not any(p.column == "手机号" for p in problems) and not PHONE.fullmatch(phone):
        problems.append(Problem(row, "手机号", "手机号格式不正确（应为 11 位大陆手机号）"))
    party = values.get("是否党员", "")
    if party not in _YES_NO:
        problems.append(Problem(row, "是否党员", "“是否党员”应填“是”或“否”"))
    unit = values.get("报到单位", "")
    if unit and _YES_NO.get(party) is not True:
        problems.append(Problem(row, "报到单位", "填写报到单位（在职党员双报到）须“是否党员”为“是”"))
    hours, found = _whole_number(row, "每年要求时长", values.get("每年要求时长", ""), 1, UNIT_HOURS_MAX)
    problems.extend(found)
    if hours is not None and not unit:
        problems.append(Problem(row, "每年要求时长", "只有填写了报到单位才能填写每年要求时长"))
    max_active, found = _whole_number(row, "最多同时接单", values.get("最多同时接单", ""), 1, MAX_ACTIVE_LIMIT)
    problems.extend(found)
    if problems:
        return None, problems
    return (
        VolunteerRow(
            row=row,
            name=values["姓名"],
            phone=phone,
            grid=values.get("网格", ""),
            skills=split_names(values.get("技能", "")),
            party_member=_YES_NO[party],
            employer_unit=unit or None,
            unit_hours=hours,
            teams=split_names(values.get("服务队", "")),
            max_active=max_active if max_active is not None else DEFAULT_MAX_ACTIVE,
        ),
        [],
    )
