"""工作台账: the work ledger of a community or a street as Excel, for the orders created in a range
of Shanghai days. Same readers and range rules as the statistics (app/community/stats.py).

Four sheets: 工单台账 (one row per order, residents' phone masked as staff see it, never their
room), 志愿者服务 (the volunteer-hours report's figures per volunteer), 汇总 (the statistics'
own totals, so the two always agree) and 民情收集 (the visits held in the range, one line each,
and the statistics' ``opinions`` totals).

Streaming: the orders are read in keyset pages of ``BATCH`` by id, each page's events in one more
statement, and handed to the workbook writer row by row (XlsxWriter's constant-memory mode keeps them on
disk). The statements grow with the pages, not the orders; memory holds one page at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from app.areas.models import Area, ServiceCategory
from app.community.hours_out import FIGURE_COLUMNS, figure_cells
from app.community.hours_rules import GroupBy
from app.community.opinions.figures import visit_lines
from app.community.opinions.rules import KIND_LABELS as VISIT_KIND_LABELS
from app.community.opinions.shapes import OpinionStats
from app.community.shapes import Totals
from app.community.stats import check_reader, orders_in, stats_of, stats_scope
from app.community.stats_rules import Period, period
from app.community.volunteer_hours import area_report, operator_area
from app.core.clock import now_utc, to_shanghai
from app.core.errors import ExportTooLargeError
from app.core.privacy import mask_phone
from app.core.spreadsheets import Column, Format, Sheet
from app.identity.actor import Actor
from app.identity.models import User
from app.identity.shapes import display_name
from app.orders.models import Order, OrderEvent, Rating
from app.orders.workflow import ACTION_LABELS, LEVEL_LABELS, STATUS_LABELS
from app.property.models import PropertyCompany
from app.runtime import Runtime
from app.volunteers.models import Team

T = TypeVar("T")

#: Orders per page: one statement for the page and one for its events.
BATCH: Final = 500
#: Excel holds at most this many characters in a cell; a longer timeline is cut.
_CELL_CHARS: Final = 32767

_KIND_LABELS: Final = {"service": "服务", "wish": "微心愿", "report": "随手拍"}

_Grid = aliased(Area)
_Community = aliased(Area)
_Resident = aliased(User)
_Assignee = aliased(User)
_Actor = aliased(User)

_ORDER_COLUMNS: Final = [
    Column("工单号", 18),
    Column("创建时间", 17, Format.DATETIME),
    Column("社区", 16),
    Column("网格", 16),
    Column("服务类别", 14),
    Column("类型", 8),
    Column("分级", 8),
    Column("标题", 30),
    Column("状态", 8),
    Column("居民", 12),
    Column("联系电话", 14),
    Column("承接人", 12),
    Column("服务队", 16),
    Column("物业公司", 18),
    Column("派单时间", 17, Format.DATETIME),
    Column("接单时间", 17, Format.DATETIME),
    Column("完成时间", 17, Format.DATETIME),
    Column("关闭时间", 17, Format.DATETIME),
    Column("评分", 6, Format.INTEGER),
    Column("评价", 30),
    Column("时限", 17, Format.DATETIME),
    Column("是否超时", 8),
    Column("处理经过", 60),
]


@dataclass(frozen=True)
class _Scope:
    place: Area
    communities: list[int]
    span: Period
    now: datetime


def _page(session: Session, where: list[Any], after: int) -> list[sa.Row[Any]]:
    """The next ``BATCH`` orders after id ``after``, with the names of what they point at."""
    return list(
        session.execute(
            sa.select(
                Order.id,
                Order.number,
                Order.created_at,
                _Community.name.label("community"),
                _Grid.name.label("grid"),
                ServiceCategory.name.label("category"),
                Order.kind,
                Order.level,
                Order.title,
                Order.status,
                Order.resident_id,
                _Resident.nickname.label("resident"),
                Order.contact_phone,
                Order.assignee_id,
                _Assignee.nickname.label("assignee"),
                Team.name.label("team"),
                PropertyCompany.name.label("company"),
                Order.dispatched_at,
                Order.accepted_at,
                Order.completed_at,
                Order.closed_at,
                Rating.score,
                Rating.comment,
                Order.due_at,
            )
            .join(_Community, _Community.id == Order.community_id)
            .outerjoin(_Grid, _Grid.id == Order.grid_id)
            .join(ServiceCategory, ServiceCategory.id == Order.category_id)
            .join(_Resident, _Resident.id == Order.resident_id)
            .outerjoin(_Assignee, _Assignee.id == Order.assignee_id)
            .outerjoin(Team, Team.id == Order.team_id)
            .outerjoin(PropertyCompany, PropertyCompany.id == Order.property_company_id)
            .outerjoin(Rating, Rating.order_id == Order.id)
            .where(*where, Order.id > after)
            .order_by(Order.id)
            .limit(BATCH)
        )
    )


def _timelines(session: Session, order_ids: Sequence[int]) -> dict[int, str]:
    """Each order's events in one line: time, action and who (no notes: they may quote private
    details). One statement for the page."""
    lines: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        sa.select(OrderEvent.order_id, OrderEvent.created_at, OrderEvent.action, OrderEvent.actor_id, _Actor.nickname)
        .outerjoin(_Actor, _Actor.id == OrderEvent.actor_id)
        .where(OrderEvent.order_id.in_(list(order_ids)))
        .order_by(OrderEvent.order_id, OrderEvent.id)
    )
    for order_id, at, action, actor_id, nickname in rows:
        who = f"（{display_name(actor_id, nickname)}）" if actor_id is not None else ""
        lines[order_id].append(f"{to_shanghai(at):%m-%d %H:%M} {ACTION_LABELS[action]}{who}")
    return {order_id: "；".join(parts)[:_CELL_CHARS] for order_id, parts in lines.items()}


def _breached(due: datetime | None, completed: datetime | None, cutoff: datetime) -> bool:
    """The statistics' rule: past due when finished after it, or not finished by the cutoff."""
    return due is not None and due < (completed or cutoff)


