"""A volunteer's running figures (``VolunteerStats``): ratings, counted as they are written, and
response times, counted as dispatches are accepted."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.volunteers.models import VolunteerStats


def record_rating(session: Session, user_id: int, score: int) -> None:
    """Count one rating of ``score`` for ``user_id``, in the caller's transaction."""
    _add(session, user_id, rated_count=1, score_sum=score)


def record_accept(session: Session, user_id: int, minutes: int) -> None:
    """Count one dispatch accepted ``minutes`` after it was made, in the caller's transaction."""
    _add(session, user_id, accepted_count=1, accept_minutes_sum=minutes)


def _add(session: Session, user_id: int, **amounts: int) -> None:
    """One upsert adding ``amounts`` to the volunteer's figures: concurrent writers add up (the
    database increments the row it holds), and the first one creates it (the rest at 0)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(VolunteerStats).values(user_id=user_id, **amounts)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[VolunteerStats.user_id],
            set_={name: getattr(VolunteerStats, name) + getattr(statement.excluded, name) for name in amounts},
        )
    )
