"""The volunteer-hours report as the API answers it (JSON) and as an Excel workbook: the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.community.hours_rules import Figures, Group, GroupBy
from app.community.shapes import BelowUnitHours, HoursRow, HoursTotals, VolunteerHoursOut
from app.community.volunteer_hours import Report
from app.core.spreadsheets import Column, Format, Sheet
from app.timebank.hours import hours

RULES = {
    GroupBy.VOLUNTEER: "每位志愿者一行，各行相加等于合计。",
    GroupBy.TEAM: (
        "每个服务队一行（队员的全部服务），不在任何服务队的志愿者归入「不在服务队」；"
        "同时在两个队的志愿者在两行都计入，合计中只计一次。"
    ),
    GroupBy.EMPLOYER_UNIT: (
        "每个双报到单位一行，非双报到的志愿者归入「非双报到」，各行相加等于合计；"
        "单位要求时长按区间折算：每年要求时长 × 区间天数 ÷ 365。"
    ),
}
BY_LABELS = {GroupBy.VOLUNTEER: "志愿者", GroupBy.TEAM: "服务队", GroupBy.EMPLOYER_UNIT: "双报到单位"}


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "minutes": figures.minutes,
        "hours": float(hours(figures.minutes)),
        "orders": figures.orders,
        "service_points": figures.service_points,
        "adjusted_points": figures.adjusted,
    }


def _row(row: Group, by: GroupBy) -> HoursRow:
    below = None
    if row.required_hours is not None:
        below = [
            BelowUnitHours(
                volunteer_id=m.user_id,
                name=m.name,
                hours=float(hours(m.figures.minutes)),
                required_hours=float(row.required_hours),
            )
            for m in row.below
        ]
    return HoursRow(
        key=row.key,
        volunteer_id=row.members[0].user_id if by is GroupBy.VOLUNTEER else None,
        volunteers=len(row.members),
        required_hours=float(row.required_hours) if row.required_hours is not None else None,
        below=below,
        **_figures(row.figures),
    )


def report_out(report: Report) -> VolunteerHoursOut:
    return VolunteerHoursOut(
        area=report.area_code,
        area_name=report.area_name,
        date_from=report.start.isoformat(),
        date_to=report.end.isoformat(),
        days=report.days,
        by=report.by.value,
        rows=[_row(row, report.by) for row in report.groups],
        totals=HoursTotals(volunteers=len(report.volunteers), **_figures(report.totals)),
        rule=RULES[report.by],
    )


FIGURE_COLUMNS = [
    Column("服务时长（小时）", 16, Format.DECIMAL),
    Column("服务分钟", 10, Format.INTEGER),
    Column("服务单数", 10, Format.INTEGER),
    Column("服务积分", 10, Format.INTEGER),
    Column("积分调整", 10, Format.INTEGER),
]


def figure_cells(figures: Figures) -> list[Any]:
    return [hours(figures.minutes), figures.minutes, figures.orders, figures.service_points, figures.adjusted]


def _group_rows(report: Report) -> Iterator[list[Any]]:
    for row in report.groups:
        required = row.required_hours if row.required_hours is not None else ""
        below = "、".join(m.name for m in row.below)
        yield [row.key, len(row.members), *figure_cells(row.figures), required, below]
    yield ["合计", len(report.volunteers), *figure_cells(report.totals), "", ""]


def _member_rows(report: Report) -> Iterator[list[Any]]:
    for row in report.groups:
        for member in row.members:
            asks: int | str = "" if member.unit_hours is None else member.unit_hours
            yield [row.key, member.name, member.unit or "", asks, *figure_cells(member.figures)]


def report_sheets(report: Report) -> list[Sheet]:
    """汇总 (the range and the totals, one line), the groups with a 合计 row, and (but for by=volunteer) each
    group's members."""
    by = BY_LABELS[report.by]
    # One line under one header row: each column keeps one format, so the dates stay dates.
    summary = Sheet(
        "汇总",
        [
            Column("区域", 24),
            Column("开始日期", 12, Format.DATE),
            Column("结束日期", 12, Format.DATE),
            Column("天数", 8, Format.INTEGER),
            Column("分组", 12),
            Column("志愿者人数", 12, Format.INTEGER),
            *FIGURE_COLUMNS,
            Column("说明", 60),
        ],
        [
            [
                f"{report.area_name}（{report.area_code}）",
                report.start,
                report.end,
                report.days,
                by,
                len(report.volunteers),
                *figure_cells(report.totals),
                RULES[report.by],
            ]
        ],
    )
    groups = Sheet(
        f"按{by}",
        [
            Column(by, 24),
            Column("人数", 8, Format.INTEGER),
            *FIGURE_COLUMNS,
            Column("要求时长（小时）", 16, Format.DECIMAL),
            Column("未达标", 40),
        ],
        _group_rows(report),
    )
    sheets = [summary, groups]
    if report.by is not GroupBy.VOLUNTEER:
        sheets.append(
            Sheet(
                "成员明细",
                [
                    Column(by, 24),
                    Column("志愿者", 16),
                    Column("双报到单位", 24),
                    Column("单位每年要求（小时）", 18, Format.INTEGER),
                    *FIGURE_COLUMNS,
                ],
                _member_rows(report),
            )
        )
    return sheets


def report_filename(report: Report) -> str:
    return f"志愿服务时长_{report.area_name}_{report.start.isoformat()}_{report.end.isoformat()}.xlsx"
