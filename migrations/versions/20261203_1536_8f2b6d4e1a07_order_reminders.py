"""order_reminders: the reminders the reminder job has queued, so that a firing leaves out the
orders it already reminded (each stays inside its rule's window for hours or days after).

Empty after the upgrade: the first firing after it goes through every order inside a window once
more (their messages are not queued again: their dedupe keys are taken) and records them."""

# Created 2026-12-03T15:36+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here
# as literals, so that later changes to the models cannot rewrite history.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8f2b6d4e1a07"
down_revision: str | Sequence[str] | None = "c4e9a7d21f38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_reminders",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("since", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_reminders_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("order_id", "rule", "since", "holder", name=op.f("pk_order_reminders")),
    )


def downgrade() -> None:
    op.drop_table("order_reminders")
