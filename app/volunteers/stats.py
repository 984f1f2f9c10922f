"""A volunteer's running rating figures (``VolunteerStats``): counted as ratings are written."""

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
