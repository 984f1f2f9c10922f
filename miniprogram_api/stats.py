"""统计 for secretaries and street admins (a thin view over app.community.stats)."""

from __future__ import annotations

from flask import Blueprint

from app.community.shapes import StatsOut
from app.community.stats import get_stats
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import StatsQuery

bp = Blueprint("stats", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/stats",
    method="GET",
    summary="工单统计（社区书记、街道管理员）",
    description=(
        "范围内（上海时间，`from` 至 `to` 含当天，最多 366 天）新建的工单：数量、按状态、按服务类别，派单、接单、"
        "完成用时的中位数与 90 分位（最近秩，无数据为 null），超时数、评价数与平均满意度；`totals.previous` 是紧挨着的"
        "等长上一期（环比）。`by_grid` 各网格（无网格为 `area: null`）之和等于总数；街道另有 `by_community`。"
        "`opinions` 是范围内举行的民情走访（按形式、民情条数、转工单数及其中已完成数，`by_grid` 之和等于总数）。"
        "各项定义见 docs/api.md。网格员与其他人 403；不属于自己的区域 404。"
    ),
    example=examples.STATS,
    query=StatsQuery,
    response=StatsOut,
    errors=(400, 401, 403, 404),
)
def stats(actor: Actor, query: StatsQuery) -> StatsOut:
    return get_stats(runtime(), actor, area=query.area, first=query.from_, last=query.to)
