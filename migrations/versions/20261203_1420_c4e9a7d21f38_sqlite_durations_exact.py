"""orders: SQLite's generated durations read whole seconds from the moment's text without its
fraction (PostgreSQL unchanged)

The first expression took whole seconds from strftime('%s', moment); SQLite rounds a moment to
the millisecond before that, so a moment at .9995 s or later counted as the next second and a
duration came out one second short (or long). The three VIRTUAL columns are dropped and added
again with the exact expression; nothing is stored in them, so nothing is rewritten. The kept
statistics (a cache the stats_prefill job refills) were computed from them and are cleared.

Revision ID: c4e9a7d21f38
Revises: 5b7e2c9d1a63
Create Date: 2026-12-03 14:20:00
"""

# Revisions import only alembic and sqlalchemy, never `app`.

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e9a7d21f38"
down_revision: str | Sequence[str] | None = "5b7e2c9d1a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (column, later moment, earlier moment), as in 7d3e1b9c4a52.
DURATIONS = (
    ("dispatch_us", "dispatched_at", "created_at"),
    ("accept_us", "accepted_at", "dispatched_at"),
    ("finish_us", "completed_at", "created_at"),
)


def _exact(moment: str) -> str:
    whole = f"CAST(strftime('%s', substr({moment}, 1, 19)) AS INTEGER)"
    return f"({whole} * 1000000 + CAST(substr({moment}, 21, 6) AS INTEGER))"


def _rounded(moment: str) -> str:
    return f"(CAST(strftime('%s', {moment}) AS INTEGER) * 1000000 + CAST(substr({moment}, 21, 6) AS INTEGER))"


def _replace(micros: Callable[[str], str]) -> None:
    for column, _later, _earlier in DURATIONS:
        op.drop_column("orders", column)
    for column, later, earlier in DURATIONS:
        expression = f"CASE WHEN {later} >= {earlier} THEN {micros(later)} - {micros(earlier)} END"
        computed = sa.Computed(sa.text(expression), persisted=False)
        op.add_column("orders", sa.Column(column, sa.BigInteger(), computed, nullable=True))
    op.execute("DELETE FROM kept_stats")


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _replace(_exact)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _replace(_rounded)
