"""A community's orders of one triage level (GET /orders?level=…), newest first, by an index of
their own."""

# Created 2026-12-01T14:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

from alembic import op

revision: str = "afe366f8b9f3"
down_revision: str | Sequence[str] | None = "e81c3a5d7f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain CREATE INDEX on both databases: SQLite needs no table copy for it, so the CHECKs of
    # orders stay as they are.
    op.create_index("ix_orders_community_id_level_id", "orders", ["community_id", "level", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_community_id_level_id", table_name="orders")
