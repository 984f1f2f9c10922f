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
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker
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


#: How hand-written SQL that only reads begins.
_READ_WORDS = ("SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES")


class ReadOnlySessionError(RuntimeError):
    """A statement that needs a transaction ran in a request's shared read session."""


def _refuse_outside_a_transaction(state: ORMExecuteState) -> None:
    """Refuse what would not be undone, or would not hold, without a transaction: a write would
    be committed at once, and ``SET LOCAL`` would last for no statement."""
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError("a write in a shared read session: use Database.write()")
    statement = state.statement
    if isinstance(statement, sa.TextClause):
        text = statement.text.lstrip().upper()
        # Hand-written SQL says nothing of itself: only plain reads pass. set_config would set
        # for the pooled connection's next users (or, local, for no statement at all).
        if not text.startswith(_READ_WORDS) or "SET_CONFIG" in text:
            raise ReadOnlySessionError(
                "SQL other than a read in a shared read session: use Database.read(transaction=True) or write()"
            )


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("a flush in a shared read session: use Database.write()")


def make_engine(
    url: str,
    *,
    busy_timeout_seconds: float = 10,
    pool_size: int = 10,
    pool_pre_ping: bool = False,
    pool_recycle_seconds: int = 300,
    echo: bool = False,
) -> Engine:
    """Create the engine for ``url`` with the rules of this module applied.

    On PostgreSQL a pooled connection is replaced after ``pool_recycle_seconds`` and pinged at
    checkout only with ``pool_pre_ping`` (a round trip per unit of work); without the ping, a
    connection that died fails its request (the API answers 503) and the pool starts afresh.

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
        self._shared_reader = self._reader
        if engine.dialect.name != "sqlite":
            # A request's reads on PostgreSQL run without a transaction (the driver's autocommit):
            # under READ COMMITTED every statement takes its own snapshot anyway, so BEGIN and
            # ROLLBACK bought nothing but two round trips per request (a detail: 5.3 → 3.7 ms
            # wall in request_cost.py). Same pool; the mode is set and reset at checkout, on the
            # driver, without a statement. Nothing such a session runs is rolled back, so writes
            # and SET LOCAL are refused (_refuse_outside_a_transaction).
            self._shared_reader = sessionmaker(
                bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
            )
            event.listen(self._shared_reader, "do_orm_execute", _refuse_outside_a_transaction)
            event.listen(self._shared_reader, "before_flush", _refuse_flush)
        # The read session of a ``shared_reads()`` block, per thread or task (each Database its own).
        self._shared: ContextVar[Session | None] = ContextVar(f"linli_shared_read_{id(self)}", default=None)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def read(self, *, transaction: bool = False) -> Iterator[Session]:
        """A session for reading; whatever it holds is rolled back at the end. Inside
        ``shared_reads()`` it is that block's session, left open for the next read, unless
        ``transaction``: a read that needs a transaction of its own (``SET LOCAL`` for its
        statements) gets a session of its own even there."""
        shared = self._shared.get()
        # On SQLite the shared session is a read transaction already.
        if shared is not None and (not transaction or self.is_sqlite):
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

        A request that only reads (authentication, then the use case) pays one checkout instead
        of one per step, and on PostgreSQL no BEGIN or ROLLBACK at all (autocommit: see
        ``__init__``; a write or ``SET LOCAL`` in this session is refused, ``read(transaction=True)``
        is the way to a transaction). Only for blocks that do not write: on SQLite a read
        transaction keeps the snapshot of its first statement, so a read after a write of another
        session in the same block would not see that write.
        """
        if self._shared.get() is not None:
            yield
            return
        session = self._shared_reader()
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
