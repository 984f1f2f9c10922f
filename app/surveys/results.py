"""测评结果: each company's month per community and in total, and the flags raised to the street.

Set-based: four GROUP BY statements whatever the number of responses (surveys, responses, answer
sums, orders), keyed by (company, community); totals are the sums of those rows, so the
per-community rows always add up to the company's total (app/surveys/rules.py ``Tally``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.areas.models import Area, AreaKind
from app.areas.tree import get_area
from app.core.clock import shanghai_day_bounds
from app.core.config import SurveysSection
from app.core.errors import ForbiddenError, InvalidInputError, NotFoundError
from app.identity.actor import Actor
from app.identity.roles import Role
from app.orders.models import Order, Rating
from app.property.models import PropertyCompany
from app.runtime import Runtime
from app.surveys.models import PropertyEvaluationFlag, PropertySurvey, SurveyAnswer, SurveyResponse
from app.surveys.questions import CODES, QUESTIONS
from app.surveys.rules import EMPTY, Tally, below, enough, next_month, parse_month, scores_of
from app.surveys.shapes import (
    CommunityEvaluation,
    CompanyEvaluation,
    CompanyRef,
    EvaluationFigures,
    EvaluationsOut,
    FlagList,
    FlagOut,
    OrderFigures,
    QuestionOut,
)

_READERS: Final = (Role.SECRETARY, Role.STREET_ADMIN)
#: (company id, community id)
Key = tuple[int, int]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants at which the Shanghai month ``YYYY-MM`` starts and the next one starts."""
    start, _ = shanghai_day_bounds(parse_month(month))
    end, _ = shanghai_day_bounds(parse_month(next_month(month)))
    return start, end


def tallies(
    session: Session, month: str, communities: Collection[int] | None
) -> tuple[dict[Key, Tally], dict[Key, int]]:
    """The month's raw sums per (company, community), over ``communities`` (None: all), and the
    number of surveys opened per key. A key appears with a survey or with an order dispatched to
    the company there that month."""

    def within(column: Any) -> list[Any]:
        return [] if communities is None else [column.in_(sorted(communities))]

    surveys: dict[Key, int] = {
        (c, a): n
        for c, a, n in session.execute(
            sa.select(PropertySurvey.company_id, PropertySurvey.community_id, sa.func.count())
            .where(PropertySurvey.month == month, *within(PropertySurvey.community_id))
            .group_by(PropertySurvey.company_id, PropertySurvey.community_id)
        )
    }
    responses: dict[Key, int] = {
        (c, a): n
        for c, a, n in session.execute(
            sa.select(PropertySurvey.company_id, PropertySurvey.community_id, sa.func.count(SurveyResponse.id))
            .join(SurveyResponse, SurveyResponse.survey_id == PropertySurvey.id)
            .where(PropertySurvey.month == month, *within(PropertySurvey.community_id))
            .group_by(PropertySurvey.company_id, PropertySurvey.community_id)
        )
    }
    sums: dict[Key, dict[str, int]] = defaultdict(dict)
    for c, a, question, total in session.execute(
        sa.select(
            PropertySurvey.company_id,
            PropertySurvey.community_id,
            SurveyAnswer.question,
            sa.func.sum(SurveyAnswer.score),
        )
        .join(SurveyResponse, SurveyResponse.survey_id == PropertySurvey.id)
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(PropertySurvey.month == month, *within(PropertySurvey.community_id))
        .group_by(PropertySurvey.company_id, PropertySurvey.community_id, SurveyAnswer.question)
    ):
        sums[(c, a)][question] = int(total or 0)
    start, end = month_bounds(month)
    orders: dict[Key, tuple[int, int, int, int]] = {
        (c, a): (int(n), int(done or 0), int(rated), int(score or 0))
        for c, a, n, done, rated, score in session.execute(
            sa.select(
                Order.property_company_id,
                Order.community_id,
                sa.func.count(),
                sa.func.sum(sa.case((Order.completed_at.is_not(None), 1), else_=0)),
                sa.func.count(Rating.id),
                sa.func.sum(Rating.score),
            )
            .outerjoin(Rating, Rating.order_id == Order.id)
            .where(
                Order.property_company_id.is_not(None),
                Order.dispatched_at >= start,
                Order.dispatched_at < end,
                *within(Order.community_id),
            )
            .group_by(Order.property_company_id, Order.community_id)
        )
    }
    result: dict[Key, Tally] = {}
    for key in surveys.keys() | orders.keys():
        dispatched, completed, ratings, rating_sum = orders.get(key, (0, 0, 0, 0))
        result[key] = Tally(
            responses=responses.get(key, 0),
            score_sums={code: sums[key].get(code, 0) for code in CODES} if key in sums else dict(EMPTY.score_sums),
            dispatched=dispatched,
            completed=completed,
            ratings=ratings,
            rating_sum=rating_sum,
        )
    return result, surveys


