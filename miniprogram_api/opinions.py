"""民情收集: the visit log and turning its items into orders (thin views over
app.community.opinions)."""

from __future__ import annotations

from flask import Blueprint

from app.community.opinions.models import VisitKind
from app.community.opinions.shapes import ItemOrderOut, VisitEnvelope, VisitPage
from app.community.opinions.to_order import ItemOrderRequest, order_from_item
from app.community.opinions.visits import NewItem, NewVisit, get_visit, list_visits, record_visit
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import OpinionOrderIn, OpinionVisitIn, OpinionVisitQuery

bp = Blueprint("opinions", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/opinion-visits",
    method="POST",
    summary="记录民情走访（三访三问、吃茶话事、接待日）",
    description=(
        "社区工作人员（社区书记、网格员、街道管理员）记录一次走访及居民反映的事（1–50 条，每条最多 500 字）。"
        "在场人员须在本社区任职，住户须属于本社区，走访时间不能晚于现在，否则 400 并指明字段；"
        "文字未通过内容安全检查 422 content_rejected（与下单相同）。不属于自己的社区 404。"
        "请求体超过 64 KB（约 40 条 500 字的民情）答 413，可分几次记录。"
    ),
    example=examples.OPINION_VISIT_ENVELOPE,
    operation_id="recordOpinionVisit",
    body=OpinionVisitIn,
    response=VisitEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 413, 422),
)
def create_visit(actor: Actor, body: OpinionVisitIn) -> VisitEnvelope:
    visit = NewVisit(
        community=body.community,
        grid=body.grid,
        kind=VisitKind(body.kind),
        held_at=body.held_at,
        place=body.place,
        staff=tuple(body.staff),
        households=tuple(body.households),
        residents_met=body.residents_met,
        items=tuple(NewItem(text=item.text, category=item.category) for item in body.items),
    )
    return record_visit(runtime(), actor, visit)


@endpoint(
    bp,
    "/opinion-visits",
    method="GET",
    summary="民情走访记录列表",
    description=(
        "`area` 为社区、网格或街道（街道管理员）；`from`、`to` 按上海日期筛选走访时间（含当天），`kind` 筛选形式。"
        "最新记录的在前，分页同其他列表。非工作人员 403，不属于自己的区域 404。"
    ),
    example=examples.OPINION_VISIT_PAGE,
    operation_id="listOpinionVisits",
    query=OpinionVisitQuery,
    response=VisitPage,
    errors=(400, 401, 403, 404),
)
def visits(actor: Actor, query: OpinionVisitQuery) -> VisitPage:
    return list_visits(
        runtime(),
        actor,
        area=query.area,
        first=query.from_,
        last=query.to,
        kind=VisitKind(query.kind) if query.kind else None,
        limit=query.limit,
        cursor=query.cursor,
    )


@endpoint(
    bp,
    "/opinion-visits/<id:visit_id>",
    method="GET",
    summary="民情走访记录详情（每条民情附转成的工单号与状态）",
    example=examples.OPINION_VISIT_ENVELOPE,
    operation_id="getOpinionVisit",
    response=VisitEnvelope,
    errors=(401, 403, 404),
)
def visit(actor: Actor, visit_id: int) -> VisitEnvelope:
    return get_visit(runtime(), actor, visit_id)


@endpoint(
    bp,
    "/opinion-visits/<id:visit_id>/items/<id:n>/order",
    method="POST",
    summary="民情转工单",
    description=(
        "把第 `n` 条民情（从 1 起）转为工单：按下单的规则创建（这条民情的文字为工单描述，`title` 不填取其开头；"
        "`on_behalf_of` 为代下单的居民），并记录在工单的处理经过中。每条民情只能转一次：再次调用 409 "
        "item_already_ordered，`details.order_id` 为已有工单。"
    ),
    example=examples.OPINION_ITEM_ORDER,
    operation_id="orderFromOpinionItem",
    body=OpinionOrderIn,
    response=ItemOrderOut,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
def order_item(actor: Actor, visit_id: int, n: int, body: OpinionOrderIn) -> ItemOrderOut:
    request = ItemOrderRequest(category=body.category, kind=body.kind, on_behalf_of=body.on_behalf_of, title=body.title)
    return order_from_item(runtime(), actor, visit_id, n, request)
