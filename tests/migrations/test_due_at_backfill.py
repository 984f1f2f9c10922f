"""The revision that gives orders a ``due_at`` backfills it for orders accepted before it:
acceptance + the category's SLA, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.core.db import UTCDateTime
from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_migrations import connect

BEFORE = "e5464358ff92"  # the revision before orders had due_at
ACCEPTED = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


def _insert(connection: sa.Connection, table: str, **values: object) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def test_accepted_orders_get_their_due_time_and_others_none(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "due_at")
    command.upgrade(alembic_config(url), BEFORE)
    stamp = sa.bindparam("at", type_=UTCDateTime())
    with connect(url) as connection:
        _insert(connection, "areas", id=1, kind="community", code="SQ1", name="社区", community_id=1)
        _insert(connection, "users", id=1, openid="res", nickname="", oa_following=False, token_generation=0)
        _insert(
            connection, "service_categories", id=1, community_id=1, code="repair", name="维修", points=5,
            sla_hours=6, active=True,
        )  # fmt: skip
        for order_id, status, accepted in ((1, "accepted", True), (2, "submitted", False)):
            connection.execute(
                sa.text(
                    "INSERT INTO orders (id, number, community_id, category_id, kind, status, title, description,"
                    " resident_id, created_by_id, building, unit, room, needs_review, completion_note, version,"
                    " accepted_at) VALUES (:id, :number, 1, 1, 'service', :status, 't', '', 1, 1, '', '', '',"
                    " false, '', 1, :at)"
                ).bindparams(stamp),
                {
                    "id": order_id,
                    "number": f"20261123-000{order_id}",
                    "status": status,
                    "at": ACCEPTED if accepted else None,
                },
            )
        connection.commit()

    command.upgrade(alembic_config(url), "head")

    with connect(url) as connection:
        query = (
            sa.select(sa.column("id", sa.Integer()), sa.column("due_at", UTCDateTime()))
            .select_from(sa.table("orders"))
            .order_by("id")
        )
        rows = [(order_id, due) for order_id, due in connection.execute(query)]
    assert rows == [(1, ACCEPTED + timedelta(hours=6)), (2, None)]
