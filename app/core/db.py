"""Declarative base, the aware-UTC datetime type, and the engine with its SQLite rules.

SQLite runs in WAL mode with ``busy_timeout`` and foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` and reads stay deferred: a deferred transaction that later writes gets
"database is locked" under contention whatever the timeout, while IMMEDIATE on reads halves read
throughput (measured; docs/operations.md, "SQLite").
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import visitors


def _constraint_name(constraint: sa.Constraint, table: sa.Table) -> str:
    """Name an enum's CHECK after its column, so that two columns of one enum in one table
    (from_status, to_status) get distinct names; SQLAlchemy would name both after the enum class."""
    if isinstance(constraint, sa.CheckConstraint) and getattr(constraint, "_type_bound", False):
        for element in visitors.iterate(constraint.sqltext):
            if isinstance(element, sa.Column):
                return str(element.name)
    return str(constraint.name)


NAMING_CONVENTION: dict[str, Any] = {
    "constraint_name": _constraint_name,
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused rather than guessed at."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Linli stores aware UTC times only")
        utc = value.astimezone(UTC)
        # SQLite keeps no offset; store the UTC wall time and re-attach UTC on the way out.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model: constraint names follow one convention, enums are VARCHAR + CHECK."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        # Store the API strings (the enum values) with a CHECK constraint, the same on both databases.
        enum.Enum: sa.Enum(
            enum.Enum,
            native_enum=False,
            create_constraint=True,
            values_callable=lambda members: [member.value for member in members],
            length=32,
        ),
    }


def _install_sqlite_hooks(engine: Engine, busy_timeout_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN itself (the pysqlite recipe), so that we choose its kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("linli_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(
    url: str,
    *,
    busy_timeout_seconds: float = 10,
    pool_size: int = 10,
    pool_pre_ping: bool = True,
    pool_recycle_seconds: int = 300,
    echo: bool = False,
) -> Engine:
    """Create the engine for ``url`` with the rules of this module applied.

    On PostgreSQL a pooled connection is pinged at checkout (``pool_pre_ping``) and replaced after
    ``pool_recycle_seconds``; without the ping, a connection that died fails its request (the API
    answers 503) and is replaced.

    Bound values never reach a log (``hide_parameters``): a database error logged with its
    traceback would otherwise print the phone numbers and tokens it was binding."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, hide_parameters=True, connect_args={"check_same_thread": False})
        _install_sqlite_hooks(engine, busy_timeout_seconds)
        return engine
    return sa.create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pool_pre_ping,
        pool_recycle=pool_recycle_seconds,
    )


class Database:
    """The engine plus the two kinds of unit of work services use: ``read()`` and ``write()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = sessionmaker(bind=engine, expire_on_commit=False)
        self._writer = sessionmaker(bind=engine.execution_options(linli_write=True), expire_on_commit=False)
        # The read session of a ``shared_reads()`` block, per thread or task (each Database its own).
        self._shared: ContextVar[Session | None] = ContextVar(f"linli_shared_read_{id(self)}", default=None)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; whatever it holds is rolled back at the end. Inside
        ``shared_reads()`` it is that block's session, left open for the next read."""
        shared = self._shared.get()
        if shared is not None:
            yield shared
            return
        session = self._reader()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """Every ``read()`` in this block uses one session: one pooled connection, one transaction.

        A request that only reads (authentication, then the use case) pays one checkout, one
        BEGIN and one ROLLBACK instead of one per step. Only for blocks that do not write: on
        SQLite a read transaction keeps the snapshot of its first statement, so a read after a
        write of another session in the same block would not see that write.
        """
        if self._shared.get() is not None:
            yield
            return
        session = self._reader()
        token = self._shared.set(session)
        try:
            yield
        finally:
            self._shared.reset(token)
            session.rollback()
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception."""
        session = self._writer()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
