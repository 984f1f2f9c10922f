"""Reports for community and street staff (thin views over app.community)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.community.hours_out import report_filename, report_out, report_sheets
from app.community.hours_rules import GroupBy
from app.community.shapes import VolunteerHoursOut
from app.community.volunteer_hours import volunteer_hours
from app.community.work_ledger import work_ledger
from app.core.errors import ExportTooLargeError
from app.core.spreadsheets import MIME_TYPE
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.exports import REQUEST_PATH
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import StatsQuery, VolunteerHoursQuery
from miniprogram_api.spreadsheet_answer import spreadsheet_answer

bp = Blueprint("reports", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/reports/volunteer-hours",
    method="GET",
    summary="志愿服务时长统计（按志愿者、服务队或双报到单位）",
    description=(
        "社区书记（本社区）或街道管理员（本街道全部社区，或其中一个社区）；其他角色 403，不属于自己的区域 404。"
        "`from`、`to` 为上海日期（含 `to` 当天），最长 366 天。服务时长取自积分明细的分钟数（撤销、未予发放时收回）；"
        "工单的明细计入工单所属社区，积分调整计入该志愿者所在的社区。`format=xlsx` 返回同样数字的 Excel 文件"
        "（汇总、分组与成员明细三张表）。各行与合计的关系见 `rule`。"
    ),
    example=examples.VOLUNTEER_HOURS,
    query=VolunteerHoursQuery,
    response=VolunteerHoursOut,
    errors=(400, 401, 403, 404),
)
def get_volunteer_hours(actor: Actor, query: VolunteerHoursQuery) -> VolunteerHoursOut | Response:
    report = volunteer_hours(
        runtime(), actor, query.area, start=query.date_from, end=query.date_to, by=GroupBy(query.by)
    )
    if query.format == "xlsx":
        return spreadsheet_answer(report_sheets(report), report_filename(report))
    return report_out(report)


@endpoint(
    bp,
    "/exports/orders.xlsx",
    method="GET",
    summary="工作台账 Excel（社区书记、街道管理员）",
    description=(
        "范围内（上海时间，`from` 至 `to` 含当天，最多 366 天）新建的工单，与 `/stats` 同样的权限与日期规则："
        "工单台账（每单一行；居民电话按工作人员所见打码，不含房号；处理经过汇总各步骤），"
        "志愿者服务（按志愿者的服务时长与积分，同服务时长统计），汇总（与 `/stats` 的 totals 相同），"
        "民情收集（范围内每次走访一行，合计与 `/stats` 的 opinions 相同）。"
        "网格员与其他人 403；不属于自己的区域 404；范围内工单超过 `exports.max_rows`（默认 20000）时 422 "
        "`export_too_large`（`details.rows`、`details.max_rows`，`details.background` 指向 `POST /exports/orders`），"
        "请缩小日期范围，或改为后台生成。"
    ),
    query=StatsQuery,
    answer_type=MIME_TYPE,
    operation_id="exportOrdersLedger",
    errors=(400, 401, 403, 404, 422),
)
def export_orders(actor: Actor, query: StatsQuery) -> Response:
    try:
        return work_ledger(
            runtime(), actor, area=query.area, first=query.from_, last=query.to, write=spreadsheet_answer
        )
    except ExportTooLargeError as error:
        # Too large to write while the caller waits: the same ledger can be had in the background.
        error.message += "，或改为后台生成（完成后通知您下载）"
        error.details["background"] = {"method": "POST", "path": REQUEST_PATH}
        raise
