"""The visit log's tables: a visit, the staff present, the households visited, and its items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import created_at, fk, intpk
from app.core.db import Base


class VisitKind(StrEnum):
    """How the staff met the residents."""

    HOME_VISIT = "home_visit"
    TEA_TALK = "tea_talk"
    RECEPTION_DAY = "reception_day"


class OpinionVisit(Base):
    """One visit, talk or reception day: where and when, who was there, how many residents came."""

    __tablename__ = "opinion_visits"
    __table_args__ = (
        # The lists and the statistics: a community's visits held in a range of days.
        sa.Index("ix_opinion_visits_community_id_held_at", "community_id", "held_at"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT", index=False)
    grid_id: Mapped[int | None] = fk("areas.id", ondelete="RESTRICT", index=False, nullable=True)
    kind: Mapped[VisitKind]
    held_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.String(100))
    residents_met: Mapped[int]
    #: Who wrote the log; null once their account is gone.
    recorded_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]


class OpinionVisitStaff(Base):
    """A member of the community's staff present at a visit."""

    __tablename__ = "opinion_visit_staff"

    visit_id: Mapped[int] = fk("opinion_visits.id", ondelete="CASCADE", index=False)
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    __table_args__ = (sa.PrimaryKeyConstraint("visit_id", "user_id"),)


class OpinionVisitHousehold(Base):
    """A household visited (a home visit's, or those who came to a talk)."""

    __tablename__ = "opinion_visit_households"

    visit_id: Mapped[int] = fk("opinion_visits.id", ondelete="CASCADE", index=False)
    household_id: Mapped[int] = fk("households.id", ondelete="CASCADE")
    __table_args__ = (sa.PrimaryKeyConstraint("visit_id", "household_id"),)


class OpinionItem(Base):
    """One thing residents said at a visit (``position`` 1, 2, … in the log), and the order made
    of it, if any: one order per item at most (the unique ``order_id``)."""

    __tablename__ = "opinion_items"
    __table_args__ = (sa.UniqueConstraint("visit_id", "position"),)

    id: Mapped[intpk]
    visit_id: Mapped[int] = fk("opinion_visits.id", ondelete="CASCADE", index=False)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(sa.String(500))
    #: The staff's own label for what it is about (环境卫生 …); free text, not a service category.
    category: Mapped[str] = mapped_column(sa.String(32), default="")
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", nullable=True, unique=True)
    ordered_at: Mapped[datetime | None]
