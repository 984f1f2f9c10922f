"""A user's rights: logging out of one device (``revoked_tokens``), deleting the account
(``users.deleted_at``, the tombstone's mark) and the retention period (``orders.anonymised_at``,
with partial indexes on the orders still to anonymise, and an index to expire idempotency keys)."""

# Created 2026-12-01T15:30+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "272b4c64b867"
down_revision: str | Sequence[str] | None = "2ef9ea147bb2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CLOSED = "status = 'closed' AND anonymised_at IS NULL"
_ENDED = "status IN ('cancelled', 'rejected') AND anonymised_at IS NULL"


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: SQLite does both in place, keeping the tables' CHECK
    # constraints, so no batch copy is needed.
    op.add_column("users", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        op.f("ix_orders_retention_closed_at"),
        "orders",
        ["status", "closed_at"],
        unique=False,
        postgresql_where=sa.text(_CLOSED),
        sqlite_where=sa.text(_CLOSED),
    )
    op.create_index(
        op.f("ix_orders_retention_ended_at"),
        "orders",
        ["status", "updated_at"],
        unique=False,
        postgresql_where=sa.text(_ENDED),
        sqlite_where=sa.text(_ENDED),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_revoked_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_issued_at"), "revoked_tokens", ["issued_at"], unique=False)
    op.create_index(op.f("ix_revoked_tokens_user_id"), "revoked_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_revoked_tokens_user_id"), table_name="revoked_tokens")
    op.drop_index(op.f("ix_revoked_tokens_issued_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_index(op.f("ix_idempotency_keys_created_at"), table_name="idempotency_keys")
    op.drop_index(op.f("ix_orders_retention_ended_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_retention_closed_at"), table_name="orders")
    # SQLite (3.35+) drops a column in place when nothing (an index, a constraint) uses it.
    op.drop_column("orders", "anonymised_at")
    op.drop_column("users", "deleted_at")
