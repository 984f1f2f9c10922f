"""Database rules: SQLite pragmas, write transactions that take the lock up front, aware UTC times."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core.db import Database, UTCDateTime, make_engine


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(make_engine(f"sqlite:///{tmp_path / 't.db'}", busy_timeout_seconds=7))
    with db.write() as session:
        session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME, n INTEGER)"))
    yield db
    db.dispose()


def test_sqlite_pragmas(sqlite_db: Database) -> None:
    with sqlite_db.read() as session:
        assert session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert session.scalar(sa.text("PRAGMA foreign_keys")) == 1
        assert session.scalar(sa.text("PRAGMA busy_timeout")) == 7000


def test_write_rolls_back_on_error_and_commits_otherwise(sqlite_db: Database) -> None:
    def fail_half_way() -> None:
        with sqlite_db.write() as session:
            session.execute(sa.text("INSERT INTO t (n) VALUES (1)"))
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError):
        fail_half_way()
    with sqlite_db.write() as session:
        session.execute(sa.text("INSERT INTO t (n) VALUES (2)"))
    with sqlite_db.read() as session:
        assert session.execute(sa.text("SELECT n FROM t")).scalars().all() == [2]


def test_write_transactions_take_the_write_lock_at_begin(sqlite_db: Database) -> None:
    """A second writer waits at BEGIN instead of failing later with 'database is locked'."""
    first_has_lock = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with sqlite_db.write() as session:
            session.execute(sa.text("SELECT 1"))  # BEGIN IMMEDIATE already took the lock
            first_has_lock.set()
            release.wait(5)
            session.execute(sa.text("INSERT INTO t (n) VALUES (1)"))

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert first_has_lock.wait(5)
    # A reader is not blocked by the writer (WAL, deferred BEGIN for reads).
    with sqlite_db.read() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM t")) == 0
    timer = threading.Timer(0.3, release.set)
    timer.start()
    with sqlite_db.write() as session:  # blocks on BEGIN IMMEDIATE until the holder commits
        assert session.scalar(sa.text("SELECT count(*) FROM t")) == 1
        session.execute(sa.text("UPDATE t SET n = n + 1"))
    holder.join()
    timer.join()
    with sqlite_db.read() as session:
        assert session.scalar(sa.text("SELECT n FROM t")) == 2


def test_utc_datetime_round_trip_and_refuses_naive(sqlite_db: Database) -> None:
    column: sa.Column[datetime] = sa.Column("at", UTCDateTime())
    table = sa.Table(
        "t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), column, sa.Column("n", sa.Integer)
    )
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 23, 8, 30, tzinfo=shanghai)
    with sqlite_db.write() as session:
        session.execute(table.insert().values(at=moment, n=1))
    with sqlite_db.read() as session:
        stored = session.scalar(sa.select(table.c.at))
    assert stored == moment
    assert stored is not None
    assert stored.tzinfo is UTC
    assert stored.hour == 0  # kept as UTC
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), sqlite_db.write() as session:
        session.execute(table.insert().values(at=datetime(2026, 1, 1), n=2))  # noqa: DTZ001 - the point of the test
