"""随手拍: a report's coordinates, the original a duplicate was merged into, the index the
duplicate lookup reads, and the order action ``merge`` (the audit trail's action CHECK widens)."""

# Created 2026-12-01T19:05+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here as
# literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b6f2d8a4c1e7"
down_revision: str | Sequence[str] | None = "0865ad8b21db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BEFORE = (
    "submit",
    "triage",
    "dispatch",
    "publish",
    "claim",
    "accept",
    "decline",
    "start",
    "complete",
    "rate",
    "dispute",
    "urge",
    "cancel",
    "reject",
    "escalate",
    "resolve",
    "reassign",
    "release",
    "expire",
    "close_unrated",
)
_AFTER = (*_BEFORE, "merge")
_STATUSES = (
    "submitted",
    "assigned",
    "pooled",
    "accepted",
    "in_service",
    "completed",
    "closed",
    "rejected",
    "escalated",
    "cancelled",
)
_CHECK = "ck_order_events_action"
_FK = "fk_orders_duplicate_of_id_orders"
_REPORTS_ONLY = "kind = 'report'"


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=op.f(name), native_enum=False, create_constraint=True, length=32)


def _events(actions: Sequence[str]) -> sa.Table:
    """order_events as the previous revisions left it, with ``actions`` allowed: SQLite's batch
    mode copies from this instead of reflecting (which would need a database for --sql)."""
    return sa.Table(
        "order_events",
        sa.MetaData(),
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("actor_id", _ID, nullable=True),
        sa.Column("action", _enum(actions, _CHECK), nullable=False),
        sa.Column("from_status", _enum(_STATUSES, "ck_order_events_from_status"), nullable=True),
        sa.Column("to_status", _enum(_STATUSES, "ck_order_events_to_status"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_order_events_actor_id_users", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_order_events_order_id_orders", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.Index("ix_order_events_order_id", "order_id"),
    )


def _allow(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        # A new CHECK validated in place; no table rewrite on PostgreSQL.
        op.drop_constraint(op.f(_CHECK), "order_events", type_="check")
        op.create_check_constraint(op.f(_CHECK), "order_events", sa.column("action").in_(after))
        return
    with op.batch_alter_table("order_events", copy_from=_events(before), recreate="always") as batch_op:
        batch_op.alter_column("action", existing_type=_enum(before, _CHECK), type_=_enum(after, _CHECK))


def upgrade() -> None:
    op.add_column("orders", sa.Column("latitude", sa.Numeric(9, 6), nullable=True))
    op.add_column("orders", sa.Column("longitude", sa.Numeric(9, 6), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.add_column("orders", sa.Column("duplicate_of_id", _ID, nullable=True))
        op.create_foreign_key(op.f(_FK), "orders", "orders", ["duplicate_of_id"], ["id"])
    else:
        # SQLite adds a column with its REFERENCES in place (a nullable one with no default); the
        # batch mode would copy the whole orders table for it.
        op.execute(f"ALTER TABLE orders ADD COLUMN duplicate_of_id INTEGER CONSTRAINT {_FK} REFERENCES orders (id)")
    op.create_index(op.f("ix_orders_duplicate_of_id"), "orders", ["duplicate_of_id"], unique=False)
    op.create_index(
        "ix_orders_report_grid_category_created_at",
        "orders",
        ["community_id", "grid_id", "category_id", "created_at"],
        unique=False,
        postgresql_where=sa.text(_REPORTS_ONLY),
        sqlite_where=sa.text(_REPORTS_ONLY),
    )
    _allow(_BEFORE, _AFTER)


def downgrade() -> None:
    # Events of the new action cannot be kept under the old rule.
    op.execute("DELETE FROM order_events WHERE action = 'merge'")
    _allow(_AFTER, _BEFORE)
    op.drop_index(
        "ix_orders_report_grid_category_created_at",
        table_name="orders",
        postgresql_where=sa.text(_REPORTS_ONLY),
        sqlite_where=sa.text(_REPORTS_ONLY),
    )
    op.drop_index(op.f("ix_orders_duplicate_of_id"), table_name="orders")
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f(_FK), "orders", type_="foreignkey")
    # SQLite drops a column with its own REFERENCES in place.
    op.drop_column("orders", "duplicate_of_id")
    op.drop_column("orders", "longitude")
    op.drop_column("orders", "latitude")
