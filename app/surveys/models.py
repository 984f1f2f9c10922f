"""The month's surveys (one per company and community served), residents' answers, and the flags
raised to the street when a company stays below the threshold two months running."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class PropertySurvey(Base):
    """One company's survey in one community it serves, for one Shanghai month."""

    __tablename__ = "property_surveys"
    __table_args__ = (
        # Opening is idempotent by this key, not by a look first: two job processes, or a re-run,
        # cannot open a month's survey twice.
        sa.UniqueConstraint("company_id", "community_id", "month"),
        # "The open surveys of my community": the resident's list.
        sa.Index("ix_property_surveys_community_id_closes_at", "community_id", "closes_at"),
        sa.Index("ix_property_surveys_month", "month"),
    )

    id: Mapped[intpk]
    company_id: Mapped[int] = fk("property_companies.id", ondelete="CASCADE", index=False)
    community_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT", index=False)
    #: The Shanghai month evaluated, ``YYYY-MM``.
    month: Mapped[str] = mapped_column(sa.String(7))
    opened_at: Mapped[datetime]
    #: Answers are taken before this moment only (``[surveys] window_days`` after opening).
    closes_at: Mapped[datetime]
    created_at: Mapped[created_at]


class SurveyResponse(Base):
    """One household's answer to a survey; the scores are its ``SurveyAnswer`` rows."""

    __tablename__ = "survey_responses"
    # One answer per household: the constraint decides, so two taps at once cannot both count.
    __table_args__ = (sa.UniqueConstraint("survey_id", "household_id"),)

    id: Mapped[intpk]
    survey_id: Mapped[int] = fk("property_surveys.id", ondelete="CASCADE", index=False)
    #: None once the household is gone (an erased account): its answer still counts in the month.
    household_id: Mapped[int | None] = fk("households.id", ondelete="SET NULL", nullable=True)
    comment: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[created_at]


class SurveyAnswer(Base):
    """One question's score (1–5) in a response; the questions are app/surveys/questions.py's."""

    __tablename__ = "survey_answers"
    __table_args__ = (sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    response_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True
    )
    #: The question's code (``QUESTIONS``).
    question: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger())


class PropertyEvaluationFlag(Base):
    """黑名单候选: a company below the threshold in ``month`` and the month before, in one street."""

    __tablename__ = "property_evaluation_flags"
    # Raised once: a re-run of the month's job finds the row and raises nothing more.
    __table_args__ = (sa.UniqueConstraint("street_id", "company_id", "month"),)

    id: Mapped[intpk]
    street_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    company_id: Mapped[int] = fk("property_companies.id", ondelete="CASCADE")
    #: The second of the two months below the threshold, ``YYYY-MM``.
    month: Mapped[str] = mapped_column(sa.String(7))
    #: Both months' figures as they were when the flag was raised (``MonthEvidence`` of each).
    evidence: Mapped[dict[str, Any]] = mapped_column(sa.JSON())
    created_at: Mapped[created_at]