def figures(tally: Tally, surveys: int, cfg: SurveysSection) -> EvaluationFigures:
    """The answer's figures of one row (a community, or a company's total)."""
    scores = scores_of(tally)
    return EvaluationFigures(
        surveys=surveys,
        responses=tally.responses,
        means=dict(scores.means),
        survey_score=scores.survey_score,
        orders=OrderFigures(
            dispatched=tally.dispatched,
            completed=tally.completed,
            ratings=tally.ratings,
            completion_rate=scores.completion_rate,
            mean_rating=scores.mean_rating,
        ),
        order_score=scores.order_score,
        score=scores.score,
        enough=enough(tally, cfg.min_responses),
        below=below(tally, threshold=cfg.threshold, min_responses=cfg.min_responses),
    )


def questions_out() -> list[QuestionOut]:
    return [QuestionOut(code=q.code, label=q.label) for q in QUESTIONS]


def _scope(session: Session, actor: Actor, code: str) -> tuple[Area, list[int]]:
    """The area and its communities for a reader: a secretary's (or street admin's) community,
    a street admin's street. NotFoundError for any other, the same as for an unknown code."""
    area = get_area(session, code)
    if area.kind is AreaKind.COMMUNITY and area.id in actor.communities_as(*_READERS):
        return area, [area.id]
    if area.kind is AreaKind.STREET and _admin_of(actor, area):
        communities = session.scalars(
            sa.select(Area.id).where(Area.parent_id == area.id, Area.kind == AreaKind.COMMUNITY)
        ).all()
        return area, list(communities)
    raise NotFoundError("找不到该区域", details={"area": code})


def _admin_of(actor: Actor, street: Area) -> bool:
    return any(m.role is Role.STREET_ADMIN and m.area_id == street.id for m in actor.memberships)


def _check_month(month: str) -> None:
    try:
        parse_month(month)
    except ValueError:
        raise InvalidInputError(
            "月份格式应为 YYYY-MM", details={"fields": [{"field": "month", "problem": "expected YYYY-MM"}]}
        ) from None


def get_evaluations(rt: Runtime, actor: Actor, *, area: str, month: str) -> EvaluationsOut:
    """Secretaries (their community) and street admins (their street, or one of its communities):
    each company's evaluation of ``month``, per community and in total. ForbiddenError for anyone
    else (property staff included: the street judges them, docs/api.md); NotFoundError for an area
    not theirs; InvalidInputError for a malformed month."""
    if not actor.communities_as(*_READERS):
        raise ForbiddenError("只有社区书记或街道管理员可以查看物业测评")
    _check_month(month)
    cfg = rt.settings.surveys
    with rt.db.read() as session:
        place, communities = _scope(session, actor, area)
        rows, surveys = tallies(session, month, communities)
        codes = dict(session.execute(sa.select(Area.id, Area.code).where(Area.id.in_(communities))).all())
        names = _company_names(session, {company for company, _ in rows})
    by_company: dict[int, list[Key]] = defaultdict(list)
    for key in sorted(rows, key=lambda k: (k[0], codes.get(k[1], ""))):
        by_company[key[0]].append(key)
    companies = []
    for company_id, keys in by_company.items():
        total = sum((rows[k] for k in keys), EMPTY)
        companies.append(
            CompanyEvaluation(
                company=CompanyRef(id=company_id, name=names.get(company_id, "")),
                totals=figures(total, sum(surveys.get(k, 0) for k in keys), cfg),
                by_community=[
                    CommunityEvaluation(community=codes[k[1]], **figures(rows[k], surveys.get(k, 0), cfg).model_dump())
                    for k in keys
                ],
            )
        )
    return EvaluationsOut(
        area=place.code,
        month=month,
        threshold=cfg.threshold,
        min_responses=cfg.min_responses,
        questions=questions_out(),
        companies=companies,
    )


def _company_names(session: Session, ids: Collection[int]) -> dict[int, str]:
    return dict(
        session.execute(
            sa.select(PropertyCompany.id, PropertyCompany.name).where(PropertyCompany.id.in_(sorted(ids)))
        ).all()
    )


def list_flags(rt: Runtime, actor: Actor, *, area: str) -> FlagList:
    """Street admins: the flags (黑名单候选) raised in their street, newest month first, each with
    both months' figures. ForbiddenError for anyone else; NotFoundError for another street or a
    code that names no street."""
    if not actor.has_role(Role.STREET_ADMIN):
        raise ForbiddenError("只有街道管理员可以查看物业测评预警")
    with rt.db.read() as session:
        street = session.scalar(sa.select(Area).where(Area.code == area, Area.kind == AreaKind.STREET))
        if street is None or not _admin_of(actor, street):
            raise NotFoundError("找不到该街道", details={"area": area})
        flags = session.scalars(
            sa.select(PropertyEvaluationFlag)
            .where(PropertyEvaluationFlag.street_id == street.id)
            .order_by(PropertyEvaluationFlag.month.desc(), PropertyEvaluationFlag.id)
        ).all()
        names = _company_names(session, {f.company_id for f in flags})
        return FlagList(
            items=[
                FlagOut(
                    id=flag.id,
                    street=street.code,
                    month=flag.month,
                    company=CompanyRef(id=flag.company_id, name=names.get(flag.company_id, "")),
                    evidence={m: EvaluationFigures.model_validate(v) for m, v in flag.evidence.items()},
                    created_at=flag.created_at,
                )
                for flag in flags
            ]
        )
