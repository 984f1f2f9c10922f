"""orders.rating_score: the score of the order's rating, kept on the order for the statistics

An order has at most one rating (ratings.order_id is unique; a re-rating after a dispute
updates it). The statistics counted ratings and summed scores through an outer join of the
range's ratings, which was about half the time of a street month's counts; the rating step now
writes the score on the order too. Existing orders get it from their rating here.

Revision ID: e3c8a1f5b920
Revises: 7d3e1b9c4a52
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3c8a1f5b920"
down_revision: str | Sequence[str] | None = "7d3e1b9c4a52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable with no default: PostgreSQL adds it without rewriting the table; the UPDATE
    # below writes only the rated orders.
    op.add_column("orders", sa.Column("rating_score", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE orders SET rating_score = (SELECT ratings.score FROM ratings WHERE ratings.order_id = orders.id) "
        "WHERE EXISTS (SELECT 1 FROM ratings WHERE ratings.order_id = orders.id)"
    )


def downgrade() -> None:
    op.drop_column("orders", "rating_score")
