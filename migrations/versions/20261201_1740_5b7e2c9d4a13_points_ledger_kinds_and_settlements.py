"""The points ledger's kinds, settlements, minutes and held points, and the partial unique indexes
that let an order's settlement earn, be decided and be reversed at most once per volunteer; the
audit trail's kind ``points_adjusted`` (a secretary's adjustment).

Entries written before this revision are the ratings' credits (reason ``order_rated``): they
become ``earned`` entries of the first settlement, so a reopening can reverse them."""

# Created 2026-12-01T17:40+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: kind values are frozen here as literals.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e2c9d4a13"
down_revision: str | Sequence[str] | None = "cca1ad5d754e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS_BEFORE = ("contact_revealed", "role_granted", "household_verified")
_KINDS_AFTER = (*_KINDS_BEFORE, "points_adjusted")
_CHECK = "ck_audit_entries_kind"

_ONCE = {
    "uq_points_entries_earning": "kind IN ('earned', 'held')",
    "uq_points_entries_decision": "kind IN ('released', 'forfeited')",
    "uq_points_entries_reversal": "kind IN ('reversed')",
}


def _kind(values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=op.f(_CHECK), native_enum=False, create_constraint=True, length=32)


def _audit_entries(kinds: Sequence[str]) -> sa.Table:
    """audit_entries as the previous revisions left it, with ``kinds`` allowed: SQLite's batch
    mode copies from this instead of reflecting (which keeps no CHECK constraints)."""
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
        # A new CHECK validated in place; no table rewrite on PostgreSQL.
        op.drop_constraint(op.f(_CHECK), "audit_entries", type_="check")
        op.create_check_constraint(op.f(_CHECK), "audit_entries", sa.column("kind").in_(after))
        return
    with op.batch_alter_table("audit_entries", copy_from=_audit_entries(before), recreate="always") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(before), type_=_kind(after))


def upgrade() -> None:
    _allow_kinds(_KINDS_BEFORE, _KINDS_AFTER)
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("settlement", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_points", sa.Integer(), nullable=True))
    op.execute("UPDATE points_entries SET kind = 'earned', settlement = 1 WHERE reason = 'order_rated'")
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        for name, where in _ONCE.items():
            batch_op.create_index(
                name,
                ["order_id", "user_id", "settlement"],
                unique=True,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def downgrade() -> None:
    # Rows of the new kind cannot be kept under the old rule.
    op.execute("DELETE FROM audit_entries WHERE kind = 'points_adjusted'")
    _allow_kinds(_KINDS_AFTER, _KINDS_BEFORE)
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        for name, where in _ONCE.items():
            batch_op.drop_index(name, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
        batch_op.drop_column("held_points")
        batch_op.drop_column("minutes")
        batch_op.drop_column("settlement")
        batch_op.drop_column("kind")
