"""Background work ledgers (后台导出工作台账): ask, look, list, download (thin views over
app.community.exports)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from app.community.exports.requests import export_file, get_export, list_exports, request_export
from app.community.exports.shapes import ExportJobOut, ExportJobPage
from app.core.spreadsheets import MIME_TYPE
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import ANSWER_CONTEXT, endpoint
from miniprogram_api.schemas import ExportRequestIn, PageQuery
from miniprogram_api.spreadsheet_answer import file_answer

bp = Blueprint("exports", __name__, url_prefix="/api/v1")

#: Where a background export is asked for: what the GET's 422 points to.
REQUEST_PATH = "/api/v1/exports/orders"


@endpoint(
    bp,
    "/exports/orders",
    method="POST",
    summary="后台生成工作台账（不受单次导出行数限制）",
    description=(
        "与 `GET /exports/orders.xlsx` 相同的权限、区域与日期规则（社区书记、街道管理员；其他角色 403，"
        "不属于自己的区域 404，日期有误 400，均不写入任何数据），但不受 `exports.max_rows` 限制：申请后 202 "
        '答复 `status: "queued"` 的导出记录（`rows` 为申请时范围内的工单数），后台任务逐个生成，完成后站内信'
        "「工作台账已生成」通知申请人，在 `expires_at`（`exports.keep_days` 天，默认 7 天）前用 "
        "`GET /exports/orders/{export_id}/file` 下载。同一人对同一区域与日期范围的导出尚在排队或生成中时再次申请，"
        "200 答复那一条，不另建。每人同时排队或生成中的导出最多 `exports.max_open_per_user` 个（默认 3），"
        "超出 409 `too_many_exports`。"
    ),
    body=ExportRequestIn,
    response=ExportJobOut,
    status=202,
    example=examples.EXPORT_QUEUED,
    operation_id="requestOrdersLedgerExport",
    errors=(400, 401, 403, 404, 409),
)
def request_orders_export(actor: Actor, body: ExportRequestIn) -> ExportJobOut | tuple[Response, int]:
    asked = request_export(runtime(), actor, area=body.area, first=body.from_, last=body.to)
    if not asked.created:
        # The same request while it is queued or running: that export, and no new one.
        return jsonify(asked.job.model_dump(mode="json", context=ANSWER_CONTEXT)), 200
    return asked.job


@endpoint(
    bp,
    "/exports/orders",
    method="GET",
    summary="我申请的后台导出（新的在前）",
    description="只列出调用者自己申请的导出，含已过期的记录。",
    query=PageQuery,
    response=ExportJobPage,
    example=examples.EXPORT_JOBS,
    operation_id="listOrdersLedgerExports",
    errors=(400, 401),
)
def list_orders_exports(actor: Actor, query: PageQuery) -> ExportJobPage:
    return list_exports(runtime(), actor, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/exports/orders/<id:export_id>",
    method="GET",
    summary="一条后台导出的状态",
    description="只有申请人可以查看；别人的导出与不存在的一样 404。`status`：queued → running → done | failed；"
    "done 的文件过期删除后为 expired。",
    response=ExportJobOut,
    example=examples.EXPORT_JOB,
    operation_id="getOrdersLedgerExport",
    errors=(401, 404),
)
def get_orders_export(actor: Actor, export_id: int) -> ExportJobOut:
    return get_export(runtime(), actor, export_id)


@endpoint(
    bp,
    "/exports/orders/<id:export_id>/file",
    method="GET",
    summary="下载后台生成的工作台账 Excel",
    description=(
        "申请人本人，且仍是该区域的社区书记或街道管理员；别人的导出 404。文件与 `GET /exports/orders.xlsx` "
        "相同（同样的工作表、MIME 类型与文件名）。尚未生成完成 409 `export_not_ready`（生成失败时也是 409，"
        "`details.status` 为 `failed`），过期删除后 410 `gone`。"
    ),
    answer_type=MIME_TYPE,
    operation_id="downloadOrdersLedgerExport",
    errors=(401, 403, 404, 409, 410),
)
def download_orders_export(actor: Actor, export_id: int) -> Response:
    path, filename = export_file(runtime(), actor, export_id)
    return file_answer(path, filename)
