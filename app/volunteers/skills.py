"""Volunteers' skills (matched against a category's ``skill`` when ranking candidates)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.volunteers.models import UserSkill


def skills_of(session: Session, user_id: int) -> list[str]:
    """The user's skills, sorted."""
    return list(
        session.scalars(sa.select(UserSkill.skill).where(UserSkill.user_id == user_id).order_by(UserSkill.skill))
    )


def replace_skills(session: Session, user_id: int, skills: list[str]) -> None:
    """Helper for a use case (flushes only): the user's skills become exactly ``skills``."""
    session.execute(sa.delete(UserSkill).where(UserSkill.user_id == user_id))
    for skill in sorted(set(skills)):
        session.add(UserSkill(user_id=user_id, skill=skill))
    session.flush()
