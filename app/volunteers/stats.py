"""A volunteer's running figures (``VolunteerStats``): ratings, counted as they are written, and
response times, counted as dispatches are accepted."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.volunteers.models import VolunteerStats


def record_rating(session: Session, user_id: int, score: int) -> None:
    """Count one rating of ``score`` for ``user_id``, in the caller's transaction.

    One upsert: concurrent ratings of the same volunteer add up (the database increments the row
    it holds), and the first rating creates it."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(VolunteerStats).values(user_id=user_id, rated_count=1, score_sum=score)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[VolunteerStats.user_id],
            set_={
                "rated_count": VolunteerStats.rated_count + 1,
                "score_sum": VolunteerStats.score_sum + statement.excluded.score_sum,
            },
        )
    )


def record_accept(session: Session, user_id: int, minutes: int) -> None:
    """Count one dispatch accepted ``minutes`` after it was made, in the caller's transaction (one
    upsert, as :func:`record_rating`)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(VolunteerStats).values(
        user_id=user_id, rated_count=0, score_sum=0, accepted_count=1, accept_minutes_sum=minutes
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[VolunteerStats.user_id],
            set_={
                "accepted_count": VolunteerStats.accepted_count + 1,
                "accept_minutes_sum": VolunteerStats.accept_minutes_sum + statement.excluded.accept_minutes_sum,
            },
        )
    )
