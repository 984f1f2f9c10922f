"""export_jobs: work ledgers written in the background (POST /api/v1/exports/orders), claimed by
the export_ledgers job, their files under <var_dir>/exports/ until they expire."""

# Created 2026-12-02T15:10+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2d9d58e9da5b"
down_revision: str | Sequence[str] | None = "e3c8a1f5b920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATUSES = ("queued", "running", "done", "failed", "expired")


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("requester_id", _ID, nullable=False),
        sa.Column("area_id", _ID, nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *_STATUSES, name=op.f("ck_export_jobs_status"), native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["areas.id"], name=op.f("fk_export_jobs_area_id_areas"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"], ["users.id"], name=op.f("fk_export_jobs_requester_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index(op.f("ix_export_jobs_area_id"), "export_jobs", ["area_id"], unique=False)
    op.create_index(
        op.f("ix_export_jobs_requester_id_created_at"), "export_jobs", ["requester_id", "created_at"], unique=False
    )
    op.create_index(op.f("ix_export_jobs_status_created_at"), "export_jobs", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_export_jobs_status_created_at"), table_name="export_jobs")
    op.drop_index(op.f("ix_export_jobs_requester_id_created_at"), table_name="export_jobs")
    op.drop_index(op.f("ix_export_jobs_area_id"), table_name="export_jobs")
    op.drop_table("export_jobs")
