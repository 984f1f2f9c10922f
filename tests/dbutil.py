"""Test databases: a fresh SQLite file, or a fresh database on the PostgreSQL server under test."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

#: Set to a PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run the
#: suite against PostgreSQL instead of SQLite.
TEST_DATABASE_URL = os.environ.get("LINLI_TEST_DATABASE_URL", "")


def fresh_database_url(tmp_dir: Path, name: str) -> str:
    """A URL for an empty database called ``name`` (SQLite file, or a recreated PG database).

    On PostgreSQL each purpose gets its own database beside the configured one, so that tests
    that drop everything (migrations) never touch the database the rest of the suite uses.
    """
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_dir / f'{name}.db'}"
    base = make_url(TEST_DATABASE_URL)
    database = f"{base.database}_linli_{name}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    return base.set(database=database).render_as_string(hide_password=False)
