"""Where seed.py's rows go: the target database, the bulk writers, and what is done before and after.

A load is one transaction on one connection of the database's own driver (psycopg 3 or sqlite3,
not SQLAlchemy, not the ORM): the secondary indexes (and on PostgreSQL the unique constraints and
foreign keys) are dropped, the rows written in chunks (``COPY ... FROM STDIN`` on a thread of its
own / ``executemany``), and everything dropped is built again from the definitions the database
itself gave, which checks every row against them. SQLite keeps its foreign keys in the table
definitions; there they are off while loading and ``PRAGMA foreign_key_check`` checks them at the
end. Any failure rolls back.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from alembic import command
from psycopg import sql
from seed_rows import COLUMNS, Row, Stamper
from sqlalchemy.engine import URL, make_url

from app.core.db import Base, make_engine
from app.core.migrate import alembic_config

DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,63}$")


# -- the report -------------------------------------------------------------------------------------


@dataclass
class TableStats:
    rows: int = 0
    #: Seconds spent writing the rows (COPY / executemany), not making them.
    write_seconds: float = 0.0
    #: Seconds spent building its indexes and checking its constraints after the load.
    index_seconds: float = 0.0


@dataclass
class LoadReport:
    tables: dict[str, TableStats] = field(default_factory=lambda: {table: TableStats() for table in COLUMNS})
    #: (phase, seconds, rows)
    phases: list[tuple[str, float, int]] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str, rows: Callable[[], int] = lambda: 0) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.phases.append((name, time.perf_counter() - started, rows()))

    def rows_of(self, tables: Sequence[str]) -> int:
        return sum(self.tables[table].rows for table in tables)

    def print_summary(self, wall: float, size_bytes: int) -> None:
        total = sum(stats.rows for stats in self.tables.values())
        print(f"\n{'table':<24}{'rows':>12}{'write s':>10}{'write rows/s':>14}{'index s':>10}{'rows/s':>11}")
        for table, stats in self.tables.items():
            if not stats.rows:
                continue
            write_rate = stats.rows / stats.write_seconds if stats.write_seconds else 0.0
            spent = stats.write_seconds + stats.index_seconds
            print(
                f"{table:<24}{stats.rows:>12,}{stats.write_seconds:>10.1f}{write_rate:>14,.0f}"
                f"{stats.index_seconds:>10.1f}{stats.rows / spent if spent else 0:>11,.0f}"
            )
        print("phases (wall s, rows/s made and written):")
        for name, seconds, rows in self.phases:
            rate = f", {rows / seconds:,.0f} rows/s" if rows and seconds else ""
            print(f"  {name:<22}{seconds:>8.1f} s{rate}")
        overall = total / wall if wall else 0.0
        print(f"total: {total:,} rows in {wall:.1f} s wall = {overall:,.0f} rows/s; database size {_size(size_bytes)}")


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 2**30:.2f} GiB" if size_bytes >= 2**30 else f"{size_bytes / 2**20:.1f} MiB"


# -- writers ----------------------------------------------------------------------------------------


class RowWriter(Protocol):
    """One connection and transaction of a bulk load."""

    #: Whether writing on a thread of its own overlaps with making rows (the Loader then does).
    overlaps: bool

    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None: ...

    def defer(self) -> None:
        """Drop what would slow the load (and is built again by ``restore``)."""

    def restore(self, stats: dict[str, TableStats]) -> None:
        """Build again what ``defer`` dropped, timed per table; raise if a row breaks a constraint."""

    def finish(self, loaded: Sequence[str]) -> None:
        """Commit (after whatever the database needs, such as its sequences)."""

    def close(self) -> None: ...


def _catalog_sql(text: str) -> sql.SQL:
    """A statement the database's own catalog wrote (an index or constraint definition): not a literal,
    but no outside input either."""
    return sql.SQL(text)


class PostgresWriter:
    """COPY into a database whose foreign keys, unique constraints and secondary indexes are dropped."""

    #: libpq waits on the socket without the GIL while the server parses: 13.1 s -> 8.1 s at --scale 0.1.
    overlaps = True

    def __init__(self, conninfo: str) -> None:
        self.conn: psycopg.Connection[tuple[Any, ...]] = psycopg.connect(conninfo)
        self.conn.execute("SET synchronous_commit = off")
        self.conn.execute("SET maintenance_work_mem = '512MB'")
        self.conn.execute("SET work_mem = '256MB'")
        #: (kind, table, name, definition) in the order they are dropped.
        self.dropped: list[tuple[str, str, str, str]] = []

    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def defer(self) -> None:
        constraints = (
            "SELECT contype, conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype IN ('f', 'u') ORDER BY contype, 2, 3"
        )
        indexes = (
            "SELECT 'i', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace) ORDER BY 2, 3"
        )
        # Foreign keys first ('f' sorts before 'u'), then unique constraints, then plain indexes.
        self.dropped = [(kind, table, name, text) for kind, table, name, text in self.conn.execute(constraints)]
        self.dropped += [(kind, table, name, text) for kind, table, name, text in self.conn.execute(indexes)]
        for kind, table, name, _definition in self.dropped:
            if kind == "i":
                self.conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            else:
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name))
                )

    def restore(self, stats: dict[str, TableStats]) -> None:
        # Unique constraints and indexes before the foreign keys, whose checks use them.
        for kind, table, name, definition in reversed(self.dropped):
            started = time.perf_counter()
            if kind == "i":
                self.conn.execute(_catalog_sql(definition))
            else:
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(table), sql.Identifier(name))
                    + _catalog_sql(definition)
                )
            if table in stats:
                stats[table].index_seconds += time.perf_counter() - started

    def finish(self, loaded: Sequence[str]) -> None:
        """Every serial sequence past the ids used, so that the app's inserts do not collide; commit."""
        for table in loaded:
            if "id" not in Base.metadata.tables[table].columns:
                continue
            self.conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {}"
                ).format(sql.Literal(table), sql.Identifier(table))
            )
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


