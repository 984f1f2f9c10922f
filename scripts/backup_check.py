"""Check that a PostgreSQL backup restores: dump a database, restore it into a fresh one, compare.

    .venv/bin/python scripts/backup_check.py postgresql+psycopg://linli@db.internal/linli

1. ``pg_dump -Fc`` of the database, taken from a snapshot this script exports and keeps open
   (``pg_export_snapshot`` / ``pg_dump --snapshot``), so that the figures below are of exactly
   the rows the dump holds, even while Linli keeps writing;
2. ``pg_restore`` into a new database ``<name>_restore_check_<time>_<random>`` on the same server
   (needs the CREATEDB privilege; ``--target-url`` names an existing empty database instead);
3. per table: the row count and an MD5 over every row's text in primary-key order, in the snapshot
   and in the restored copy; per sequence: the restored value lies between the values read just
   before and just after the dump (sequences are not transactional, so no snapshot holds them).

Prints one line per table and sequence and exits 0 when everything matches, 1 otherwise (or when
a step fails; its error is printed). The restored database is dropped afterwards unless ``--keep``.
The password is handed to pg_dump and pg_restore in PGPASSWORD, never on their command line.
docs/operations.md ("Backups") has the procedure this checks.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url

#: The text of a row depends on these settings; both sides use the same ones, so that a restored
#: timestamp or float is rendered with the same characters as the original.
_RENDERING = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET bytea_output = 'hex'",
)

_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2
"""

_PRIMARY_KEY = """
SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
WHERE i.indrelid = CAST(:relation AS regclass) AND i.indisprimary
ORDER BY array_position(CAST(i.indkey AS int2[]), a.attnum)
"""

_SEQUENCES = "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"


class CheckError(Exception):
    """A step failed (a tool, a connection); the message says which."""


@dataclass(frozen=True)
class TableFigures:
    rows: int
    checksum: str


@dataclass(frozen=True)
class Line:
    """One row of the printed comparison."""

    kind: str  # "table" or "sequence"
    name: str
    source: str
    restored: str
    ok: bool


def postgres_url(url: str) -> URL:
    """The URL as SQLAlchemy reads it, refused unless it is PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise CheckError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    if not parsed.database:
        raise CheckError("the URL names no database")
    return parsed


def _quote_conninfo(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_arguments(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``--dbname`` (no password) and the environment with the password.

    SQLAlchemy URLs (``postgresql+psycopg://``) are not libpq URLs; the query part (``sslmode``,
    ``sslrootcert`` …) carries libpq keywords and is passed on as it is.
    """
    parts: dict[str, str] = {"dbname": str(url.database)}
    if url.host:
        parts["host"] = url.host
    if url.port:
        parts["port"] = str(url.port)
    if url.username:
        parts["user"] = url.username
    for key, value in url.query.items():
        parts[key] = value if isinstance(value, str) else value[-1]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return " ".join(f"{key}={_quote_conninfo(value)}" for key, value in parts.items()), env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)  # noqa: S603 - pg tools, our arguments
    if done.returncode != 0:
        raise CheckError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")


def _render_settings(conn: Connection) -> None:
    for statement in _RENDERING:
        conn.execute(sa.text(statement))


def tables(conn: Connection) -> list[tuple[str, str]]:
    return [(str(schema), str(name)) for schema, name in conn.execute(sa.text(_TABLES))]


def table_figures(conn: Connection, schema: str, name: str) -> TableFigures:
    """Rows and checksum of one table, as this connection's snapshot sees it."""
    quote = conn.dialect.identifier_preparer.quote
    relation = f"{quote(schema)}.{quote(name)}"
    key = [str(column) for column in conn.execute(sa.text(_PRIMARY_KEY), {"relation": relation}).scalars()]
    # Primary-key order is the same in both databases; a table without one is ordered by its rows' text.
    # The alias stands for the whole row; a plain "t" would mean a column if the table had one so named.
    row = "backup_check_row"
    order = ", ".join(f"{row}.{quote(column)}" for column in key) if key else f"{row}::text"
    # One MD5 per row, then one over those: the aggregated text stays 32 bytes a row, far below
    # PostgreSQL's 1 GB limit for one value, whatever the width of the rows.
    digest = f"md5(coalesce(string_agg(md5({row}::text), '' ORDER BY {order}), ''))"
    query = f"SELECT count(*), {digest} FROM {relation} AS {row}"  # noqa: S608 - quoted catalogue names
    rows, checksum = conn.execute(sa.text(query)).one()
    return TableFigures(rows=int(rows), checksum=str(checksum))


