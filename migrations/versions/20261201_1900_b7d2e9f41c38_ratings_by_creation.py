"""Statistics join a range's orders to their ratings, which are never older than the range: an
index on ratings.created_at reads only the range's ratings instead of every rating there is."""

# Created 2026-12-01T19:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

from alembic import op

revision: str = "b7d2e9f41c38"
down_revision: str | Sequence[str] | None = "e4a1b7c3d920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_ratings_created_at"), "ratings", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ratings_created_at"), table_name="ratings")
