"""kept_stats: an ended range's statistics computed ahead by the stats_prefill job, read by the
statistics requests of every process while their orders are unchanged."""

# Created 2026-12-02T19:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2c9d1a63"
down_revision: str | Sequence[str] | None = "2d9d58e9da5b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kept_stats",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kept_stats")),
    )
    op.create_index(op.f("ix_kept_stats_last"), "kept_stats", ["last"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_kept_stats_last"), table_name="kept_stats")
    op.drop_table("kept_stats")
