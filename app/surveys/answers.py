"""Residents and the month's surveys: the open ones of their household's community, and their
household's one answer to each."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.areas.models import Area
from app.core.clock import now_utc
from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.identity.actor import Actor
from app.identity.models import Household
from app.property.models import PropertyCompany
from app.runtime import Runtime
from app.surveys.models import PropertySurvey, SurveyAnswer, SurveyResponse
from app.surveys.questions import CODES, COMMENT_MAX, SCORE_MAX, SCORE_MIN
from app.surveys.results import questions_out
from app.surveys.shapes import CompanyRef, ResponseEnvelope, ResponseOut, SurveyList, SurveyOut


class SurveyClosedError(ConflictError):
    code = "survey_closed"


class AlreadyAnsweredError(ConflictError):
    code = "already_answered"


def list_my_surveys(rt: Runtime, actor: Actor, now: datetime | None = None) -> SurveyList:
    """Any logged-in user: the surveys open now in their household's community, answered by the
    household or not, newest month first; an empty list without a household."""
    now = now or now_utc()
    with rt.db.read() as session:
        household = session.scalar(sa.select(Household).where(Household.user_id == actor.user_id))
        if household is None:
            return SurveyList(items=[])
        answered = (
            sa.select(SurveyResponse.id)
            .where(SurveyResponse.survey_id == PropertySurvey.id, SurveyResponse.household_id == household.id)
            .exists()
        )
        rows = session.execute(
            sa.select(PropertySurvey, PropertyCompany.name, Area.code, Area.name, answered)
            .join(PropertyCompany, PropertyCompany.id == PropertySurvey.company_id)
            .join(Area, Area.id == PropertySurvey.community_id)
            .where(
                PropertySurvey.community_id == household.community_id,
                PropertySurvey.opened_at <= now,
                PropertySurvey.closes_at > now,
            )
            .order_by(PropertySurvey.month.desc(), PropertySurvey.id)
        ).all()
        questions = questions_out()
        return SurveyList(
            items=[
                SurveyOut(
                    id=survey.id,
                    month=survey.month,
                    company=CompanyRef(id=survey.company_id, name=company),
                    community=code,
                    community_name=community,
                    opened_at=survey.opened_at,
                    closes_at=survey.closes_at,
                    answered=bool(done),
                    questions=questions,
                )
                for survey, company, code, community, done in rows
            ]
        )


def _check(scores: Mapping[str, int], comment: str) -> None:
    # The API's schema checks the same; this keeps the use case safe for any other caller.
    problems = [
        {"field": f"scores.{code}", "problem": f"an integer {SCORE_MIN}–{SCORE_MAX}"}
        for code in CODES
        if not (type(scores.get(code)) is int and SCORE_MIN <= scores[code] <= SCORE_MAX)
    ]
    problems += [{"field": f"scores.{key}", "problem": "not a question"} for key in sorted(set(scores) - set(CODES))]
    if len(comment) > COMMENT_MAX:
        problems.append({"field": "comment", "problem": f"at most {COMMENT_MAX} characters"})
    if problems:
        raise InvalidInputError("测评答案无效", details={"fields": problems})


def answer_survey(
    rt: Runtime, actor: Actor, survey_id: int, *, scores: Mapping[str, int], comment: str, now: datetime | None = None
) -> ResponseEnvelope:
    """A resident with a household in the survey's community: their household's answer.
    InvalidInputError for a missing or out-of-range score (nothing written); NotFoundError for an
    unknown survey or one of another community; SurveyClosedError (409) outside its window;
    AlreadyAnsweredError (409) when the household answered it already."""
    _check(scores, comment)
    now = now or now_utc()
    with rt.db.write() as session:
        household = session.scalar(sa.select(Household).where(Household.user_id == actor.user_id))
        survey = session.get(PropertySurvey, survey_id)
        if survey is None or household is None or household.community_id != survey.community_id:
            raise NotFoundError("找不到该测评")
        if not survey.opened_at <= now < survey.closes_at:
            raise SurveyClosedError("该测评已截止")
        response = SurveyResponse(survey_id=survey.id, household_id=household.id, comment=comment, created_at=now)
        try:
            with session.begin_nested():
                session.add(response)
        except IntegrityError:
            raise AlreadyAnsweredError("本户已参加过该测评") from None
        session.add_all(SurveyAnswer(response_id=response.id, question=code, score=scores[code]) for code in CODES)
        session.flush()
        return ResponseEnvelope(
            response=ResponseOut(
                id=response.id,
                survey_id=survey.id,
                scores={code: scores[code] for code in CODES},
                comment=comment,
                created_at=response.created_at,
            )
        )
