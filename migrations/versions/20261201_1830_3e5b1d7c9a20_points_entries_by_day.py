"""An index on points_entries.created_at: the volunteer-hours report and the month's summary to
volunteers read one range of days of the whole ledger."""

# Created 2026-12-01T18:30+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

from alembic import op

revision: str = "3e5b1d7c9a20"
down_revision: str | Sequence[str] | None = "c9877c9249c2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_created_at")
