"""The revision that gives orders their generated durations (dispatch_us, accept_us, finish_us)
computes them for the orders already there, exactly to the microsecond, on SQLite (VIRTUAL) and
PostgreSQL (STORED) alike; and they follow later changes of the moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from app.core.db import UTCDateTime
from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_migrations import connect

BEFORE = "d5078e019c65"  # the revision before orders had stored durations
CREATED = datetime(2026, 11, 23, 2, 30, 0, 123456, tzinfo=UTC)
#: Order id → (dispatched, accepted, completed) after CREATED; None for a moment not reached.
DISPATCHED = timedelta(minutes=7, microseconds=5)
ACCEPTED = timedelta(minutes=9, seconds=1)
COMPLETED = timedelta(hours=26, microseconds=999_999)
MOMENTS: dict[int, tuple[timedelta | None, timedelta | None, timedelta | None]] = {
    1: (DISPATCHED, ACCEPTED, COMPLETED),
    2: (timedelta(seconds=30), None, None),  # dispatched, never accepted
    3: (None, None, None),  # submitted
    4: (timedelta(minutes=-5), timedelta(minutes=1), timedelta(minutes=-1)),  # moments set backwards by hand
}


def _insert_base(connection: sa.Connection) -> None:
    for table, values in (
        ("areas", {"id": 1, "kind": "community", "code": "SQ1", "name": "社区", "community_id": 1}),
        ("users", {"id": 1, "openid": "res", "nickname": "", "oa_following": False, "token_generation": 0}),
        (
            "service_categories",
            {"id": 1, "community_id": 1, "code": "repair", "name": "维修", "points": 5, "sla_hours": 6, "active": True},
        ),
    ):
        connection.execute(
            sa.text(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(f':{k}' for k in values)})"), values
        )


def _insert_order(connection: sa.Connection, order_id: int) -> None:
    stamps = [sa.bindparam(name, type_=UTCDateTime()) for name in ("c", "d", "a", "f")]
    dispatched, accepted, completed = (CREATED + step if step is not None else None for step in MOMENTS[order_id])
    connection.execute(
        sa.text(
            "INSERT INTO orders (id, number, community_id, category_id, kind, status, title, description,"
            " resident_id, created_by_id, building, unit, room, needs_review, completion_note, version,"
            " created_at, dispatched_at, accepted_at, completed_at) VALUES (:id, :number, 1, 1, 'service',"
            " 'submitted', 't', '', 1, 1, '', '', '', false, '', 1, :c, :d, :a, :f)"
        ).bindparams(*stamps),
        {
            "id": order_id,
            "number": f"20261123-000{order_id}",
            "c": CREATED,
            "d": dispatched,
            "a": accepted,
            "f": completed,
        },
    )


def _durations(connection: sa.Connection) -> dict[int, tuple[int | None, ...]]:
    rows = connection.execute(sa.text("SELECT id, dispatch_us, accept_us, finish_us FROM orders ORDER BY id"))
    return {row[0]: tuple(row[1:]) for row in rows}


def _micros(step: timedelta) -> int:
    return (step.days * 86400 + step.seconds) * 1_000_000 + step.microseconds


def test_existing_orders_get_their_exact_durations_and_they_follow_later_changes(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "durations")
    command.upgrade(alembic_config(url), BEFORE)
    with connect(url) as connection:
        _insert_base(connection)
        for order_id in MOMENTS:
            _insert_order(connection, order_id)
        connection.commit()

    command.upgrade(alembic_config(url), "head")

    with connect(url) as connection:
        assert _durations(connection) == {
            1: (_micros(DISPATCHED), _micros(ACCEPTED - DISPATCHED), _micros(COMPLETED)),
            2: (30_000_000, None, None),
            3: (None, None, None),
            # A later moment before the earlier one gives no duration (the statistics leave it out).
            4: (None, _micros(timedelta(minutes=6)), None),
        }
        # A reopening clears completed_at: the finish duration goes with it, in the same statement.
        connection.execute(sa.text("UPDATE orders SET completed_at = NULL WHERE id = 1"))
        assert _durations(connection)[1][2] is None
        connection.rollback()

    command.downgrade(alembic_config(url), BEFORE)
    with connect(url) as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("orders")}
    assert not columns & {"dispatch_us", "accept_us", "finish_us"}


def test_sqlite_durations_from_a_moment_late_in_its_second_are_made_exact(tmp_path: Path) -> None:
    """Revision c4e9a7d21f38: before it SQLite rounded a moment at .9995 s or later up to the next
    second (a duration one second short); after it the same order's durations are exact, and the
    kept statistics computed from the old ones are gone (SQLite; PostgreSQL was always exact)."""
    url = fresh_database_url(tmp_path, "durations_exact")
    command.upgrade(alembic_config(url), "5b7e2c9d1a63")
    created = CREATED.replace(microsecond=999_700)
    with connect(url) as connection:
        _insert_base(connection)
        _insert_order(connection, 2)  # dispatched, never accepted
        connection.execute(
            sa.text("UPDATE orders SET created_at = :c, dispatched_at = :d WHERE id = 2").bindparams(
                sa.bindparam("c", type_=UTCDateTime()), sa.bindparam("d", type_=UTCDateTime())
            ),
            {"c": created, "d": created + timedelta(seconds=30, microseconds=300)},  # at a whole second
        )
        connection.execute(
            sa.text(
                "INSERT INTO kept_stats (key, last, fingerprint, groups, body) VALUES ('k', '2026-11-30', 'f', 1, '{}')"
            )
        )
        connection.commit()
        sqlite = connection.dialect.name == "sqlite"
        before = _durations(connection)[2][0]
    assert before == (29_000_300 if sqlite else 30_000_300)

    command.upgrade(alembic_config(url), "head")
    with connect(url) as connection:
        assert _durations(connection)[2] == (30_000_300, None, None)
        kept = connection.execute(sa.text("SELECT count(*) FROM kept_stats")).scalar_one()
    assert kept == (0 if sqlite else 1)

    command.downgrade(alembic_config(url), "5b7e2c9d1a63")
    with connect(url) as connection:
        assert _durations(connection)[2][0] == before
