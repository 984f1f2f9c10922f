"""Words people read: a return visit keeps what the resident wrote (the low rating's comment, the
dispute's reason), and the audit trail's triage lines say the level in Chinese (三事分流：大事)
instead of its code."""

# Created 2026-12-01T14:30+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "47cf6311f1be"
down_revision: str | Sequence[str] | None = "afe366f8b9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The triage notes as this revision found them (the level's code) and as it leaves them.
_TRIAGE_NOTES = (("major", "三事分流：大事"), ("minor", "三事分流：小事"), ("routine", "三事分流：一般事"))


def upgrade() -> None:
    # return_visits has no CHECK constraint, so a plain ADD COLUMN serves SQLite too.
    op.add_column("return_visits", sa.Column("comment", sa.Text(), server_default="", nullable=False))
    # A low rating's words are on the rating.
    op.execute(
        "UPDATE return_visits SET comment = COALESCE("
        "(SELECT ratings.comment FROM ratings WHERE ratings.order_id = return_visits.order_id), '') "
        "WHERE reason = 'low_rating'"
    )
    # A dispute's reason was kept in `note` until the call overwrote it with what was said on the
    # phone: an open visit still has it there (and `note` becomes the call's alone); a recorded
    # one finds it on the order's last dispute before the visit.
    op.execute("UPDATE return_visits SET comment = note, note = '' WHERE reason = 'dispute' AND NOT done")
    op.execute(
        "UPDATE return_visits SET comment = COALESCE("
        "(SELECT e.note FROM order_events e WHERE e.order_id = return_visits.order_id "
        "AND e.action = 'dispute' AND e.created_at <= return_visits.created_at ORDER BY e.id DESC LIMIT 1), '') "
        "WHERE reason = 'dispute' AND done"
    )
    for code, words in _TRIAGE_NOTES:
        op.execute(
            sa.text("UPDATE order_events SET note = :words WHERE action = 'triage' AND note = :code").bindparams(
                words=words, code=code
            )
        )


def downgrade() -> None:
    for code, words in _TRIAGE_NOTES:
        op.execute(
            sa.text("UPDATE order_events SET note = :code WHERE action = 'triage' AND note = :words").bindparams(
                words=words, code=code
            )
        )
    op.execute("UPDATE return_visits SET note = comment WHERE reason = 'dispute' AND NOT done AND note = ''")
    with op.batch_alter_table("return_visits") as batch_op:
        batch_op.drop_column("comment")
