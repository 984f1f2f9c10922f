"""服务证明: a volunteer's own service record, as JSON and as a printable page (thin views over
app.account.service_record)."""

from __future__ import annotations

from flask import Blueprint, Response

from app.account.service_record import service_record
from app.account.shapes import ServiceRecordOut
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import DayRangeQuery
from miniprogram_api.service_record_page import service_record_html

bp = Blueprint("service_record", __name__, url_prefix="/api/v1")

_DESCRIPTION = (
    "志愿者本人。`from`、`to` 为上海日期（含 `to` 当天），最长 366 天。列出此期间计入的服务（撤销、未予发放的不计）："
    "工单编号、类别、日期、时长、积分，以及合计、姓名、所在社区、服务队、双报到单位。"
)


@endpoint(
    bp,
    "/me/service-record",
    method="GET",
    summary="我的志愿服务证明",
    description=_DESCRIPTION,
    example=examples.SERVICE_RECORD,
    query=DayRangeQuery,
    response=ServiceRecordOut,
    errors=(400, 401, 403),
)
def get_service_record(actor: Actor, query: DayRangeQuery) -> ServiceRecordOut:
    return service_record(runtime(), actor, query.date_from, query.date_to)


@endpoint(
    bp,
    "/me/service-record.html",
    method="GET",
    summary="我的志愿服务证明（可打印网页）",
    description=_DESCRIPTION + "同样的内容，带打印样式的中文网页。",
    query=DayRangeQuery,
    errors=(400, 401, 403),
    answer_type="text/html",
    operation_id="getServiceRecordPage",
)
def get_service_record_page(actor: Actor, query: DayRangeQuery) -> Response:
    record = service_record(runtime(), actor, query.date_from, query.date_to)
    response = Response(service_record_html(record), mimetype="text/html")
    # The page runs no script and loads nothing: say so, so an injected tag could do nothing either.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "no-store"
    return response