def _order_rows(session: Session, scope: _Scope) -> Iterator[list[Any]]:
    where = orders_in(scope.communities, scope.span)
    cutoff = min(scope.span.end, scope.now)
    after = 0
    while page := _page(session, where, after):
        after = page[-1].id
        timelines = _timelines(session, [row.id for row in page])
        for row in page:
            yield [
                row.number,
                row.created_at,
                row.community,
                row.grid or "",
                row.category,
                _KIND_LABELS.get(str(row.kind), str(row.kind)),
                LEVEL_LABELS[row.level] if row.level else "",
                row.title,
                STATUS_LABELS[row.status],
                display_name(row.resident_id, row.resident),
                mask_phone(row.contact_phone) or "",
                display_name(row.assignee_id, row.assignee) if row.assignee_id is not None else "",
                row.team or "",
                row.company or "",
                row.dispatched_at,
                row.accepted_at,
                row.completed_at,
                row.closed_at,
                row.score,
                row.comment or "",
                row.due_at,
                "是" if _breached(row.due_at, row.completed_at, cutoff) else "否",
                timelines.get(row.id, ""),
            ]


def _volunteer_sheet(session: Session, scope: _Scope) -> Sheet:
    report = area_report(
        session, scope.place, scope.communities, start=scope.span.first, end=scope.span.last, by=GroupBy.VOLUNTEER
    )
    rows = (
        [v.name, "、".join(v.teams), v.unit or "", *figure_cells(v.figures)]
        for v in sorted(report.volunteers, key=lambda v: (-v.figures.minutes, v.user_id))
    )
    return Sheet(
        "志愿者服务", [Column("志愿者", 16), Column("服务队", 24), Column("双报到单位", 24), *FIGURE_COLUMNS], rows
    )


def _summary_sheet(scope: _Scope, totals: Totals) -> Sheet:
    """The statistics' totals in one line under one header row (each column keeps one format, so
    the dates stay dates), a column per status whether or not any order has it."""
    statuses = list(STATUS_LABELS)
    columns = [
        Column("区域", 24),
        Column("开始日期", 12, Format.DATE),
        Column("结束日期", 12, Format.DATE),
        Column("工单数", 8, Format.INTEGER),
        *(Column(STATUS_LABELS[status], 8, Format.INTEGER) for status in statuses),
        Column("超时数", 8, Format.INTEGER),
        Column("评价数", 8, Format.INTEGER),
        Column("平均满意度", 10, Format.DECIMAL),
    ]
    line = [
        f"{scope.place.name}（{scope.place.code}）",
        scope.span.first,
        scope.span.last,
        totals.orders,
        *(totals.by_status.get(str(status), 0) for status in statuses),
        totals.sla_breaches,
        totals.ratings,
        totals.satisfaction if totals.satisfaction is not None else "",
    ]
    return Sheet("汇总", columns, [line])


