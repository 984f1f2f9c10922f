"""Alembic environment: which database to migrate, and how autogenerate compares and renders Linli's types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine

import app.models  # noqa: F401 - importing the models registers every table on Base.metadata
from app.core.config import load_settings
from app.core.db import Base, UTCDateTime, make_engine

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    # Code that runs migrations in-process (tests, `linli db upgrade`) keeps its own logging setup.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


#: The column autogenerate is rendering: it offers render_item the column before the column's type,
#: and a type alone does not know its column.
_rendering: dict[str, sa.Column[Any]] = {}


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render Linli's types with plain SQLAlchemy ones, so that revisions never import ``app``."""
    if type_ == "column" and isinstance(obj, sa.Column):
        _rendering["column"] = obj
        return False
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        # The decorator only converts values in Python; in the database it is exactly its impl.
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, sa.Enum) and not obj.native_enum:
        enum_type = obj  # `is` below would narrow obj back to TypeEngine for the type checker
        column = _rendering.get("column")
        # Only where the type being rendered is that column's: alter_column renders bare types too.
        if column is not None and column.type is obj:
            return _render_enum(enum_type, check_name=f"ck_{column.table.name}_{column.name}")
    return False


def _render_enum(enum_type: sa.Enum, *, check_name: str) -> str:
    # Left to the naming convention, the CHECK would be named after the enum class, so two columns of
    # one enum in one table (order_events.from_status/to_status) collide on PostgreSQL. A literal
    # per-column name (op.f: exactly this name) also keeps old revisions stable if the convention changes.
    values = ", ".join(repr(value) for value in enum_type.enums)
    return (
        f"sa.Enum({values}, name=op.f({check_name!r}), native_enum=False, "
        f"create_constraint={enum_type.create_constraint!r}, length={enum_type.length!r})"
    )


def _compare_type(
    migration_context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    """Treat a UTCDateTime column and the database's timestamp with time zone as the same type."""
    if isinstance(metadata_type, UTCDateTime) and isinstance(inspected_type, sa.DateTime):
        # SQLite reflects a plain DATETIME (it has no zone-aware type); PostgreSQL must say WITH TIME ZONE.
        return not (inspected_type.timezone or migration_context.dialect.name == "sqlite")
    return None  # everything else: alembic's own comparison


#: Options shared by online and offline runs.
_CONFIGURE_OPTIONS: dict[str, Any] = {
    "target_metadata": target_metadata,
    # SQLite cannot ALTER most things; batch mode recreates the table instead (and is plain ALTER elsewhere).
    "render_as_batch": True,
    "compare_type": _compare_type,
    "render_item": _render_item,
}


def _database_url() -> tuple[str, float | None]:
    """The URL the caller set, else the one from the settings; with the settings' SQLite busy timeout."""
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url, None
    settings = load_settings()
    return settings.database_url, settings.database.sqlite_busy_timeout_seconds


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it (``alembic upgrade head --sql``)."""
    url, _ = _database_url()
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_CONFIGURE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def _set_sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    # Executed through SQLAlchemy, this would autobegin a transaction (app.db emits BEGIN in a "begin"
    # hook) and the pragma is a silent no-op inside one; the raw DBAPI connection is in autocommit.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")
    finally:
        cursor.close()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Foreign keys off while migrating, so that batch mode can drop and recreate a referenced table.

    With them on, dropping the old copy of a table would run ON DELETE CASCADE / SET NULL on the rows
    that point at it, or fail on RESTRICT.
    """
    if connection.in_transaction():
        raise CommandError(
            "SQLite migrations need a connection outside a transaction (to turn foreign keys off); "
            "commit or roll back before passing it in config.attributes['connection']"
        )
    _set_sqlite_foreign_keys(connection, enabled=False)
    try:
        yield
    finally:
        _set_sqlite_foreign_keys(connection, enabled=True)


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    # SQLite's own recipe for rebuilding tables: check the references before committing, because
    # nothing checked them while foreign keys were off.
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise CommandError(f"the migration left rows with dangling foreign keys: {problems[:10]}")


def _run_with(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        context.configure(connection=connection, **_CONFIGURE_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    with _sqlite_foreign_keys_off(connection):
        # Alembic assumes SQLite DDL is not transactional, but with app.db's explicit BEGIN it is: one
        # transaction for the whole run, so a failed migration leaves the schema as it was.
        context.configure(connection=connection, transactional_ddl=True, **_CONFIGURE_OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
            _check_sqlite_foreign_keys(connection)


def run_migrations_online() -> None:
    """Migrate the caller's connection or engine if there is one, else an engine made from the URL."""
    given: Connection | Engine | None = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_with(given)
        return
    if isinstance(given, Engine):
        with given.connect() as connection:
            _run_with(connection)
        return
    url, busy_timeout = _database_url()
    # make_engine, not create_engine: SQLite needs the app's connect and BEGIN hooks (see above).
    engine = make_engine(url) if busy_timeout is None else make_engine(url, busy_timeout_seconds=busy_timeout)
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
