"""Orders know when they are due (``due_at``: acceptance + the category's SLA, backfilled); indexes
for a community's unfiltered order list, what a user posted, staff lookups by area and role, and
one partial index per reminder window."""

# Created 2026-12-01T10:23+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ab32b39c62a8"
down_revision: str | Sequence[str] | None = "e5464358ff92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_HELD = "status IN ('accepted', 'in_service')"


def _backfill_due_at() -> None:
    """Orders accepted before this revision: due their category's SLA after the acceptance."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "UPDATE orders SET due_at = orders.accepted_at + make_interval(hours => c.sla_hours) "
            "FROM service_categories c WHERE c.id = orders.category_id AND orders.accepted_at IS NOT NULL"
        )
        return
    # SQLite keeps naive UTC text; datetime() answers the same form (to the second).
    op.execute(
        "UPDATE orders SET due_at = (SELECT datetime(orders.accepted_at, '+' || c.sla_hours || ' hours') "
        "FROM service_categories c WHERE c.id = orders.category_id) WHERE accepted_at IS NOT NULL"
    )


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    _backfill_due_at()
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_assigned_dispatched_at",
            ["dispatched_at"],
            unique=False,
            postgresql_where=sa.text("status = 'assigned'"),
            sqlite_where=sa.text("status = 'assigned'"),
        )
        batch_op.create_index("ix_orders_community_id_id", ["community_id", "id"], unique=False)
        batch_op.drop_index("ix_orders_created_by_id")
        batch_op.create_index("ix_orders_created_by_id_id", ["created_by_id", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_completed_completed_at",
            ["completed_at"],
            unique=False,
            postgresql_where=sa.text("status = 'completed'"),
            sqlite_where=sa.text("status = 'completed'"),
        )
        batch_op.create_index(
            "ix_orders_escalated_escalation_due_at",
            ["escalation_due_at"],
            unique=False,
            postgresql_where=sa.text("status = 'escalated'"),
            sqlite_where=sa.text("status = 'escalated'"),
        )
        batch_op.create_index(
            "ix_orders_held_due_at",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text(_HELD),
            sqlite_where=sa.text(_HELD),
        )
        batch_op.create_index(
            "ix_orders_open_preferred_start",
            ["preferred_start"],
            unique=False,
            postgresql_where=sa.text(
                "status IN ('assigned', 'accepted', 'in_service') AND preferred_start IS NOT NULL"
            ),
            sqlite_where=sa.text("status IN ('assigned', 'accepted', 'in_service') AND preferred_start IS NOT NULL"),
        )

    with op.batch_alter_table("role_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_memberships_area_id"))
        batch_op.create_index("ix_role_memberships_area_id_role", ["area_id", "role"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("role_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_role_memberships_area_id_role")
        batch_op.create_index(batch_op.f("ix_role_memberships_area_id"), ["area_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_orders_open_preferred_start",
            postgresql_where=sa.text(
                "status IN ('assigned', 'accepted', 'in_service') AND preferred_start IS NOT NULL"
            ),
            sqlite_where=sa.text("status IN ('assigned', 'accepted', 'in_service') AND preferred_start IS NOT NULL"),
        )
        batch_op.drop_index("ix_orders_held_due_at", postgresql_where=sa.text(_HELD), sqlite_where=sa.text(_HELD))
        batch_op.drop_index(
            "ix_orders_escalated_escalation_due_at",
            postgresql_where=sa.text("status = 'escalated'"),
            sqlite_where=sa.text("status = 'escalated'"),
        )
        batch_op.drop_index(
            "ix_orders_completed_completed_at",
            postgresql_where=sa.text("status = 'completed'"),
            sqlite_where=sa.text("status = 'completed'"),
        )
        batch_op.drop_index("ix_orders_community_id_id")
        batch_op.drop_index("ix_orders_created_by_id_id")
        batch_op.create_index("ix_orders_created_by_id", ["created_by_id"], unique=False)
        batch_op.drop_index(
            "ix_orders_assigned_dispatched_at",
            postgresql_where=sa.text("status = 'assigned'"),
            sqlite_where=sa.text("status = 'assigned'"),
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("due_at")
