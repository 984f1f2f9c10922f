"""Idempotency keys keep no HTTP status: the use case stores the answer, the API its status."""

# Created 2026-12-01T09:37+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5464358ff92"
down_revision: str | Sequence[str] | None = "f87043b209bc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _before() -> sa.Table:
    """The table as the initial schema made it: SQLite's batch mode copies from this instead of
    reflecting, so that ``alembic upgrade --sql`` works without a database."""
    return sa.Table(
        "idempotency_keys",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_idempotency_keys_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idempotency_keys"),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),
    )


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None, copy_from=_before()) as batch_op:
        batch_op.drop_column("status_code")


def downgrade() -> None:
    # Every key stored so far answered a created order.
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_code", sa.INTEGER(), nullable=False, server_default="201"))
