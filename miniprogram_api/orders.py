"""Orders: post, read, list, the volunteer pool, candidates, and every action (thin views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from app.areas import catalogue
from app.areas.shapes import CategoryList
from app.identity.actor import Actor
from app.orders import actions, candidates, contact, duplicates, merging, queries, return_visits, submit
from app.orders.actions import ActionInput, Target
from app.orders.shapes import (
    CandidateList,
    ContactOut,
    DuplicateList,
    OrderEnvelope,
    OrderPage,
    ReturnVisitOut,
    ReturnVisitPage,
)
from app.orders.workflow import STATUS_LABELS, TRANSITIONS, Action, OrderStatus, Party, Transition
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import Limit, endpoint, idempotency_header, idempotency_key
from miniprogram_api.schemas import (
    CategoryQuery,
    CompleteIn,
    DispatchIn,
    DuplicateOfIn,
    EmptyIn,
    EscalateIn,
    OptionalReasonIn,
    OrderIn,
    OrderListQuery,
    PageQuery,
    RateIn,
    ReasonIn,
    ReassignIn,
    ResolveIn,
    ReturnVisitIn,
    ReturnVisitQuery,
    TriageIn,
)

bp = Blueprint("orders", __name__, url_prefix="/api/v1")

_IDEMPOTENCY_KEY = idempotency_header(
    "每次点击「提交」生成一个（如 UUID），超时重试时原样再发：同一用户 24 小时内同一个键只建一张工单，"
    "返回第一次的结果；同一个键配不同的请求体答复 409 idempotency_key_reused。"
)


@endpoint(
    bp,
    "/categories",
    method="GET",
    summary="社区服务目录",
    example=examples.CATEGORIES,
    operation_id="listCategories",
    query=CategoryQuery,
    response=CategoryList,
    errors=(400, 401, 404),
)
def categories(actor: Actor, query: CategoryQuery) -> CategoryList:
    del actor  # any logged-in user may read a catalogue
    return catalogue.list_categories(runtime(), query.community)


@endpoint(
    bp,
    "/orders",
    method="POST",
    summary="居民下单（网格员可代下单）",
    example=examples.ORDER_ENVELOPE,
    operation_id="submitOrder",
    body=OrderIn,
    response=OrderEnvelope,
    status=201,
    errors=(400, 401, 403, 409, 422),
    description="支持 Idempotency-Key 请求头：同一用户 24 小时内重复提交返回第一次的结果。",
    headers=(_IDEMPOTENCY_KEY,),
    limits=(Limit("order_create_per_user", "user"),),
)
def create_order(actor: Actor, body: OrderIn) -> OrderEnvelope:
    new = submit.describe_new_order(body.model_dump())
    created = submit.submit_order(runtime(), actor, new, idempotency_key=idempotency_key())
    return OrderEnvelope(order=created)


@endpoint(
    bp,
    "/orders",
    method="GET",
    summary="工单列表（我的 / 我接的 / 社区）",
    example=examples.ORDER_PAGE,
    query=OrderListQuery,
    response=OrderPage,
    errors=(400, 401, 403, 404),
)
def list_orders(actor: Actor, query: OrderListQuery) -> OrderPage:
    return queries.list_orders(
        runtime(),
        actor,
        scope=query.scope,
        status=query.status,
        level=query.level,
        community=query.community,
        limit=query.limit,
        cursor=query.cursor,
    )


@endpoint(
    bp,
    "/orders/<id:order_id>",
    method="GET",
    summary="工单详情与处理记录",
    response=OrderEnvelope,
    errors=(401, 404),
    example=examples.ORDER_ENVELOPE,
)
def get_order(actor: Actor, order_id: int) -> OrderEnvelope:
    return OrderEnvelope(order=queries.get_order(runtime(), actor, order_id))


@endpoint(
    bp,
    "/tasks/pool",
    method="GET",
    summary="志愿者任务池（最匹配的在前）",
    example=examples.POOL_PAGE,
    operation_id="listPoolOrders",
    query=PageQuery,
    response=OrderPage,
    errors=(400, 401, 403),
)
def task_pool(actor: Actor, query: PageQuery) -> OrderPage:
    return queries.pool(runtime(), actor, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/orders/<id:order_id>/candidates",
    method="GET",
    summary="派单候选志愿者（含推荐理由）",
    example=examples.CANDIDATES,
    operation_id="listCandidates",
    response=CandidateList,
    errors=(401, 403, 404),
)
def order_candidates(actor: Actor, order_id: int) -> CandidateList:
    return candidates.rank_candidates(runtime(), actor, order_id)


@endpoint(
    bp,
    "/orders/<id:order_id>/contact",
    method="POST",
    summary="查看居民的完整电话与住址（留痕）",
    description=(
        "Answers staff of the order's community (a grid worker: of its grid) and the assignee who "
        "has accepted it and not yet finished; everyone else sees phone and room masked in orders. "
        "Each call by staff or the assignee writes one row to the audit trail "
        "(`GET /api/v1/audit/reveals`); the owner may call it too and writes none. "
        "A caller who may see the order but not its contact (a volunteer in the pool) → 403."
    ),
    example=examples.CONTACT,
    operation_id="revealOrderContact",
    body=EmptyIn,
    response=ContactOut,
    errors=(400, 401, 403, 404),
)
def reveal_contact(actor: Actor, order_id: int, body: EmptyIn) -> ContactOut:
    return contact.reveal_contact(runtime(), actor, order_id)


@endpoint(
    bp,
    "/return-visits",
    method="GET",
    summary="回访清单（差评与申诉）",
    example=examples.RETURN_VISITS,
    query=ReturnVisitQuery,
    response=ReturnVisitPage,
    errors=(400, 401, 403, 404),
)
def list_return_visits(actor: Actor, query: ReturnVisitQuery) -> ReturnVisitPage:
    return return_visits.list_return_visits(
        runtime(), actor, community=query.community, done=query.done, limit=query.limit, cursor=query.cursor
    )


@endpoint(
    bp,
    "/return-visits/<id:visit_id>",
    method="POST",
    summary="记录回访结果",
    description=(
        "差评暂缓发放的积分（清单中的 `held_points`）由这次回访决定：`points` 为 `pay` 发放、`withhold` 不发放；"
        "有暂缓积分时必填（否则 400），没有时填写答复 409。"
    ),
    example=examples.RETURN_VISIT,
    body=ReturnVisitIn,
    response=ReturnVisitOut,
    errors=(400, 401, 403, 404, 409, 422),
)
def record_return_visit(actor: Actor, visit_id: int, body: ReturnVisitIn) -> ReturnVisitOut:
    return return_visits.record_call(runtime(), actor, visit_id, body.note, points=body.points)


# -- actions: one documented endpoint each, all through app.orders.actions.act --------------------


def _triage(body: TriageIn) -> ActionInput:
    return ActionInput(level=body.level)


def _dispatch(body: DispatchIn) -> ActionInput:
    target = Target(
        volunteer_id=body.volunteer_id,
        team_id=body.team_id,
        property_company_id=body.property_company_id,
        pool=body.pool,
    )
    return ActionInput(target=target, note=body.note)


def _reassign(body: ReassignIn) -> ActionInput:
    target = Target(
        volunteer_id=body.volunteer_id,
        team_id=body.team_id,
        property_company_id=body.property_company_id,
        pool=body.pool,
        queue=body.queue,
    )
    return ActionInput(target=target, reason=body.reason)


def _reason(body: ReasonIn | OptionalReasonIn) -> ActionInput:
    return ActionInput(reason=body.reason)


def _empty(body: EmptyIn) -> ActionInput:
    return ActionInput()


def _complete(body: CompleteIn) -> ActionInput:
    return ActionInput(note=body.note, photos=tuple(body.photos))


def _rate(body: RateIn) -> ActionInput:
    aspects = body.aspects
    return ActionInput(
        score=body.score,
        comment=body.comment,
        speed=aspects.speed if aspects else None,
        attitude=aspects.attitude if aspects else None,
    )


def _escalate(body: EscalateIn) -> ActionInput:
    return ActionInput(department=body.department, note=body.note, due_hours=body.due_hours)


def _resolve(body: ResolveIn) -> ActionInput:
    return ActionInput(note=body.note)


#: action → (body schema, body → ActionInput, summary)
ACTIONS: dict[Action, tuple[type[BaseModel], Callable[[Any], ActionInput], str]] = {
    Action.TRIAGE: (TriageIn, _triage, "分流（三事分流：大事/小事/一般事）"),
    Action.DISPATCH: (DispatchIn, _dispatch, "派单：给志愿者、服务队、物业，或发布到任务池"),
    Action.CLAIM: (EmptyIn, _empty, "志愿者认领任务池中的工单（抢单）"),
    Action.ACCEPT: (EmptyIn, _empty, "接单"),
    Action.DECLINE: (ReasonIn, _reason, "拒单（退回社区重新派单）"),
    Action.START: (EmptyIn, _empty, "开始服务"),
    Action.COMPLETE: (CompleteIn, _complete, "完成服务（可附照片）"),
    Action.RATE: (RateIn, _rate, "居民评价（接单志愿者获得时间银行积分）"),
    Action.DISPUTE: (ReasonIn, _reason, "居民申诉：服务没有完成（已完成的工单在申诉期内可重新打开）"),
    Action.URGE: (EmptyIn, _empty, "居民催单"),
    Action.CANCEL: (OptionalReasonIn, _reason, "居民取消"),
    Action.REJECT: (ReasonIn, _reason, "社区驳回"),
    Action.ESCALATE: (EscalateIn, _escalate, "上报街道（吹哨报到）"),
    Action.RESOLVE: (ResolveIn, _resolve, "上报事项办结"),
    Action.REASSIGN: (ReassignIn, _reassign, "改派（转单）：换志愿者、服务队、物业，或发布到任务池、退回待派单"),
    Action.RELEASE: (ReasonIn, _reason, "退单：接单人因故交回社区重新派单"),
}


#: Who each party of the transition table is, for the action descriptions in /openapi.json.
_PARTIES: dict[Party, str] = {
    Party.OWNER: "下单的居民本人",
    Party.ASSIGNEE: "接单人（派给服务队或物业、还没有人接单时，其任一成员）",
    Party.VOLUNTEER: "本社区的志愿者",
    Party.GRID_WORKER: "工单所在网格的网格员（负责整个社区的网格员管所有网格；没有网格的工单本社区网格员都可以）",
    Party.SECRETARY: "本社区书记",
    Party.STREET_ADMIN: "所属街道的管理员",
}


def _moves(transition: Transition) -> str:
    sources = [status for status in OrderStatus if status in transition.sources]
    start = "、".join(f"{status.value}（{STATUS_LABELS[status]}）" for status in sources)
    if transition.target is None:
        return f"{start}，状态不变"
    return f"{start} → {transition.target.value}（{STATUS_LABELS[transition.target]}）"


def _action_description(action: Action) -> str:
    """Who may act and from which status, read from the one transition table, so the document
    says what the server enforces."""
    transition = TRANSITIONS[action]
    who = "；".join(f"`{party.value}`：{_PARTIES[party]}" for party in Party if party in transition.parties)
    moves = _moves(transition)
    if action is Action.DISPATCH:  # dispatch with {"pool": true} is the publish transition
        moves += f"；带 `pool: true` 时 {_moves(TRANSITIONS[Action.PUBLISH])}（记为 publish）"
    text = (
        f"**谁可以操作**：{who}。\n\n**状态**：{moves}。\n\n"
        "其他人：看不到这张工单时答复 404，看得到但无权这样做时答复 403。"
    )
    if action is Action.RATE:
        text += (
            "\n\n接单人获得积分：服务类别的每小时积分 × 服务时长（开始服务到完成，按 [timebank] 取整、设下限和上限），"
            "5 星另加奖励；1–2 星时积分暂缓发放，由社区回访决定发放与否。"
        )
    if action is Action.DISPUTE:
        text += (
            "\n\n已完成（closed）的工单在办结后 timebank.dispute_window_days 天内也可申诉：工单回到接单人手中，"
            "这次评价所得的积分以一条新的明细收回；超过期限答复 409 invalid_transition。"
        )
    if action is Action.URGE:
        text += (
            "\n\n同一张工单在 orders.urge_interval_hours 小时内只能催一次：再催（包括同时催两次中的后一次）"
            "答复 429 rate_limited，Retry-After 为还需等待的秒数。"
        )
    return text


#: The actions with a rate limit of their own: claims (bots grabbing the pool), urges (pestering).
_ACTION_LIMITS: dict[Action, tuple[Limit, ...]] = {
    Action.CLAIM: (Limit("claim_per_user", "user"),),
    Action.URGE: (Limit("urge_per_user", "user"),),
}


def _register_action(
    action: Action, schema: type[BaseModel], convert: Callable[[Any], ActionInput], summary: str
) -> None:
    def view(actor: Actor, order_id: int, body: BaseModel) -> OrderEnvelope:
        return OrderEnvelope(order=actions.act(runtime(), actor, order_id, action, convert(body)))

    view.__name__ = f"action_{action.value}"
    endpoint(
        bp,
        f"/orders/<id:order_id>/{action.value}",
        method="POST",
        summary=summary,
        # claimOrder, dispatchOrder …: a verb on the order, as a client generator wants it.
        operation_id=f"{action.value}Order",
        description=_action_description(action),
        example=examples.order_after(action),
        body=schema,
        response=OrderEnvelope,
        # 422: a reason, note, comment or department that content security judged risky; urging
        # also answers 429 within orders.urge_interval_hours of the last urge.
        errors=(400, 401, 403, 404, 409, 422, *((429,) if action is Action.URGE else ())),
        limits=_ACTION_LIMITS.get(action, ()),
    )(view)


for _action, (_schema, _convert, _summary) in ACTIONS.items():
    _register_action(_action, _schema, _convert, _summary)


# -- 随手拍: likely duplicates and merging -------------------------------------------------------


@endpoint(
    bp,
    "/orders/<id:order_id>/duplicates",
    method="GET",
    summary="随手拍疑似重复工单（工作人员）",
    description=(
        "本工单所在网格、同一服务类别、`[orders.reports] duplicate_window_days` 天内未办结的随手拍中，"
        "标题与描述相似（字符二元组）、且双方都有定位时相距不超过 `duplicate_radius_m` 米的，按相似度排列（`likely`）；"
        "以及已合并到本工单的重复工单（`merged`）。社区书记、工单所在网格的网格员、街道管理员可查看；"
        "看得到工单的其他人 403，看不到的 404。不是随手拍的工单答复两个空列表。"
    ),
    example=examples.DUPLICATES,
    operation_id="listOrderDuplicates",
    response=DuplicateList,
    errors=(401, 403, 404),
)
def order_duplicates(actor: Actor, order_id: int) -> DuplicateList:
    return duplicates.order_duplicates(runtime(), actor, order_id)


@endpoint(
    bp,
    "/orders/<id:order_id>/duplicate-of",
    method="POST",
    summary="合并重复：把随手拍合并到反映同一问题的原工单",
    description=(
        "**谁可以操作**：社区书记、工单所在网格的网格员。"
        "**状态**：submitted、assigned、pooled → cancelled（记为 merge）。"
        "本工单的 `duplicate_of` 指向原工单，处理记录写明原因（`note` 可补充说明），"
        "举报人收到「已合并到 #编号」的通知；"
        "原工单办结（completed 或 closed）时，每位被合并工单的举报人各收到一次通知。"
        "原工单本身已被合并时，合并到它的原工单（不形成链）；合并到本工单的工单随之改指向新的原工单。"
        "拒绝且不写入任何内容：合并到自己、原工单已办结或已取消、不同社区或不同类型（400 `original`）；"
        "看不到原工单（其他社区、不负责的网格）404；本工单不是随手拍或状态不允许 409。"
    ),
    example=examples.MERGED_REPORT,
    operation_id="mergeDuplicateOrder",
    body=DuplicateOfIn,
    response=OrderEnvelope,
    errors=(400, 401, 403, 404, 409, 422),
)
def duplicate_of(actor: Actor, order_id: int, body: DuplicateOfIn) -> OrderEnvelope:
    return OrderEnvelope(order=merging.link_duplicate(runtime(), actor, order_id, body.original, body.note))