_OPINION_COLUMNS: Final = [
    Column("走访时间", 17, Format.DATETIME),
    Column("社区", 16),
    Column("网格", 16),
    Column("形式", 10),
    Column("地点", 24),
    Column("在场人员", 8, Format.INTEGER),
    Column("走访住户", 8, Format.INTEGER),
    Column("见到居民", 8, Format.INTEGER),
    Column("民情条数", 8, Format.INTEGER),
    Column("转工单", 8, Format.INTEGER),
    Column("已办结", 8, Format.INTEGER),
]


def _opinion_sheet(session: Session, scope: _Scope, opinions: OpinionStats) -> Sheet:
    """民情收集: one line per visit held in the range, then 合计, the statistics' own ``opinions``
    totals (so that the sheet and /stats always agree)."""
    lines: list[list[Any]] = [
        [
            v.held_at,
            v.community,
            v.grid,
            VISIT_KIND_LABELS[v.kind],
            v.place,
            v.staff,
            v.households,
            v.residents_met,
            v.items,
            v.ordered,
            v.closed,
        ]
        for v in visit_lines(session, scope.communities, scope.span)
    ]
    kinds = "、".join(f"{label} {opinions.by_kind[kind.value]}" for kind, label in VISIT_KIND_LABELS.items())
    total = [None, f"合计 {opinions.visits} 次", "", kinds, "", None, None]
    lines.append([*total, opinions.residents_met, opinions.items, opinions.ordered, opinions.closed])
    return Sheet("民情收集", _OPINION_COLUMNS, lines)


def _sheets(session: Session, scope: _Scope) -> list[Sheet]:
    # Lazy: the order rows are read while the writer takes them, so ``session`` must stay open
    # until the workbook is written (an HTTP answer, the CLI's file, a background export's file).
    stats = stats_of(session, scope.place, scope.communities, scope.span, scope.now)
    return [
        Sheet("工单台账", _ORDER_COLUMNS, _order_rows(session, scope)),
        _volunteer_sheet(session, scope),
        _summary_sheet(scope, stats.totals),
        _opinion_sheet(session, scope, stats.opinions),
    ]


def ledger_filename(place: Area, first: date, last: date) -> str:
    return f"工作台账_{place.name}_{first.isoformat()}_{last.isoformat()}.xlsx"


def work_ledger(
    rt: Runtime, actor: Actor, *, area: str, first: date, last: date, write: Callable[[list[Sheet], str], T]
) -> T:
    """Hand the ledger's sheets and file name to ``write`` inside the read transaction (the order
    rows are read while it writes them) and answer what it answers. ForbiddenError,
    NotFoundError and InvalidInputError as for the statistics, before anything is written."""
    check_reader(actor)
    span = period(first, last)
    # A transaction of its own (even inside a request's shared reads): the statistics sheet raises
    # work_mem for it.
    with rt.db.read(transaction=True) as session:
        place, communities = stats_scope(session, actor, area)
        _check_size(session, communities, span, rt.settings.exports.max_rows)
        scope = _Scope(place, communities, span, now_utc())
        return write(_sheets(session, scope), ledger_filename(place, first, last))


def count_orders(session: Session, communities: list[int], span: Period) -> int:
    """The orders the ledger of ``communities`` over ``span`` holds: one count over the
    (community_id, created_at) index."""
    where = orders_in(communities, span)
    return session.scalar(sa.select(sa.func.count()).select_from(Order).where(*where)) or 0


def ledger_sheets(session: Session, place: Area, communities: list[int], span: Period, now: datetime) -> list[Sheet]:
    """The ledger's sheets for an area already checked (a background export, app/community/exports,
    checks its requester when it is asked for and again when it is written). The order rows are
    read from ``session`` as they are written: keep it open until the workbook is closed."""
    return _sheets(session, _Scope(place, communities, span, now))


def _check_size(session: Session, communities: list[int], span: Period, max_rows: int) -> None:
    """ExportTooLargeError when the range holds more orders than one request may write (one
    count, before anything is written)."""
    rows = count_orders(session, communities, span)
    if rows > max_rows:
        raise ExportTooLargeError(
            f"该范围内有 {rows} 张工单，一次最多导出 {max_rows} 张，请缩小日期范围",
            details={"rows": rows, "max_rows": max_rows},
        )


def operator_ledger(rt: Runtime, *, area: str, first: date, last: date, write: Callable[[list[Sheet], str], T]) -> T:
    """The same for the operator at the command line (``linli export orders``): any community or
    street. NotFoundError for a code that names neither, InvalidInputError for a bad range."""
    span = period(first, last)
    with rt.db.read() as session:
        place, communities = operator_area(session, area)
        scope = _Scope(place, communities, span, now_utc())
        return write(_sheets(session, scope), ledger_filename(place, first, last))
