"""Order actions ``reassign`` (转单) and ``release`` (退单): the audit trail's action CHECK widens."""

# Created 2026-12-01T13:00+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2b7e4c91a05"
down_revision: str | Sequence[str] | None = "c4d1f0a7b9e2"
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
    "expire",
    "close_unrated",
)
_AFTER = (*_BEFORE, "reassign", "release")
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


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=op.f(name), native_enum=False, create_constraint=True, length=32)


def _events(actions: Sequence[str]) -> sa.Table:
    """order_events as the previous revisions left it, with ``actions`` allowed: SQLite's batch
    mode copies from this instead of reflecting (which keeps no CHECK constraints)."""
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
    _allow(_BEFORE, _AFTER)


def downgrade() -> None:
    # Events of the new actions cannot be kept under the old rule.
    op.execute("DELETE FROM order_events WHERE action IN ('reassign', 'release')")
    _allow(_AFTER, _BEFORE)
