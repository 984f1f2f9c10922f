"""时间银行: a volunteer's points, and a secretary's adjustments (thin views over
app.timebank.statement and app.community.points)."""

from __future__ import annotations

from flask import Blueprint

from app.community.points import adjust_points
from app.identity.actor import Actor
from app.timebank.shapes import PointsEntryEnvelope, PointsPage
from app.timebank.statement import list_points
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import PageQuery, PointsAdjustmentIn

bp = Blueprint("points", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/points",
    method="GET",
    summary="我的时间银行积分（余额与明细）",
    description=(
        "志愿者本人。`balance` 是全部明细之和；`held` 是差评后待回访确认、尚未计入余额的积分。明细按时间倒序分页，"
        "`kind` 为 earned、held、released、forfeited、reversed、adjusted、redeemed、redemption_refunded，"
        "`label` 是原因的中文说明，`minutes` 是计入的服务时长（收回时为负）。"
    ),
    example=examples.POINTS,
    query=PageQuery,
    response=PointsPage,
    errors=(400, 401, 403),
)
def get_points(actor: Actor, query: PageQuery) -> PointsPage:
    return list_points(runtime(), actor, limit=query.limit, cursor=query.cursor)


@endpoint(
    bp,
    "/points/adjustments",
    method="POST",
    summary="调整志愿者积分（社区书记）",
    description=(
        "本社区志愿者（其他社区的答复 404）。`delta` 为正是补发、为负是扣减，不能为 0；`reason` 必填，志愿者会看到，"
        "先经内容安全检查。扣减后余额不能低于 0（409 `insufficient_points`）。写一条审计记录（`points_adjusted`），"
        "并通知志愿者。"
    ),
    example={"entry": examples.POINTS_ENTRY},
    body=PointsAdjustmentIn,
    response=PointsEntryEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
def create_adjustment(actor: Actor, body: PointsAdjustmentIn) -> PointsEntryEnvelope:
    entry = adjust_points(runtime(), actor, body.volunteer_id, body.delta, body.reason)
    return PointsEntryEnvelope(entry=entry)
