"""The revision behind the pickers keeps what was there: each property company serves the community
it had, twin team names made before the rule are told apart, and going back restores the single
community of each company."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from app.core.migrate import alembic_config
from tests.dbutil import fresh_database_url
from tests.migrations.test_migrations import connect

BEFORE = "e81c3a5d7f20"  # companies had one community_id; team names could repeat
REVISION = "bab7ae8342ba"


def _insert(connection: sa.Connection, table: str, **values: object) -> None:
    columns = ", ".join(values)
    params = ", ".join(f":{name}" for name in values)
    connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def _rows(connection: sa.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in connection.execute(sa.text(sql))]


def test_companies_keep_their_community_and_twin_teams_are_renamed(tmp_path: Path) -> None:
    url = fresh_database_url(tmp_path, "pickers")
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    with connect(url) as connection:
        for area_id, code in ((1, "SQ1"), (2, "SQ2")):
            _insert(connection, "areas", id=area_id, kind="community", code=code, name=code, community_id=area_id)
        for company_id, community_id in ((1, 1), (2, 2), (3, 1)):
            _insert(
                connection, "property_companies", id=company_id, community_id=community_id, name=f"物业{company_id}"
            )
        for team_id, community_id, name in ((1, 1, "先锋队"), (2, 1, "先锋队"), (3, 2, "先锋队"), (4, 1, "助老队")):
            _insert(connection, "teams", id=team_id, community_id=community_id, name=name)
        connection.commit()

    command.upgrade(config, REVISION)

    with connect(url) as connection:
        served = "SELECT company_id, community_id FROM property_company_communities ORDER BY company_id"
        assert _rows(connection, served) == [(1, 1), (2, 2), (3, 1)]
        assert "community_id" not in {c["name"] for c in sa.inspect(connection).get_columns("property_companies")}
        # The oldest keeps the name; the twin in the same community gets its id; SQ2's is another team.
        teams = "SELECT id, name FROM teams ORDER BY id"
        assert _rows(connection, teams) == [(1, "先锋队"), (2, "先锋队-2"), (3, "先锋队"), (4, "助老队")]
        with pytest.raises(sa.exc.IntegrityError):
            _insert(connection, "teams", id=5, community_id=1, name="助老队")
        connection.rollback()
        _insert(connection, "property_company_communities", company_id=1, community_id=2)  # now serves both
        connection.commit()

    command.downgrade(config, BEFORE)

    with connect(url) as connection:
        # Back to one community each: the lowest of those served.
        assert _rows(connection, "SELECT id, community_id FROM property_companies ORDER BY id") == [
            (1, 1),
            (2, 2),
            (3, 1),
        ]
        _insert(connection, "teams", id=5, community_id=1, name="助老队")  # twins are allowed again
        connection.commit()
