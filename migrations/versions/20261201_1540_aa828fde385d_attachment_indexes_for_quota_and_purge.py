"""Indexes on attachments for the daily upload quota (a user's uploads since a moment, replacing
the index on the uploader alone), for the purge of unused uploads (by age, over unused ones only)
and for finding the rows that share a content hash."""

# Created 2026-12-01T15:40+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "aa828fde385d"
down_revision: str | Sequence[str] | None = "272b4c64b867"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_uploader_id"))
        batch_op.create_index("ix_attachments_sha256", ["sha256"], unique=False)
        batch_op.create_index(
            "ix_attachments_unattached_created_at",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("order_id IS NULL"),
            sqlite_where=sa.text("order_id IS NULL"),
        )
        batch_op.create_index("ix_attachments_uploader_id_created_at", ["uploader_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_uploader_id_created_at")
        batch_op.drop_index(
            "ix_attachments_unattached_created_at",
            postgresql_where=sa.text("order_id IS NULL"),
            sqlite_where=sa.text("order_id IS NULL"),
        )
        batch_op.drop_index("ix_attachments_sha256")
        batch_op.create_index(batch_op.f("ix_attachments_uploader_id"), ["uploader_id"], unique=False)
