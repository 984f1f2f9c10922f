"""People imported from a community's Excel sheet: users without an openid (until their first
login binds the same phone), when they were imported, users found by phone, and the remark (备注) of an imported household."""

# Created 2026-12-01T18:45+00:00.
# Revisions import only alembic and sqlalchemy, never `app`.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4a1b7c3d920"
down_revision: str | Sequence[str] | None = "d41c7e2a9b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _users(*, after: bool) -> sa.Table:
    """users before this revision (``after``: as it leaves it): SQLite's batch mode copies from
    this instead of reflecting, so that ``alembic upgrade --sql`` works without a database."""
    extra: list[sa.Column[object] | sa.Index] = (
        [sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True), sa.Index("ix_users_phone", "phone")]
        if after
        else []
    )
    return sa.Table(
        "users",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=after),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("nickname", sa.String(length=64), nullable=False),
        sa.Column("oa_openid", sa.String(length=64), nullable=True),
        sa.Column("oa_following", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("session_key", sa.String(length=128), nullable=True),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *extra,
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("oa_openid", name="uq_users_oa_openid"),
        sa.UniqueConstraint("openid", name="uq_users_openid"),
        sa.Index("ix_users_unionid", "unionid"),
    )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None, copy_from=_users(after=False)) as batch_op:
        batch_op.alter_column("openid", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_phone"), ["phone"], unique=False)
    op.add_column("households", sa.Column("note", sa.String(length=200), server_default="", nullable=False))


def downgrade() -> None:
    # Imported people who never logged in have no openid: they cannot survive the old schema.
    op.execute("DELETE FROM users WHERE openid IS NULL")
    op.drop_column("households", "note")
    with op.batch_alter_table("users", schema=None, copy_from=_users(after=True)) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_phone"))
        batch_op.drop_column("imported_at")
        batch_op.alter_column("openid", existing_type=sa.String(length=64), nullable=False)
