"""Statistics (GET /stats) read a community's orders created in a range of days: an index on
(community_id, created_at), so a month of a street is not found by reading every order."""

# Created 2026-12-01T18:50+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

from alembic import op

revision: str = "d41c7e2a9b05"
down_revision: str | Sequence[str] | None = "e4a1c7b2d903"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_orders_community_id_created_at"), "orders", ["community_id", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_community_id_created_at"), table_name="orders")
