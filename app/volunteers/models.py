"""Volunteer teams and volunteers' skills: whom an order can go to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk, updated_at
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

    # Ranking candidates starts from those who have the order's skill: (skill, user) finds them
    # without reading anyone else's skills.
    __table_args__ = (sa.Index("ix_user_skills_skill_user_id", "skill", "user_id"),)

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
    #: Dispatches accepted and the minutes from dispatch to accept, summed (the mean response
    #: time), counted in the accept's transaction.
    accepted_count: Mapped[int] = mapped_column(default=0, server_default="0")
    accept_minutes_sum: Mapped[int] = mapped_column(sa.BigInteger(), default=0, server_default="0")


class VolunteerProfile(Base):
    """A volunteer's registry entry (技能特长信息库) besides their skills: how many orders they take
    on at once, and whether they are a party member, an in-service one reporting to the community
    (在职党员双报到) from an employer unit which asks so many service hours a year. No row: the
    defaults (``app.volunteers.profiles``)."""

    # The rules (1 ≤ max_active, 双报到 only for party members, a unit only with 双报到) are checked
    # by app.volunteers.profiles.validate; the schema keeps CHECK constraints for enums only
    # (tests/migrations/test_enum_checks.py).
    __tablename__ = "volunteer_profiles"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    max_active: Mapped[int]
    party_member: Mapped[bool] = mapped_column(default=False)
    in_service: Mapped[bool] = mapped_column(default=False)
    employer_unit: Mapped[str | None] = mapped_column(sa.String(64))
    #: Service hours a year the employer unit asks of them.
    unit_hours: Mapped[int | None]
    updated_at: Mapped[updated_at]


class VolunteerAvailability(Base):
    """One weekly slot a volunteer is free, as minutes of the week in Asia/Shanghai (Monday 00:00 is
    0, Sunday 24:00 is 10080): a slot is one integer range, so "free at the order's time" is one
    range comparison on the primary key, whatever the weekday."""

    __tablename__ = "volunteer_availability"
    # Who is free at an order's time: the slots starting that day before the order's window ends
    # (app.orders.candidates), a range of this index that carries everything the check reads.
    __table_args__ = (sa.Index("ix_volunteer_availability_starts_ends_user_id", "starts", "ends", "user_id"),)

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    starts: Mapped[int] = mapped_column(primary_key=True)
    ends: Mapped[int]
