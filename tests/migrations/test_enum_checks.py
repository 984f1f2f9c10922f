"""Every enum column's CHECK constraint, as the migrations create it, lists exactly the values of
its Python enum.

Enums are stored as VARCHAR with a CHECK (``app.core.db.Base``). ``alembic check`` does not compare
CHECK constraints, so a member added to an enum without a migration passes it and then fails on
the first insert of the new value; this test fails instead. It also fails for a CHECK left behind
by a column that is no longer an enum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from alembic import command

import app.models  # noqa: F401 - importing the models registers every table on Base.metadata
from app.core.db import Base
from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_migrations import connect


class Check(NamedTuple):
    table: str
    name: str | None
    sqltext: str


@pytest.fixture(scope="module")
def migrated_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database (SQLite file, or a new PostgreSQL database) upgraded to head."""
    url = fresh_database_url(tmp_path_factory.mktemp("enum-checks"), "enum_checks")
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="module")
def connection(migrated_url: str) -> Iterator[sa.Connection]:
    with connect(migrated_url) as conn:
        yield conn


def _balanced(text: str, start: int) -> str:
    """The text inside the parenthesis opening at ``start``, skipping quoted strings."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote  # '' inside a literal closes and reopens: fine
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index]
    raise AssertionError(f"unbalanced CHECK in {text!r}")


_CHECK = re.compile(r'(?:CONSTRAINT\s+"?(?P<name>\w+)"?\s+)?CHECK\s*(?=\()', re.IGNORECASE)


def sqlite_checks(connection: sa.Connection) -> list[Check]:
    """Every CHECK in the CREATE TABLE statements SQLite keeps, named or not."""
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).all()
    return [
        Check(table, match["name"], _balanced(sql, match.end()))
        for table, sql in rows
        for match in _CHECK.finditer(sql)
    ]


def postgres_checks(connection: sa.Connection) -> list[Check]:
    inspector = sa.inspect(connection)
    return [
        Check(table, check["name"], check["sqltext"])
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    ]


_COLUMN = re.compile(r"^[\s(]*\"?(?P<column>[a-z_][a-z0-9_]*)\"?")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def allowed_values(check: Check) -> tuple[str, list[str]]:
    """The column a CHECK constrains and the values it allows, from either database's rendering:
    SQLite keeps ``kind IN ('street', 'community')``, PostgreSQL answers
    ``((kind)::text = ANY ((ARRAY['street'::character varying, ...])::text[]))``."""
    match = _COLUMN.match(check.sqltext)
    assert match is not None, check
    values = [value.replace("''", "'") for value in _LITERAL.findall(check.sqltext)]
    return match["column"], values


def enum_columns() -> dict[tuple[str, str], list[str]]:
    """(table, column) → the values of every model column stored as an enum."""
    return {
        (table.name, column.name): list(column.type.enums)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.Enum)
    }


#: CHECK constraints that guard a value rather than list an enum's: a reward's price and stock, a
#: survey answer's score.
VALUE_CHECKS = frozenset(
    {"ck_rewards_points_positive", "ck_rewards_stock_not_negative", "ck_survey_answers_score_range"}
)


def test_every_enum_check_lists_exactly_the_enums_values(connection: sa.Connection) -> None:
    checks = sqlite_checks(connection) if connection.dialect.name == "sqlite" else postgres_checks(connection)
    assert {check.name for check in checks} >= VALUE_CHECKS
    checks = [check for check in checks if check.name not in VALUE_CHECKS]
    expected = enum_columns()
    assert len(expected) >= 10, "no enum columns found: were the models imported?"
    assert checks, "no CHECK constraints found in the migrated database"

    found: dict[tuple[str, str], list[list[str]]] = {}
    for check in checks:
        column, values = allowed_values(check)
        found.setdefault((check.table, column), []).append(values)

    problems = []
    for (table, column), values in sorted(expected.items()):
        lists = found.get((table, column), [])
        if len(lists) != 1:
            problems.append(f"{table}.{column}: {len(lists)} CHECK constraints, expected one listing {values}")
            continue
        listed = lists[0]
        if sorted(listed) != sorted(values) or len(listed) != len(set(listed)):
            missing, extra = sorted(set(values) - set(listed)), sorted(set(listed) - set(values))
            problems.append(f"{table}.{column}: the CHECK lists {listed}: missing {missing}, extra {extra}")
    stale = sorted(f"{table}.{column}" for table, column in found.keys() - expected.keys())
    if stale:
        problems.append(f"CHECK constraints on columns that are not enums: {stale}")
    assert not problems, "migrations out of step with the enums (add a migration):\n" + "\n".join(problems)


def test_the_sqlite_parser_reads_unnamed_and_quoted_checks(tmp_path: Path) -> None:
    """The parser is not tied to the one rendering the migrations happen to use today."""
    with connect(f"sqlite:///{tmp_path / 'parse.db'}") as conn:
        conn.exec_driver_sql(
            "CREATE TABLE t (a VARCHAR(8) CHECK (a IN ('x', 'it''s')), "
            "\"b\" VARCHAR(8), CONSTRAINT ck_t_b CHECK (\"b\" IN ('(', ')')))"
        )
        checks = sqlite_checks(conn)
    assert [(c.name, allowed_values(c)) for c in checks] == [
        (None, ("a", ["x", "it's"])),
        ("ck_t_b", ("b", ["(", ")"])),
    ]
