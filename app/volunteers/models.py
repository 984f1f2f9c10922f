"""Volunteer teams and volunteers' skills: whom an order can go to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class Team(Base):
    """志愿服务队: an order dispatched to a team may be accepted by any member."""

    __tablename__ = "teams"
    # Dispatchers pick a team by its name: two teams of one name in a community could not be told
    # apart in the picker, and a second tap on 「创建」 would make a twin.
    __table_args__ = (sa.UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    # No index of its own: the unique constraint's index leads with the community.
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE", index=False)
    name: Mapped[str] = mapped_column(sa.String(64))
    #: A volunteer of the community and a member of the team (removing them as a member clears it).
    leader_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    # The primary key leads with the group; "which groups is this person in" (asked on every order
    # read by a member) needs an index of its own, or it scans the table.
    user_id: Mapped[int] = mapped_column(
        ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserSkill(Base):
    """A skill a volunteer has (matches ``ServiceCategory.skill``)."""

    __tablename__ = "user_skills"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class VolunteerStats(Base):
    """Running figures of a volunteer's ratings, kept in the transaction that writes each rating, so
    that ranking candidates reads one row per volunteer instead of aggregating every rating they
    ever had (0.4 s of 0.6 s for a community of 10,000 volunteers on the seeded city)."""

    __tablename__ = "volunteer_stats"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    rated_count: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[int] = mapped_column(default=0)
