"""Care tags on households, recurring care plans, and each planned visit (occurrence)."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.care.vocabulary import CareTag, Every, PlanStatus
from app.core.columns import created_at, fk, intpk, updated_at
from app.core.db import Base

#: The predicates of the visits' partial indexes, which the scans repeat word for word.
PENDING = "missed_alerted_at IS NULL AND done_at IS NULL"
ALERTED_PENDING = "missed_alerted_at IS NOT NULL AND late_at IS NULL"


class HouseholdCareTag(Base):
    """One tag on one household (独居老人, 困难家庭 …). Staff only: no answer to a resident,
    volunteer or another community carries it (the resident's own export does)."""

    __tablename__ = "household_care_tags"
    __table_args__ = (
        sa.UniqueConstraint("household_id", "tag"),
        # The staff's list of a community's tagged households walks this in household order and
        # stops at the page's end (with ?tag= too: a community's tags are few beside its homes).
        sa.Index("ix_household_care_tags_community_id_household_id", "community_id", "household_id"),
    )

    id: Mapped[intpk]
    household_id: Mapped[int] = fk("households.id", ondelete="CASCADE", index=False)
    #: The household's community when tagged: a tag counts only while the household still lives there.
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    tag: Mapped[CareTag]
    note: Mapped[str] = mapped_column(sa.String(100), default="")
    set_by_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class CarePlan(Base):
    """A recurring visit to a household by one volunteer (关爱探访计划)."""

    __tablename__ = "care_plans"
    __table_args__ = (
        # A community's plans, newest first; the job reads the active ones.
        sa.Index("ix_care_plans_community_id_id", "community_id", "id"),
        sa.Index("ix_care_plans_status", "status"),
    )

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="RESTRICT", index=False)
    household_id: Mapped[int] = fk("households.id", ondelete="CASCADE")
    #: The resident the visits' orders are placed for (the household's user).
    resident_id: Mapped[int] = fk("users.id", ondelete="CASCADE", index=False)
    volunteer_id: Mapped[int] = fk("users.id", ondelete="RESTRICT")
    category_id: Mapped[int] = fk("service_categories.id", ondelete="RESTRICT", index=False)
    every: Mapped[Every]
    #: ISO weekday (1 = Monday) for week / two_weeks; None for month.
    weekday: Mapped[int | None]
    #: Day of the month (1–31, the last day in shorter months) for month; None otherwise.
    day: Mapped[int | None]
    #: Shanghai wall-clock time of the visit.
    at: Mapped[time]
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[PlanStatus]
    #: The staff member who made the plan: the visits' orders are posted by them (代下单).
    created_by_id: Mapped[int] = fk("users.id", ondelete="RESTRICT", index=False)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class CareVisit(Base):
    """One occurrence of a plan: made once (the unique key), with the order it placed."""

    __tablename__ = "care_visits"
    __table_args__ = (
        # Concurrent job runs insert the same occurrence: exactly one wins.
        sa.UniqueConstraint("plan_id", "on_date"),
        # The missed-visit scan: occurrences neither settled as done nor alerted yet, by due end
        # (a settled one leaves the index, so the scan reads only what may still be missed).
        sa.Index(
            "ix_care_visits_pending_due_end",
            "due_end",
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        ),
        # Alerted occurrences still waiting to learn whether they were done late.
        sa.Index(
            "ix_care_visits_alerted_pending",
            "missed_alerted_at",
            postgresql_where=sa.text(ALERTED_PENDING),
            sqlite_where=sa.text(ALERTED_PENDING),
        ),
    )

    id: Mapped[intpk]
    plan_id: Mapped[int] = fk("care_plans.id", ondelete="CASCADE", index=False)
    #: The Shanghai date of the visit.
    on_date: Mapped[date]
    due_start: Mapped[datetime]
    #: By when the visit should be completed (the order's preferred_end).
    due_end: Mapped[datetime]
    order_id: Mapped[int | None] = fk("orders.id", ondelete="SET NULL", nullable=True)
    #: When the community's secretaries were told it was missed; set once (conditional UPDATE).
    missed_alerted_at: Mapped[datetime | None]
    #: When a visit alerted as missed was completed after all.
    late_at: Mapped[datetime | None]
    #: When the visit's order was completed, recorded once its due end and grace passed with it done.
    done_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
