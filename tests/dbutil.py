"""Test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server under test."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

#: Set to a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the
#: suite against PostgreSQL instead of SQLite.
TEST_DATABASE_URL = os.environ.get("LINLI_TEST_DATABASE_URL", "")

#: PostgreSQL databases this test run created; the run drops them when it ends.
CREATED: list[str] = []


def fresh_database_url(tmp_dir: Path, name: str) -> str:
    """A URL for an empty database called ``name`` (SQLite file, or a recreated PG database).

    On PostgreSQL each purpose gets its own database beside the configured one, so that tests
    that drop everything (migrations) never touch the database the rest of the suite uses.
    """
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_dir / f'{name}.db'}"
    base = make_url(TEST_DATABASE_URL)
    # The process id keeps two test runs on one server (two developers, CI) out of each other's way.
    database = f"{base.database}_linli_{name}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    CREATED.append(database)
    return base.set(database=database).render_as_string(hide_password=False)


def _drop(names: list[str]) -> None:
    admin = sa.create_engine(make_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for database in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def drop_created_databases() -> None:
    """Drop every database :func:`fresh_database_url` made in this process."""
    if TEST_DATABASE_URL and CREATED:
        _drop(list(CREATED))
        CREATED.clear()


if __name__ == "__main__":
    # For .ci/run: `python -m tests.dbutil create NAME` prints a fresh database's URL;
    # `python -m tests.dbutil drop URL` drops it.
    import sys

    command, argument = sys.argv[1], sys.argv[2]
    if command == "create":
        print(fresh_database_url(Path("."), argument))
    else:
        _drop([str(make_url(argument).database)])