class SqliteWriter:
    """executemany in one transaction, synchronous off, explicit indexes dropped, foreign keys checked at the end."""

    #: sqlite3 binds parameters holding the GIL: on a thread of its own it only contends with the
    #: row making (measured at --scale 0.1: events written in 6.8 s instead of 4.0 s, no faster overall).
    overlaps = False

    def __init__(self, path: Path) -> None:
        # The Loader's writing thread uses it, one chunk at a time.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = WAL",
            "synchronous = OFF",
            "foreign_keys = OFF",
            "cache_size = -262144",
            "temp_store = MEMORY",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN IMMEDIATE")
        self.dropped: list[tuple[str, str, str]] = []

    def write(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - names from the models
        self.conn.executemany(statement, rows)

    def defer(self) -> None:
        # Indexes that UNIQUE and PRIMARY KEY make have no SQL of their own and stay.
        self.dropped = self.conn.execute(
            "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        for _table, name, _definition in self.dropped:
            self.conn.execute(f'DROP INDEX "{name}"')

    def restore(self, stats: dict[str, TableStats]) -> None:
        for table, _name, definition in self.dropped:
            started = time.perf_counter()
            self.conn.execute(definition)
            if table in stats:
                stats[table].index_seconds += time.perf_counter() - started
        problems: list[tuple[Any, ...]] = []
        for table, table_stats in stats.items():
            started = time.perf_counter()
            problems += self.conn.execute(f'PRAGMA foreign_key_check("{table}")').fetchall()
            table_stats.index_seconds += time.perf_counter() - started
        if problems:
            raise RuntimeError(f"rows break foreign keys (table, rowid, parent, fk index): {problems[:10]}")

    def finish(self, loaded: Sequence[str]) -> None:
        self.conn.execute("COMMIT")

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self.conn.close()


# -- the loader the phases write through ------------------------------------------------------------


class Loader:
    """Buffers rows per table and writes them in chunks; hands out ids; stamps times for the target.

    Where the writer ``overlaps``, a full chunk is written by one background thread while the next
    is being made: the database works while Python makes rows. One chunk at a time is in flight,
    so memory stays bounded and the tables' chunks keep their order.
    """

    def __init__(self, writer: RowWriter, report: LoadReport, stamp: Stamper, chunk_rows: int) -> None:
        self.writer, self.report, self.stamp = writer, report, stamp
        self.chunk_rows = chunk_rows
        self.buffers: dict[str, list[Row]] = {table: [] for table in COLUMNS}
        self.ids = dict.fromkeys(COLUMNS, 0)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-writer")
        self._in_flight: Future[None] | None = None

    def add(self, table: str, row: Row) -> None:
        rows = self.buffers[table]
        rows.append(row)
        if len(rows) >= self.chunk_rows:
            self.flush(table)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def flush(self, table: str) -> None:
        """Hand the table's buffered rows to the writing thread (after the chunk before them is written)."""
        rows = self.buffers[table]
        if not rows:
            return
        self.buffers[table] = []
        self.wait()
        if self.writer.overlaps:
            self._in_flight = self._worker.submit(self._write, table, rows)
        else:
            self._write(table, rows)

    def _write(self, table: str, rows: list[Row]) -> None:
        stats = self.report.tables[table]  # only this thread changes it while a chunk is in flight
        started = time.perf_counter()
        self.writer.write(table, COLUMNS[table], rows)
        stats.write_seconds += time.perf_counter() - started
        stats.rows += len(rows)

    def wait(self) -> None:
        """Until the chunk in flight is written; its error, if it had one."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def close(self) -> None:
        """Wait for the last chunk (ignoring its error if one is already on its way up) and stop the thread."""
        with suppress(Exception):
            self.wait()
        self._worker.shutdown()

    @contextmanager
    def phase(self, name: str, tables: Sequence[str]) -> Iterator[None]:
        """Time a phase that writes ``tables``; flush them at its end and say what it wrote."""
        with self.report.phase(name, lambda: self.report.rows_of(tables)):
            yield
            for table in tables:
                self.flush(table)
            self.wait()
        for table in tables:
            stats = self.report.tables[table]
            print(f"  {table}: {stats.rows:,} rows (write {stats.write_seconds:.1f} s)", flush=True)


# -- the target database ----------------------------------------------------------------------------


#: The volunteer_stats recount (the same statement as the revision that added the table).
RATING_STATS_BACKFILL = (
    "INSERT INTO volunteer_stats (user_id, rated_count, score_sum) "
    "SELECT assignee_id, count(*), sum(score) FROM ratings WHERE assignee_id IS NOT NULL GROUP BY assignee_id"
)


@dataclass
class Target:
    """The database being seeded: its URL, how to reach it as admin, and whether we created it."""

    url: URL
    admin_url: URL | None = None
    path: Path | None = None
    created: bool = False
    dropped: bool = False

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def migrate(self) -> None:
        command.upgrade(alembic_config(self.url.render_as_string(hide_password=False)), "head")

    def engine(self) -> sa.Engine:
        return make_engine(self.url.render_as_string(hide_password=False))

    def derive(self) -> None:
        """Figures the app keeps beside the rows it loads (volunteers' rating counts), recounted
        once from those rows, as the migration that introduced them did."""
        with self.engine().begin() as conn:
            conn.execute(sa.text("DELETE FROM volunteer_stats"))
            conn.execute(sa.text(RATING_STATS_BACKFILL))

    def analyze(self) -> None:
        """PostgreSQL: VACUUM ANALYZE (no autovacuum pass later in a benchmark); SQLite: ANALYZE, WAL folded in."""
        if self.path is not None:
            lite = sqlite3.connect(self.path, isolation_level=None)
            try:
                lite.execute("ANALYZE")
                lite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                lite.close()
            return
        with psycopg.connect(_conninfo(self.url), autocommit=True) as pg:
            pg.execute("VACUUM (ANALYZE)")

    def size_bytes(self) -> int:
        if self.path is not None:
            return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        with psycopg.connect(_conninfo(self.url)) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def drop(self) -> None:
        """Remove the database, if this run created it."""
        if not self.created or self.dropped:
            return
        self.dropped = True
        if self.path is not None:
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                p.unlink(missing_ok=True)
            return
        assert self.admin_url is not None  # noqa: S101 - set for every PostgreSQL target
        _drop_database(self.admin_url, str(self.url.database))


def _conninfo(url: URL) -> str:
    """The libpq URI psycopg takes for a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin(url: URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def _drop_database(admin_url: URL, name: str) -> None:
    engine = _admin(admin_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def prepare_target(url: str, database_name: str, *, seed: int, replace: bool) -> Target:
    """An empty database to seed; FileExistsError if it exists with tables in it and not ``replace``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_target(parsed, replace=replace)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"only SQLite and PostgreSQL URLs are supported, not {parsed.get_backend_name()}")
    name = database_name or f"{parsed.database or 'postgres'}_linli_city_{seed}"
    if not DATABASE_NAME.match(name):
        raise ValueError(f"database name {name!r}: letters, digits and _ only, at most 63")
    return _postgres_target(parsed, name, replace=replace)


def _sqlite_target(url: URL, *, replace: bool) -> Target:
    if not url.database or url.database == ":memory:":
        raise ValueError("a SQLite target needs a file: sqlite:////path/to/city.db")
    path = Path(url.database).resolve()
    if path.exists() and _sqlite_tables(path):
        if not replace:
            raise FileExistsError(f"{path} already holds tables; pass --replace to overwrite it")
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Target(url=url.set(database=str(path)), path=path, created=True)


def _sqlite_tables(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
    finally:
        conn.close()


def _postgres_target(base: URL, name: str, *, replace: bool) -> Target:
    target_url = base.set(database=name)
    engine = _admin(base)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if exists and _postgres_tables(target_url) and not replace:
            raise FileExistsError(f"database {name} already holds tables; pass --replace to overwrite it")
        with engine.connect() as conn:
            if exists:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return Target(url=target_url, admin_url=base, created=True)


def _postgres_tables(url: URL) -> int:
    with psycopg.connect(_conninfo(url)) as conn:
        row = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def open_target(target: Target, report: LoadReport, *, chunk_rows: int) -> Iterator[Loader]:
    """A Loader over one transaction of ``target``: deferred indexes and constraints built again at the end."""
    writer: RowWriter = SqliteWriter(target.path) if target.path else PostgresWriter(_conninfo(target.url))
    loader = Loader(writer, report, Stamper(with_offset=not target.is_sqlite), chunk_rows)
    try:
        writer.defer()
        yield loader
        loader.wait()
        with report.phase("indexes+constraints"):
            writer.restore(report.tables)
        with report.phase("sequences+commit"):
            writer.finish([table for table, stats in report.tables.items() if stats.rows])
    finally:
        loader.close()
        writer.close()
