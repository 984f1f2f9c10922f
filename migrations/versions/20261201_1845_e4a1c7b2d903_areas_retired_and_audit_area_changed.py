"""Areas can be retired (``areas.retired``: kept, never deleted, take no new households or
orders); the audit trail's kind ``area_changed`` (an area added, renamed or retired over the API)."""

# Created 2026-12-01T18:45+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: kind values are frozen here as literals.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e4a1c7b2d903"
down_revision: str | Sequence[str] | None = "3e5b1d7c9a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS_BEFORE = ("contact_revealed", "role_granted", "household_verified", "points_adjusted")
_KINDS_AFTER = (*_KINDS_BEFORE, "area_changed")
_CHECK = "ck_audit_entries_kind"


def _kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=op.f(_CHECK), native_enum=False, create_constraint=True, length=32)


def _audit_entries(kinds: Sequence[str]) -> sa.Table:
    """audit_entries as the previous revisions left it, with ``kinds`` allowed (SQLite's batch
    mode copies from this: reflection keeps no CHECK constraints)."""
    return sa.Table(
        "audit_entries",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", _kind(kinds), nullable=False),
        sa.Column("area_id", _ID, nullable=False),
        sa.Column("actor_id", _ID, nullable=True),
        sa.Column("subject_id", _ID, nullable=True),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name="fk_audit_entries_actor_id_users", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name="fk_audit_entries_area_id_areas", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_audit_entries_order_id_orders", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["users.id"], name="fk_audit_entries_subject_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entries"),
        sa.Index("ix_audit_entries_area_id_kind_id", "area_id", "kind", "id"),
    )


def _allow_kinds(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f(_CHECK), "audit_entries", type_="check")
        op.create_check_constraint(op.f(_CHECK), "audit_entries", sa.column("kind").in_(after))
        return
    with op.batch_alter_table("audit_entries", copy_from=_audit_entries(before), recreate="always") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(before), type_=_kind(after))


def upgrade() -> None:
    _allow_kinds(_KINDS_BEFORE, _KINDS_AFTER)
    # A plain ADD COLUMN on both databases: the areas table (and its kind CHECK) is not copied.
    op.add_column("areas", sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("areas", "retired")
    op.execute("DELETE FROM audit_entries WHERE kind = 'area_changed'")
    _allow_kinds(_KINDS_AFTER, _KINDS_BEFORE)
