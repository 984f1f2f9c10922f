"""The area tree as staff manage their part of it (thin views over app.community.areas)."""

from __future__ import annotations

from flask import Blueprint

from app.community import areas
from app.community.shapes import AreaEnvelope, AreaList
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import AreaIn, AreaListQuery, AreaRenameIn, EmptyIn

bp = Blueprint("areas", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/areas",
    method="GET",
    summary="下级区域及其住户、志愿者、未办结工单数",
    description=(
        "街道管理员（本街道及以下）、社区书记（本社区及以下）、网格员（所负责的网格及其楼栋）。"
        "`parent` 为街道时即本街道各社区的对比；不填 `parent` 列出本人负责的区域。"
        "不在负责范围内的区域一律 404。"
    ),
    example=examples.AREAS,
    query=AreaListQuery,
    response=AreaList,
    errors=(400, 401, 403, 404),
)
def list_areas(actor: Actor, query: AreaListQuery) -> AreaList:
    return areas.list_areas(runtime(), actor, query.parent)


@endpoint(
    bp,
    "/areas/<code>",
    method="GET",
    summary="一个区域及其上级路径",
    description="可见范围同区域列表；其他街道、社区的区域一律 404。",
    example=examples.AREA_ENVELOPE,
    operation_id="getArea",
    response=AreaEnvelope,
    errors=(401, 403, 404),
)
def get_area(actor: Actor, code: str) -> AreaEnvelope:
    return areas.get_area(runtime(), actor, code)


@endpoint(
    bp,
    "/areas",
    method="POST",
    summary="添加区域（街道管理员：社区及以下；社区书记：网格、楼栋）",
    description=(
        "类型须与上级相符（街道→社区→网格→楼栋，否则 400）；编码在任何地方已被使用答复 409 "
        "`area_code_taken`；名称经内容安全检查（422）。新社区自带默认技能库，服务类别由社区书记设置。"
    ),
    example=examples.AREA_ENVELOPE,
    body=AreaIn,
    response=AreaEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
def create_area(actor: Actor, body: AreaIn) -> AreaEnvelope:
    return areas.add_area(runtime(), actor, kind=body.kind, code=body.code, name=body.name, parent=body.parent)


@endpoint(
    bp,
    "/areas/<code>",
    method="PATCH",
    summary="区域改名",
    description="权限同添加区域；名称经内容安全检查（422）。",
    example=examples.AREA_ENVELOPE,
    operation_id="renameArea",
    body=AreaRenameIn,
    response=AreaEnvelope,
    errors=(400, 401, 403, 404, 422),
)
def rename_area(actor: Actor, code: str, body: AreaRenameIn) -> AreaEnvelope:
    return areas.rename_area(runtime(), actor, code, body.name)


@endpoint(
    bp,
    "/areas/<code>/retire",
    method="POST",
    summary="停用区域（不删除：住户和工单仍指向它，但不再接收新的）",
    description=(
        "权限同添加区域。仍有未停用的下级区域或未办结的工单时答复 409 `area_in_use`，"
        "`details` 给出 `children`、`open_orders` 的数目。已停用：原样答复。"
    ),
    example=examples.AREA_ENVELOPE,
    operation_id="retireArea",
    body=EmptyIn,
    response=AreaEnvelope,
    errors=(400, 401, 403, 404, 409),
)
def retire_area(actor: Actor, code: str, body: EmptyIn) -> AreaEnvelope:
    del body  # the action takes no input
    return areas.retire_area(runtime(), actor, code)
