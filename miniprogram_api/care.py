"""Care (关爱): tags on households and recurring care plans (thin views over app.care)."""

from __future__ import annotations

from datetime import time

from flask import Blueprint

from app.care import plans, tags
from app.care.shapes import (
    CareHouseholdPage,
    CareHouseholdTags,
    CarePlanEnvelope,
    CarePlanPage,
    CareTagVocabulary,
    CareVisitPage,
)
from app.care.vocabulary import PlanStatus
from app.identity.actor import Actor
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import (
    CareHouseholdQuery,
    CarePlanIn,
    CarePlanPatchIn,
    CarePlanQuery,
    CareTagsIn,
    EmptyIn,
    PageQuery,
)

bp = Blueprint("care", __name__, url_prefix="/api/v1")

_WHO = "社区书记（本社区）与网格员（所负责网格的住户）；其他角色 403，不在负责范围内的住户、区域、计划一律 404。"


@endpoint(
    bp,
    "/care/tags",
    method="GET",
    summary="关爱标签词表（独居老人、高龄、困难家庭、残疾、留守）",
    description="社区书记、网格员。固定词表：`tag` 是编码，`label` 是中文。",
    example=examples.CARE_TAGS,
    operation_id="listCareTags",
    response=CareTagVocabulary,
    errors=(401, 403),
)
def list_care_tags(actor: Actor) -> CareTagVocabulary:
    return tags.vocabulary(actor)


@endpoint(
    bp,
    "/care/households",
    method="GET",
    summary="关爱对象：有关爱标签的住户（排探访用）",
    description=(
        f"{_WHO}`area` 为社区或网格；`tag` 只看一类。按住户排序分页。"
        "标签只在关爱相关的答复里出现，工单、选人列表、住户信息都不带标签。"
    ),
    example=examples.CARE_HOUSEHOLDS,
    query=CareHouseholdQuery,
    response=CareHouseholdPage,
    errors=(400, 401, 403, 404),
)
def list_care_households(actor: Actor, query: CareHouseholdQuery) -> CareHouseholdPage:
    return tags.list_care_households(
        runtime(), actor, area=query.area, tag=query.tag, limit=query.limit, cursor=query.cursor
    )


@endpoint(
    bp,
    "/households/<id:user_id>/care-tags",
    method="PUT",
    summary="设置住户的关爱标签（整体替换；空列表即清除）",
    description=(
        f"{_WHO}每个标签的设置、备注修改、清除都写一条审计记录（`care_tag_changed`）。"
        "备注只有社区工作人员和居民本人（在数据导出里）看得到。"
    ),
    example=examples.CARE_HOUSEHOLD_TAGS,
    operation_id="setCareTags",
    body=CareTagsIn,
    response=CareHouseholdTags,
    errors=(400, 401, 403, 404),
)
def set_care_tags(actor: Actor, user_id: int, body: CareTagsIn) -> CareHouseholdTags:
    wanted = [tags.TagInput(tag=item.tag, note=item.note) for item in body.tags]
    return tags.set_care_tags(runtime(), actor, user_id, wanted)


@endpoint(
    bp,
    "/care/plans",
    method="POST",
    summary="新建关爱探访计划（每周、每两周或每月，由一位志愿者上门）",
    description=(
        f"{_WHO}志愿者须是住户所在社区的志愿者，服务类别须是该社区启用的，否则 400；"
        "`every` 为 week / two_weeks 时填 `weekday`（1–7），为 month 时填 `day`（1–31，小月取月末）；"
        "`starts_on` 不早于今天（上海时间），`ends_on` 不早于 `starts_on`。备注会给志愿者看，先经内容安全检查（422）。"
        "每次探访的工单在探访前 `[care] lead_hours` 小时自动生成：代居民下单，直接派给该志愿者。"
    ),
    example=examples.CARE_PLAN_ENVELOPE,
    operation_id="createCarePlan",
    body=CarePlanIn,
    response=CarePlanEnvelope,
    status=201,
    errors=(400, 401, 403, 404, 422),
)
def create_care_plan(actor: Actor, body: CarePlanIn) -> CarePlanEnvelope:
    hour, minute = (int(part) for part in body.time.split(":"))
    new = plans.NewPlan(
        household=body.household,
        volunteer=body.volunteer,
        category=body.category,
        every=body.every,
        at=time(hour, minute),
        starts_on=body.starts_on,
        weekday=body.weekday,
        day=body.day,
        ends_on=body.ends_on,
        note=body.note,
    )
    return plans.create_plan(runtime(), actor, new)


@endpoint(
    bp,
    "/care/plans",
    method="GET",
    summary="关爱探访计划列表",
    description=f"{_WHO}`area` 为社区或网格；`status` 只看一种状态。最新的在前。",
    example=examples.CARE_PLANS,
    operation_id="listCarePlans",
    query=CarePlanQuery,
    response=CarePlanPage,
    errors=(400, 401, 403, 404),
)
def list_care_plans(actor: Actor, query: CarePlanQuery) -> CarePlanPage:
    return plans.list_plans(
        runtime(), actor, area=query.area, status=query.status, limit=query.limit, cursor=query.cursor
    )


@endpoint(
    bp,
    "/care/plans/<id:plan_id>",
    method="PATCH",
    summary="暂停、恢复关爱计划，或改由另一位志愿者探访",
    description=(f"{_WHO}暂停期间不生成探访；已生成的探访工单不受影响。已结束的计划答复 409 `conflict`。至少填一项。"),
    example=examples.CARE_PLAN_ENVELOPE,
    operation_id="updateCarePlan",
    body=CarePlanPatchIn,
    response=CarePlanEnvelope,
    errors=(400, 401, 403, 404, 409),
)
def update_care_plan(actor: Actor, plan_id: int, body: CarePlanPatchIn) -> CarePlanEnvelope:
    status = PlanStatus(body.status) if body.status is not None else None
    return plans.update_plan(runtime(), actor, plan_id, status=status, volunteer=body.volunteer)


@endpoint(
    bp,
    "/care/plans/<id:plan_id>/end",
    method="POST",
    summary="结束关爱计划",
    description=f"{_WHO}结束后不再生成探访，不能恢复；已结束的原样答复。",
    example=examples.CARE_PLAN_ENDED,
    operation_id="endCarePlan",
    body=EmptyIn,
    response=CarePlanEnvelope,
    errors=(400, 401, 403, 404),
)
def end_care_plan(actor: Actor, plan_id: int, body: EmptyIn) -> CarePlanEnvelope:
    del body  # the action takes no input
    return plans.end_plan(runtime(), actor, plan_id)


@endpoint(
    bp,
    "/care/plans/<id:plan_id>/visits",
    method="GET",
    summary="关爱计划的每次探访及其工单、状态",
    description=(
        f"{_WHO}`state`：scheduled 待探访、done 已探访、missed 未按时探访（已提醒社区书记）、"
        "late 逾期后已探访。最新的在前。"
    ),
    example=examples.CARE_VISITS,
    operation_id="listCareVisits",
    query=PageQuery,
    response=CareVisitPage,
    errors=(400, 401, 403, 404),
)
def list_care_visits(actor: Actor, plan_id: int, query: PageQuery) -> CareVisitPage:
    return plans.list_visits(runtime(), actor, plan_id, limit=query.limit, cursor=query.cursor)