def sequences(conn: Connection) -> dict[str, int | None]:
    return {
        f"{schema}.{name}": None if value is None else int(value)
        for schema, name, value in conn.execute(sa.text(_SEQUENCES))
    }


def compare_tables(source: Connection, restored: Connection) -> list[Line]:
    """A line per table of either side; missing tables and any difference are not ok."""
    lines = []
    source_tables, restored_tables = set(tables(source)), set(tables(restored))
    for schema, name in sorted(source_tables | restored_tables):
        label = f"{schema}.{name}"
        mine = table_figures(source, schema, name) if (schema, name) in source_tables else None
        theirs = table_figures(restored, schema, name) if (schema, name) in restored_tables else None
        lines.append(
            Line(
                "table",
                label,
                f"{mine.rows} {mine.checksum[:12]}" if mine else "missing",
                f"{theirs.rows} {theirs.checksum[:12]}" if theirs else "missing",
                mine is not None and mine == theirs,
            )
        )
    return lines


def compare_sequences(
    before: dict[str, int | None], after: dict[str, int | None], restored: dict[str, int | None]
) -> list[Line]:
    """A restored sequence must hold a value it had while the dump ran: between before and after."""
    lines = []
    for name in sorted(set(before) | set(restored)):
        low, high, got = before.get(name), after.get(name), restored.get(name)
        if name not in restored or name not in before:
            ok = False
        elif low is None or high is None:  # never used (or not readable) before the dump
            ok = got is None or high is None or got <= high
        else:
            ok = got is not None and low <= got <= high
        source = "missing" if name not in before else (str(low) if low == high else f"{low}..{high}")
        lines.append(Line("sequence", name, source, "missing" if name not in restored else str(got), ok))
    return lines


def print_report(lines: Sequence[Line], stream: TextIO | None = None) -> bool:
    """Print the comparison as a table; True when there is something and every line is ok."""
    out = stream or sys.stdout
    width = max([len(line.name) for line in lines] + [len("name")])
    print(f"{'kind':<8}  {'name':<{width}}  {'source':>24}  {'restored':>24}  result", file=out)
    for line in lines:
        result = "ok" if line.ok else "DIFFERENT"
        print(f"{line.kind:<8}  {line.name:<{width}}  {line.source:>24}  {line.restored:>24}  {result}", file=out)
    good = bool(lines) and all(line.ok for line in lines)
    print("all match" if good else f"{sum(not line.ok for line in lines)} of {len(lines)} differ", file=out)
    return good


@contextmanager
def _engine(url: URL, **options: Any) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, poolclass=sa.NullPool, **options)
    try:
        yield engine
    finally:
        engine.dispose()


#: PostgreSQL's longest identifier, in bytes.
_MAX_NAME = 63
_SUFFIX = "_restore_check_"
#: The time and random part after the prefix: 20261201155500_a1b2c3.
_STAMP_LENGTH = 21


def restore_name_prefix(database: str) -> str:
    """How the names of the databases this script restores into begin, for ``database``.

    The source's name is shortened, never the suffix, so that the time and random part survive
    PostgreSQL's 63-byte limit (which would otherwise cut them off silently).
    """
    room = _MAX_NAME - len(_SUFFIX) - _STAMP_LENGTH
    short = database.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return f"{short}{_SUFFIX}"


