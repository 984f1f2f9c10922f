"""The revision that keeps a rating's score on its order (``orders.rating_score``, which the
statistics count from) fills it for the orders rated before it, and only for those."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_due_at_backfill import _insert
from tests.migrations.test_migrations import connect

BEFORE = "7d3e1b9c4a52"  # the order durations, the revision before
REVISION = "e3c8a1f5b920"


def _order(connection: sa.Connection, order_id: int, status: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO orders (id, number, community_id, category_id, kind, status, level, title, description,"
            " resident_id, created_by_id, building, unit, room, needs_review, completion_note, version)"
            " VALUES (:id, :number, 1, 1, 'service', :status, 'routine', 't', '', 1, 1, '', '', '', false, '', 1)"
        ),
        {"id": order_id, "number": f"20261202-000{order_id}", "status": status},
    )


def test_rated_orders_get_their_score_and_the_others_none(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "rating_score")
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    with connect(url) as connection:
        _insert(connection, "areas", id=1, kind="community", code="SQ1", name="社区", community_id=1)
        _insert(connection, "users", id=1, openid="res", nickname="", oa_following=False, token_generation=0)
        _insert(
            connection, "service_categories", id=1, community_id=1, code="repair", name="维修", points=5,
            sla_hours=6, active=True,
        )  # fmt: skip
        _order(connection, 1, "closed")
        _order(connection, 2, "closed")
        _order(connection, 3, "accepted")
        _insert(connection, "ratings", order_id=1, score=2, comment="")
        _insert(connection, "ratings", order_id=2, score=5, comment="")
        connection.commit()

    command.upgrade(config, REVISION)

    with connect(url) as connection:
        scores = connection.execute(sa.text("SELECT id, rating_score FROM orders ORDER BY id"))
        assert [tuple(row) for row in scores] == [(1, 2), (2, 5), (3, None)]

    command.downgrade(config, BEFORE)
    with connect(url) as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("orders")}
        assert "rating_score" not in columns
