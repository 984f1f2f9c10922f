"""What the survey use cases answer (the API serialises these as they are)."""

from __future__ import annotations

from pydantic import Field

from app.core.shapes import ShanghaiTime, Shape


class QuestionOut(Shape):
    code: str
    label: str


class CompanyRef(Shape):
    id: int
    name: str


class SurveyOut(Shape):
    id: int
    month: str = Field(description="测评月份 YYYY-MM（上海时间）")
    company: CompanyRef
    community: str = Field(description="社区编码")
    community_name: str
    opened_at: ShanghaiTime
    closes_at: ShanghaiTime
    answered: bool = Field(description="本户是否已作答")
    questions: list[QuestionOut]


class SurveyList(Shape):
    items: list[SurveyOut]


class ResponseOut(Shape):
    id: int
    survey_id: int
    scores: dict[str, int]
    comment: str
    created_at: ShanghaiTime


class ResponseEnvelope(Shape):
    response: ResponseOut


class OrderFigures(Shape):
    dispatched: int = Field(description="当月派给该物业的工单数")
    completed: int = Field(description="其中已完成的")
    ratings: int = Field(description="其中已评价的")
    completion_rate: float | None = Field(description="完成率 0–1；无派单为 null")
    mean_rating: float | None = Field(description="平均评分 1–5；无评价为 null")


class EvaluationFigures(Shape):
    surveys: int = Field(description="开出的测评数（每社区一份）")
    responses: int
    means: dict[str, float | None] = Field(description="各题平均分 1–5，按题目编码；无作答为 null")
    survey_score: float | None = Field(description="问卷得分 0–100")
    orders: OrderFigures
    order_score: float | None = Field(description="工单得分 0–100；无派单为 null")
    score: float | None = Field(description="综合得分 0–100（公式见 docs/api.md）；无作答为 null")
    enough: bool = Field(description="作答户数是否达到 min_responses")
    below: bool = Field(description="作答足够且综合得分低于 threshold")


class CommunityEvaluation(EvaluationFigures):
    community: str


class CompanyEvaluation(Shape):
    company: CompanyRef
    totals: EvaluationFigures
    by_community: list[CommunityEvaluation]


class EvaluationsOut(Shape):
    area: str
    month: str
    threshold: float
    min_responses: int
    questions: list[QuestionOut]
    companies: list[CompanyEvaluation]


class FlagOut(Shape):
    id: int
    street: str
    month: str
    company: CompanyRef
    evidence: dict[str, EvaluationFigures] = Field(description="两个月的数据，按月份 YYYY-MM")
    created_at: ShanghaiTime


class FlagList(Shape):
    items: list[FlagOut]