@contextmanager
def _restore_target(source: URL, target: URL | None, *, keep: bool) -> Iterator[URL]:
    """The database to restore into: ``target``, or a new one beside the source (dropped after)."""
    if target is not None:
        yield target
        return
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    # Random as well: two checks started in one second (two operators, a retried cron) must not meet.
    name = f"{restore_name_prefix(str(source.database))}{stamp}_{secrets.token_hex(3)}"
    with _engine(source, isolation_level="AUTOCOMMIT") as admin:
        quoted = admin.dialect.identifier_preparer.quote(name)
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
        try:
            yield source.set(database=name)
        finally:
            if keep:
                print(f"kept the restored database {name}")
            else:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))


@contextmanager
def _snapshot(source: URL) -> Iterator[tuple[Connection, str]]:
    """A read-only repeatable-read transaction on the source and the id of its exported snapshot."""
    with _engine(source) as engine, engine.connect() as plain:
        # Set on the connection before its transaction begins, as SQLAlchemy documents it.
        conn = plain.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        # The first statement fixes the transaction's snapshot; pg_dump --snapshot reads the same
        # one for as long as this transaction stays open.
        snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one())
        _render_settings(conn)
        yield conn, snapshot


def _dump(source: URL, snapshot: str, dump: Path) -> None:
    conninfo, env = libpq_arguments(source)
    started = time.monotonic()
    _run(["pg_dump", "-Fc", f"--snapshot={snapshot}", f"--file={dump}", f"--dbname={conninfo}"], env)
    size_mb = dump.stat().st_size / 1e6
    print(f"dumped {source.database} in {time.monotonic() - started:.1f} s: {dump} ({size_mb:.1f} MB)")


def _restore(target: URL, dump: Path, jobs: int) -> None:
    conninfo, env = libpq_arguments(target)
    started = time.monotonic()
    # --no-owner/--no-privileges: a check restore may run as another role than the one that owns
    # production; ownership and grants are not what this compares.
    command = ["pg_restore", "--exit-on-error", "--no-owner", "--no-privileges", f"--jobs={jobs}"]
    _run([*command, f"--dbname={conninfo}", str(dump)], env)
    print(f"restored into {target.database} in {time.monotonic() - started:.1f} s")


def check(
    source_url: str, *, target_url: str | None = None, dump_file: Path | None = None, keep: bool = False, jobs: int = 2
) -> list[Line]:
    """Dump, restore, compare; the lines of the comparison."""
    source = postgres_url(source_url)
    target = postgres_url(target_url) if target_url else None
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise CheckError(f"{tool} is not on PATH (install the PostgreSQL client of the server's version or newer)")
    with tempfile.TemporaryDirectory(prefix="linli-backup-check-") as scratch, _snapshot(source) as (snap, snapshot):
        dump = dump_file or Path(scratch) / "linli.dump"
        before = sequences(snap)
        _dump(source, snapshot, dump)
        after = sequences(snap)
        with _restore_target(source, target, keep=keep) as restored_url:
            _restore(restored_url, dump, jobs)
            with _engine(restored_url) as engine, engine.connect() as copy:
                _render_settings(copy)
                return compare_tables(snap, copy) + compare_sequences(before, after, sequences(copy))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Dump a PostgreSQL database (pg_dump -Fc), restore it into a fresh one, compare every table."
    )
    parser.add_argument("url", help="the database to check, e.g. postgresql+psycopg://linli@db/linli")
    parser.add_argument("--target-url", help="restore into this existing, empty database instead of a new one")
    parser.add_argument("--dump-file", type=Path, help="keep the dump here (default: a temporary file, removed)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database restored into")
    parser.add_argument("--jobs", type=int, default=2, help="parallel pg_restore jobs (default 2)")
    args = parser.parse_args(argv)
    try:
        lines = check(args.url, target_url=args.target_url, dump_file=args.dump_file, keep=args.keep, jobs=args.jobs)
    except (CheckError, sa.exc.SQLAlchemyError) as exc:
        print(f"backup check failed: {exc}", file=sys.stderr)
        return 1
    return 0 if print_report(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
