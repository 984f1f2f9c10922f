"""Volunteer teams and volunteers' skills: whom an order can go to."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.columns import ID_TYPE, created_at, fk, intpk
from app.core.db import Base


class Team(Base):
    """志愿服务队: an order dispatched to a team may be accepted by any member."""

    __tablename__ = "teams"

    id: Mapped[intpk]
    community_id: Mapped[int] = fk("areas.id", ondelete="CASCADE")
    name: Mapped[str] = mapped_column(sa.String(64))
    leader_id: Mapped[int | None] = fk("users.id", ondelete="SET NULL", index=False, nullable=True)
    created_at: Mapped[created_at]


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class UserSkill(Base):
    """A skill a volunteer has (matches ``ServiceCategory.skill``)."""

    __tablename__ = "user_skills"

    user_id: Mapped[int] = mapped_column(ID_TYPE, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
