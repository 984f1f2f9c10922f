"""orders: dispatch_us, accept_us, finish_us (generated durations for the statistics); the
range index carries updated_at and version on PostgreSQL

The three durations are generated columns (app/orders/durations.py): adding them computes them
for every existing order, so there is no separate backfill. PostgreSQL stores them (the ALTER
rewrites the table once); SQLite can only add a VIRTUAL generated column to an existing table,
computed when read, which is all SQLite's statistics need.

Revision ID: 7d3e1b9c4a52
Revises: d5078e019c65
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3e1b9c4a52"
down_revision: str | Sequence[str] | None = "d5078e019c65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (column, later moment, earlier moment), frozen here as the model had them.
DURATIONS = (
    ("dispatch_us", "dispatched_at", "created_at"),
    ("accept_us", "accepted_at", "dispatched_at"),
    ("finish_us", "completed_at", "created_at"),
)


def _postgresql(later: str, earlier: str) -> str:
    return f"CASE WHEN {later} >= {earlier} THEN (EXTRACT(EPOCH FROM {later} - {earlier}) * 1000000)::bigint END"


def _sqlite(later: str, earlier: str) -> str:
    def micros(moment: str) -> str:
        return f"(CAST(strftime('%s', {moment}) AS INTEGER) * 1000000 + CAST(substr({moment}, 21, 6) AS INTEGER))"

    return f"CASE WHEN {later} >= {earlier} THEN {micros(later)} - {micros(earlier)} END"


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for column, later, earlier in DURATIONS:
            computed = sa.Computed(sa.text(_sqlite(later, earlier)), persisted=False)
            op.add_column("orders", sa.Column(column, sa.BigInteger(), computed, nullable=True))
        return
    # One ALTER for the three: PostgreSQL rewrites the table once, not once per column.
    added = ", ".join(
        f"ADD COLUMN {column} BIGINT GENERATED ALWAYS AS ({_postgresql(later, earlier)}) STORED"
        for column, later, earlier in DURATIONS
    )
    op.execute(f"ALTER TABLE orders {added}")
    _range_index(include=["updated_at", "version"])


def _range_index(*, include: list[str]) -> None:
    """The statistics' range index, with (upgrade) or without (downgrade) the columns that let
    the check of a kept period read the index alone (PostgreSQL only: SQLite has no INCLUDE)."""
    op.drop_index(op.f("ix_orders_community_id_created_at"), table_name="orders")
    op.create_index(
        op.f("ix_orders_community_id_created_at"),
        "orders",
        ["community_id", "created_at"],
        postgresql_include=include,
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        _range_index(include=[])
    # SQLite drops a VIRTUAL generated column with a plain ALTER TABLE … DROP COLUMN (3.35+).
    for column, _later, _earlier in reversed(DURATIONS):
        op.drop_column("orders", column)
