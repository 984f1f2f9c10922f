"""物业满意度测评: residents answer the month's surveys; secretaries and street admins read the
results and the street's flags (thin views over app.surveys)."""

from __future__ import annotations

from flask import Blueprint

from app.identity.actor import Actor
from app.surveys.answers import answer_survey, list_my_surveys
from app.surveys.results import get_evaluations, list_flags
from app.surveys.shapes import EvaluationsOut, FlagList, ResponseEnvelope, SurveyList
from miniprogram_api import examples
from miniprogram_api.auth import runtime
from miniprogram_api.registry import endpoint
from miniprogram_api.schemas import EvaluationQuery, StreetQuery, SurveyResponseIn

bp = Blueprint("surveys", __name__, url_prefix="/api/v1")


@endpoint(
    bp,
    "/me/surveys",
    method="GET",
    summary="本户可参加的物业测评",
    description="本户所在社区正在进行的物业满意度测评（每个物业企业一份），含已作答的（`answered`）；没有住户信息时为空列表。",
    example=examples.MY_SURVEYS,
    response=SurveyList,
    errors=(401,),
)
def my_surveys(actor: Actor) -> SurveyList:
    return list_my_surveys(runtime(), actor)


@endpoint(
    bp,
    "/surveys/<id:survey_id>/responses",
    method="POST",
    summary="提交物业测评",
    description=(
        "每户每份测评一次：五题各 1–5 分（整数），留言可选（最多 200 字）。"
        "分数缺失或越界 400（`details.fields` 指明题目）；不是本户社区的测评 404；"
        "已截止 409 `survey_closed`；本户已作答 409 `already_answered`。出错时不写入任何数据。"
    ),
    body=SurveyResponseIn,
    example=examples.SURVEY_RESPONSE,
    response=ResponseEnvelope,
    status=201,
    errors=(400, 401, 404, 409),
)
def answer(actor: Actor, survey_id: int, body: SurveyResponseIn) -> ResponseEnvelope:
    return answer_survey(runtime(), actor, survey_id, scores=body.scores.model_dump(), comment=body.comment)


@endpoint(
    bp,
    "/property-evaluations",
    method="GET",
    summary="物业测评结果（社区书记、街道管理员）",
    description=(
        "某月各物业企业的测评：每个社区一行（`by_community`），合计（`totals`）由各行相加而来；作答数、各题平均分、"
        "问卷得分、当月派给该物业的工单（派单、完成、评价）和综合得分，公式见 docs/api.md。物业人员与其他角色 403；"
        "不属于自己的区域 404。"
    ),
    query=EvaluationQuery,
    example=examples.PROPERTY_EVALUATIONS,
    response=EvaluationsOut,
    errors=(400, 401, 403, 404),
)
def property_evaluations(actor: Actor, query: EvaluationQuery) -> EvaluationsOut:
    return get_evaluations(runtime(), actor, area=query.area, month=query.month)


@endpoint(
    bp,
    "/property-evaluations/flags",
    method="GET",
    summary="物业测评预警（黑名单候选，街道管理员）",
    description=(
        "连续两个月综合得分低于标准（且两月作答均足够）的物业企业，每个企业每月一条，附两个月的数据。"
        "其他角色 403；别的街道 404。"
    ),
    query=StreetQuery,
    example=examples.PROPERTY_FLAGS,
    response=FlagList,
    errors=(400, 401, 403, 404),
)
def property_evaluation_flags(actor: Actor, query: StreetQuery) -> FlagList:
    return list_flags(runtime(), actor, area=query.area)
